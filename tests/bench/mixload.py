"""Send a sequence of GraphQL requests at a fixed concurrency; print latencies as JSON.

Run as its own process, so that the load does not share an interpreter with
the servers: ``python -m tests.bench.mixload URL PAYLOADS_FILE --concurrency 8``.
PAYLOADS_FILE holds a JSON list of request bodies; they are sent in that
order, each by the next free worker, so two runs over the same file send the
same requests (which of them overlap depends on the servers' speed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import aiohttp


async def send(url: str, payloads: list[dict], concurrency: int) -> dict:
    latencies: list[float] = []
    failures = 0
    bodies = [json.dumps(p).encode() for p in payloads]
    queue = iter(range(len(bodies)))
    headers = {"Content-Type": "application/json"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        for index in queue:
            started = time.perf_counter()
            try:
                async with session.post(url, data=bodies[index], headers=headers) as response:
                    status = response.status
                    body = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError):
                status, body = 0, {}
            latencies.append(time.perf_counter() - started)
            if status != 200 or not body.get("data") or body.get("errors"):
                failures += 1

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return {"latencies": latencies, "wall": time.perf_counter() - started, "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("payloads", type=Path, help="A JSON list of request bodies.")
    parser.add_argument("-c", "--concurrency", type=int, default=1)
    args = parser.parse_args()
    payloads = json.loads(args.payloads.read_text())
    print(json.dumps(asyncio.run(send(args.url, payloads, args.concurrency))))


if __name__ == "__main__":
    main()
