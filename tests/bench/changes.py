"""Benchmark: the change feed's lag, from a commit in one service to its effect in another.

Three real processes on 127.0.0.1, each with its own SQLite file:

- the publishing service: the remoteshop subgraph (``tests.servers.SubgraphServer``,
  uvicorn), whose settings publish its books' changes (``FEDERATION["CHANGES"]``);
- the following service: ``python -m django follow_remote_changes`` with
  ``tests.bench.follower_settings`` (the library's FOLLOW_INTERVAL and FOLLOW_BATCH
  defaults), whose app ``tests.bench.effects`` logs the wall time at which the
  transaction that sent each ``remote_object_changed`` committed: the effect;
- the writer: this process, a plain ``sqlite3`` connection to the publisher's
  file, committing one update of one book per transaction at the target rate
  and noting each commit's time. Commit ``i`` is due at a random point of its
  slot, ``[i / rate, (i + 1) / rate)`` after the start (a seeded generator): a
  fixed beat falls in step with the follower's polls, and a phase at 1/s then
  measured a p50 of 262 ms in one round and 70 ms in the next.

The lag of a change is the effect's time minus its commit's (one wall clock,
one machine). The commit's time is taken when ``COMMIT`` returns; the change
was visible somewhat earlier, by at most the commit's duration
(``commit_ms_*``: a fraction of a millisecond, unless the writer was
descheduled on a busy machine, when a lag can even read slightly negative).
Within a phase each book is updated once, so every commit has exactly one
effect and a missing one is a lost event. Between phases the writer
waits for every effect. The rates are run in rounds, their order turned each
round, so that drift on the machine hits them alike; p50 and p99 are of all the
rounds' changes pooled, with the per-round spread [min, median, max].

The follower's cost is the CPU time (user + system, from /proc) of its process
over a phase, per event it applied (its cursor's ``applied``); it includes its
polls of an idle feed, whose cost per second is measured on its own first.
Before that, the follower drains the seeded books' events with ``--once``:
that is the catch-up throughput.

Usage::

    .venv/bin/python -m tests.bench.changes --seconds 200,60,20 --json tests/bench/changes-DATE.json
    .venv/bin/python -m tests.bench.changes --cache redis://127.0.0.1:6379/9   # a Redis cache
    .venv/bin/python -m tests.bench.changes --smoke   # under 30 s, what CI runs

The follower's cache is a file cache unless ``--cache`` names a Redis server:
invalidating a changed object's cache entry is part of its cost per event,
and what that costs depends on the backend.

Linux only (CPU times from /proc). Loopback only, bounded, stops by itself.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.servers import ROOT, SubgraphServer

#: Seconds to wait for the last effects of a phase before calling them lost.
EFFECT_TIMEOUT = 60.0
#: The follower's settings module.
SETTINGS = "tests.bench.follower_settings"


@dataclass
class Commit:
    """One committed update: the book, and the wall times around its transaction."""

    pk: int
    began: float
    committed: float


@dataclass
class Phase:
    """What one phase at one rate wrote, and what it cost."""

    rate: float
    commits: list[Commit] = field(default_factory=list)
    late_s: float = 0.0
    effects: dict[int, float] = field(default_factory=dict)
    duplicates: int = 0
    applied: int = 0
    follower_cpu_s: float = 0.0
    publisher_cpu_s: float = 0.0
    seconds: float = 0.0

    def lags(self) -> list[float]:
        return sorted(
            self.effects[c.pk] - c.committed for c in self.commits if c.pk in self.effects
        )

    def lost(self) -> int:
        return sum(1 for c in self.commits if c.pk not in self.effects)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command's ")": state is field 3, utime 14 and stime 15 (proc(5)).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(ordered: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of sorted values."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def visible_books(count: int) -> list[int]:
    """``count`` ids of seeded books the subgraph shows (every 100th is unpublished)."""
    ids = [pk for pk in range(1, count + count // 99 + 2) if pk % 100][:count]
    assert len(ids) == count
    return ids


class Writer:
    """Commits updates to the publisher's SQLite file, one transaction each."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, timeout=20, isolation_level=None)

    def update(self, pk: int, title: str) -> Commit:
        began = time.time()
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute("UPDATE remoteshop_book SET title = ? WHERE id = ?", (title, pk))
        self.connection.execute("COMMIT")
        return Commit(pk, began, time.time())

    def pragma(self, name: str) -> Any:
        return self.connection.execute(f"PRAGMA {name}").fetchone()[0]

    def close(self) -> None:
        self.connection.close()


