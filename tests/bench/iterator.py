"""Benchmark: prefetching under ``QuerySet.iterator(chunk_size)`` over a very large table.

For each kind of relation, N rows are streamed with ``prefetch_related`` and
``iterator(chunk_size=2000)``, every target read:

- FederatedForeignKey: ``Reference.objects.prefetch_related("content_object")``,
  per four references two books of shop_b, one of shop_c, one local book;
- FederatedManyToManyField: users with 10 links each (5 to shop_b's books, 2 to
  shop_c's, 3 to local books), chunks of 200 users, so 2,000 links a chunk;
- RemoteForeignKey: reviews of shop_b's books (``book``, one remote model).

Each chunk names distinct targets (a chunk of references names 1,000 books of
shop_b, 500 of shop_c and 500 local books), so a project gets
⌈distinct ids ÷ BATCH_SIZE⌉ requests a chunk.

Two passes per kind, one after the other:

- **timed**: wall time, no tracing, nothing polled; the servers' request
  counters are read before and after;
- **traced**: ``tracemalloc`` on (which slows it), the servers' counters read at
  the start of each chunk (requests per chunk), traced memory at the start of
  the second and of the last chunk after a full collection (retained growth),
  the peak of traced memory minus before the iteration (peak growth), and the
  process's RSS: its peak during the iteration (``VmHWM`` after resetting it
  through ``/proc/self/clear_refs``) minus before.

Usage::

    .venv/bin/python -m tests.bench.iterator --rows 1000000 --json report.json
    .venv/bin/python -m tests.bench.iterator --smoke     # 6,000 rows a kind

The test suite runs the same scenario code at a smoke size in process
(``tests/federated_fk/test_iterator_prefetch.py``). Loopback only; real
subgraph processes (``tests.servers.SubgraphServer``); SQLite files.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MIB = 2**20
CHUNK = 2_000
LINKS_PER_USER = 10
#: The books of each remote project (label, count): enough that every chunk names
#: distinct ones. The seeded titles read "<label> Book <pk>".
REMOTES = {"shop_b": ("shop_b", 10_000), "shop_c": ("shop_c", 5_000)}
#: The local targets a scenario cycles through.
LOCAL_TARGETS = 5_000
KINDS = ("FederatedForeignKey", "FederatedManyToManyField", "RemoteForeignKey")


# -- measuring ------------------------------------------------------------------------


@dataclass
class Streamed:
    """What one streamed iteration cost.

    :param requests: per chunk, the requests each project received during it
    :param rows: how many rows were read
    :param retained_mib: traced memory at the start of the last chunk minus
        at the start of the second, each after a full collection: at both
        points one chunk is alive, so what is kept across chunks shows here
    :param peak_mib: the highest traced memory during the iteration minus before it
    :param rss_peak_mib: the process's peak RSS during the iteration minus its
        RSS before (None where ``/proc`` cannot reset the peak)
    """

    requests: list[dict[str, int]] = field(default_factory=list)
    rows: int = 0
    retained_mib: float = 0.0
    peak_mib: float = 0.0
    rss_peak_mib: float | None = None


def stream(
    rows: Callable[[], Iterator[Any]],
    chunk: int,
    servers: dict[str, Any],
    check: Callable[[Any], None],
) -> Streamed:
    """Read every row of ``rows()``, calling ``check`` on each; measure as ``Streamed`` says.

    The requests of a chunk are read from the servers' counters when its
    first row arrives (its prefetch has run by then) and when the next
    chunk's does.
    """
    result = Streamed()
    counted = {p: s.stats()["graphql_requests"] for p, s in servers.items()}
    gc.collect()
    rss_before = _reset_rss_peak()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        second = last = 0
        for index, row in enumerate(rows()):
            if index % chunk == 0:
                now = {p: s.stats()["graphql_requests"] for p, s in servers.items()}
                result.requests.append({p: now[p] - counted[p] for p in servers})
                counted = now
                if index == chunk:
                    second = _collected_traced()
                last = _collected_traced() if index >= chunk else 0
            check(row)
            result.rows += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    result.retained_mib = (last - second) / MIB
    result.peak_mib = (peak - before) / MIB
    if rss_before is not None:
        result.rss_peak_mib = (_status_kib("VmHWM") - rss_before) / 1024
    return result


def _collected_traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def _status_kib(name: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    raise KeyError(name)


def _reset_rss_peak() -> int | None:
    """Reset the process's peak RSS to its RSS now (Linux); return that RSS in KiB."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return _status_kib("VmRSS")
    except OSError:
        return None


