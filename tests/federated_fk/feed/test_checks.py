"""The change feed's system checks."""

import pytest
from django.db import connections

from federated_fk.changes.checks import check_change_settings


def ids(settings, changes):
    settings.FEDERATION = {"CHANGES": changes}
    return [message.id for message in check_change_settings()]


def test_published_models_must_be_installed(settings):
    assert ids(settings, {"MODELS": ["remoteshop.Book"]}) == []
    assert ids(settings, {"MODELS": ["remoteshop.Nothing", "nolabel"]}) == [
        "federated_fk.E701",
        "federated_fk.E701",
    ]


@pytest.mark.parametrize("value", [0, -5, 1.5, "60", True, None])
def test_limits_are_whole_numbers(settings, value):
    assert ids(settings, {"RETENTION": value}) == ["federated_fk.E703"]
    assert ids(settings, {"MAX_PAGE_SIZE": value}) == ["federated_fk.E703"]


def test_databases_without_triggers_are_refused(settings, monkeypatch):
    monkeypatch.setattr(connections["default"], "vendor", "mysql")
    assert ids(settings, {"MODELS": ["remoteshop.Book"]}) == ["federated_fk.E702"]
