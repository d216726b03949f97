"""shop_a and shop_b behind Apollo Gateway: they compose, and answer as shop_a's own gateway.

With a third service, shop_c, whose listable types have ``federatedIds`` too:
the three compose, and Apollo Gateway over them answers.

@apollo/composition, @apollo/gateway and @apollo/server are installed by the
test into .cache/composition (git-ignored); the test fails where npm is missing.
"""

import json
import re
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.apollo import ApolloGateway
from tests.federated_fk.test_composition import install_tools
from tests.servers import ROOT, SubgraphServer, free_port

#: The same query for both gateways: every member by its own fragment, as shop_a's
#: subgraph has no interface (a remote stub carries only its key).
BOOKS = """
query ($offset: Int!, $limit: Int!) {
  books(offset: $offset, limit: $limit) {
    totalCount offset limit hasNextPage
    items {
      __typename
      ... on ShopABook { id title price author { id name } }
      ... on ShopBBook { id title price author { id name } }
      ... on ShopBAudiobook { id title narrator durationMinutes price author { id name } }
    }
  }
}
"""


def post(url: str, query: str, variables: dict | None = None, token: str = "") -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(url, body, headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:  # a GraphQL error answer: the body says why
        return json.load(exc)


@pytest.fixture(scope="module")
def apollo(shops, tmp_path_factory):
    gateway = ApolloGateway(shops, tmp_path_factory.mktemp("apollo") / "gateway.log").wait()
    yield gateway
    gateway.stop()


def served_sdl(url: str, token: str = "") -> str:
    return post(url, "{ _service { sdl } }", token=token)["data"]["_service"]["sdl"]


def test_the_served_and_committed_subgraphs_compose(shops, tmp_path):
    tools = install_tools()
    files = {
        "shop_a": served_sdl(f"{shops.url}/subgraph/"),
        "shop_b": served_sdl(shops.env["SHOP_B_URL"], shops.token),
    }
    assert files["shop_a"].strip() == (ROOT / "schema/shop_a.graphql").read_text().strip()
    args = []
    for name, sdl in files.items():
        (tmp_path / f"{name}.graphql").write_text(sdl)
        args.append(f"{name}={tmp_path / name}.graphql")
    result = subprocess.run(
        ["node", "compose.mjs", *args], cwd=tools, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    supergraph = result.stdout
    # Two models, two names: shop_a's and shop_b's books.Book never merge.
    assert "type ShopABook" in supergraph and "type ShopBBook" in supergraph
    # shop_a resolves its own books; shop_b's it only names by key.
    shop_a_book = supergraph.split("type ShopABook")[1].split("{")[0]
    assert '@join__type(graph: SHOP_A, key: "id")' in shop_a_book
    shop_b_book = supergraph.split("type ShopBBook")[1].split("{")[0]
    assert '@join__type(graph: SHOP_A, key: "id", resolvable: false)' in shop_b_book


@pytest.mark.parametrize(("offset", "limit"), [(0, 9), (0, 100), (200, 100)])
def test_apollo_gateway_answers_as_shop_a_does(shops, apollo, offset, limit):
    variables = {"offset": offset, "limit": limit}
    ours = shops.query(BOOKS, variables)[1]
    theirs = post(apollo.url, BOOKS, variables)
    assert "errors" not in ours and "errors" not in theirs, (ours, theirs)
    assert theirs["data"] == ours["data"]
    typenames = {item["__typename"] for item in ours["data"]["books"]["items"]}
    assert typenames == (
        {"ShopABook", "ShopBBook", "ShopBAudiobook"} if limit == 100 and not offset else typenames
    )


def test_shop_a_subgraph_sends_no_request_to_shop_b(shops):
    before = shops.shop_b_requests()
    query = "{ books(limit: 9) { items { __typename ... on ShopBBook { id } } } }"
    body = post(f"{shops.url}/subgraph/", query)
    assert "errors" not in body
    assert {"__typename": "ShopBBook", "id": "1"} in body["data"]["books"]["items"]
    assert shops.shop_b_requests() == before  # remote targets are keys: Apollo fetches the rest


class ThreeShopsGateway(ApolloGateway):
    """Apollo Gateway over shop_a's subgraph, shop_b and shop_c, one token for all."""

    def __init__(self, shops, shop_c: SubgraphServer, log) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        subgraphs = [
            f"shop_a={shops.url}/subgraph/",
            f"shop_b={shops.env['SHOP_B_URL']}",
            f"shop_c={shop_c.url}",
        ]
        self.process = subprocess.Popen(
            ["node", "gateway.mjs", str(self.port), shops.token, *subgraphs],
            cwd=install_tools(),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="module")
def third_shop(shops, tmp_path_factory):
    """A third library subgraph (tests.remoteshop as project shop_c), with shop_b's token."""
    server = SubgraphServer(
        "shop_c", tmp_path_factory.mktemp("third_shop"), label="C", token=shops.token, books=30
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def apollo_over_three(shops, third_shop, tmp_path_factory):
    log = tmp_path_factory.mktemp("apollo_three") / "gateway.log"
    gateway = ThreeShopsGateway(shops, third_shop, log).wait()
    yield gateway
    gateway.stop()


def join_graphs(supergraph: str, field: str) -> list[str]:
    (line,) = [ln for ln in supergraph.splitlines() if ln.strip().startswith(f"{field}(")]
    return re.findall(r"join__field\(graph: (\w+)\)", line)


def test_three_served_subgraphs_compose(shops, third_shop, tmp_path):
    tools = install_tools()
    files = {
        "shop_a": served_sdl(f"{shops.url}/subgraph/"),
        "shop_b": served_sdl(shops.env["SHOP_B_URL"], shops.token),
        "shop_c": served_sdl(third_shop.url, shops.token),
    }
    assert "federatedIds(" in files["shop_b"] and "federatedIds(" in files["shop_c"]
    args = []
    for name, sdl in files.items():
        (tmp_path / f"{name}.graphql").write_text(sdl)
        args.append(f"{name}={tmp_path / name}.graphql")
    result = subprocess.run(
        ["node", "compose.mjs", *args], cwd=tools, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    supergraph = result.stdout
    # Both listable services define federatedIds: shared, and hidden from Apollo's clients.
    assert join_graphs(supergraph, "federatedIds") == ["SHOP_B", "SHOP_C"]
    assert "@inaccessible" in supergraph.split("  federatedIds(")[1].splitlines()[0]
    # Each one's own listing is planned to that service alone.
    assert join_graphs(supergraph, "shopBFederatedIds") == ["SHOP_B"]
    assert join_graphs(supergraph, "shopCFederatedIds") == ["SHOP_C"]


def test_apollo_gateway_over_three_services_answers(shops, third_shop, apollo_over_three):
    variables = {"offset": 0, "limit": 100}
    ours = shops.query(BOOKS, variables)[1]
    theirs = post(apollo_over_three.url, BOOKS, variables)
    assert "errors" not in theirs, theirs
    assert theirs["data"] == ours["data"]
    # Each service's ids, asked through Apollo, are that service's own answer.
    for project, url, type_name in [
        ("shopB", shops.env["SHOP_B_URL"], "ShopBBook"),
        ("shopC", third_shop.url, "Book"),
    ]:
        query = f'{{ {project}FederatedIds(typeName: "{type_name}", limit: 7) {{ ids total }} }}'
        direct = post(url, query, token=shops.token)
        through = post(apollo_over_three.url, query)
        assert "errors" not in through, through
        assert through["data"] == direct["data"]
        assert len(through["data"][f"{project}FederatedIds"]["ids"]) == 7
    # The shared federatedIds is for services, not for the supergraph's clients.
    hidden = post(apollo_over_three.url, '{ federatedIds(typeName: "Book") { total } }')
    assert "data" not in hidden or hidden["data"] is None
    assert "federatedIds" in hidden["errors"][0]["message"]
