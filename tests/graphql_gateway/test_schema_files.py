"""schema/ holds the SDL of every schema; code and files must not drift apart."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("shop", "schema", "path"),
    [
        ("shop_b", "shop_b.graphql.schema", "schema/shop_b.graphql"),
        ("shop_a", "graphql_gateway.schema.schema", "schema/gateway.graphql"),
        ("shop_a", "graphql_gateway.schema.subgraph", "schema/shop_a.graphql"),
    ],
)
def test_committed_sdl_matches_the_code(shop, schema, path):
    result = subprocess.run(
        [sys.executable, "manage.py", "write_schema_sdl", schema, str(ROOT / path), "--check"],
        cwd=ROOT / shop,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr


def test_drift_is_reported_with_a_diff_and_the_command_to_fix_it(tmp_path):
    stale = tmp_path / "shop_b.graphql"
    stale.write_text((ROOT / "schema/shop_b.graphql").read_text().replace("narrator", "reader"))
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "write_schema_sdl",
            "shop_b.graphql.schema",
            str(stale),
            "--check",
        ],
        cwd=ROOT / "shop_b",
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "is not the SDL of shop_b.graphql.schema" in result.stderr
    assert "-  reader: String!" in result.stderr and "+  narrator: String!" in result.stderr
    assert "write_schema_sdl shop_b.graphql.schema" in result.stderr
