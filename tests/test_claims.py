"""The claims of the performance page: the script that re-runs them, and the page's table.

The smoke run checks the report's shape and request counts, never its times.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.bench.claims import MARKER, render

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "explanation" / "performance.md"
INCLUDE = ROOT / "docs" / "explanation" / "_claims.md"
KEYS = {
    "ffk_gfk",
    "library_limit_100",
    "half_local_100",
    "library_limit_200",
    "half_local_200",
    "gateway_page",
    "gateway_apollo_p50",
    "gateway_apollo_throughput",
}


def newest_report() -> Path:
    """The committed report (tests/bench/claims-*.json) whose run started last."""
    reports = list((ROOT / "tests" / "bench").glob("claims-*.json"))
    assert reports, "no tests/bench/claims-*.json report"
    return max(reports, key=lambda path: json.loads(path.read_text())["date"])


def test_quick_run_writes_a_report_of_every_claim(tmp_path):
    output, table = tmp_path / "claims.json", tmp_path / "claims.md"
    command = [sys.executable, "-m", "tests.bench.claims", "--quick"]
    result = subprocess.run(
        [*command, "--json", str(output), "--markdown", str(table)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(output.read_text())
    assert report["complete"] and report["quick"] and report["runs"] == 3
    assert {"cpus", "cpu_model", "python", "django"} <= set(report["machine"])
    assert len(report["load_average"]["before"]) == len(report["load_average"]["after"]) == 3
    assert {row["key"] for row in report["claims"]} == KEYS
    for row in report["claims"]:
        assert row["min"] <= row["median"] <= row["max"], row
        assert row["runs"] == 3 and len(row["load_1min"]) == 2
    claims = {row["key"]: row for row in report["claims"]}
    for n in (100, 200):  # one request per 500 representations
        assert claims[f"library_limit_{n}"]["shop_b_requests"] == 1
    assert claims["gateway_page"]["shop_b_requests_per_query"] == 1
    page = claims["gateway_page"]
    assert page["failures"] == 0 and page["floor"] > 1
    assert page["floor_spread"][0] <= page["floor"] <= page["floor_spread"][2]
    assert page["page_request"]["representations"] > 0
    assert claims["gateway_apollo_p50"]["failures"] == 0
    assert table.read_text() == render(report, "claims.json")


def test_the_page_includes_the_table_of_the_newest_report():
    report = newest_report()
    source = str(report.relative_to(ROOT))
    assert INCLUDE.read_text() == render(json.loads(report.read_text()), source), (
        f"regenerate it: python -m tests.bench.claims --render {source} --markdown {INCLUDE}"
    )
    include = re.search(r"```\{include\} _claims\.md\n:start-after: (.*)\n```", PAGE.read_text())
    assert include and include.group(1) == MARKER


def test_the_newest_report_is_a_real_run_of_five_runs_or_more():
    report = json.loads(newest_report().read_text())
    assert report["complete"] and not report["quick"]
    assert all(row["runs"] >= 5 for row in report["claims"])