class Follower:
    """The following service: its set-up commands and its long-running follower process."""

    def __init__(self, folder: Path, url: str, interval: str, batch: str, cache: str) -> None:
        self.folder = folder
        self.db = folder / "follower.sqlite3"
        self.effects = folder / "effects.log"
        self.effects.touch()
        self.offset = 0
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))}
        self.env.update(
            DJANGO_SETTINGS_MODULE=SETTINGS,
            FOLLOW_BENCH_DB=str(self.db),
            FOLLOW_BENCH_CACHE=cache if cache.startswith("redis://") else str(folder / "cache"),
            FOLLOW_BENCH_CACHE_PREFIX=folder.name,
            FOLLOW_BENCH_URL=url,
            FOLLOW_BENCH_EFFECTS=str(self.effects),
            FOLLOW_BENCH_INTERVAL=interval,
            FOLLOW_BENCH_BATCH=batch,
            PYTHONPATH=str(ROOT),
        )
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "django", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def once(self) -> dict[str, float]:
        """Run ``follow_remote_changes --once``; return its wall and CPU seconds, and events."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        applied = self.applied()
        started = time.perf_counter()
        self.manage("follow_remote_changes", "--once")
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"events": self.applied() - applied, "seconds": seconds, "cpu_s": cpu}

    def start(self) -> None:
        with open(self.folder / "follower.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "django", "follow_remote_changes", "--project", "shop_b"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: the batch under way ends first
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cpu(self) -> float:
        assert self.process is not None and self.process.poll() is None, "the follower exited"
        return cpu_seconds(self.process.pid)

    def cursor(self) -> tuple[int, str]:
        """The follower's cursor row: events applied, and when it was last saved."""
        with sqlite3.connect(self.db, timeout=20) as connection:
            row = connection.execute(
                "SELECT applied, updated FROM federated_fk_followcursor WHERE project = 'shop_b'"
            ).fetchone()
        return row or (0, "")

    def applied(self) -> int:
        return self.cursor()[0]

    def wait_polling(self, timeout: float = 60.0) -> None:
        """Wait until the started follower has saved its cursor once: it is past start-up."""
        saved = self.cursor()[1]
        deadline = time.monotonic() + timeout
        while self.cursor()[1] == saved:
            if time.monotonic() > deadline or self.process is None or self.process.poll():
                raise RuntimeError(f"the follower is not polling; see {self.folder}/follower.log")
            time.sleep(0.05)

    def skip_effects(self) -> None:
        """Read later effects only: those logged from now on."""
        self.offset = self.effects.stat().st_size

    def new_effects(self) -> list[tuple[float, str, str, str]]:
        """The complete lines logged since the last call: (time, kind, model, object id)."""
        with open(self.effects, "rb") as log:
            log.seek(self.offset)
            data = log.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        lines = data[:end].decode().splitlines()
        return [(float(t), kind, model, pk) for t, kind, model, pk in map(str.split, lines)]


