"""The App Home's chart: median time from declaration to deploy per day, as a PNG the bot
serves at ``/charts/deploy-times.png`` (Slack fetches it, so ``PUBLIC_URL`` must reach the
bot; without it the Home tab shows the text sparkline only)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

CHART_PATH = "/charts/deploy-times.png"
WIDTH, HEIGHT, MARGIN = 600, 180, 24
BAR = (46, 134, 222)
EMPTY = (220, 224, 230)
INK = (60, 64, 72)


def deploy_times_png(daily: Sequence[float | None]) -> bytes:
    """One bar per day (oldest on the left), scaled to the slowest day; a dash where no
    hotfix closed. Seconds in, PNG bytes out."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    top = max((v for v in daily if v is not None), default=0.0)
    plot_h = HEIGHT - 2 * MARGIN
    step = (WIDTH - 2 * MARGIN) / max(len(daily), 1)
    base = HEIGHT - MARGIN
    for index, value in enumerate(daily):
        left = MARGIN + index * step + 1
        right = left + max(step - 3, 1)
        if value is None or top <= 0:
            draw.line([(left, base - 1), (right, base - 1)], fill=EMPTY, width=2)
            continue
        height = max(plot_h * value / top, 2)
        draw.rectangle([left, base - height, right, base], fill=BAR)
    draw.line([(MARGIN, base), (WIDTH - MARGIN, base)], fill=INK, width=1)
    slowest = f"{round(top / 60)} min" if top else "no deploys"
    draw.text(
        (MARGIN, 4),
        f"Median time to deploy per day, last 30 days (top: {slowest})",
        fill=INK,
        font=font,
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