def expected_requests(ids: list[Any], chunk: int, batch_size: int) -> list[int]:
    """Per chunk of ``ids`` (None left out), one request per ``batch_size`` distinct ids."""
    return [
        math.ceil(len(set(ids[i : i + chunk]) - {None}) / batch_size)
        for i in range(0, len(ids), chunk)
    ]


def timed(rows: Callable[[], Iterator[Any]], check: Callable[[Any], None]) -> tuple[float, int]:
    """The wall time of reading every row (``check`` on each) and how many there were."""
    gc.collect()
    started = time.perf_counter()
    count = 0
    for row in rows():
        check(row)
        count += 1
    return time.perf_counter() - started, count


# -- the scenarios ------------------------------------------------------------------


def reference_target(j: int, n_b: int, n_c: int) -> tuple[str, int]:
    """The j-th target of a four-part cycle: two shop_b books, one shop_c book, one local."""
    part, k = j % 4, j // 4
    if part < 2:
        return ("shop_b", (2 * k + part) % n_b + 1)
    if part == 2:
        return ("shop_c", k % n_c + 1)
    return ("local", k % LOCAL_TARGETS)


def link_target(j: int, n_b: int, n_c: int) -> tuple[str, int]:
    """The j-th link of a user's ten: five shop_b books, two shop_c books, three local ones."""
    user, slot = divmod(j, LINKS_PER_USER)
    if slot < 5:
        return ("shop_b", (5 * user + slot) % n_b + 1)
    if slot < 7:
        return ("shop_c", (2 * user + slot - 5) % n_c + 1)
    return ("local", (3 * user + slot - 7) % LOCAL_TARGETS)


