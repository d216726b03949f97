"""The benchmark tool keeps working: a tiny run, checked for shape and request counts.

It asserts no timing: timings are for people to read, on machines they know.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.pages import can_set_cpus, set_cpus

ROOT = Path(__file__).resolve().parent.parent


def run_module(module: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python -m module *args`` from the root with a bare environment; it must succeed."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_smoke_run_of_every_scenario(tmp_path):
    output = tmp_path / "bench.json"
    result = run_module("tests.bench.run", "--smoke", "--json", str(output), timeout=600)
    report = json.loads(output.read_text())
    assert {"machine", "date", "python", "django", "results"} <= set(report)
    scenarios = {row["scenario"] for row in report["results"]}
    assert scenarios == {
        "1 local overhead",
        "2 federation cost",
        "3 naive vs batched",
        "4 gateway",
        "5 growth",
        "6 concurrent batches",
    }
    for row in report["results"]:
        if "expected_requests" in row:  # one request per project and batch, whatever the types
            assert row["requests"] == row["expected_requests"], row
    naive = next(r for r in report["results"] if r["scenario"] == "3 naive vs batched")
    assert naive["naive_requests"] == naive["n_remote"]
    assert naive["batched_requests"] == -(-naive["n_remote"] // report["batch_size"])
    for row in report["results"]:
        if row["scenario"] == "4 gateway":
            for level in ("c1", "c8", "c32"):
                assert row[level]["failures"] == 0
                if row["data"] == "federated":
                    assert row[level]["shop_b_requests_per_query"] == 1
            if row["data"] == "federated":  # both round trips answered every book asked
                assert set(row["round_trip_p50_ms"]) == {"entities", "limit"}
                assert row["page_request"]["representations"] > 0
                # all local + the page's own request, in one unit: a ratio a little over 1
                local = next(
                    r["c1"]["p50_ms"]
                    for r in report["results"]
                    if r["scenario"] == "4 gateway" and r["data"] == "all local"
                )
                own = row["c1"]["page_request_p50_ms"]
                assert own[0] <= own[1] <= own[2]
                assert 1 < row["floor_p50_ratio"] < 1 + 5 * own[2] / local
    assert "| 1 local overhead | n=40 |" in result.stdout


def test_smoke_run_of_the_pushdown_benchmark(tmp_path):
    output = tmp_path / "pushdown.json"
    run_module("tests.bench.pushdown", "--smoke", "--json", str(output))
    report = json.loads(output.read_text())
    assert report["matching"] == 20  # ids ending in "77" of 2,000, none of them hidden
    pushdown, local = report["results"]["pushdown"], report["results"]["local"]
    assert pushdown["requests"] == 1  # the owning service ran the filter
    assert local["requests"] == 2 + 4  # two pages of ids, four batches of 500 books
    assert pushdown["response_bytes"] < local["response_bytes"] / 100


def test_smoke_run_of_the_change_feed_benchmark(tmp_path):
    output = tmp_path / "changes.json"
    result = run_module("tests.bench.changes", "--smoke", "--json", str(output))
    report = json.loads(output.read_text())
    assert {"date", "machine", "load_average_before", "load_average_after"} <= set(report)
    assert [row["rate_per_s"] for row in report["results"]] == [1, 100, 1000]
    for row in report["results"]:
        seconds = report["seconds_per_round"][f"{row['rate_per_s']:g}"]
        assert row["events"] == round(row["rate_per_s"] * seconds) * report["rounds"]
        # Every committed change took effect once, and the follower's cursor counted each.
        assert (row["lost"], row["duplicates"]) == (0, 0), row
        assert row["applied"] == row["events"], row
        assert row["lag_ms_p50"] <= row["lag_ms_p99"] <= row["lag_ms_max"]
        assert row["follower_cpu_per_event_ms"] >= 0
    assert "| 1000 | 1000 |" in result.stdout


@pytest.mark.parametrize("apart", [False, True], ids=["shared", "apart"])
def test_smoke_run_of_the_page_by_page_comparison(tmp_path, apart):
    if apart and not can_set_cpus():
        pytest.skip("the system does not let a process choose among 2 or more CPUs")
    output = tmp_path / "pages.json"
    layout = ["--apart"] if apart else []
    run_module("tests.bench.pages", "--pages", "6", "--json", str(output), *layout)
    report = json.loads(output.read_text())
    assert {"date", "machine", "tree", "load_average"} <= set(report)
    assert report["pages"] == 6 and report["apart"] is apart
    assert set(report["p50_ms"]) == {"federated", "all local", "request alone"}
    # One request to shop_b per federated page, and the page's own one sent alone.
    assert report["shop_b_requests_per_page"] == 1
    assert report["page_request"]["representations"] > 0
    assert report["floor"] > 1
    low, median, high = report["paired_difference_ms"]
    assert low <= median <= high
    if apart:
        cpus = sorted(os.sched_getaffinity(0))
        assert report["cpus"] == {"shop_b": cpus[-1:], "the rest": cpus[:-1]}


@pytest.mark.skipif(not can_set_cpus(), reason="the system does not let a process choose CPUs")
def test_set_cpus_moves_every_thread_and_what_starts_later():
    code = (
        "import os, threading, time\n"
        "input()\n"  # the parent has set the CPUs: a thread started now inherits them
        "seen = []\n"
        "t = threading.Thread(target=lambda: seen.append(sorted(os.sched_getaffinity(0))))\n"
        "t.start(); t.join(); print(seen[0], sorted(os.sched_getaffinity(0)))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    last = max(os.sched_getaffinity(0))
    try:
        set_cpus(child.pid, {last})
        out, _ = child.communicate("\n", timeout=30)
    finally:
        child.kill()
    assert out.split() == [f"[{last}]", f"[{last}]"]
