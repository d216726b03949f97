"""Fixtures of the tests against real subgraph processes (tests/servers.py)."""

from io import StringIO

import pytest
from django.core.management import call_command

from federated_fk.models import GenericContentType


@pytest.fixture
def federation(settings, shop_b, shop_c):
    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "SHARED_APPS": ["sharedapp"],
        "PROJECTS": {
            "shop_b": {"URL": shop_b.url, "TIMEOUT": 5},
            "shop_c": {"URL": shop_c.url, "TOKEN": shop_c.token, "TIMEOUT": 5},
        },
    }
    return settings.FEDERATION


@pytest.fixture
def synced(federation, shop_b, shop_c, tmp_path):
    """Remote content types made by the sync command from the real SDL."""
    call_command("sync_remote_contenttypes", schema_dir=tmp_path, stdout=StringIO())
    shop_b.stats(reset=True)
    shop_c.stats(reset=True)
    cts = GenericContentType.objects.filter(project__in=["shop_b", "shop_c"])
    return {(ct.project, ct.type_name): ct for ct in cts}


def stand_in(synced, project, type_name):
    return synced[(project, type_name)].model_class()


def async_ready_stand_in(synced, project, type_name):
    """``stand_in``, its entity type read now in sync code, so async code makes no query for it."""
    model = stand_in(synced, project, type_name)
    model._meta.entity_type()
    return model
