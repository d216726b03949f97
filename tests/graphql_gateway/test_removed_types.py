"""A type its project no longer exposes: its references are reported, never a 500 or dropped."""

import re
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command

from federated_fk.admin import render_target
from federated_fk.exceptions import RemoteTypeNotInSchema
from federated_fk.models import GenericContentType
from graphql_gateway.generate import FederatedUnion
from graphql_gateway.schema import GatewayContext, gateway_schema
from tests.federated_fk import conftest as remote_fixtures
from tests.movieapp.models import Movie, Showing
from tests.sharedapp.models import Author

pytestmark = pytest.mark.django_db

federation = remote_fixtures.federation
synced_content_types = remote_fixtures.synced

QUERY = """
{ screenings(limit: 20) { totalCount items { __typename ... on ScreeningItem { title } } } }
"""
SHOWINGS = """
query ($project: String) {
  screenings(limit: 20, project: $project) { totalCount items { __typename } }
}
"""


@pytest.fixture
def clips_removed(request, settings, misbehaving, tmp_path):
    """shop_b's clips referenced, then a sync of shop_b's schema without its Clip type."""
    synced = request.getfixturevalue("synced_content_types")
    settings.FEDERATION = {**settings.FEDERATION, "SCHEMA_DIR": str(tmp_path)}
    director = Author.objects.create(id=1, name="Frank Herbert")
    Showing.objects.create(
        content_object=Movie.objects.create(title="Dune", year=1984, director=director)
    )
    Showing.objects.create(content_type=synced[("shop_b", "Movie")], object_id="1")
    for pk in ("11", "21"):
        Showing.objects.create(content_type=synced[("shop_b", "Clip")], object_id=pk)
    sdl = (tmp_path / "shop_b.graphql").read_text()
    without = re.sub(r"type Clip\b[^{]*\{[^}]*\}\n*", "", sdl)
    without = re.sub(r"\bClip \| |(?: \| )?\bClip\b(?=\s*\n)", "", without)
    assert "Clip" not in without, without
    real = settings.FEDERATION["PROJECTS"]["shop_b"]
    projects = {**settings.FEDERATION["PROJECTS"], "shop_b": {**real, "URL": misbehaving.url}}
    settings.FEDERATION = {**settings.FEDERATION, "PROJECTS": projects}
    misbehaving.answer({"data": {"_service": {"sdl": without}}})
    out = StringIO()
    call_command("sync_remote_contenttypes", "shop_b", stdout=out)
    assert "no longer in the schema" in out.getvalue()
    projects = {**settings.FEDERATION["PROJECTS"], "shop_b": real}
    settings.FEDERATION = {**settings.FEDERATION, "PROJECTS": projects}
    GenericContentType.objects.clear_cache()
    union = FederatedUnion(
        "movieapp.Showing", "content_object", ["movieapp.movie", "movieapp.clip"], "Screening"
    )
    return gateway_schema([union])


def run(schema, query, variables=None):
    return async_to_sync(schema.execute)(
        query, variable_values=variables, context_value=GatewayContext(None, None)
    )


def test_the_gateway_counts_them_and_reports_the_type(clips_removed, shop_b):
    assert "ShopBClip" not in clips_removed.as_str()
    result = run(clips_removed, QUERY)
    page = result.data["screenings"]
    assert page["totalCount"] == 4
    assert [i and i["__typename"] for i in page["items"]] == [
        "ShopAMovie",
        "ShopBMovie",
        None,
        None,
    ]
    [error] = result.errors
    assert error.extensions == {
        "code": "REMOTE_TYPE_NOT_IN_SCHEMA",
        "project": "shop_b",
        "model": "movieapp.clip",
    }
    assert error.path == ["screenings"]
    assert shop_b.stats()["graphql_requests"] == 1  # the movie; nothing asked of the clips


def test_a_project_filter_keeps_them_too(clips_removed, shop_b):
    result = run(clips_removed, SHOWINGS, {"project": "shop_b"})
    assert result.data["screenings"]["totalCount"] == 3
    assert [e.extensions["code"] for e in result.errors] == ["REMOTE_TYPE_NOT_IN_SCHEMA"]


def test_prefetch_reads_them_as_missing_and_the_admin_says_why(clips_removed, shop_b):
    showings = list(Showing.objects.order_by("pk").prefetch_related("content_object"))
    targets = [s.content_object for s in showings]
    assert [t is None for t in targets] == [False, False, True, True]
    shown = render_target(showings[2], "content_object")
    assert "11" in shown and "type no longer in the schema of shop_b" in shown
    fresh = Showing.objects.get(pk=showings[3].pk)
    with pytest.raises(RemoteTypeNotInSchema, match="no longer exposes it"):
        fresh.content_object.title  # noqa: B018
