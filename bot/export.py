"""``hotfix-bot export HF-n --format md|json``: a hotfix's record, printed for archives.

It reads the same record as ``/hotfix timeline`` and the post-mortem (``workflows.record``)
straight from the database; it needs ``DATABASE_URL`` (or the SQLite default), not Slack.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from sqlalchemy import make_url

from bot.render.timeline import record_markdown
from storage.db import DatabaseUnavailable, make_engine, make_sessions
from workflows.config import ConfigError, database_url, load_settings
from workflows.errors import HotfixNotFound
from workflows.record import load_record
from workflows.snapshot import parse_key

EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3


def export(key: str, fmt: str, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the record of hotfix ``key``; the exit code says what went wrong, and stderr
    how to fix it."""
    out, err = out or sys.stdout, err or sys.stderr
    hotfix_id = parse_key(key)
    if hotfix_id is None:
        print(f"{key!r} is not a hotfix: hotfixes are named like HF-12.", file=err)
        return EXIT_USAGE
    try:
        url = database_url(load_settings())
    except ConfigError as error:
        print("\n".join(error.problems), file=err)
        return EXIT_USAGE
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        print(f"There is no Hotfix Bot database at {shown}; set DATABASE_URL.", file=err)
        return EXIT_DATABASE
    engine = make_engine(url)
    try:
        record = load_record(make_sessions(engine), hotfix_id)
    except HotfixNotFound:
        print(f"HF-{hotfix_id} is not in the database {shown}.", file=err)
        return EXIT_NOT_FOUND
    except DatabaseUnavailable as error:
        reason = str(error).splitlines()[0] if str(error) else "no answer"
        print(
            f"Hotfix Bot cannot read its database {shown}: {reason}\n"
            "Check DATABASE_URL, that the database is running, and that `hotfix-bot migrate` "
            "has been run.",
            file=err,
        )
        return EXIT_DATABASE
    finally:
        engine.dispose()
    if fmt == "json":
        json.dump(record.to_json(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(record_markdown(record))
    return 0
