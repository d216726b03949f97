"""Remote querysets: Django's queryset API over a type another service owns.

``StandIn.objects.filter(title__icontains="dun").order_by("-price")[:10]``
builds a ``RemoteQuerySet``: lazy and chainable as Django's, checked against
what the owning service declares (``filter_fields``, ``ordering``,
``search_fields``, synchronized into the content type's ``queryable``) before
any request, and run by that service: one ``query<Type>`` request per
evaluation, one per page when iterating. A queryset that only names primary
keys (``filter(pk__in=...)``) is read through ``_entities`` instead, as
stand-ins always were, for every remote type, queryable or not.

Query text is generated from the type's description (names checked as
GraphQL names); values travel only as variables. Every evaluation is written
once, as a generator of requests (``_Ask``) that a sync or an async driver
answers, so that the async twins share the sync methods' logic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldError
from django.db.models import Q

from federated_fk import conf
from federated_fk.contract import search_terms
from federated_fk.exceptions import (
    RemoteNotQueryable,
    TooManyRemoteIds,
)
from federated_fk.ids import parse_remote_id
from federated_fk.remote.conditions import (
    Condition,
    ConditionSpec,
    filter_input,
    filter_input_text,
    join,
    negation,
    pk_lookups,
    pk_only,
    wanted_pks,
)
from federated_fk.remote.entities import Ref
from federated_fk.remote.loading import afetch_remote_objects, client, fetch_remote_objects
from federated_fk.sdl import Queryable

if TYPE_CHECKING:
    from federated_fk.models import GenericContentType
    from federated_fk.remote.client import Page
    from federated_fk.remote.objects import RemoteObject


#: How many objects ``repr()`` shows, as Django's ``REPR_OUTPUT_SIZE``.
REPR_OUTPUT_SIZE = 20


# The requests an evaluation makes, answered by a sync or an async driver.


@dataclass(frozen=True)
class _PageAsk:
    """One ``query<Type>`` request of ``queryset``: the page at ``offset``, ``limit`` long.

    The queryset goes with the request: a plan may ask for its clones' pages
    (``get()`` filters, ``last()`` slices).
    """

    queryset: RemoteQuerySet
    select: frozenset[str]
    offset: int
    limit: int


@dataclass(frozen=True)
class _EntitiesAsk:
    """One ``_entities`` fetch of the objects with these primary keys."""

    pks: tuple[Any, ...]


@dataclass(frozen=True)
class _Got:
    """Rows of one page, handed out by a paging plan (not a request: answered with None)."""

    rows: list[Any]


_Ask = _PageAsk | _EntitiesAsk
#: An evaluation: yields requests, is sent their answers, returns its result.
_Plan = Generator[Any, Any, Any]


def _collect(pages: _Plan) -> _Plan:
    """Pass a paging plan's requests on; return every row it handed out, as one list."""
    rows: list[Any] = []
    answer = None
    while True:
        try:
            event = pages.send(answer)
        except StopIteration:
            return rows
        if isinstance(event, _Got):
            rows.extend(event.rows)
            answer = None
        else:
            answer = yield event


@dataclass
class _State:
    """What a queryset asks for; copied by each chained call."""

    where: Condition | None = None
    order: tuple[tuple[str, bool], ...] | None = None
    search: tuple[str, ...] = ()
    low: int = 0
    high: int | None = None
    values: tuple[str, ...] | None = None
    flat: bool = False
    empty: bool = False


