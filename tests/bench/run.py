"""Benchmarks of django-federated-fk, side by side with Django's GenericForeignKey.

    python -m tests.bench.run                 # the full run (several minutes)
    python -m tests.bench.run --smoke         # a tiny run that only checks it works

It starts what it needs as real processes on 127.0.0.1 (subgraph servers, the
demo shops), on fresh SQLite files, generates the rows, runs the scenarios,
prints a table and writes the same figures as JSON (--json). Times are medians
of --repeat runs after a warm-up; comparisons are ratios measured in the same
run, because absolute times on shared machines drift.

Method: variants that are compared run interleaved (A, B, A, B, ...), so that
drift on the machine hits them alike, and each ratio is reported with its
spread: the minimum, median and maximum of the per-round ratios. The garbage
collector is controlled as ``timeit`` does: a full collection before each timed
call and none during it (``gc.disable()``), so that a collection pass of
earlier garbage does not land on whichever variant happens to run next.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WARMUP = 3  # requests the load generator sends before timing
GATEWAY_ROUNDS = 3  # the gateway setups are loaded in turn, this many times each
LIMIT = "half on shop_b, minimal endpoint (the physical limit)"
BOOKS_QUERY = """query ($limit: Int!) { books(limit: $limit) { totalCount items { __typename
  ... on BookItem { id title price } } } }"""


def setup_django(folder: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.bench.settings"
    os.environ["FEDERATED_BENCH_DB"] = str(folder / "bench.sqlite3")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def timed_once(fn: Callable[[], Any]) -> float:
    """The wall time of one call of ``fn``: collected before, no collection during."""
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started
    finally:
        gc.enable()


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """The median wall time of ``fn`` over ``repeat`` runs, after one warm-up run."""
    fn()
    return statistics.median(timed_once(fn) for _ in range(repeat))


def interleaved(variants: dict[str, Callable[[], Any]], repeat: int) -> dict[str, list[float]]:
    """The times of each variant over ``repeat`` rounds, the variants run in turn."""
    for fn in variants.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, fn in variants.items():
            times[name].append(timed_once(fn))
    return times


def spread(values: list[float]) -> list[float]:
    """[min, median, max] of ``values``."""
    return [min(values), statistics.median(values), max(values)]


def ratio_spread(times: dict[str, list[float]], a: str, b: str) -> list[float]:
    """[min, median, max] of the ratio a ÷ b, round by round."""
    return spread([x / y for x, y in zip(times[a], times[b], strict=True)])


def peak_mib(fn: Callable[[], Any]) -> float:
    """The peak of Python allocations while ``fn`` runs, in MiB (a separate run)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


