"""A feed pruned past the follower's cursor: the reconciliation runs, is recorded and reported.

Against a publishing subgraph of its own: pruning (``prune_change_events``
with RETENTION 0, in the server's settings) removes the feed's history.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.cache import caches
from django.core.management import call_command

from federated_fk.changes.follower import Follower
from federated_fk.changes.models import FollowCursor
from federated_fk.models import GenericContentType
from tests.federated_fk.changes.conftest import FollowerSide, Remote, publishing


@pytest.fixture(scope="module")
def pruned_server(tmp_path_factory):
    server = publishing(tmp_path_factory.mktemp("pruned_f"), books=20)
    yield server
    server.stop()


@pytest.fixture
def remote(pruned_server):
    return Remote(pruned_server)


@pytest.fixture
def federation(settings, pruned_server, tmp_path, db):
    settings.CACHES = {
        **settings.CACHES,
        "follow": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "federated-fk-follower-pruned",
        },
    }
    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "SHARED_APPS": ["sharedapp"],
        "CACHE": "follow",
        "PROJECTS": {"shop_f": {"URL": pruned_server.url, "TIMEOUT": 5, "CACHE_TIMEOUT": 3600}},
    }
    caches["follow"].clear()
    call_command("sync_remote_contenttypes", "shop_f", schema_dir=tmp_path, stdout=StringIO())
    yield settings.FEDERATION
    caches["follow"].clear()


def book(pk):
    return GenericContentType.objects.get(project="shop_f", model="book").model_class()(pk)


def test_pruning_drops_every_cached_object_of_the_project(federation, remote, caplog):
    follower = Follower("shop_f")
    follower.drain()
    assert (book(5).title, book(6).title) == ("F Book 5", "F Book 6")  # cached for an hour
    remote.retitle(5, "F Book 5, pruned away")
    remote.prune()  # the event of that change is lost

    with caplog.at_level("INFO", logger="federated_fk.changes"):
        result = follower.step()
    assert result.reconciled and result.events == 0
    # The report of find_dangling_references --apply-policies --project shop_f.
    assert "testapp.Reference.content_object: 0 checked, none dangling." in result.reconciliation
    assert "pruned past this service's cursor" in caplog.text
    assert book(5).title == "F Book 5, pruned away"  # no entry of the project is read again
    state = FollowCursor.objects.get(project="shop_f")
    assert state.reconciled is not None

    assert not follower.step().reconciled  # from the new cursor: nothing was pruned since


def test_a_follower_process_reconciles_and_says_so(tmp_path, pruned_server, remote):
    side = FollowerSide(tmp_path, pruned_server).set_up()
    assert side.once().returncode == 0
    side.mention(3, 4)
    remote.delete(3)
    remote.prune()

    done = side.once()
    assert done.returncode == 0, done.stderr
    assert "shop_f: the change feed was pruned past the cursor; reconciled" in done.stdout
    assert "1 reconciliation(s)" in done.stdout
    assert "pruned past this service's cursor" in done.stderr  # the log, too
    assert "followapp.Mention.target: CASCADE: deleted 1" in done.stdout
    assert side.mentioned() == [4]  # CASCADE, by the reconciliation
    assert side.cursor()[2] is not None

    again = side.once()
    assert "0 reconciliation(s)" in again.stdout