class RemoteQuerySet:
    """A lazy query of a remote type, run by the service that owns it.

    Chain ``filter``, ``exclude`` (``Q`` objects with ``&``, ``|``, ``~``,
    paths across remote relations such as ``author__name``), ``order_by``,
    ``search`` and slices; evaluate with iteration, ``len``, ``bool``,
    ``count``, ``exists``, ``first``, ``last``, ``get``, ``in_bulk``,
    ``values_list`` or ``pks``, or their async twins (``acount``,
    ``aexists``, ``aget``, ``afirst``, ``alast``, ``ain_bulk``, ``apks``,
    ``async for``). Each evaluation is one request, one per page when
    iterating, and its result is cached on the queryset.

    :param model: the stand-in class of the remote type
    :param queryable: what the owning service declares, None if nothing
    """

    def __init__(self, model: type[RemoteObject], queryable: Queryable | None = None) -> None:
        self.model = model
        self._spec = ConditionSpec(model, queryable)
        self._state = _State()
        self._result_cache: list[Any] | None = None

    # Building.

    @property
    def queryable(self) -> Queryable | None:
        """What the owning service lets this service query of the type, if anything."""
        return self._spec.queryable

    @property
    def content_type(self) -> GenericContentType:
        """The GenericContentType of the remote type."""
        opts = self.model._meta
        return opts.content_types.db_manager(opts.db).get_for_model(self.model)

    @property
    def ordered(self) -> bool:
        """Always True: the remote orders by the primary key last."""
        return True

    def _chain(self, **changes: Any) -> RemoteQuerySet:
        clone = object.__new__(type(self))
        clone.model = self.model
        clone._spec = self._spec
        clone._state = replace(self._state, **changes)
        clone._result_cache = None
        return clone

    def all(self) -> RemoteQuerySet:
        """Return a copy of this queryset (its cache is not shared)."""
        return self._chain()

    def none(self) -> RemoteQuerySet:
        """Return a queryset that matches nothing, and so never asks."""
        return self._chain(empty=True)

    def filter(self, *args: Any, **kwargs: Any) -> RemoteQuerySet:
        """Return a queryset of the objects that also match these lookups.

        :raises FieldError: a path or lookup the owning service does not declare
        :raises RemoteNotQueryable: the owning service declares nothing, and
            the lookups ask for more than primary keys
        """
        return self._filter_or_exclude(False, args, kwargs, "filtered by pk__in only")

    def exclude(self, *args: Any, **kwargs: Any) -> RemoteQuerySet:
        """Return a queryset without the objects that match these lookups (all of them)."""
        return self._filter_or_exclude(True, args, kwargs, "filtered by pk__in only")

    def _filter_or_exclude(
        self, negate: bool, args: tuple[Any, ...], kwargs: dict[str, Any], action: str
    ) -> RemoteQuerySet:
        self._not_sliced("filter")
        compiled = self._spec.compile(Q(*args, **kwargs), action)
        if compiled is None:
            return self._chain()
        if negate:
            compiled = negation(compiled)
        clone = self._chain(where=join("AND", [self._state.where, compiled]))
        clone._check_route()
        return clone

    def order_by(self, *names: str) -> RemoteQuerySet:
        """Return a queryset ordered by these declared fields (``"-price"`` descending).

        The remote orders by the primary key last, so pages are stable;
        ``order_by()`` with no names goes back to the primary-key order.
        """
        if self._state.low or self._state.high is not None:
            raise TypeError("Cannot reorder a query once a slice has been taken.")
        clone = self._chain(order=self._spec.ordering(names) if names else None)
        clone._check_route()
        return clone

    def search(self, term: str) -> RemoteQuerySet:
        """Return a queryset of the objects the owning service finds for ``term``.

        Each word must be found (``icontains``) in one of the type's
        ``search_fields``, as the admin's search does.

        :raises FieldError: the owning service declares no ``search_fields``
        :raises ValueError: the search is one the owning service refuses
            (``federated_fk.contract.search_terms``)
        """
        queryable = self._spec.queryable
        if queryable is None:
            raise RemoteNotQueryable(self._spec.project, self._spec.label, term, "never searched")
        if not queryable.search:
            raise FieldError(
                f"Remote {self._spec.label} cannot be searched: project "
                f"{self._spec.project!r} declares no search_fields for it."
            )
        self._not_sliced("search")
        # Kept as given: the remote splits words, keeping "quoted words" together;
        # what it would refuse is refused here.
        terms = (str(term).strip(),) if str(term).strip() else ()
        search_terms(" ".join(self._state.search + terms))
        clone = self._chain(search=self._state.search + terms)
        clone._check_route()
        return clone

    def values_list(self, *fields: str, flat: bool = False) -> RemoteQuerySet:
        """Return a queryset of tuples of these fields (values with ``flat=True``).

        ``values_list("pk", flat=True)`` asks only for ids.
        """
        if flat and len(fields) != 1:
            raise TypeError(
                "'flat' is not valid when values_list is called with more than one field."
            )
        names = fields or ("pk", *sorted(self.model._meta.python_names))
        known = {"pk", "id", *self.model._meta.python_names}
        for name in names:
            if name not in known:
                raise FieldError(
                    f"Cannot resolve keyword {name!r} into field. Choices are: "
                    f"{', '.join(sorted(known))}."
                )
        return self._chain(values=tuple(names), flat=flat)

    def _not_sliced(self, what: str) -> None:
        if self._state.low or self._state.high is not None:
            raise TypeError(f"Cannot {what} a query once a slice has been taken.")

    def _check_route(self) -> None:
        """Refuse, before any request, primary keys mixed into what only the remote can run.

        Primary-key lookups alone are read through ``_entities``; mixed with
        anything else, they are sent as the ``id`` path, which the owning
        service must declare with those lookups.
        """
        state = self._state
        if self._by_entities():
            return
        spec = self._spec
        allowed = spec.filters.get(spec.pk_name or "", ())
        refused = sorted({lookup for lookup in pk_lookups(state.where) if lookup not in allowed})
        if refused:
            raise FieldError(
                f"Remote {spec.label}: a primary-key lookup ({', '.join(refused)}) mixed "
                "with other lookups, exclude(), order_by() or search() is sent to the owning "
                f"service, which must declare it: project {spec.project!r} allows "
                f"{', '.join(allowed) or 'nothing'} on 'id' (alone, pk and pk__in are read "
                "through _entities)."
            )

    def _by_entities(self) -> bool:
        state = self._state
        return pk_only(state.where) and state.order is None and not state.search

    # Slicing.

    def __getitem__(self, k: int | slice) -> Any:
        if not isinstance(k, int | slice):
            raise TypeError(f"QuerySet indices must be integers or slices, not {type(k).__name__}.")
        if (isinstance(k, int) and k < 0) or (
            isinstance(k, slice) and ((k.start or 0) < 0 or (k.stop is not None and k.stop < 0))
        ):
            raise ValueError("Negative indexing is not supported.")
        if self._result_cache is not None:
            return self._result_cache[k]
        if isinstance(k, slice):
            low, high = self._limits(k.start, k.stop)
            clone = self._chain(low=low, high=high)
            return list(clone)[:: k.step] if k.step else clone
        low, high = self._limits(k, k + 1)
        return self._chain(low=low, high=high)._fetch_all_list()[0]

    def _limits(self, low: int | None, high: int | None) -> tuple[int, int | None]:
        """Narrow this queryset's slice as Django's ``Query.set_limits`` does."""
        cur_low, cur_high = self._state.low, self._state.high
        new_high = cur_high
        if high is not None:
            new_high = min(cur_high, cur_low + high) if cur_high is not None else cur_low + high
        new_low = cur_low
        if low is not None:
            new_low = min(new_high, cur_low + low) if new_high is not None else cur_low + low
        return new_low, new_high

    # Evaluating: each public method runs one plan, sync or async.

    def _drive(self, plan: _Plan) -> Any:
        try:
            ask = next(plan)
            while True:
                ask = plan.send(self._answer(ask))
        except StopIteration as done:
            return done.value

    async def _adrive(self, plan: _Plan) -> Any:
        try:
            ask = next(plan)
            while True:
                ask = plan.send(await self._aanswer(ask))
        except StopIteration as done:
            return done.value

    def _answer(self, ask: _Ask) -> Any:
        if isinstance(ask, _EntitiesAsk):
            return fetch_remote_objects({self.model: ask.pks}).raise_first()
        return client().query_page(*ask.queryset._page_request(ask))

    async def _aanswer(self, ask: _Ask) -> Any:
        if isinstance(ask, _EntitiesAsk):
            return (await afetch_remote_objects({self.model: ask.pks})).raise_first()
        return await client().aquery_page(*ask.queryset._page_request(ask))

    def _page_request(self, ask: _PageAsk) -> tuple[Any, ...]:
        opts = self.model._meta
        text, variables = self._graphql(ask)
        label = f"{opts.project} {opts.app_label}.{opts.model_name}"

        def parse_id(value: Any) -> Any:
            return parse_remote_id(label, opts.pk_type, value)

        field = self._queryable().field
        return opts.project, field, text, variables, opts.entity_type(), parse_id

    def _graphql(self, ask: _PageAsk) -> tuple[str, dict[str, Any]]:
        queryable = self._queryable()
        state = self._state
        params = ["$offset: Int!", "$limit: Int!"]
        args = ["offset: $offset", "limit: $limit"]
        variables: dict[str, Any] = {"offset": ask.offset, "limit": ask.limit}
        # Each argument only when used: a type declares filters, ordering and
        # search apart, and its field has only the arguments it declares.
        where = filter_input(state.where, self._spec.pk_name)
        if where is not None:
            params.append(f"$filter: {queryable.filter_type}")
            args.append("filter: $filter")
            variables["filter"] = where
        if state.order:
            params.append(f"$orderBy: [{queryable.order_type}!]")
            args.append("orderBy: $orderBy")
            variables["orderBy"] = [{"field": f, "descending": d} for f, d in state.order]
        if state.search:
            params.append("$search: String")
            args.append("search: $search")
            variables["search"] = " ".join(state.search)
        selection = [name for name in ("total", "ids") if name in ask.select]
        if "items" in ask.select:
            fragment = self.model._meta.entity_type().fragment()
            selection.append(f"items {{ __typename {fragment} }}")
        text = (
            f"query FederatedQuery({', '.join(params)}) "
            f"{{ {queryable.field}({', '.join(args)}) {{ {' '.join(selection)} }} }}"
        )
        return text, variables

    def as_graphql(self, select: Iterable[str] = ("total", "items")) -> tuple[str, dict[str, Any]]:
        """Return the query and variables of this queryset's first page: what would be sent.

        :raises TypeError: the queryset names primary keys only: it is read
            through ``_entities``, not a query
        :raises RemoteNotQueryable: the type is not queryable
        """
        if self._by_entities():
            raise TypeError(
                f"This remote {self._spec.label} queryset names primary keys only: it is read "
                "through _entities, with no query."
            )
        size = self._page_size()
        limit = size if self._state.high is None else min(size, self._state.high - self._state.low)
        return self._graphql(_PageAsk(self, frozenset(select), self._state.low, max(1, limit)))

    def _queryable(self) -> Queryable:
        queryable = self._spec.queryable
        if queryable is None:
            raise RemoteNotQueryable(
                self._spec.project, self._spec.label, "all()", "read by pk only"
            )
        return queryable

    def _page_size(self) -> int:
        return self._queryable().max_limit

    # Plans.

    def _pages(self, select: str, cap: int | None = None, shaped: bool = False) -> _Plan:
        """Every row of the slice, a page per request: stand-ins (``items``) or ids.

        Yields requests, and each page's rows as ``_Got`` (so that ``iterator()``
        hands them out before asking for the next page).

        :param cap: raise ``TooManyRemoteIds`` as soon as more than this match
        :param shaped: hand out rows as ``values_list()`` asked for them
        """
        state = self._state
        if state.empty or (state.high is not None and state.high <= state.low):
            return
        if self._by_entities():
            objects = yield _EntitiesAsk(tuple(wanted_pks(state.where)))
            rows = objects[state.low : state.high]
            if cap is not None and len(rows) > cap:
                raise self._too_many(len(rows), cap)
            rows = [o.pk for o in rows] if select == "ids" else rows
            yield _Got([self._shape(row) for row in rows] if shaped else rows)
            return
        size = self._page_size()
        offset, remaining = state.low, None if state.high is None else state.high - state.low
        while remaining is None or remaining > 0:
            limit = size if remaining is None else min(size, remaining)
            page: Page = yield _PageAsk(self, frozenset({"total", select}), offset, limit)
            got = self._page_rows(page, select)
            if cap is not None and page.total is not None:
                matching = max(0, page.total - state.low)
                if state.high is not None:
                    matching = min(matching, state.high - state.low)
                if matching > cap:
                    raise self._too_many(matching, cap)
            yield _Got([self._shape(row) for row in got] if shaped else got)
            offset += len(got)
            if remaining is not None:
                remaining -= len(got)
            if len(got) < limit or (page.total is not None and offset >= page.total):
                break

    def _rows(self, select: str, cap: int | None = None) -> _Plan:
        """Every row of the slice, as one list (``_pages`` collected)."""
        return (yield from _collect(self._pages(select, cap)))

    def _shaped_pages(self) -> _Plan:
        """The pages of this queryset's results: objects, or the values asked for."""
        return self._pages("ids" if self._ids_only() else "items", shaped=True)

    def _ids_only(self) -> bool:
        values = self._state.values
        return values is not None and all(v in ("pk", "id") for v in values)

    def _page_rows(self, page: Page, select: str) -> list[Any]:
        if select == "ids":
            return list(page.ids or [])
        return [self.model(pk, data=data) for pk, data in page.items or []]

    def _too_many(self, count: int, cap: int) -> TooManyRemoteIds:
        return TooManyRemoteIds(self._spec.project, self._spec.label, count, cap)

    def _all_plan(self) -> _Plan:
        return (yield from _collect(self._shaped_pages()))

    def _shape(self, row: Any) -> Any:
        """Return a row (an object, or a primary key when only ids were asked) as asked for."""
        values = self._state.values
        if values is None:
            return row
        if not isinstance(row, self.model):  # a primary key: only ids were asked for
            shaped = [row] * len(values)
        else:
            shaped = [row.pk if n in ("pk", "id") else _key(row._remote_value(n)) for n in values]
        return shaped[0] if self._state.flat else tuple(shaped)

    def _count_plan(self) -> _Plan:
        state = self._state
        if self._result_cache is not None:
            return len(self._result_cache)
        if state.empty or (state.high is not None and state.high <= state.low):
            return 0
        if self._by_entities():
            rows = yield from self._rows("items")
            return len(rows)
        page: Page = yield _PageAsk(self, frozenset({"total"}), 0, 0)
        total = max(0, (page.total or 0) - state.low)
        return total if state.high is None else min(total, state.high - state.low)

    def _exists_plan(self) -> _Plan:
        state = self._state
        if self._result_cache is not None:
            return bool(self._result_cache)
        if state.empty or (state.high is not None and state.high <= state.low):
            return False
        if self._by_entities():
            rows = yield from self._rows("items")
            return bool(rows)
        page: Page = yield _PageAsk(self, frozenset({"ids"}), state.low, 1)
        return bool(page.ids)

    def _get_plan(self) -> _Plan:
        state = self._state
        if self._by_entities() or state.empty:
            rows = yield from self._rows("items")
            count = len(rows)
        else:
            limit = 1 if state.high is None else min(1, state.high - state.low)
            if limit <= 0:
                rows, count = [], 0
            else:
                page: Page = yield _PageAsk(self, frozenset({"total", "items"}), state.low, limit)
                rows = self._page_rows(page, "items")
                count = max(0, (page.total or 0) - state.low)
                if state.high is not None:
                    count = min(count, state.high - state.low)
        if count == 1 and rows:
            return self._shape(rows[0])
        opts = self.model._meta
        if not count or not rows:
            raise self.model.DoesNotExist(opts.project, opts.label, None, query=self._describe())
        raise self.model.MultipleObjectsReturned(opts.project, opts.label, count)

    def _describe(self) -> str:
        state = self._state
        parts = []
        if state.where is not None:
            parts.append(f"filter={filter_input_text(state.where)}")
        if state.search:
            parts.append(f"search={' '.join(state.search)!r}")
        return ", ".join(parts) or "all()"

    def _last_plan(self) -> _Plan:
        if self._result_cache is not None:
            return self._result_cache[-1] if self._result_cache else None
        state = self._state
        if self._by_entities() or state.empty:
            rows = yield from self._all_plan()
            return rows[-1] if rows else None
        count = yield from self._count_plan()
        if not count:
            return None
        clone = self._chain(low=state.low + count - 1, high=state.low + count)
        rows = yield from clone._all_plan()
        return rows[-1] if rows else None

    def _pks_plan(self) -> _Plan:
        cap = conf.federation_settings()["MAX_PUSHDOWN_IDS"]
        if self._result_cache is not None and self._state.values is None:
            if len(self._result_cache) > cap:
                raise self._too_many(len(self._result_cache), cap)
            return [o.pk for o in self._result_cache]
        return (yield from self._rows("ids", cap=cap))

    def _in_bulk_plan(self, id_list: Iterable[Any] | None, field_name: str) -> _Plan:
        if field_name not in ("pk", "id"):
            raise ValueError(
                f"in_bulk()'s field_name must be 'pk' for remote {self._spec.label}, "
                f"not {field_name!r}."
            )
        if self._state.low or self._state.high is not None:
            raise TypeError("Cannot use 'limit' or 'offset' with in_bulk().")
        if self._state.values is not None:
            raise TypeError("in_bulk() cannot be used with values() or values_list().")
        if id_list is None:
            objects = self._result_cache
            if objects is None:
                objects = yield from self._all_plan()
        else:
            ids = list(id_list)
            if not ids:
                return {}
            objects = yield from self.filter(pk__in=ids)._all_plan()
        return {obj.pk: obj for obj in objects}

    # Evaluating, sync.

    def _fetch_all_list(self) -> list[Any]:
        if self._result_cache is None:
            self._result_cache = self._drive(self._all_plan())
        return self._result_cache

    def __iter__(self) -> Iterator[Any]:
        return iter(self._fetch_all_list())

    def __len__(self) -> int:
        return len(self._fetch_all_list())

    def __bool__(self) -> bool:
        return bool(self._fetch_all_list())

    def __repr__(self) -> str:
        data = list(self[: REPR_OUTPUT_SIZE + 1])
        if len(data) > REPR_OUTPUT_SIZE:
            data[-1] = "...(remaining elements truncated)..."
        return f"<{type(self).__name__} {data!r}>"

    def iterator(self, chunk_size: int | None = None) -> Iterator[Any]:
        """Yield the results page by page, without caching them on the queryset.

        Each page is asked for when the previous one is used up (``chunk_size``
        is the remote's page size, whatever is given).
        """
        if self._result_cache is not None:
            yield from self._result_cache
            return
        pages = self._shaped_pages()
        answer = None
        while True:
            try:
                event = pages.send(answer)
            except StopIteration:
                return
            if isinstance(event, _Got):
                yield from event.rows
                answer = None
            else:
                answer = self._answer(event)

    def count(self) -> int:
        """Return how many visible objects match: one request (none if already fetched)."""
        return self._drive(self._count_plan())

    def exists(self) -> bool:
        """Return whether any visible object matches: one request for one id."""
        return self._drive(self._exists_plan())

    def get(self, *args: Any, **kwargs: Any) -> Any:
        """Return the one object that matches: one request.

        :raises DoesNotExist: none matches (the stand-in's own class)
        :raises MultipleObjectsReturned: more than one matches
        """
        return self._drive(self._getting(args, kwargs)._get_plan())

    def _getting(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> RemoteQuerySet:
        if not args and not kwargs:
            return self
        return self._filter_or_exclude(False, args, kwargs, "looked up by pk only")

    def first(self) -> Any:
        """Return the first object, or None: one request for one object."""
        if self._result_cache is not None:
            return self._result_cache[0] if self._result_cache else None
        rows = self[:1]
        return next(iter(rows), None)

    def last(self) -> Any:
        """Return the last object, or None: two requests (the count, then the object)."""
        return self._drive(self._last_plan())

    def in_bulk(self, id_list: Iterable[Any] | None = None, *, field_name: str = "pk") -> dict:
        """Return the objects by primary key: those of ``id_list``, or all that match."""
        return self._drive(self._in_bulk_plan(id_list, field_name))

    def pks(self) -> list[Any]:
        """Return the primary keys of every match, one request per page.

        :raises TooManyRemoteIds: more match than ``FEDERATION["MAX_PUSHDOWN_IDS"]``
            (found out from the first page, before asking for the others)
        """
        return self._drive(self._pks_plan())

    # Evaluating, async.

    async def _afetch_all(self) -> list[Any]:
        if self._result_cache is None:
            self._result_cache = await self._adrive(self._all_plan())
        return self._result_cache

    def __aiter__(self) -> AsyncIterator[Any]:
        async def generator() -> AsyncIterator[Any]:
            for item in await self._afetch_all():
                yield item

        return generator()

    async def aiterator(self, chunk_size: int | None = None) -> AsyncIterator[Any]:
        """The async twin of ``iterator``."""
        if self._result_cache is not None:
            for row in self._result_cache:
                yield row
            return
        pages = self._shaped_pages()
        answer = None
        while True:
            try:
                event = pages.send(answer)
            except StopIteration:
                return
            if isinstance(event, _Got):
                for row in event.rows:
                    yield row
                answer = None
            else:
                answer = await self._aanswer(event)

    async def acount(self) -> int:
        """The async twin of ``count``."""
        return await self._adrive(self._count_plan())

    async def aexists(self) -> bool:
        """The async twin of ``exists``."""
        return await self._adrive(self._exists_plan())

    async def aget(self, *args: Any, **kwargs: Any) -> Any:
        """The async twin of ``get``."""
        return await self._adrive(self._getting(args, kwargs)._get_plan())

    async def afirst(self) -> Any:
        """The async twin of ``first``."""
        if self._result_cache is not None:
            return self._result_cache[0] if self._result_cache else None
        rows = await self[:1]._afetch_all()
        return rows[0] if rows else None

    async def alast(self) -> Any:
        """The async twin of ``last``."""
        return await self._adrive(self._last_plan())

    async def ain_bulk(
        self, id_list: Iterable[Any] | None = None, *, field_name: str = "pk"
    ) -> dict:
        """The async twin of ``in_bulk``."""
        return await self._adrive(self._in_bulk_plan(id_list, field_name))

    async def apks(self) -> list[Any]:
        """The async twin of ``pks``."""
        return await self._adrive(self._pks_plan())


def _key(value: Any) -> Any:
    """A relation's value as ``values_list()`` gives it: the related key (or keys)."""
    if isinstance(value, Ref):
        return value.pk
    if isinstance(value, list):
        return [_key(v) for v in value]
    return value


#: For the manager: the queryset methods it offers, as Django's managers do.
QUERYSET_METHODS: tuple[str, ...] = (
    "all",
    "none",
    "filter",
    "exclude",
    "order_by",
    "search",
    "values_list",
    "count",
    "exists",
    "first",
    "last",
    "in_bulk",
    "pks",
    "iterator",
    "aiterator",
    "acount",
    "aexists",
    "aget",
    "afirst",
    "alast",
    "ain_bulk",
    "apks",
)


def queryset_method(name: str) -> Callable[..., Any]:
    """Return a manager method that calls queryset method ``name`` on a new queryset."""

    def method(manager: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(manager.get_queryset(), name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = getattr(RemoteQuerySet, name).__doc__
    return method
