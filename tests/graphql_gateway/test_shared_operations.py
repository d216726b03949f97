"""Identical queries in flight share one execution of the gateway view; nothing outlives it."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import AsyncClient, Client
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from graphql_gateway.views import GatewayView
from tests.graphql_gateway import test_generate
from tests.servers import free_port

pytestmark = pytest.mark.django_db

# The showings of local and remote movies and clips (tests/graphql_gateway/test_generate.py).
federation = test_generate.federation
synced_content_types = test_generate.synced_content_types
screenings = test_generate.screenings

QUERY = """query Page($offset: Int) { screenings(offset: $offset, limit: 20) {
    totalCount items { __typename ... on ScreeningItem { id title } } } }"""
#: How long an execution takes at least: every concurrent request arrives meanwhile.
HOLD = 0.3


class Executions:
    """Counts the executions of the schema; each lasts at least ``hold`` seconds."""

    def __init__(self, schema, hold: float = HOLD) -> None:
        self.count = 0
        self.hold = hold
        execute = schema.execute

        async def counted(*args, **kwargs):
            self.count += 1
            await asyncio.sleep(self.hold)
            return await execute(*args, **kwargs)

        schema.execute = counted


_view = {}


async def gateway(request, *args, **kwargs):
    return await _view["view"](request, *args, **kwargs)


urlpatterns = [path("graphql/", csrf_exempt(gateway))]


@pytest.fixture
def served(screenings, shop_b, settings):
    """The gateway view of the screenings schema at /graphql/, and its executions."""
    settings.ROOT_URLCONF = __name__
    executions = Executions(screenings)
    _view["view"] = GatewayView.as_view(schema=screenings)
    shop_b.stats(reset=True)
    yield executions
    _view.clear()


def post(client, variables=None, operation_name="Page", headers=None):
    body = {"query": QUERY, "variables": variables or {}, "operationName": operation_name}
    return client.post(
        "/graphql/", json.dumps(body), content_type="application/json", headers=headers or {}
    )


def concurrently(*calls):
    """Send the requests ``calls`` make together; return (status, bytes) of each."""

    async def run():
        responses = await asyncio.gather(*(call() for call in calls))
        return [(r.status_code, r.content) for r in responses]

    return async_to_sync(run)()


def test_eight_identical_queries_execute_once_with_the_same_bytes(served, shop_b):
    client = AsyncClient()
    answers = concurrently(*[lambda: post(client)] * 8)
    assert served.count == 1
    assert shop_b.stats()["graphql_requests"] == 1
    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1
    page = json.loads(answers[0][1])["data"]["screenings"]
    assert page["totalCount"] == 6
    assert [item and item["title"] for item in page["items"]][:2] == ["Dune", "Dune trailer"]


def test_different_variables_or_operation_names_execute_separately(served):
    client = AsyncClient()
    answers = concurrently(
        lambda: post(client),
        lambda: post(client),
        lambda: post(client, {"offset": 1}),
        lambda: post(client, operation_name=None),
    )
    # The first two share; the others each execute.
    assert served.count == 3
    bodies = [json.loads(body) for _, body in answers]
    assert bodies[0] == bodies[1] == bodies[3]
    assert bodies[2]["data"]["screenings"]["items"] == bodies[0]["data"]["screenings"]["items"][1:]


def test_different_credentials_execute_separately(served):
    alice = User.objects.create_user("alice", password="pw-alice-1")
    bob = User.objects.create_user("bob", password="pw-bob-1")
    anonymous, as_alice, as_bob = AsyncClient(), AsyncClient(), AsyncClient()
    as_alice.force_login(alice)
    as_bob.force_login(bob)
    answers = concurrently(
        lambda: post(anonymous),
        lambda: post(anonymous, headers={"Authorization": "Bearer one"}),
        lambda: post(anonymous, headers={"Authorization": "Bearer two"}),
        lambda: post(as_alice),
        lambda: post(as_bob),
        lambda: post(as_bob),
    )
    # Bob's two requests share; every other caller executes on its own.
    assert served.count == 5
    assert len({body for _, body in answers}) == 1


def test_a_request_after_the_first_ended_executes_again(served, shop_b):
    client = AsyncClient()
    first = concurrently(lambda: post(client))
    second = concurrently(lambda: post(client))
    assert served.count == 2
    assert shop_b.stats()["graphql_requests"] == 2
    assert first == second


def test_a_failing_remote_gives_every_sharer_the_same_partial_data_and_error(served, settings):
    projects = dict(settings.FEDERATION["PROJECTS"])
    closed = f"http://127.0.0.1:{free_port()}/graphql/"
    projects["shop_b"] = {**projects["shop_b"], "URL": closed, "RETRIES": 0}
    settings.FEDERATION = {**settings.FEDERATION, "PROJECTS": projects}
    client = AsyncClient()
    answers = concurrently(*[lambda: post(client)] * 8)
    assert served.count == 1
    assert len({body for _, body in answers}) == 1
    body = json.loads(answers[0][1])
    items = body["data"]["screenings"]["items"]
    assert [item is None for item in items] == [False] * 2 + [True] * 4
    assert "shop_b" in body["errors"][0]["message"]


def test_a_cancelled_waiter_leaves_the_others_their_answer(served):
    client = AsyncClient()

    async def run():
        first = asyncio.ensure_future(post(client))
        others = [asyncio.ensure_future(post(client)) for _ in range(3)]
        await asyncio.sleep(HOLD / 2)
        first.cancel()
        return [await other for other in others]

    answers = async_to_sync(run)()
    assert served.count == 1
    assert {r.status_code for r in answers} == {200}
    assert len({r.content for r in answers}) == 1


def test_the_setting_off_executes_every_request(served, settings, shop_b):
    settings.GRAPHQL_GATEWAY = {
        **getattr(settings, "GRAPHQL_GATEWAY", {}),
        "SHARE_OPERATIONS": False,
    }
    client = AsyncClient()
    answers = concurrently(*[lambda: post(client)] * 8)
    assert served.count == 8
    assert len({body for _, body in answers}) == 1


def test_under_wsgi_each_request_executes_on_its_own_loop(served):
    # Django runs the async view in an event loop of the request's own (async_to_sync).
    client = Client()
    body = {"query": QUERY, "variables": {}, "operationName": "Page"}
    answers = [
        client.post("/graphql/", json.dumps(body), content_type="application/json")
        for _ in range(2)
    ]
    assert served.count == 2
    assert [r.status_code for r in answers] == [200, 200]
    assert answers[0].content == answers[1].content