class Bench:
    """The publisher, the follower and the writer, and the phases run with them."""

    def __init__(self, folder: Path, changes: int, interval: str, batch: str, cache: str) -> None:
        self.folder = folder
        self.ids = visible_books(changes)
        self.server = SubgraphServer("shop_b", folder, label="Feed", books=self.ids[-1])
        self.interval, self.batch, self.cache = interval, batch, cache
        self.follower: Follower | None = None
        self.writer: Writer | None = None

    def start(self, journal: str) -> dict[str, Any]:
        """Start the publisher, set the follower up, drain the backlog; return the drain's figures.

        :param journal: the publisher's SQLite ``journal_mode``, set before it starts
        """
        self.follower = Follower(
            self.folder, self.server.url, self.interval, self.batch, self.cache
        )
        with ThreadPoolExecutor(1) as pool:  # both services' set-up at once
            migrated = pool.submit(self.follower.manage, "migrate", "--noinput")
            self.server.manage("migrate", "--noinput")
            self.server.manage("seed_remoteshop", "--books", str(self.ids[-1]), "--label", "Feed")
            self.writer = Writer(self.folder / "shop_b.sqlite3")
            self.writer.pragma(f"journal_mode={journal}")
            self.server.launch()
            migrated.result()
        self.follower.manage("sync_remote_contenttypes", "shop_b", "--schema-dir", str(self.folder))
        drained = self.follower.once()
        self.follower.start()
        self.follower.wait_polling()
        return {k: round(v, 3) for k, v in drained.items()}

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        if self.writer is not None:
            self.writer.close()
        self.server.stop()
        if self.cache.startswith("redis://"):
            import redis

            # Only this run's keys (its prefix), as the follower's settings set it.
            client = redis.Redis.from_url(self.cache)
            for key in client.scan_iter(match=f"{self.folder.name}:*"):
                client.delete(key)
            client.close()

    def idle(self, seconds: float) -> float:
        """The follower's CPU seconds per second while the feed has nothing new."""
        assert self.follower is not None
        before = self.follower.cpu()
        time.sleep(seconds)
        return (self.follower.cpu() - before) / seconds

    def phase(self, rate: float, seconds: float, tag: str) -> Phase:
        """Commit ``rate * seconds`` updates at ``rate``; wait for their effects; measure."""
        assert self.follower is not None and self.writer is not None
        count = max(1, round(rate * seconds))
        if count > len(self.ids):
            raise ValueError(f"{count} changes at {rate}/s need more books: --books")
        phase = Phase(rate)
        self.follower.skip_effects()
        applied, cpu = self.follower.applied(), self.follower.cpu()
        publisher_cpu = cpu_seconds(self.server.uvicorn.process.pid)
        jitter = random.Random(tag)
        started = time.perf_counter()
        for index, pk in enumerate(self.ids[:count]):
            # A random point of its slot: a fixed beat would fall in step with the polls.
            wait = started + (index + jitter.random()) / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            else:
                phase.late_s = max(phase.late_s, -wait)
            phase.commits.append(self.writer.update(pk, f"{tag} {index}"))
        self.collect(phase)
        phase.seconds = time.perf_counter() - started
        phase.follower_cpu_s = self.follower.cpu() - cpu
        phase.publisher_cpu_s = cpu_seconds(self.server.uvicorn.process.pid) - publisher_cpu
        phase.applied = self.follower.applied() - applied
        return phase

    def collect(self, phase: Phase) -> None:
        """Read effects until every commit of ``phase`` has one, or EFFECT_TIMEOUT passes."""
        assert self.follower is not None
        began = {c.pk: c.began for c in phase.commits}
        deadline = time.monotonic() + EFFECT_TIMEOUT
        while True:
            for at, kind, model, pk in self.follower.new_effects():
                book = int(pk) if model == "book" and kind == "changed" else None
                # An effect before the commit began is not this commit's.
                if book not in began or at < began[book]:
                    continue
                if book in phase.effects:
                    phase.duplicates += 1
                else:
                    phase.effects[book] = at
            if len(phase.effects) == len(began) or time.monotonic() > deadline:
                return
            time.sleep(0.02)


def summary(rate: float, phases: list[Phase], idle_cpu: float) -> dict[str, Any]:
    """The figures of one rate over its rounds."""
    lags = sorted(lag for p in phases for lag in p.lags())
    events = sum(len(p.commits) for p in phases)
    applied = sum(p.applied for p in phases)
    cpu = sum(p.follower_cpu_s for p in phases)
    wall = sum(p.seconds for p in phases)
    spans = [p.commits[-1].committed - p.commits[0].committed for p in phases if len(p.commits) > 1]
    commit_ms = sorted(1000 * (c.committed - c.began) for p in phases for c in p.commits)
    row: dict[str, Any] = {
        "rate_per_s": rate,
        "events": events,
        "applied": applied,
        "lost": sum(p.lost() for p in phases),
        "duplicates": sum(p.duplicates for p in phases),
        "achieved_rate_per_s": round(
            sum(len(p.commits) - 1 for p in phases) / sum(spans), 2 if rate < 10 else 1
        )
        if spans
        else None,
        "writer_late_max_ms": round(1000 * max(p.late_s for p in phases), 1),
        "commit_ms_p50": round(statistics.median(commit_ms), 3),
        "commit_ms_max": round(commit_ms[-1], 1),
    }
    rounds = [p.lags() for p in phases if p.lags()]
    if lags:
        row.update(
            lag_ms_p50=round(1000 * statistics.median(lags), 1),
            lag_ms_p99=round(1000 * percentile(lags, 99), 1),
            lag_ms_max=round(1000 * lags[-1], 1),
            lag_ms_min=round(1000 * lags[0], 1),
            lag_ms_deciles=[round(1000 * percentile(lags, 10 * d), 1) for d in range(1, 10)],
            lag_ms_p50_rounds=_spread([1000 * statistics.median(lags) for lags in rounds]),
            lag_ms_p99_rounds=_spread([1000 * percentile(lags, 99) for lags in rounds]),
        )
    row.update(
        follower_cpu_s=round(cpu, 3),
        follower_cpu_per_event_ms=round(1000 * cpu / max(applied, 1), 3),
        # What is left once the idle polling of the same wall time is taken away.
        follower_cpu_per_event_ms_beyond_idle=round(
            1000 * max(cpu - idle_cpu * wall, 0.0) / max(applied, 1), 3
        ),
        publisher_cpu_per_event_ms=round(
            1000 * sum(p.publisher_cpu_s for p in phases) / max(events, 1), 3
        ),
    )
    return row


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


