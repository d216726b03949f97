"""Send one GraphQL query many times at a fixed concurrency; print latencies as JSON.

Run as its own process, so that the load does not share an interpreter with
the server or the benchmark: python -m tests.bench.load URL QUERY_JSON
--concurrency 8 --requests 200.

With ``--hostile-share 0.2``, one request in five is instead one of
``HOSTILE``, in turn: malformed bodies and operations too expensive to run.
Each must be refused (HTTP 400, or a GraphQL error and no data), never 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp

#: Nine pages of 100 books, each listing 100 references, under the alias
#: limit: over the cost limit (9 x (1 + 100 x 101) = 90,909).
_NESTED_PAGE = "books(limit: 100) { items { ... on ShopABook { references(limit: 100) { id } } } }"
ALIASED_PAGES = [f"b{i}: {_NESTED_PAGE}" for i in range(9)]

#: Requests an attacker sends: bodies that are not GraphQL requests, and
#: operations within the token limit that would cost too much.
HOSTILE: list[bytes] = [
    b"12",
    b'"x"',
    b"null",
    b"true",
    b'{"query": "{ __typename \xff\xfe }"}',
    b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
    json.dumps({"query": "{ " + " ".join(["books { totalCount }"] * 300) + " }"}).encode(),
    json.dumps({"query": "{ " + " ".join(ALIASED_PAGES) + " }"}).encode(),
    json.dumps({"query": "{ books(offset: 2147483648) { totalCount } }"}).encode(),
]


async def send(
    url: str, payload: dict, concurrency: int, requests: int, warmup: int, hostile_share: float = 0
) -> dict:
    latencies: list[float] = []
    failures = 0
    outcomes = {"complete": 0, "partial": 0, "server_errors": 0, "other_failures": 0}
    hostile = {"hostile_sent": 0, "hostile_refused": 0, "hostile_not_refused": 0}
    every = round(1 / hostile_share) if hostile_share else 0
    remaining = requests
    normal = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            index = requests - remaining
            bad = HOSTILE[(index // every) % len(HOSTILE)] if every and index % every == 0 else None
            started = time.perf_counter()
            try:
                async with session.post(url, data=bad or normal, headers=headers) as response:
                    status = response.status
                    body = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError):
                status, body = 0, {}
            if bad is not None:
                hostile["hostile_sent"] += 1
                outcome = _classify_hostile(status, body)
                if outcome == "server_errors":
                    outcomes["server_errors"] += 1
                else:
                    hostile[outcome] += 1
                continue
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
        **(hostile if every else {}),
    }


def _classify_hostile(status: int, body: dict) -> str:
    """hostile_refused: HTTP 400, or HTTP 200 with errors and no data; else 5xx or not refused."""
    if status >= 500:
        return "server_errors"
    errors = body.get("errors") if isinstance(body, dict) else None
    if status == 400 and errors:
        return "hostile_refused"
    if status == 200 and errors and not body.get("data"):
        return "hostile_refused"
    return "hostile_not_refused"


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
    parser.add_argument(
        "--hostile-share", type=float, default=0.0, help="The share of HOSTILE requests."
    )
    args = parser.parse_args()
    payload = json.loads(args.payload)
    result = asyncio.run(
        send(
            args.url,
            payload,
            args.concurrency,
            args.requests,
            args.warmup,
            args.hostile_share,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
