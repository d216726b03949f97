"""The contract between a subgraph and the services that read it.

A subgraph writes, and ``sync_remote_contenttypes`` reads back, one directive
on each entity type: ``@djangoModel(appLabel:, model:, pkType:, listable:, project:)``.
Both sides use this module, so that the directive and the primary-key types
are defined once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext_lazy as _

from federated_fk.scalars import scalar_of_field, scalar_of_pk_type, text_problem

#: The name of the directive, in the SDL.
DIRECTIVE = "djangoModel"


class PkType(models.TextChoices):
    """The type of a model's primary key, as the SDL carries it."""

    INT = "int", _("integer")
    UUID = "uuid", _("UUID")
    STR = "str", _("string")


def pk_type_of(model: type[models.Model]) -> PkType:
    """Return the PkType of ``model``'s primary key (``STR`` for anything else)."""
    scalar = scalar_of_field(model._meta.pk)
    return PkType(scalar.pk_type) if scalar is not None and scalar.pk_type else PkType.STR


def pk_field(pk_type: str) -> models.Field:
    """Return an unbound primary-key field named ``id`` that converts ids of ``pk_type``."""
    field = scalar_of_pk_type(pk_type).stand_in_field(name="id", primary_key=True)
    field.attname = field.column = "id"
    return field


@dataclass(frozen=True)
class DjangoModelInfo:
    """What ``@djangoModel`` says of an entity type."""

    app_label: str
    model: str
    pk_type: str = PkType.STR
    listable: bool = False
    #: The project that owns the model in the serving service: its own project
    #: name, or ``"shared"`` for a model synchronized into every service.
    project: str | None = None


def directive_arguments(info: DjangoModelInfo) -> dict[str, Any]:
    """Return the directive's arguments by their Python names (for strawberry)."""
    return {
        "app_label": info.app_label,
        "model": info.model,
        "pk_type": str(info.pk_type),
        "listable": info.listable,
        "project": info.project,
    }


def read_directive(arguments: dict[str, Any]) -> DjangoModelInfo | None:
    """Return the ``@djangoModel`` arguments (by their GraphQL names) as info, if valid.

    A directive without ``appLabel`` or ``model`` strings is not ours: None.
    An unknown ``pkType`` reads as ``"str"``, the type that converts nothing;
    a missing or non-string ``project`` reads as None (subgraphs older than it).
    """
    app_label, model = arguments.get("appLabel"), arguments.get("model")
    if not isinstance(app_label, str) or not isinstance(model, str):
        return None
    pk_type = arguments.get("pkType")
    return DjangoModelInfo(
        app_label=app_label,
        model=model,
        pk_type=pk_type if pk_type in PkType.values else PkType.STR,
        listable=arguments.get("listable") is True,
        project=_string_or_none(arguments.get("project")),
    )


def _string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


#: The longest ``search`` string a subgraph accepts, and the most words in it.
MAX_SEARCH_LENGTH = 200
MAX_SEARCH_TERMS = 10


def search_terms(text: str) -> list[str]:
    """Return the words of a ``search`` argument, as a subgraph reads them.

    Words are split as the admin's search splits them: a "quoted phrase"
    is one word. Both sides check it, so that a search the owning service
    would refuse is refused where it is written, as bad input.

    :raises ValueError: the text is longer than ``MAX_SEARCH_LENGTH``, holds
        more than ``MAX_SEARCH_TERMS`` words, or what ``text_problem`` refuses
    """
    if len(text) > MAX_SEARCH_LENGTH:
        raise ValueError(f"A search may be at most {MAX_SEARCH_LENGTH} characters long.")
    problem = text_problem(text, pattern=True)
    if problem is not None:
        raise ValueError(f"A search {problem}.")
    terms = [term for term in (_unquote(t) for t in smart_split(text)) if term]
    if len(terms) > MAX_SEARCH_TERMS:
        raise ValueError(f"A search may hold at most {MAX_SEARCH_TERMS} words.")
    return terms


def _unquote(term: str) -> str:
    try:
        return unescape_string_literal(term)
    except ValueError:
        return term
