"""The books query through shop_a's own gateway and through Apollo Gateway, side by side.

Starts the demo shops (fresh SQLite files) and Apollo Gateway over shop_a's
/subgraph/ and shop_b, then sends the same query to each with the load
generator (its own process): p50/p95 latency at concurrency 1, throughput at
concurrency 8. Prints a table and the ratios; ``--json`` writes them too.

    python -m tests.bench.gateways [--requests 200] [--limit 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.apollo import ApolloGateway
from tests.servers import ROOT, DemoShops

#: The query both gateways answer with the same data (tests/graphql_gateway/test_apollo.py).
QUERY = """query ($limit: Int!) { books(limit: $limit) { totalCount items { __typename
  ... on ShopABook { id title price author { name } }
  ... on ShopBBook { id title price author { name } }
  ... on ShopBAudiobook { id title narrator price author { name } } } } }"""


def load(url: str, limit: int, concurrency: int, requests: int) -> dict:
    payload = json.dumps({"query": QUERY, "variables": {"limit": limit}})
    args = ["--concurrency", str(concurrency), "--requests", str(requests), "--warmup", "10"]
    output = subprocess.run(
        [sys.executable, "-m", "tests.bench.load", url, payload, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=1200,
    ).stdout
    return json.loads(output)


def summary(serial: dict, parallel: dict) -> dict:
    latencies = sorted(serial["latencies"])
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "throughput_rps_c8": round(len(parallel["latencies"]) / parallel["wall"], 1),
        "failures": serial["failures"] + parallel["failures"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--limit", type=int, default=20, help="Books per page.")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        shops = DemoShops(Path(folder), extra_books=250).start()
        apollo = None
        try:
            apollo = ApolloGateway(shops, Path(folder) / "apollo.log").wait()
            targets = {"built-in": f"{shops.url}/graphql/", "apollo": apollo.url}
            results = {}
            for name, url in targets.items():
                serial = load(url, args.limit, 1, args.requests)
                parallel = load(url, args.limit, 8, args.requests)
                results[name] = summary(serial, parallel)
        finally:
            if apollo is not None:
                apollo.stop()
            shops.stop()
    ours, theirs = results["built-in"], results["apollo"]
    ratios = {
        "p50 apollo/built-in": round(theirs["p50_ms"] / ours["p50_ms"], 2),
        "p95 apollo/built-in": round(theirs["p95_ms"] / ours["p95_ms"], 2),
        "throughput apollo/built-in": round(
            theirs["throughput_rps_c8"] / ours["throughput_rps_c8"], 2
        ),
    }
    print(f"books(limit: {args.limit}), {args.requests} requests per run, {platform.node()}")
    print(f"{'gateway':<10} {'p50 ms':>8} {'p95 ms':>8} {'req/s at 8':>11} {'failures':>9}")
    for name, row in results.items():
        print(
            f"{name:<10} {row['p50_ms']:>8} {row['p95_ms']:>8} "
            f"{row['throughput_rps_c8']:>11} {row['failures']:>9}"
        )
    for name, value in ratios.items():
        print(f"{name}: {value}")
    if args.json:
        report = {"limit": args.limit, "requests": args.requests, "results": results, **ratios}
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