def _spread(values: list[float]) -> list[float]:
    return [round(v, 1) for v in (min(values), statistics.median(values), max(values))]


def table(rows: list[dict[str, Any]]) -> str:
    """The figures as a Markdown table, one line per rate."""
    lines = [
        "| rate /s | events | achieved /s | lost | lag p50 ms | lag p99 ms | lag max ms "
        "| follower CPU / event ms (beyond idle) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['rate_per_s']:g} | {r['events']} | {r['achieved_rate_per_s']} | {r['lost']} "
            f"| {r.get('lag_ms_p50')} | {r.get('lag_ms_p99')} | {r.get('lag_ms_max')} "
            f"| {r['follower_cpu_per_event_ms']} ({r['follower_cpu_per_event_ms_beyond_idle']}) |"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Start everything, run the rounds, stop everything; return the report."""
    rates = [float(r) for r in args.rates.split(",")]
    seconds = [float(s) for s in args.seconds.split(",")]
    if len(seconds) != len(rates):
        raise SystemExit("--seconds needs one duration per rate")
    changes = max(round(r * s) for r, s in zip(rates, seconds, strict=True))
    bench = Bench(folder, changes, args.interval, args.batch, args.cache)
    load_before = [round(x, 2) for x in os.getloadavg()]
    # The processes run the library as it is now (see git log; others may edit it meanwhile).
    code = {
        "commit": _git("rev-parse", "--short", "HEAD"),
        "library_uncommitted": _git("status", "--porcelain", "federated_fk").splitlines(),
    }
    phases: dict[float, list[Phase]] = {r: [] for r in rates}
    rows: list[dict[str, Any]] = []
    try:
        catch_up = bench.start(args.journal)
        assert bench.writer is not None
        journal = {n: bench.writer.pragma(n) for n in ("journal_mode", "synchronous")}
        idle_cpu = bench.idle(args.idle)
        plan = list(zip(rates, seconds, strict=True))
        for number in range(args.rounds):
            order = plan if number % 2 == 0 else plan[::-1]
            for rate, duration in order:
                phase = bench.phase(rate, duration, f"r{number} {rate:g}/s")
                phases[rate].append(phase)
                row = {"round": number, **summary(rate, [phase], idle_cpu)}
                row["load_average_1m_after"] = round(os.getloadavg()[0], 2)
                rows.append({k: v for k, v in row.items() if not k.endswith("_rounds")})
                print(json.dumps(row), flush=True)
                time.sleep(args.settle)
    finally:
        bench.stop()
    import django

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **code,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "publisher_db": f"SQLite, journal_mode={journal['journal_mode']}, "
        f"synchronous={journal['synchronous']}",
        "follow_interval_s": float(args.interval) if args.interval else 0.5,
        "follow_batch": int(args.batch) if args.batch else 500,
        "follower_cache": "Redis" if args.cache.startswith("redis://") else "file",
        "rounds": args.rounds,
        "seconds_per_round": dict(zip(args.rates.split(","), seconds, strict=True)),
        "effect": "the follower's batch transaction committed (on_commit of its signals)",
        # Set-up: the seeded rows' events, drained by one process, its start-up included.
        "drained_with_once": catch_up,
        "follower_idle_cpu_per_s": round(idle_cpu, 4),
        "results": [summary(rate, phases[rate], idle_cpu) for rate in rates],
        "phases": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="1,100,1000", help="changes per second")
    parser.add_argument(
        "--seconds", default="60,20,10", help="seconds of writing per rate and round"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all the rates")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle measurement")
    parser.add_argument("--settle", type=float, default=1.0, help="pause between phases")
    parser.add_argument("--interval", default="", help="FOLLOW_INTERVAL (default: the library's)")
    parser.add_argument("--batch", default="", help="FOLLOW_BATCH (default: the library's)")
    parser.add_argument(
        "--journal", default="wal", help="the publisher's SQLite journal_mode (wal, delete)"
    )
    parser.add_argument(
        "--cache", default="file", help="the follower's cache: file, or a redis:// URL"
    )
    parser.add_argument("--smoke", action="store_true", help="one short round: only checks")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    # Stopped with SIGTERM, the processes started are stopped too (the finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    if args.smoke:
        args.seconds, args.rounds, args.idle, args.settle = "3,2,1", 1, 1.0, 0.2
    with tempfile.TemporaryDirectory(prefix="federated-changes-") as tmp:
        report = run(args, Path(tmp))
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text + "\n")
    print()
    print(table(report["results"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
