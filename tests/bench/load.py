"""Send one GraphQL query many times at a fixed concurrency; print latencies as JSON.

Run as its own process, so that the load does not share an interpreter with
the server or the benchmark: python -m tests.bench.load URL QUERY_JSON
--concurrency 8 --requests 200.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp


async def send(url: str, payload: dict, concurrency: int, requests: int, warmup: int) -> dict:
    latencies: list[float] = []
    failures = 0
    outcomes = {"complete": 0, "partial": 0, "server_errors": 0, "other_failures": 0}
    remaining = requests

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            try:
                async with session.post(url, json=payload) as response:
                    status = response.status
                    body = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError):
                status, body = 0, {}
            latencies.append(time.perf_counter() - started)
            outcome = _classify(status, body)
            outcomes[outcome] += 1
            if outcome != "complete":
                failures += 1

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for _ in range(warmup):  # connections opened, server code paths warm
            async with session.post(url, json=payload) as response:
                await response.read()
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return {
        "latencies": latencies,
        "wall": time.perf_counter() - started,
        "failures": failures,
        **outcomes,
    }


def _classify(status: int, body: dict) -> str:
    """complete; partial (data, and errors about remote projects); 5xx; anything else."""
    if status >= 500:
        return "server_errors"
    errors = body.get("errors") if isinstance(body, dict) else None
    if status == 200 and body.get("data") and not errors:
        return "complete"
    codes = {(e.get("extensions") or {}).get("code") for e in errors or []}
    if status == 200 and body.get("data") and codes == {"REMOTE_UNAVAILABLE"}:
        return "partial"
    return "other_failures"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("payload", help="The request body: JSON with query and variables.")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3, help="Requests sent before timing.")
    args = parser.parse_args()
    payload = json.loads(args.payload)
    result = asyncio.run(send(args.url, payload, args.concurrency, args.requests, args.warmup))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