class Bench:
    def __init__(self, folder: Path, repeat: int, batch_size: int) -> None:
        self.folder = folder
        self.repeat = repeat
        self.batch_size = batch_size
        self.results: list[dict[str, Any]] = []
        self.servers: dict[str, Any] = {}
        self.limit: Any = None

    # -- set-up ---------------------------------------------------------------

    def start_remotes(self, shop_b_books: int, shop_c_books: int, shop_d_books: int = 0) -> None:
        """Start shop_b and shop_c (one uvicorn worker each), and shop_d (two) if it has books."""
        from django.conf import settings
        from django.core.management import call_command
        from django.test import override_settings

        from tests.servers import SubgraphServer

        remotes = [("shop_b", shop_b_books, 1), ("shop_c", shop_c_books, 1)]
        if shop_d_books:
            remotes.append(("shop_d", shop_d_books, 2))
        for project, books, workers in remotes:
            folder = self.folder / project
            folder.mkdir()
            self.servers[project] = SubgraphServer(
                project, folder, label=project, books=books, workers=workers
            )
            self.servers[project].start()
        projects = {
            p: {"URL": s.url, "TIMEOUT": 60, "BATCH_SIZE": self.batch_size}
            for p, s in self.servers.items()
        }
        # Through override_settings, so that cached settings are dropped.
        override_settings(FEDERATION={**settings.FEDERATION, "PROJECTS": projects}).enable()
        call_command("sync_remote_contenttypes", schema_dir=str(self.folder), verbosity=0)

    def stop(self) -> None:
        if self.limit is not None:
            self.limit.close()
        for server in self.servers.values():
            server.stop()

    def requests(self) -> dict[str, int]:
        # shop_d has two workers, each counting its own: it is counted by the client.
        return {p: s.stats()["graphql_requests"] for p, s in self.servers.items() if p != "shop_d"}

    def reset_requests(self) -> None:
        for project, server in self.servers.items():
            if project != "shop_d":
                server.stats(reset=True)

    def ensure_books(self, count: int) -> None:
        from tests.testapp.models import Book

        have = Book.objects.count()
        Book.objects.bulk_create(
            (Book(title=f"Local {i}", price=i % 50) for i in range(have, count)), batch_size=2000
        )

    def make_references(self, label: str, targets: list[tuple[Any, Any]]) -> None:
        """Create the references of one data set, named by ``label``."""
        from tests.testapp.models import Reference

        Reference.objects.filter(note=label).delete()
        Reference.objects.bulk_create(
            (Reference(note=label, content_type=ct, object_id=str(pk)) for ct, pk in targets),
            batch_size=2000,
        )

    def targets(self, n_local: int, remote: dict[str, int]) -> list[tuple[Any, Any]]:
        from federated_fk.models import GenericContentType
        from tests.testapp.models import Book

        local_ct = GenericContentType.objects.get_for_model(Book)
        pks = list(Book.objects.order_by("pk").values_list("pk", flat=True)[:n_local])
        targets = [(local_ct, pk) for pk in pks]
        for project, count in remote.items():
            ct = GenericContentType.objects.get(project=project, model="book")
            targets += [(ct, pk) for pk in range(1, count + 1)]
        return targets

    # -- measuring --------------------------------------------------------------

    @staticmethod
    def resolve(label: str) -> Callable[[], int]:
        from tests.testapp.models import Reference

        def run() -> int:
            refs = Reference.objects.filter(note=label).prefetch_related("content_object")
            # The target is read once per reference, as the baseline reads it.
            return sum(1 for ref in refs if (obj := ref.content_object) is not None and obj.title)

        return run

    def record(self, scenario: str, **figures: Any) -> dict[str, Any]:
        row = {"scenario": scenario, **figures}
        self.results.append(row)
        print(json.dumps(row), flush=True)
        return row

    # -- scenarios ----------------------------------------------------------------

    def local_overhead(self, n: int) -> None:
        """1. FederatedForeignKey vs Django's GenericForeignKey, all targets local."""
        from django.contrib.contenttypes.models import ContentType

        from tests.testapp.models import Book, DjangoReference

        self.ensure_books(n)
        self.make_references(f"local-{n}", self.targets(n, {}))
        DjangoReference.objects.all().delete()
        django_ct = ContentType.objects.get_for_model(Book)
        pks = Book.objects.order_by("pk").values_list("pk", flat=True)[:n]
        DjangoReference.objects.bulk_create(
            (DjangoReference(content_type=django_ct, object_id=str(pk)) for pk in pks),
            batch_size=2000,
        )

        def django_gfk() -> int:
            refs = DjangoReference.objects.prefetch_related("content_object")
            return sum(1 for ref in refs if (obj := ref.content_object) is not None and obj.title)

        federated = self.resolve(f"local-{n}")
        times = interleaved({"federated": federated, "django": django_gfk}, self.repeat)
        fed, dj = (statistics.median(times[k]) for k in ("federated", "django"))
        self.record(
            "1 local overhead",
            n=n,
            federated_s=fed,
            django_gfk_s=dj,
            ratio=fed / dj,
            ratio_spread=ratio_spread(times, "federated", "django"),
            peak_mib=peak_mib(federated),
            django_peak_mib=peak_mib(django_gfk),
        )

    def federation_cost(self, n: int, scenario: str = "2 federation cost") -> None:
        """2. Half local and half on shop_b (and spread over two remotes) vs all local."""
        self.ensure_books(n)
        half, quarter = n // 2, n // 4
        sets = {
            "all local": (f"local-{n}", self.targets(n, {})),
            "half on shop_b": (f"half-{n}", self.targets(n - half, {"shop_b": half})),
            "quarter on shop_b, quarter on shop_c": (
                f"split-{n}",
                self.targets(n - 2 * quarter, {"shop_b": quarter, "shop_c": quarter}),
            ),
        }
        growth = scenario.startswith("5")
        names = ["half on shop_b"] if growth else list(sets)
        variants = {}
        for name in names:
            label, targets = sets[name]
            self.make_references(label, targets)
            variants[name] = self.resolve(label)
        if not growth:
            # The physical limit: the same prefetch, the library's fetch replaced
            # by the minimal endpoint (tests/bench/limit.py).
            variants[LIMIT] = self.with_limit_fetch(variants["half on shop_b"])
        times = interleaved(variants, self.repeat)
        for name, fn in variants.items():
            targets = sets["half on shop_b" if name == LIMIT else name][1]
            seconds = statistics.median(times[name])
            figures: dict[str, Any] = {"seconds": seconds, "seconds_spread": spread(times[name])}
            if "all local" in times and name != "all local":
                figures["ratio_to_all_local"] = ratio_spread(times, name, "all local")
            if name == "half on shop_b" and LIMIT in times:
                figures["ratio_to_limit"] = ratio_spread(times, name, LIMIT)
            if name != LIMIT:
                self.reset_requests()
                fn()
                remote = {p: sum(1 for ct, _ in targets if ct.project == p) for p in self.servers}
                figures["requests"] = {p: c for p, c in self.requests().items() if c}
                figures["expected_requests"] = {
                    p: math.ceil(c / self.batch_size) for p, c in remote.items() if c
                }
                figures["peak_mib"] = peak_mib(fn)
            self.record(scenario, n=n, data=name, per_reference_us=seconds / n * 1e6, **figures)

    def with_limit_fetch(self, fn: Callable[[], int]) -> Callable[[], int]:
        """``fn`` with ``federated_fk.remote.client.fetch`` answered by the limit endpoint."""
        from unittest import mock

        from federated_fk.remote import client
        from tests.bench.limit import LimitClient

        if self.limit is None:
            urls = {p: s.url.replace("/graphql/", "/limit/") for p, s in self.servers.items()}
            self.limit = LimitClient(urls, self.batch_size)

        def run() -> int:
            with mock.patch.object(client, "fetch", self.limit.fetch):
                return fn()

        return run

    def concurrent_batches(self, n: int, in_flight: list[int]) -> None:
        """6. n references on shop_d (two uvicorn workers), a project's batches in flight together.

        Each ``CONCURRENT_BATCHES`` value is a session of its own (kept open), so
        the variants differ only in how many of the batches are sent at once.
        """
        from federated_fk import conf
        from federated_fk.testing import CaptureRemoteRequests

        label = f"shop_d-{n}"
        self.make_references(label, self.targets(0, {"shop_d": n}))
        resolve = self.resolve(label)
        projects = conf.federation_settings()["PROJECTS"]

        def at_once(k: int) -> Callable[[], int]:
            def run() -> int:
                projects["shop_d"]["CONCURRENT_BATCHES"] = k
                return resolve()

            return run

        variants = {f"{k} in flight": at_once(k) for k in in_flight}
        times = interleaved(variants, self.repeat)
        first = next(iter(variants))
        for name, fn in variants.items():
            with CaptureRemoteRequests("shop_d") as captured:
                fn()
            self.record(
                "6 concurrent batches",
                n=n,
                data=name,
                seconds=statistics.median(times[name]),
                seconds_spread=spread(times[name]),
                ratio_to_one_at_a_time=ratio_spread(times, name, first),
                requests=len(captured.requests),
                expected_requests=math.ceil(n / self.batch_size),
            )

    def naive_vs_batched(self, n: int) -> None:
        """3. The same remote references, one request per object vs batched."""
        from tests.testapp.models import Reference

        label = f"remote-{n}"
        self.make_references(label, self.targets(0, {"shop_b": n}))

        def naive() -> int:
            return sum(
                1
                for ref in Reference.objects.filter(note=label)
                if _title_or_none(ref.content_object)
            )

        batched = self.resolve(label)
        batched_s = timed(batched, self.repeat)
        naive_s = timed(naive, 1 if n > 1000 else self.repeat)
        self.reset_requests()
        naive()
        naive_requests = self.requests()["shop_b"]
        self.reset_requests()
        batched()
        self.record(
            "3 naive vs batched",
            n_remote=n,
            naive_s=naive_s,
            batched_s=batched_s,
            speed_up=naive_s / batched_s,
            naive_requests=naive_requests,
            batched_requests=self.requests()["shop_b"],
        )

    def gateway(self, page_sizes: list[int], requests: int) -> None:
        """4. The unified books query: latency and throughput, federated vs all local."""
        setups = gateway_setups(self.folder / "gw", max(page_sizes))
        try:
            for shops in setups.values():
                shops.folder.mkdir(parents=True)
                shops.start()
            for size in page_sizes:
                payload = json.dumps({"query": BOOKS_QUERY, "variables": {"limit": size}})
                rows = {name: {"data": name, "page_size": size} for name in setups}
                own = PageRequest(setups["federated"], payload)
                for concurrency in (1, 8, 32):
                    count = requests if concurrency == 1 else requests * 2
                    figures = self.gateway_level(
                        setups, payload, concurrency, count, own if concurrency == 1 else None
                    )
                    for name, level in figures.items():
                        rows[name][f"c{concurrency}"] = level
                trips = self.round_trips(size, max(requests, 20))
                rows["federated"]["round_trip_p50_ms"] = trips
                rows["federated"]["page_request"] = own.described()
                # A federated page costs what an all-local page costs plus its one
                # request to shop_b: that sum, round by round, is the floor.
                rows["federated"]["floor_p50_ratio"] = rows["federated"]["c1"]["floor_p50_ratio"][1]
                for row in rows.values():
                    self.record("4 gateway", **row)
        finally:
            for shops in setups.values():
                shops.stop()

    def round_trips(self, size: int, count: int) -> dict[str, float]:
        """p50 ms of one round trip for ``size`` books: ``_entities`` and the minimal endpoint.

        Straight to the bench's shop_b subgraph over one kept-alive connection,
        interleaved; ``_entities`` is asked the query the library's client builds.
        """
        from federated_fk.models import GenericContentType
        from federated_fk.remote.entities import ENTITIES_QUERY

        book = GenericContentType.objects.get(project="shop_b", type_name="Book")
        text = ENTITIES_QUERY.format(fragments=book.model_class()._meta.entity_type().fragment())
        variables = {
            "representations": [{"__typename": "Book", "id": str(i + 1)} for i in range(size)]
        }
        posts = {
            "entities": ("/graphql/", json.dumps({"query": text, "variables": variables})),
            "limit": ("/limit/", json.dumps({"variables": variables})),
        }
        return round_trip_p50s(self.servers["shop_b"].port, posts, size, count)

    @staticmethod
    def gateway_level(
        setups: dict[str, Any],
        payload: str,
        concurrency: int,
        count: int,
        own: PageRequest | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Load both setups in turn, GATEWAY_ROUNDS times; p50 ratio spread from the rounds.

        :param own: the federated page's own request to shop_b, sent alone after
            each round's pages: the floor of each round is (all local + it) ÷ all local
        """
        latencies: dict[str, list[float]] = {name: [] for name in setups}
        p50s: dict[str, list[float]] = {name: [] for name in setups}
        wall = dict.fromkeys(setups, 0.0)
        failures = dict.fromkeys(setups, 0)
        shop_b = dict.fromkeys(setups, 0)
        own_p50s: list[float] = []
        per_round = max(1, count // GATEWAY_ROUNDS)
        for _ in range(GATEWAY_ROUNDS):
            for name, shops in setups.items():
                before = shops.shop_b_requests() + WARMUP if shops.remote else 0
                result = load(shops.url + "/graphql/", payload, concurrency, per_round)
                shop_b[name] += (shops.shop_b_requests() - before) if shops.remote else 0
                latencies[name] += result["latencies"]
                p50s[name].append(statistics.median(result["latencies"]))
                wall[name] += result["wall"]
                failures[name] += result["failures"]
            if own is not None:
                own_p50s.append(own.p50_ms(per_round))
        figures = {}
        for name in setups:
            ordered = sorted(latencies[name])
            figures[name] = {
                "p50_ms": 1000 * statistics.median(ordered),
                "p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))],
                "per_s": len(ordered) / wall[name],
                "failures": failures[name],
                "shop_b_requests_per_query": shop_b[name] / (per_round * GATEWAY_ROUNDS),
            }
        if "federated" in setups and "all local" in setups:
            figures["federated"]["p50_ratio_to_all_local"] = spread(
                [f / a for f, a in zip(p50s["federated"], p50s["all local"], strict=True)]
            )
            if own_p50s:
                figures["federated"]["page_request_p50_ms"] = spread(own_p50s)
                figures["federated"]["floor_p50_ratio"] = spread(
                    [(a + o / 1000) / a for a, o in zip(p50s["all local"], own_p50s, strict=True)]
                )
        return figures


def gateway_setups(folder: Path, books: int) -> dict[str, Any]:
    """The demo's shops, federated and all local, in folders under ``folder``, for pages of
    up to ``books`` (not started).

    Each request computes its page and makes its own request to shop_b: this
    measures a page's cost, and the same query sent over and over would
    otherwise share executions and fetches in flight (SHARE_OPERATIONS,
    SHARE_FETCHES; measured on their own by tests.bench.gateways --sharing).
    """
    from tests.servers import DemoShops

    os.environ["GATEWAY_MAX_PAGE_SIZE"] = str(books)
    os.environ["GATEWAY_SHARE_OPERATIONS"] = "0"
    os.environ["SHOP_B_SHARE_FETCHES"] = "0"
    return {
        "federated": DemoShops(folder / "federated", extra_books=books),
        "all local": DemoShops(folder / "local", local_books=books, remote=False),
    }


def _title_or_none(obj: Any) -> Any:
    from federated_fk.exceptions import RemoteObjectDoesNotExist

    try:
        return obj.title if obj is not None else None
    except RemoteObjectDoesNotExist:
        return None


def round_trip_p50s(
    port: int,
    posts: dict[str, tuple[str, str]],
    entities: int,
    count: int,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """p50 ms of each POST (``name: (path, body)``) to ``port``, interleaved.

    Over one kept-alive connection, ``count`` times each after a warm-up; every
    answer must be a 200 with ``entities`` items in ``data._entities``.
    """
    import http.client

    sent = {"Content-Type": "application/json", **(headers or {})}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times: dict[str, list[float]] = {name: [] for name in posts}
    try:
        for attempt in range(WARMUP + count):
            for name, (path, body) in posts.items():
                started = time.perf_counter()
                connection.request("POST", path, body, sent)
                response = connection.getresponse()
                answer = json.loads(response.read())
                elapsed = time.perf_counter() - started
                found = (answer.get("data") or {}).get("_entities") or []
                if response.status != 200 or len(found) != entities:
                    raise RuntimeError(f"{name}: unexpected answer {str(answer)[:200]}")
                if attempt >= WARMUP:
                    times[name].append(elapsed)
    finally:
        connection.close()
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


#: Run in shop_a's ``manage.py shell``: send the gateway page once through the test
#: client and print, as JSON, the one request it made to shop_b (its query text and
#: variables), recorded where the client sends it.
_CAPTURE_PAGE_REQUEST = """
import json, sys
from django.test import Client
from federated_fk.remote.session import ProjectSession
sent = []
execute = ProjectSession.execute
async def recording(self, text, variables):
    sent.append({"query": text, "variables": variables})
    return await execute(self, text, variables)
ProjectSession.execute = recording
answer = Client(HTTP_HOST="127.0.0.1").post(
    "/graphql/", sys.stdin.read(), content_type="application/json"
)
assert answer.status_code == 200 and len(sent) == 1, (answer.content[:300], len(sent))
print(json.dumps(sent[0]))
"""


class PageRequest:
    """The federated gateway page's own request to shop_b, to be sent alone.

    It is recorded once from shop_a (the query text and the representations
    the page asks for), then sent straight to shop_b over one kept-alive
    connection, with shop_a's token, as shop_a sends it.
    """

    def __init__(self, shops: Any, payload: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", _CAPTURE_PAGE_REQUEST],
            cwd=ROOT / "shop_a",
            env=shops.env,
            input=payload,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        self.body = result.stdout.strip().splitlines()[-1]
        self.port = shops.shop_b.port
        self.token = shops.token
        representations = json.loads(self.body)["variables"]["representations"]
        self.representations = len(representations)
        self.entity_types = sorted({r["__typename"] for r in representations})

    def p50_ms(self, count: int) -> float:
        """Send it ``count`` times (after a warm-up); the median in ms."""
        headers = {"Authorization": f"Bearer {self.token}"}
        posts = {"page request": ("/graphql/", self.body)}
        p50s = round_trip_p50s(self.port, posts, self.representations, count, headers)
        return p50s["page request"]

    def described(self) -> dict[str, Any]:
        return {"representations": self.representations, "entity_types": self.entity_types}


def load(url: str, payload: str, concurrency: int, requests: int) -> dict[str, Any]:
    """Run the load generator as a separate process."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bench.load",
            url,
            payload,
            "--concurrency",
            str(concurrency),
            "--requests",
            str(requests),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(result.stdout)


def table(results: list[dict[str, Any]]) -> str:
    """The figures as a Markdown table, one line per measurement."""
    lines = ["| scenario | measurement | figures |", "|---|---|---|"]
    for row in results:
        rest = {k: v for k, v in row.items() if k != "scenario"}
        key = ", ".join(
            f"{k}={v}" for k, v in rest.items() if k in ("n", "n_remote", "data", "page_size")
        )
        figures = ", ".join(
            f"{k}={_fmt(v)}"
            for k, v in rest.items()
            if k not in ("n", "n_remote", "data", "page_size")
        )
        lines.append(f"| {row['scenario']} | {key} | {figures} |")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and all(isinstance(v, float) for v in value):
        return "/".join(f"{v:.3g}" for v in value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    return str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="N for scenarios 1 to 3.")
    parser.add_argument("--growth", default="100,1000,10000,100000", help="N for scenario 5.")
    parser.add_argument("--page-sizes", default="50,500", help="Page sizes for scenario 4.")
    parser.add_argument(
        "--requests", type=int, default=60, help="Gateway queries at concurrency 1."
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--smoke", action="store_true", help="Tiny sizes: only check that it runs.")
    parser.add_argument("--json", type=Path, help="Write the figures here as JSON.")
    parser.add_argument("--only", default="1,2,3,4,5,6", help="The scenarios to run, by number.")
    parser.add_argument(
        "--concurrent", default="1,2,4", help="Batches in flight at once, for scenario 6."
    )
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.growth, args.page_sizes = "40", "40,80", "5"
        args.requests, args.repeat, args.batch_size = 4, 1, 15
    sizes = [int(n) for n in args.sizes.split(",")]
    growth = [int(n) for n in args.growth.split(",")]
    page_sizes = [int(n) for n in args.page_sizes.split(",")]

    with tempfile.TemporaryDirectory(prefix="federated-bench-") as tmp:
        folder = Path(tmp)
        setup_django(folder)
        bench = Bench(folder, args.repeat, args.batch_size)
        try:
            only = set(args.only.split(","))
            concurrent = [int(n) for n in args.concurrent.split(",")]
            bench.start_remotes(max(growth + sizes), max(sizes), max(sizes) if "6" in only else 0)
            for n in sizes:
                if "1" in only:
                    bench.local_overhead(n)
                if "2" in only:
                    bench.federation_cost(n)
                if "3" in only:
                    bench.naive_vs_batched(n // 2)
            for n in growth if "5" in only else []:
                bench.federation_cost(n, scenario="5 growth")
            if "4" in only:
                bench.gateway(page_sizes, args.requests)
            if "6" in only:
                bench.concurrent_batches(max(sizes), concurrent)
        finally:
            bench.stop()
    import django

    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "django": django.get_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "gc": "collected before each timed call, disabled during it",
        "repeat": args.repeat,
        "batch_size": args.batch_size,
        "results": bench.results,
    }
    print()
    print(table(bench.results))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
