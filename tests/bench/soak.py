"""A bounded soak run: gateway queries at concurrency 32 while shop_b is killed and restarted.

    python -m tests.bench.soak [--requests 3000] [--hostile-share 0.2] [--json soak.json]

Loopback only; it stops by itself. It reports the queries made, complete
answers, partial answers (local books and an error naming shop_b), 5xx (must
be 0), other failures, and the memory of each shop process at start and end.

With ``--hostile-share``, that share of the requests are malformed or too
expensive (``tests.bench.load.HOSTILE``); each must be refused, never 5xx.
While shop_b is down, ``find_dangling_references --delete`` runs in shop_a:
it must fail, and shop_a's references must be the same at the end as at the
start (``references_changed``, must be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.servers import ROOT, DemoShops

QUERY = """{ books(limit: 50) { totalCount items { __typename
  ... on BookItem { id title price } } } }"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--down-seconds", type=float, default=5.0)
    parser.add_argument("--hostile-share", type=float, default=0.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="federated-soak-") as tmp:
        os.environ.setdefault("GATEWAY_MAX_PAGE_SIZE", "100")
        shops = DemoShops(Path(tmp), extra_books=200).start()
        try:
            report = soak(shops, args)
        finally:
            shops.stop()
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    ok = report["server_errors"] == 0 and not report.get("references_changed")
    return 0 if ok else 1


REFERENCES = (
    "import json; from books.models import Reference; "
    "print(json.dumps(list(Reference.objects.values_list('pk', 'content_type_id', 'object_id'))))"
)


def references(shops: DemoShops) -> list:
    """shop_a's references as (pk, content type, object id) rows."""
    # The last line: the shell may announce its automatic imports first.
    return json.loads(shops.manage("shop_a", "shell", "-c", REFERENCES).splitlines()[-1])


def dangling_delete_while_down(shops: DemoShops) -> int:
    """Run find_dangling_references --delete in shop_a; return its exit status."""
    result = subprocess.run(
        [sys.executable, "manage.py", "find_dangling_references", "--delete"],
        cwd=ROOT / "shop_a",
        env=shops.env,
        capture_output=True,
        timeout=120,
    )
    return result.returncode


def soak(shops: DemoShops, args: argparse.Namespace) -> dict:
    memory = {
        "shop_a_start_mib": rss_mib(shops.shop_a.process.pid),
        "shop_b_start_mib": rss_mib(shops.shop_b.process.pid),
    }
    payload = json.dumps({"query": QUERY})
    before = references(shops)
    started = time.monotonic()
    load = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bench.load",
            f"{shops.url}/graphql/",
            payload,
            "--concurrency",
            str(args.concurrency),
            "--requests",
            str(args.requests),
            "--hostile-share",
            str(args.hostile_share),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    killed_at = time.monotonic() - started
    os.kill(shops.shop_b.process.pid, signal.SIGKILL)  # no clean shutdown
    shops.shop_b.process.wait()
    shops.shop_b.process = None
    down_at = time.monotonic()
    dangling_exit = dangling_delete_while_down(shops)
    time.sleep(max(0.0, args.down_seconds - (time.monotonic() - down_at)))
    shops.shop_b.launch()
    restarted_at = time.monotonic() - started
    output, _ = load.communicate(timeout=900)
    result = json.loads(output)
    latencies = sorted(result.pop("latencies"))
    memory.update(
        shop_a_end_mib=rss_mib(shops.shop_a.process.pid),
        shop_b_end_mib=rss_mib(shops.shop_b.process.pid),  # the restarted process
    )
    after = references(shops)
    names = ("hostile_sent", "hostile_refused", "hostile_not_refused")
    hostile = {k: result[k] for k in names if k in result}
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        # Other work on the machine slows every answer: say how much there was.
        "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        "requests": len(latencies) + hostile.get("hostile_sent", 0),
        "normal_requests": len(latencies),
        **hostile,
        "find_dangling_references_delete_exit_while_down": dangling_exit,
        "references": len(after),
        "references_changed": len(set(map(tuple, before)) ^ set(map(tuple, after))),
        "concurrency": args.concurrency,
        "seconds": round(result["wall"], 1),
        "shop_b_killed_at_s": round(killed_at, 1),
        "shop_b_restarted_at_s": round(restarted_at, 1),
        "complete": result["complete"],
        "partial": result["partial"],
        "server_errors": result["server_errors"],
        "other_failures": result["other_failures"],
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 1),
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1),
        "max_ms": round(1000 * latencies[-1], 1),
        **{k: round(v, 1) for k, v in memory.items()},
    }


if __name__ == "__main__":
    sys.exit(main())
