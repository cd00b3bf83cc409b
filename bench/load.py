"""The ack benchmark's load generator: signed requests, N at a time, each timed.

Runs in a process of its own so that its work never slows the servers' measurements by more
than a second core does. Reads a JSON file ``{"url", "concurrency", "timeout", "requests":
[{"body", "headers"}]}`` and prints one JSON list: per request, its latency in ms, its HTTP
status (0: no answer within the timeout, or the connection failed), the first 300
characters of the answer, and whether the bot said it was too busy to take it
(``x-hotfix-busy``).

    python bench/load.py requests.json > results.json
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import aiohttp


async def _run(spec: dict[str, Any]) -> list[dict[str, Any]]:
    url = spec["url"]
    requests = spec["requests"]
    results: list[dict[str, Any] | None] = [None] * len(requests)
    timeout = aiohttp.ClientTimeout(total=float(spec.get("timeout", 10)))
    connector = aiohttp.TCPConnector(limit=int(spec["concurrency"]))
    cursor = iter(range(len(requests)))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for index in cursor:
                request = requests[index]
                started = time.perf_counter()
                status, body, busy = 0, "", False
                try:
                    async with session.post(
                        url, data=request["body"].encode(), headers=request["headers"]
                    ) as answer:
                        body = (await answer.text())[:300]
                        status = answer.status
                        busy = answer.headers.get("x-hotfix-busy") == "1"
                except (TimeoutError, aiohttp.ClientError) as error:
                    body = f"{type(error).__name__}: {error}"[:300]
                elapsed = (time.perf_counter() - started) * 1000
                results[index] = {"ms": elapsed, "status": status, "body": body, "busy": busy}

        await asyncio.gather(*(worker() for _ in range(int(spec["concurrency"]))))
    return [r for r in results if r is not None]


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        spec = json.load(file)
    json.dump(asyncio.run(_run(spec)), sys.stdout)


if __name__ == "__main__":
    main()
