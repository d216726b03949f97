"""Benchmark: a filter pushed down to the owning service, against filtering locally.

Filtering N remote books down to the few whose title ends in sevens ("7777":
10 of 100,000), in two ways, interleaved, in one run:

- pushdown: ``RemoteBook.objects.filter(title__endswith="0000").pks()``, run by
  the owning service: one request, and only the matching ids travel;
- local: every id paged from the service (``federatedIds``), every book fetched
  (``_entities``, one request per batch), then filtered here.

Usage::

    .venv/bin/python -m tests.bench.pushdown --rows 100000 --repeat 5 --json report.json
    .venv/bin/python -m tests.bench.pushdown --smoke   # 2,000 rows, what CI runs

Loopback only, bounded, stops by itself. Request counts and bytes come from
the library's own request events (``federated_fk.observability``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path
from typing import Any


def suffix(rows: int) -> str:
    """The title ending that about ten of ``rows`` books have ("7777": 10 of 100,000).

    Sevens, since the test subgraph hides every hundredth book: a filter never
    matches a hidden row, so endings in zeros would find none.
    """
    return "7" * max(len(str(rows)) - 2, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="pushdown runs (local: 1 per 3)")
    parser.add_argument("--smoke", action="store_true", help="2,000 rows, one run each")
    parser.add_argument("--json", help="where to write the report")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rows, args.repeat = 2_000, 1
    folder = Path(tempfile.mkdtemp(prefix="federated-pushdown-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.bench.settings")
    os.environ["FEDERATED_BENCH_DB"] = str(folder / "bench.sqlite3")
    import django

    django.setup()
    from tests.servers import SubgraphServer

    server = SubgraphServer("shop_b", folder, label="B", books=args.rows).start()
    try:
        report = measure(server, args.rows, args.repeat)
    finally:
        server.stop()
    report.update(
        machine=f"{platform.machine()}, {os.cpu_count()} cores",
        date=time.strftime("%Y-%m-%d"),
        python=platform.python_version(),
        django=django.get_version(),
    )
    text = json.dumps(report, indent=1)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    return 0


def measure(server: Any, rows: int, repeat: int) -> dict[str, Any]:
    """Run both ways, interleaved; return the medians, spreads, requests and bytes."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    override_settings(
        FEDERATION={
            "PROJECT_NAME": "shop_a",
            "SHARED_APPS": ["sharedapp"],
            "PROJECTS": {"shop_b": {"URL": server.url, "TIMEOUT": 120, "BATCH_SIZE": 500}},
            "SCHEMA_DIR": str(Path(server.folder) / "schema"),
            "MAX_PUSHDOWN_IDS": 10_000,
        }
    ).enable()
    call_command("migrate", verbosity=0)
    call_command("sync_remote_contenttypes", "shop_b", stdout=StringIO())
    from federated_fk.models import GenericContentType

    book = GenericContentType.objects.get(project="shop_b", type_name="Book").model_class()
    runs: dict[str, list[dict[str, Any]]] = {"pushdown": [], "local": []}
    ending = suffix(rows)
    for index in range(repeat):
        runs["pushdown"].append(_timed(lambda: book.objects.filter(title__endswith=ending).pks()))
        if index % 3 == 0:
            runs["local"].append(_timed(lambda: _filter_locally(book, ending)))
    found = {way: sorted(map(str, results[0]["result"])) for way, results in runs.items()}
    assert found["pushdown"] == found["local"], "both ways must find the same books"
    return {
        "rows": rows,
        "filter": f"title__endswith={suffix(rows)!r}",
        "matching": len(found["pushdown"]),
        "results": {way: _summary(results) for way, results in runs.items()},
        "ratio_local_over_pushdown": round(
            statistics.median(r["seconds"] for r in runs["local"])
            / statistics.median(r["seconds"] for r in runs["pushdown"]),
            1,
        ),
    }


def _filter_locally(book: Any, ending: str) -> list[Any]:
    ids: list[Any] = []
    offset = 0
    while True:
        page, total = book.objects.page_ids(offset, 1000)
        ids += page
        offset += len(page)
        if not page or offset >= total:
            break
    from federated_fk.remote import fetch_remote_objects

    objects = fetch_remote_objects({book: ids}).raise_first()
    return [obj.pk for obj in objects if obj.title.endswith(ending)]


def _timed(run: Any) -> dict[str, Any]:
    from federated_fk.observability import remote_request_finished

    requests: list[Any] = []

    def record(sender: Any, remote_request: Any, **kwargs: Any) -> None:
        requests.append(remote_request)

    remote_request_finished.connect(record, weak=False)
    try:
        start = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - start
    finally:
        remote_request_finished.disconnect(record)
    return {
        "seconds": seconds,
        "requests": len(requests),
        "bytes": sum(r.response_bytes or 0 for r in requests),
        "result": result,
    }


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [r["seconds"] for r in results]
    return {
        "runs": len(results),
        "median_s": round(statistics.median(seconds), 4),
        "min_s": round(min(seconds), 4),
        "max_s": round(max(seconds), 4),
        "requests": results[0]["requests"],
        "response_bytes": results[0]["bytes"],
    }


if __name__ == "__main__":
    sys.exit(main())
