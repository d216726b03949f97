"""The books query through shop_a's own gateway and through Apollo Gateway, side by side.

Starts the demo shops (fresh SQLite files) and Apollo Gateway over shop_a's
/subgraph/ and shop_b, then sends the same query to each with the load
generator (its own process): p50/p95 latency at concurrency 1, throughput at
concurrency 8. Prints a table and the ratios; ``--json`` writes them too.

    python -m tests.bench.gateways [--requests 200] [--limit 20] [--json out.json]

``--sharing`` compares instead, at concurrency 8, shop_a's gateway with
identical remote fetches shared (``SHARE_FETCHES``, the default) and without,
against Hive Gateway with its deduplication of identical subgraph requests on
and off, all over the same shops: for identical queries (the first page,
every time) and for a mix of pages (offsets drawn with Zipf weights, the same
sequence for every gateway). Variants run interleaved, in a rotated order,
``--rounds`` times; medians with their ranges, shop_b's requests per page and
load averages are reported.

    python -m tests.bench.gateways --sharing [--rounds 5] [--requests 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.apollo import ApolloGateway
from tests.servers import ROOT, DemoShops, UvicornProcess, free_port

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


#: Hive Gateway's files: its package.json and the script that serves it.
HIVE_SOURCE = Path(__file__).resolve().parent / "hive"
HIVE_TOOLS = ROOT / ".cache" / "hive"


def install_hive() -> Path:
    """Install tests/bench/hive's npm packages into a git-ignored folder, once; return it."""
    wanted = json.loads((HIVE_SOURCE / "package.json").read_text())["dependencies"]
    if not all((HIVE_TOOLS / "node_modules" / name).is_dir() for name in wanted):
        HIVE_TOOLS.mkdir(parents=True, exist_ok=True)
        shutil.copy(HIVE_SOURCE / "package.json", HIVE_TOOLS / "package.json")
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HIVE_TOOLS,
            check=True,
            timeout=300,
        )
    shutil.copy(HIVE_SOURCE / "gateway.mjs", HIVE_TOOLS / "gateway.mjs")
    return HIVE_TOOLS


