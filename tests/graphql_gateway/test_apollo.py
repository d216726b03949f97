"""shop_a and shop_b behind Apollo Gateway: they compose, and answer as shop_a's own gateway.

@apollo/composition, @apollo/gateway and @apollo/server are installed by the
test into .cache/composition (git-ignored); the test fails where npm is missing.
"""

import json
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.apollo import ApolloGateway
from tests.federated_fk.test_composition import install_tools
from tests.servers import ROOT

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
