"""The shopping options of /books/: local and remote books, one page at a time.

The same book (title and author) from several shops makes one group: each
shop's offer with its price and a link to that shop's own page for it,
cheapest first.
 A page costs one query for
the references, one per local book type, and one ``_entities`` request per
remote project; a remote project that cannot answer is reported, not raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Q, prefetch_related_objects
from django.urls import reverse

from federated_fk.conf import current_project
from federated_fk.exceptions import FederationError
from federated_fk.fields import partial_targets_q
from federated_fk.models import GenericContentType
from federated_fk.prefetch import collect_remote_errors
from graphql_gateway.paging import PageError, check_bounds

#: The books the list shows: the targets of Reference.content_object, in any shop.
BOOK_MODELS = [("books", "book"), ("audio", "audiobook")]


@dataclass
class Entry:
    """One offer. ``kind`` is local, book, audiobook, unavailable (its shop cannot
    answer) or removed (its shop no longer exposes its type); ``model`` is book
    or audiobook, known even then."""

    kind: str
    id: str
    project: str
    model: str = "book"
    url: str = ""
    title: str = ""
    author: str = ""
    price: Decimal | None = None
    narrator: str = ""
    duration_minutes: int | None = None


@dataclass
class Group:
    """One book and its offers, cheapest first."""

    title: str
    author: str
    offers: list[Entry]


@dataclass
class Page:
    entries: list[Entry | None]
    total: int
    offset: int
    limit: int
    unavailable: dict[str, FederationError]

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total

    @property
    def groups(self) -> list[Group]:
        """The offers that could be read, by book, in the order first seen."""
        groups: dict[tuple[str, str], Group] = {}
        for entry in self.entries:
            if entry is None or entry.kind in ("unavailable", "removed"):
                continue
            key = (entry.title, entry.author)
            groups.setdefault(key, Group(entry.title, entry.author, [])).offers.append(entry)
        for group in groups.values():
            group.offers.sort(key=lambda offer: offer.price)
        return list(groups.values())

    @property
    def unreachable(self) -> list[Entry]:
        """The offers of shops that could not answer: known only by type and id."""
        return [e for e in self.entries if e is not None and e.kind == "unavailable"]

    @property
    def removed(self) -> list[Entry]:
        """The offers whose type their shop no longer exposes (as of the last sync)."""
        return [e for e in self.entries if e is not None and e.kind == "removed"]


def shop_page(project: str, model: str, pk: str) -> str:
    """Return the URL of a shop's own page for one of its books or audiobooks."""
    if project == current_project():
        return reverse("book", args=[pk])
    base = settings.SHOP_PAGES[project]
    return f"{base.rstrip('/')}/{model}s/{pk}/"


def book_page(offset: int, limit: int, search: str = "") -> Page:
    """Return the books from ``offset``, at most ``limit`` of them.

    :param search: words the title or the author's name must hold; each shop
        searches its own books (shop_b through its declared ``search_fields``)
    """
    check_bounds(offset, limit)
    Reference = apps.get_model("books", "Reference")
    field = "content_object"
    key = Reference._meta.get_field(field)
    references = Reference._default_manager.filter(
        **{f"{key.ct_field}__in": _book_content_types()}
    ).order_by("pk")
    searched: dict[str, FederationError] = {}
    if search:
        condition, searched = _matching(key, search)
        references = references.filter(condition)
    total = references.count()
    page = list(references[offset : offset + limit])
    with collect_remote_errors() as unavailable:
        # The authors of local and remote books alike: one query for the page.
        prefetch_related_objects(page, field, f"{field}__author")
    entries = [_entry(ref, getattr(ref, field), unavailable) for ref in page]
    return Page(entries, total, offset, limit, {**searched, **unavailable})


def _matching(key: Any, search: str) -> tuple[Q, dict[str, FederationError]]:
    """Return the condition on references whose book matches ``search``, in every shop.

    A local book is searched here; a remote one by its own shop (its ids come
    back, not its rows). A shop that cannot answer matches nothing, and is
    reported as unavailable.
    """
    words = Q(title__icontains=search) | Q(author__name__icontains=search)
    try:
        querysets = [
            model._default_manager.filter(words)
            if ct.is_local
            else model._default_manager.get_queryset().search(search)
            for ct in _book_content_types()
            if (model := ct.model_class()) is not None and (ct.is_local or model._meta.in_schema)
        ]
    except ValueError as exc:  # a search the shops refuse (too many words)
        raise PageError(f"q: {exc}") from None
    found = partial_targets_q(key, querysets)
    return found.objects, found.errors


def _book_content_types() -> Any:
    condition = Q(*(Q(app_label=a, model=m) for a, m in BOOK_MODELS), _connector=Q.OR)
    return GenericContentType.objects.filter(condition)


def _entry(ref: Any, target: Any, unavailable: dict[str, FederationError]) -> Entry | None:
    ct = GenericContentType.objects.get_for_id(ref.content_type_id)
    if target is None:
        if ct.is_remote and not ct.model_class()._meta.in_schema:
            return Entry(kind="removed", id=str(ref.object_id), project=ct.project, model=ct.model)
        if ct.project in unavailable:
            return Entry(
                kind="unavailable", id=str(ref.object_id), project=ct.project, model=ct.model
            )
        return None  # the book is gone, as a deleted local target is
    common = {
        "id": str(target.pk),
        "project": ct.project,
        "model": ct.model,
        "url": shop_page(ct.project, ct.model, str(target.pk)),
        "title": target.title,
    }
    if ct.is_local:
        return Entry(kind="local", author=_author_name(target), price=target.price, **common)
    price = target.price
    if ct.model == "audiobook":
        return Entry(
            kind="audiobook",
            author=_author_name(target),
            price=price,
            narrator=target.narrator,
            duration_minutes=target.duration_minutes,
            **common,
        )
    return Entry(kind="book", author=_author_name(target), price=price, **common)


def _author_name(book: Any) -> str:
    # A shared author row this service does not have yet reads as None.
    return str(book.author) if book.author is not None else ""
