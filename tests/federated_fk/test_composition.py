"""The subgraph SDL composes into an Apollo Federation v2 supergraph (@apollo/composition)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tests" / "composition"
TOOLS = ROOT / ".cache" / "composition"

REVIEWS = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

type Review @key(fields: "id") {
  id: ID!
  stars: Int!
  book: Book!
}

type Book @key(fields: "id", resolvable: false) {
  id: ID!
}

type Query {
  reviews: [Review!]!
}
"""


def install_tools() -> Path:
    """Install tests/composition's npm packages into a git-ignored folder, once; return it.

    Fails (never skips) where npm is missing.
    """
    wanted = json.loads((SOURCE / "package.json").read_text())["dependencies"]
    if not all((TOOLS / "node_modules" / name).is_dir() for name in wanted):
        assert shutil.which("npm"), "npm is needed to install @apollo/composition and gateway"
        TOOLS.mkdir(parents=True, exist_ok=True)
        shutil.copy(SOURCE / "package.json", TOOLS / "package.json")
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=TOOLS,
            check=True,
            timeout=300,
        )
    for script in SOURCE.glob("*.mjs"):
        shutil.copy(script, TOOLS / script.name)
    return TOOLS


@pytest.fixture(scope="module")
def compose():
    """Compose SDL files with @apollo/composition."""
    install_tools()

    def run(**subgraphs: Path) -> subprocess.CompletedProcess:
        args = [f"{name}={path}" for name, path in subgraphs.items()]
        return subprocess.run(
            ["node", "compose.mjs", *args], cwd=TOOLS, capture_output=True, text=True, timeout=120
        )

    return run


@pytest.fixture
def served_sdl(client, tmp_path):
    response = client.post(
        "/graphql/", json.dumps({"query": "{ _service { sdl } }"}), content_type="application/json"
    )
    path = tmp_path / "shop_b.graphql"
    path.write_text(response.json()["data"]["_service"]["sdl"])
    return path


@pytest.mark.django_db
def test_the_subgraph_composes_alone_and_with_another_subgraph(compose, served_sdl, tmp_path):
    alone = compose(shop_b=served_sdl)
    assert alone.returncode == 0, alone.stderr
    assert "type Book" in alone.stdout and "@join__type(graph: SHOP_B" in alone.stdout

    reviews = tmp_path / "reviews.graphql"
    reviews.write_text(REVIEWS)
    both = compose(shop_b=served_sdl, reviews=reviews)
    assert both.returncode == 0, both.stderr
    assert '@join__type(graph: REVIEWS, key: "id", resolvable: false)' in both.stdout


def test_a_broken_subgraph_does_not_compose(compose, tmp_path):
    broken = tmp_path / "broken.graphql"
    # Two subgraphs that disagree on the type of Book.id.
    broken.write_text(
        REVIEWS.replace("resolvable: false) {\n  id: ID!", "resolvable: false) {\n  id: Int!")
    )
    other = tmp_path / "other.graphql"
    other.write_text(REVIEWS.replace("Review", "Rating").replace("reviews", "ratings"))
    result = compose(a=broken, b=other)
    assert result.returncode == 1
    assert "Book.id" in result.stderr