class HiveGateway:
    """``node gateway.mjs`` (Hive Gateway) over the demo shops, stopped by its PID.

    :param dedupe: whether identical subgraph requests in flight are shared
    """

    def __init__(self, shops: DemoShops, log: Path, dedupe: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        self.log = log
        subgraphs = [f"shop_a={shops.url}/subgraph/", f"shop_b={shops.env['SHOP_B_URL']}"]
        self.process = subprocess.Popen(
            [
                "node",
                "gateway.mjs",
                str(self.port),
                shops.token,
                "on" if dedupe else "off",
                *subgraphs,
            ],
            cwd=install_hive(),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float = 60) -> HiveGateway:
        deadline = time.monotonic() + timeout
        while "ready" not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def unshared_gateway(shops: DemoShops, log: Path) -> UvicornProcess:
    """A second shop_a process over the same database, with SHARE_FETCHES off for shop_b."""
    env = {
        **shops.env,
        "DJANGO_SETTINGS_MODULE": "tests.bench.unshared_settings",
        "PYTHONPATH": str(ROOT),
    }
    process = UvicornProcess("shop_a.asgi:application", ROOT / "shop_a", env, log)
    process.launch()
    return process


def subgraph_requests(shops: DemoShops) -> int:
    """How many requests shop_a's subgraph (/subgraph/) answered so far (its access log)."""
    return shops.shop_a.log.read_text().count('"POST /subgraph/ HTTP/1.1" 200')


def page(limit: int, offset: int) -> dict:
    query = QUERY.replace("books(limit: $limit)", "books(limit: $limit, offset: $offset)")
    query = query.replace("query ($limit: Int!)", "query ($limit: Int!, $offset: Int!)")
    return {"query": query, "variables": {"limit": limit, "offset": offset}}


def total_books(url: str) -> int:
    body = json.dumps({"query": "{ books(limit: 1) { totalCount } }"}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(json.load(response)["data"]["books"]["totalCount"])


def scenarios(limit: int, requests: int, total: int) -> dict[str, list[dict]]:
    """The request sequences: the first page every time; pages with Zipf weights (1/rank)."""
    pages = max(1, min(13, total // limit))
    rng = random.Random(20261204)
    offsets = rng.choices(range(pages), weights=[1 / (k + 1) for k in range(pages)], k=requests)
    return {
        "identical": [page(limit, 0)] * requests,
        "mix": [page(limit, k * limit) for k in offsets],
    }


def mixload(url: str, payloads: list[dict], concurrency: int, folder: Path) -> dict:
    path = folder / "payloads.json"
    path.write_text(json.dumps(payloads))
    output = subprocess.run(
        [sys.executable, "-m", "tests.bench.mixload", url, str(path), "-c", str(concurrency)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=1200,
    ).stdout
    return json.loads(output)


def spread(values: list[float], digits: int = 1) -> dict:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "runs": [round(v, digits) for v in values],
    }


def sharing(args: argparse.Namespace) -> None:
    """Run the --sharing comparison; print it, and write it to --json."""
    folder = Path(tempfile.mkdtemp(prefix="bench-sharing-"))
    shops = DemoShops(folder, extra_books=250).start()
    started: list = []
    try:
        unshared = unshared_gateway(shops, folder / "shop_a_unshared.log")
        started.append(unshared)
        hive_on = HiveGateway(shops, folder / "hive-on.log", dedupe=True).wait()
        started.append(hive_on)
        hive_off = HiveGateway(shops, folder / "hive-off.log", dedupe=False).wait()
        started.append(hive_off)
        targets = {
            "ours, sharing on": f"{shops.url}/graphql/",
            "ours, sharing off": f"http://127.0.0.1:{unshared.port}/graphql/",
            "hive, dedupe on": hive_on.url,
            "hive, dedupe off": hive_off.url,
        }
        sequences = scenarios(args.limit, args.requests, total_books(targets["ours, sharing on"]))
        runs = {s: {t: [] for t in targets} for s in sequences}
        loads = []
        names = list(targets)
        for number in range(args.rounds):
            loads.append(os.getloadavg())
            order = names[number % len(names) :] + names[: number % len(names)]
            for scenario, payloads in sequences.items():
                for name in order:
                    url = targets[name]
                    mixload(url, payloads[:10], 1, folder)  # warm: connections, caches
                    before = shops.shop_b_requests(), subgraph_requests(shops)
                    result = mixload(url, payloads, args.concurrency, folder)
                    per_page = (
                        (shops.shop_b_requests() - before[0]) / len(payloads),
                        (subgraph_requests(shops) - before[1]) / len(payloads),
                    )
                    runs[scenario][name].append((result, per_page))
            print(f"round {number + 1} done, load {os.getloadavg()}", file=sys.stderr)
        loads.append(os.getloadavg())
    finally:
        for process in reversed(started):
            try:
                process.stop()
            except Exception as exc:  # the others are stopped all the same
                print(f"stopping {process} failed: {exc}", file=sys.stderr)
        shops.stop()
    report = sharing_report(args, runs, loads)
    print_sharing(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    shutil.rmtree(folder, ignore_errors=True)


def sharing_report(args: argparse.Namespace, runs: dict, loads: list) -> dict:
    results: dict = {}
    for scenario, by_target in runs.items():
        results[scenario] = {}
        for name, measured in by_target.items():
            throughput = [len(r["latencies"]) / r["wall"] for r, _ in measured]
            p50 = [statistics.median(r["latencies"]) * 1000 for r, _ in measured]
            p95 = [statistics.quantiles(r["latencies"], n=100)[94] * 1000 for r, _ in measured]
            results[scenario][name] = {
                "throughput_rps": spread(throughput),
                "p50_ms": spread(p50),
                "p95_ms": spread(p95),
                "shop_b_requests_per_page": spread([per[0] for _, per in measured], 2),
                # Hive asks shop_a's subgraph for the page; shop_a's own gateway does not.
                "shop_a_subgraph_requests_per_page": spread([per[1] for _, per in measured], 2),
                "failures": sum(r["failures"] for r, _ in measured),
            }
        rows = results[scenario]
        for a, b in (
            ("ours, sharing on", "hive, dedupe on"),
            ("ours, sharing on", "ours, sharing off"),
            ("hive, dedupe on", "hive, dedupe off"),
        ):
            per_round = [
                x / y
                for x, y in zip(
                    rows[a]["throughput_rps"]["runs"],
                    rows[b]["throughput_rps"]["runs"],
                    strict=True,
                )
            ]
            rows[f"throughput {a} / {b}"] = spread(per_round, 2)
    return {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}, "
        f"Python {platform.python_version()}",
        "limit": args.limit,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "load_averages": [[round(x, 2) for x in load] for load in loads],
        "results": results,
    }


def print_sharing(report: dict) -> None:
    print(
        f"books(limit: {report['limit']}), {report['requests']} requests per run at "
        f"concurrency {report['concurrency']}, {report['rounds']} rounds interleaved"
    )
    for scenario, rows in report["results"].items():
        print(f"\n{scenario}")
        print(
            f"{'gateway':<20} {'req/s (min-max)':>20} {'p50 ms':>8} {'p95 ms':>8} "
            f"{'b/page':>7} {'a-sub/page':>10}"
        )
        for name, row in rows.items():
            if "throughput_rps" not in row:
                print(f"{name}: {row['median']} ({row['min']}-{row['max']})")
                continue
            t = row["throughput_rps"]
            print(
                f"{name:<20} {t['median']:>8} ({t['min']}-{t['max']}){'':>2} "
                f"{row['p50_ms']['median']:>8} {row['p95_ms']['median']:>8} "
                f"{row['shop_b_requests_per_page']['median']:>7} "
                f"{row['shop_a_subgraph_requests_per_page']['median']:>10}"
            )
    print(
        "\nload averages (1, 5, 15 min) before each round and at the end:",
        report["load_averages"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--limit", type=int, default=20, help="Books per page.")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--sharing", action="store_true", help="Compare shared fetches.")
    parser.add_argument("--rounds", type=int, default=5, help="Rounds of --sharing.")
    parser.add_argument("--concurrency", type=int, default=8, help="Of --sharing.")
    args = parser.parse_args()
    if args.sharing:
        sharing(args)
        return
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