class Scenario:
    """One kind of relation: its rows made, streamed and checked.

    :param kind: one of ``KINDS``
    :param rows: N (references, links or reviews)
    :param remotes: the label and number of books of shop_b and shop_c
    :param chunk: the rows a chunk holds (links for the many-to-many)
    """

    def __init__(
        self,
        kind: str,
        rows: int,
        remotes: dict[str, tuple[str, int]] = REMOTES,
        chunk: int = CHUNK,
    ) -> None:
        self.kind = kind
        self.rows = rows
        self.remotes = remotes
        self.chunk = chunk

    @property
    def iterated_chunk(self) -> int:
        """The ``chunk_size`` given to ``iterator()``: users, for the many-to-many."""
        if self.kind == "FederatedManyToManyField":
            return self.chunk // LINKS_PER_USER
        return self.chunk

    def targets(self) -> list[tuple[str, int]]:
        """(project or "local", pk or local index) of each row's target, in order."""
        n_b, n_c = self.remotes["shop_b"][1], self.remotes["shop_c"][1]
        if self.kind == "FederatedForeignKey":
            return [reference_target(j, n_b, n_c) for j in range(self.rows)]
        if self.kind == "FederatedManyToManyField":
            return [link_target(j, n_b, n_c) for j in range(self.rows)]
        # Some past the remote's books: missing targets, read as None.
        return [("shop_b", j % (n_b + n_b // 10) + 1) for j in range(self.rows)]

    def title(self, project: str, pk: int) -> str | None:
        """A remote book's seeded title; None for one its remote hides or does not have."""
        label, books = self.remotes[project]
        return None if pk % 100 == 0 or pk > books else f"{label} Book {pk}"

    def make(self) -> None:
        """Create the rows (and the local targets), replacing earlier ones."""
        from federated_fk.models import GenericContentType
        from tests.deferredapp.models import Review
        from tests.gm2mapp.models import User
        from tests.testapp.models import Book, Reference

        cts = {
            p: GenericContentType.objects.get(project=p, app_label="remoteshop", model="book")
            for p in ("shop_b", "shop_c")
        }
        targets = self.targets()
        if self.kind == "FederatedForeignKey":
            Reference.objects.all().delete()
            books = _ensure(Book, LOCAL_TARGETS, lambda i: Book(title=f"Local {i}"))
            cts["local"] = GenericContentType.objects.get_for_model(Book)
            rows = (
                Reference(content_type=cts[p], object_id=str(books[pk] if p == "local" else pk))
                for p, pk in targets
            )
            Reference.objects.bulk_create(rows, batch_size=2000)
        elif self.kind == "FederatedManyToManyField":
            User.objects.all().delete()
            books = _ensure(Book, LOCAL_TARGETS, lambda i: Book(title=f"Local {i}"))
            cts["local"] = GenericContentType.objects.get_for_model(Book)
            users = User.objects.bulk_create(
                (User(name=f"User {i}") for i in range(self.rows // LINKS_PER_USER)),
                batch_size=2000,
            )
            through = User.preferred_videos.field.through
            rows = (
                through(
                    user=users[j // LINKS_PER_USER],
                    content_type=cts[p],
                    object_id=str(books[pk] if p == "local" else pk),
                )
                for j, (p, pk) in enumerate(targets)
            )
            through.objects.bulk_create(rows, batch_size=2000)
        else:
            Review.objects.all().delete()
            Review.objects.bulk_create((Review(book_id=pk) for _, pk in targets), batch_size=2000)

    def queryset(self) -> Any:
        from tests.deferredapp.models import Review
        from tests.gm2mapp.models import User
        from tests.testapp.models import Reference

        if self.kind == "FederatedForeignKey":
            return Reference.objects.order_by("pk").prefetch_related("content_object")
        if self.kind == "FederatedManyToManyField":
            return User.objects.order_by("pk").prefetch_related("preferred_videos")
        return Review.objects.order_by("pk").prefetch_related("book")

    def iterate(self) -> Iterator[Any]:
        return self.queryset().iterator(chunk_size=self.iterated_chunk)

    def checker(self) -> Callable[[Any], None]:
        """What checks each row's targets, in order: the right objects, hidden ones None."""
        position = iter(self.targets())
        if self.kind == "FederatedManyToManyField":

            def check_user(user: Any) -> None:
                expected = [next(position) for _ in range(LINKS_PER_USER)]
                found = list(user.preferred_videos.all())
                wanted = [(p, pk) for p, pk in expected if p == "local" or self.title(p, pk)]
                assert len(found) == len(wanted), (user.pk, found, wanted)
                for obj, (project, pk) in zip(found, wanted, strict=True):
                    self.check_target(obj, project, pk)

            return check_user
        attribute = "content_object" if self.kind == "FederatedForeignKey" else "book"

        def check_row(row: Any) -> None:
            project, pk = next(position)
            self.check_target(getattr(row, attribute), project, pk)

        return check_row

    def check_target(self, obj: Any, project: str, pk: int) -> None:
        """Check that ``obj`` is the target named by (``project``, ``pk``)."""
        if project == "local":
            assert obj is not None and obj.title == f"Local {pk}", (obj, pk)
            return
        expected = self.title(project, pk)
        assert (obj.title if obj is not None else None) == expected, (obj, project, pk)
        if obj is not None:
            assert obj._meta.project == project, obj

    def expected(self, batch_size: int, projects: tuple[str, ...]) -> dict[str, list[int]]:
        """Per project, the requests each chunk must make."""
        targets = self.targets()
        return {
            p: expected_requests(
                [pk if q == p else None for q, pk in targets], self.chunk, batch_size
            )
            for p in projects
        }


def _ensure(model: Any, count: int, make: Callable[[int], Any]) -> list[Any]:
    """The pks of ``count`` rows of ``model`` (titled by index), made if missing."""
    if model.objects.count() != count:
        model.objects.all().delete()
        model.objects.bulk_create((make(i) for i in range(count)), batch_size=2000)
    return list(model.objects.order_by("pk").values_list("pk", flat=True))


def run_scenario(
    scenario: Scenario, servers: dict[str, Any], batch_size: int, loads: Callable[[], list[float]]
) -> dict[str, Any]:
    """Make the rows, time one pass, trace another; return the figures (and check them)."""
    scenario.make()
    projects = tuple(servers)
    expected = scenario.expected(batch_size, projects)
    before = {p: s.stats()["graphql_requests"] for p, s in servers.items()}
    load_before = loads()
    seconds, count = timed(scenario.iterate, scenario.checker())
    load_after = loads()
    after = {p: s.stats()["graphql_requests"] for p, s in servers.items()}
    traced = stream(scenario.iterate, scenario.iterated_chunk, servers, scenario.checker())
    assert count == traced.rows == scenario.rows // (scenario.chunk // scenario.iterated_chunk)
    per_chunk = {p: [r[p] for r in traced.requests] for p in projects}
    return {
        "kind": scenario.kind,
        "rows": scenario.rows,
        "chunk_rows": scenario.chunk,
        "iterator_chunk_size": scenario.iterated_chunk,
        "chunks": len(traced.requests),
        "seconds": round(seconds, 2),
        "rows_per_second": round(scenario.rows / seconds),
        "ms_per_chunk": round(seconds * 1000 / len(traced.requests), 1),
        "requests": {p: after[p] - before[p] for p in projects},
        "expected_requests": {p: sum(expected[p]) for p in projects},
        "requests_per_chunk": {p: _distribution(per_chunk[p]) for p in projects},
        "requests_per_chunk_as_expected": per_chunk == expected,
        "traced_peak_growth_mib": round(traced.peak_mib, 2),
        "traced_retained_mib": round(traced.retained_mib, 3),
        "rss_peak_growth_mib": None
        if traced.rss_peak_mib is None
        else round(traced.rss_peak_mib, 1),
        "load_average_timed": [load_before, load_after],
    }


def _distribution(counts: list[int]) -> dict[str, int]:
    """How many chunks made each number of requests: {"2": 500}."""
    return {str(k): v for k, v in sorted(Counter(counts).items())}


# -- the command ------------------------------------------------------------------------


def start(folder: Path, batch_size: int) -> dict[str, Any]:
    """Start shop_b and shop_c (in parallel), point this process at them, sync their types."""
    from django.conf import settings
    from django.core.management import call_command
    from django.test import override_settings

    from tests.servers import SubgraphServer

    servers = {
        p: SubgraphServer(p, folder / p, label=label, books=books)
        for p, (label, books) in REMOTES.items()
    }
    for server in servers.values():
        server.folder.mkdir()
    threads = [threading.Thread(target=s.start) for s in servers.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for server in servers.values():
        server.stats()  # raises if a server did not start
    projects = {
        p: {"URL": s.url, "TIMEOUT": 60, "BATCH_SIZE": batch_size} for p, s in servers.items()
    }
    override_settings(FEDERATION={**settings.FEDERATION, "PROJECTS": projects}).enable()
    call_command("sync_remote_contenttypes", schema_dir=str(folder), verbosity=0)
    return servers


def loads() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="N, per kind")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--smoke", action="store_true", help="6,000 rows a kind")
    parser.add_argument("--json", type=Path, help="where to write the report")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows = 6_000
    from tests.bench.run import setup_django

    results = []
    with tempfile.TemporaryDirectory(prefix="federated-iterator-") as tmp:
        folder = Path(tmp)
        setup_django(folder)
        servers = start(folder, args.batch_size)
        try:
            for kind in args.kinds.split(","):
                row = run_scenario(Scenario(kind, args.rows), servers, args.batch_size, loads)
                print(json.dumps(row), flush=True)
                results.append(row)
        finally:
            for server in servers.values():
                server.stop()
    import django

    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": "SQLite file",
        "batch_size": args.batch_size,
        "load_average_end": loads(),
        "results": results,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0 if all(r["requests_per_chunk_as_expected"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
