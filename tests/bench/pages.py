"""The gateway page compared page by page: federated and all-local shops, one page each in turn.

    python -m tests.bench.pages --json pages.json            # 600 pages of each
    python -m tests.bench.pages --apart --json pages.json    # shop_b on a CPU of its own
    python -m tests.bench.pages --pages 10                   # smoke: only checks it runs

The claims (``tests.bench.claims``) load each setup in blocks of pages, as
load tests do; on a small shared machine the drift between blocks can be
larger than the effect measured. Here each federated page has an all-local
page beside it, the order alternating, and after each pair the federated
page's own request to shop_b is sent alone, as the page meets shop_b: just
after the other processes have run. Every request goes over a kept-alive
connection from this process.

It reports the p50 of each, federated ÷ all local, the floor ((all local +
the request alone) ÷ all local), and the median and quartiles of the
difference taken pair by pair. ``--apart`` runs shop_b on a CPU of its own
and everything else (the shops' other processes and this one) on the others,
as services on hosts of their own; Linux only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.claims import load_average, machine, tree
from tests.bench.run import BOOKS_QUERY, WARMUP, PageRequest, gateway_setups

PAGE_SIZE = 50


def can_set_cpus() -> bool:
    """Whether this system lets a process choose its CPUs, and gives this one two or more."""
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


def set_cpus(pid: int, cpus: set[int]) -> None:
    """Put every thread of ``pid`` on ``cpus``; threads and children started later inherit it."""
    for thread in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(thread), cpus)
        except ProcessLookupError:
            pass  # the thread ended meanwhile


class Poster:
    """POSTs one body to one server over a kept-alive connection; times each answer in ms."""

    def __init__(self, port: int, path: str, body: str, headers: dict[str, str]) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.path = path
        self.body = body
        self.headers = {"Content-Type": "application/json", **headers}

    def __call__(self) -> float:
        started = time.perf_counter()
        self.connection.request("POST", self.path, self.body, self.headers)
        response = self.connection.getresponse()
        answer = response.read()
        elapsed = 1000 * (time.perf_counter() - started)
        if response.status != 200 or b'"errors"' in answer:
            raise RuntimeError(f"{self.path}: {response.status} {answer[:300]!r}")
        return elapsed

    def close(self) -> None:
        self.connection.close()


def quartiles(values: list[float]) -> list[float]:
    """[first quartile, median, third quartile]."""
    low, middle, high = statistics.quantiles(values, n=4)
    return [low, middle, high]


def compare(senders: dict[str, Callable[[], float]], pages: int) -> dict[str, list[float]]:
    """Send a federated and an all-local page in turn (the order alternating), then the
    federated page's own request alone; ``pages`` times after a warm-up. Times in ms."""
    times: dict[str, list[float]] = {name: [] for name in senders}
    pair = ["federated", "all local"]
    for number in range(WARMUP + pages):
        order = pair if number % 2 else pair[::-1]
        measured = {name: senders[name]() for name in [*order, "request alone"]}
        if number >= WARMUP:
            for name, elapsed in measured.items():
                times[name].append(elapsed)
    return times


def summary(times: dict[str, list[float]]) -> dict[str, Any]:
    """The p50s, both ratios and the paired difference, from ``compare``'s times."""
    p50 = {name: statistics.median(t) for name, t in times.items()}
    local = p50["all local"]
    paired = [f - a for f, a in zip(times["federated"], times["all local"], strict=True)]
    return {
        "p50_ms": {name: round(value, 3) for name, value in p50.items()},
        "federated_to_all_local": round(p50["federated"] / local, 3),
        "floor": round((local + p50["request alone"]) / local, 3),
        "paired_difference_ms": [round(x, 3) for x in quartiles(paired)],
    }


def measure(folder: Path, pages: int, apart: bool) -> dict[str, Any]:
    """Start both setups, compare ``pages`` pages of each, stop them; the report."""
    setups = gateway_setups(folder, PAGE_SIZE)
    payload = json.dumps({"query": BOOKS_QUERY, "variables": {"limit": PAGE_SIZE}})
    senders: dict[str, Poster] = {}
    cpus = sorted(os.sched_getaffinity(0)) if apart else []
    try:
        for shops in setups.values():
            shops.folder.mkdir(parents=True)
            shops.start()
        own = PageRequest(setups["federated"], payload)
        if apart:
            set_cpus(setups["federated"].shop_b.process.pid, {cpus[-1]})
            for pid in [os.getpid(), *(s.shop_a.process.pid for s in setups.values())]:
                set_cpus(pid, set(cpus[:-1]))
        for name, shops in setups.items():
            senders[name] = Poster(shops.shop_a.port, "/graphql/", payload, {})
        senders["request alone"] = Poster(
            own.port, "/graphql/", own.body, {"Authorization": f"Bearer {own.token}"}
        )
        before = setups["federated"].shop_b_requests()
        times = compare(senders, pages)
        # Each turn sent shop_b one request alone; the rest came from the federated pages.
        sent = setups["federated"].shop_b_requests() - before - (WARMUP + pages)
        report = summary(times)
        report.update(
            pages=pages,
            apart=apart,
            cpus={"shop_b": cpus[-1:], "the rest": cpus[:-1]} if apart else "shared",
            page_request=own.described(),
            shop_b_requests_per_page=sent / (WARMUP + pages),
        )
        return report
    finally:
        for sender in senders.values():
            sender.close()
        if apart:
            set_cpus(os.getpid(), set(cpus))
        for shops in setups.values():
            shops.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=600, help="Pages of each setup.")
    parser.add_argument("--apart", action="store_true", help="shop_b on a CPU of its own.")
    parser.add_argument("--json", type=Path, help="Write the report here.")
    args = parser.parse_args()
    if args.pages < 2:
        parser.error("--pages must be at least 2 (the quartiles need two pairs)")
    if args.apart and not can_set_cpus():
        parser.error("--apart needs a system that lets a process choose among 2 or more CPUs")
    started, before = datetime.now(UTC).isoformat(timespec="seconds"), load_average()
    with tempfile.TemporaryDirectory(prefix="federated-pages-") as tmp:
        figures = measure(Path(tmp), args.pages, args.apart)
    report = {
        "date": started,
        "machine": machine(),
        "tree": tree(),
        "load_average": {"before": before, "after": load_average()},
        **figures,
    }
    print(json.dumps(report, indent=1, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
