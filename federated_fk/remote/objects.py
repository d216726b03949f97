"""Remote objects: stand-ins for rows that live in another service.

``GenericContentType.model_class()`` of a remote content type returns a
stand-in class built here: a ``RemoteObject`` subclass, one per content type,
with a ``_meta`` describing the remote model from its synchronized schema, so
that ``isinstance(ref.content_object, ct.model_class())`` holds for remote
targets as it does for local ones, and fields read as the Python types a local
model gives.
"""

from __future__ import annotations

import json
import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import Q
from django.db.models.base import ModelState

from federated_fk import conf
from federated_fk.exceptions import RemoteMultipleObjectsReturned, RemoteObjectDoesNotExist
from federated_fk.remote.converters import snake_case
from federated_fk.remote.entities import EntityType
from federated_fk.remote.loading import client
from federated_fk.remote.options import RemoteOptions
from federated_fk.remote.queryset import QUERYSET_METHODS, RemoteQuerySet, queryset_method
from federated_fk.remote.relations import RelationDescriptor, RelationIdDescriptor
from federated_fk.sdl import Queryable

if TYPE_CHECKING:
    from federated_fk.models import GenericContentType


class RemoteManager:
    """The ``_default_manager`` of a stand-in class (``StandIn.objects``).

    Its methods return ``RemoteQuerySet``s, run by the service that owns the
    type (``federated_fk.remote.queryset``); ``get(pk)`` alone stays lazy, as
    ``content_object`` is: it returns a stand-in without a request.

    :param queryable: what the owning service lets others query of the type,
        as ``GenericContentType.queryable`` stores it (empty: primary keys only)
    """

    def __init__(self, model: type[RemoteObject], queryable: dict[str, Any] | None = None) -> None:
        self.model = model
        self._queryable = queryable or {}

    @cached_property
    def queryable(self) -> Queryable | None:
        """What may be filtered, ordered and searched on, or None if nothing."""
        return Queryable.read(self.model._meta.label, self._queryable)

    def get_queryset(self) -> RemoteQuerySet:
        """Return a new queryset of every object the remote lets this service see."""
        return RemoteQuerySet(self.model, self.queryable)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        """Return the object that matches; ``get(pk)`` alone: a lazy stand-in, no request.

        Any other lookup is a queryset's ``get()``: one request, and the
        stand-in's ``DoesNotExist`` or ``MultipleObjectsReturned``.
        """
        pk = _lone_pk(args, kwargs)
        if pk is not None:
            return self.model(pk)
        return self.get_queryset().get(*args, **kwargs)

    def filter(self, *args: Any, **kwargs: Any) -> RemoteQuerySet:
        """Return a queryset of the objects that match: see ``RemoteQuerySet.filter``.

        ``filter(pk__in=...)`` alone is read through ``_entities`` (every
        remote type, queryable or not): one request, missing objects left out.
        """
        return self.get_queryset().filter(*args, **kwargs)

    def page_ids(self, offset: int, limit: int) -> tuple[list[Any], int]:
        """Return a page of the primary keys the remote lets this service see, and their count.

        Only listable types page through their ids
        (``@subgraph.entity(..., listable=True)``); one request per page.

        :raises TypeError: the type is not listable
        :raises RemoteUnavailable: the remote service could not answer
        """
        opts = self.model._meta
        if not opts.listable:
            raise TypeError(
                f"Remote {opts.label} ({opts.project}) is not listable: its subgraph "
                "must expose it with listable=True."
            )
        ids, total = client().list_ids(opts.project, opts.type_name, offset, limit)
        return [opts.pk.to_python(pk) for pk in ids], total


class ManagerDescriptor:
    """``StandIn.objects``: the manager on the class; on an object, a remote field of that name.

    As Django's, the manager is not reachable from instances; there the
    name falls through to ``RemoteObject.__getattr__``.
    """

    def __init__(self, manager: RemoteManager) -> None:
        self.manager = manager

    def __get__(self, instance: Any, owner: type | None = None) -> RemoteManager:
        if instance is not None:
            raise AttributeError("objects")
        return self.manager


for _name in QUERYSET_METHODS:
    if _name not in RemoteManager.__dict__:
        setattr(RemoteManager, _name, queryset_method(_name))


def _lone_pk(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Return the primary key of ``get(pk)``, ``get(pk=...)`` or ``get(id=...)``, else None."""
    if len(args) == 1 and not kwargs and not isinstance(args[0], Q):
        return args[0]
    if not args and len(kwargs) == 1:
        ((name, value),) = kwargs.items()
        if name in ("pk", "id", "pk__exact", "id__exact"):
            return value
    return None


class RemoteObject:
    """An object of a remote service, named by its content type and primary key.

    Stand-ins are lazy: making one costs no request. The remote fields (as the
    synchronized schema lists them) are attributes, typed as a local model's
    fields are; reading the first one loads the object. Relations read as
    their targets. Two stand-ins are equal when they name the same remote
    object. Remote objects are read-only.
    """

    _meta: ClassVar[RemoteOptions]
    _default_manager: ClassVar[RemoteManager]
    _base_manager: ClassVar[RemoteManager]
    DoesNotExist: ClassVar[type[RemoteObjectDoesNotExist]] = RemoteObjectDoesNotExist
    MultipleObjectsReturned: ClassVar[type[RemoteMultipleObjectsReturned]] = (
        RemoteMultipleObjectsReturned
    )
    objects: ClassVar[ManagerDescriptor]

    def __init__(self, pk: Any, data: dict[str, Any] | None = None) -> None:
        self.pk = self._meta.pk.to_python(pk)
        #: The id as given, which ``pk`` may have converted loosely (1.5 to 1):
        #: writes parse it exactly (``federated_fk.ids``).
        self._given_pk = pk
        self._data = data
        self._state = ModelState()
        self._state.adding = False
        self._state.db = self._meta.db

    @property
    def content_type(self) -> GenericContentType:
        """The GenericContentType of this object's remote model."""
        manager = self._meta.content_types
        cached = manager.cached(self._state.db, self)
        return cached or manager.db_manager(self._state.db).get_for_model(self)

    @property
    def object_id(self) -> str:
        """The primary key as a GraphQL ``ID`` (a string)."""
        return str(self.pk)

    @property
    def id(self) -> Any:
        return self.pk

    def _is_pk_set(self) -> bool:
        # Django asks this of a GenericForeignKey's cached target before save.
        return self.pk is not None

    @property
    def is_loaded(self) -> bool:
        """True once the remote fields of this object are known."""
        return self._data is not None

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not set on the instance or class:
        # the remote scalar fields, or a typo. A typo fails without a request.
        if name.startswith("_"):
            raise AttributeError(name)
        opts = self._meta
        opts.check_in_schema()
        if name not in opts.python_names:
            raise AttributeError(
                f"Remote {opts.label} has no field {name!r}; its fields are: "
                f"{', '.join(sorted(opts.python_names)) or 'none'}."
            )
        return self._remote_value(name)

    def _remote_value(self, name: str) -> Any:
        """Return a remote field's value as it arrived (references unresolved)."""
        if self._data is None:
            self._load()
        try:
            return self._data[name]
        except KeyError:  # a field left out by the project's FIELDS setting
            raise AttributeError(
                f"Remote {self._meta.label} field {name!r} is not fetched: see "
                f"FEDERATION['PROJECTS'][{self._meta.project!r}]['FIELDS']."
            ) from None

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._meta.python_names})

    def _load(self) -> None:
        """Fetch this object's fields from its service (one request)."""
        entity_type = self._meta.entity_type()
        self._set_data(entity_type, client().fetch({entity_type: [self.pk]}))

    async def aload(self) -> RemoteObject:
        """Fetch this object's fields from async code, unless already loaded.

        :raises DoesNotExist: the remote service has no such object
        :raises RemoteUnavailable: the remote service could not answer
        """
        if self._data is None:
            entity_type = self._meta.entity_type()
            self._set_data(entity_type, await client().afetch({entity_type: [self.pk]}))
        return self

    def refresh_from_db(self, using: str | None = None, fields: Any = None, **kwargs: Any) -> None:
        """Fetch this object's fields again from its service, as ``Model.refresh_from_db``.

        ``using`` and ``fields`` are accepted for the model API's sake; the
        whole object is fetched (one request, through the cache if one is set).

        :raises DoesNotExist: the remote service no longer has the object
        """
        self._data = None
        self._state.fields_cache.clear()
        self._load()

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Refuse: a remote object is written by the service that owns it."""
        raise TypeError(self._read_only("saved"))

    def delete(self, *args: Any, **kwargs: Any) -> None:
        """Refuse: a remote object is deleted by the service that owns it."""
        raise TypeError(self._read_only("deleted"))

    def _read_only(self, what: str) -> str:
        return (
            f"Remote objects are read-only: {self!r} lives in project "
            f"{self._meta.project!r} and cannot be {what} from here."
        )

    def _set_data(self, entity_type: EntityType, fetched: Any) -> None:
        data = fetched.raise_first().get((entity_type.key, self.pk))
        if data is None:
            raise self._does_not_exist()
        self._data = data

    def _does_not_exist(self) -> RemoteObjectDoesNotExist:
        return self.DoesNotExist(self._meta.project, self._meta.label, self.pk)

    def _identity(self) -> tuple[str, str, str, Any]:
        opts = self._meta
        return (opts.project, opts.app_label, opts.model_name, self.pk)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RemoteObject):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        opts = self._meta
        return f"<{opts.object_name}: {opts.project} {opts.label_lower} pk={self.pk!r}>"

    def __str__(self) -> str:
        data = self._data or {}
        title = data.get("title") or data.get("name")
        if isinstance(title, str) and title:
            return title
        return f"{self._meta.verbose_name} {self.pk}"


_stand_ins: dict[tuple[Any, ...], type[RemoteObject]] = {}
_stand_ins_lock = threading.Lock()
#: Bumped whenever a content-type row may have changed: it invalidates the
#: class remembered on every content-type instance.
_generation = 0


def forget_stand_in_memos() -> None:
    """Make every content type look its stand-in class up again (after a row changed)."""
    global _generation
    _generation += 1


def stand_in_class(ct: GenericContentType) -> type[RemoteObject]:
    """Return the stand-in class of the remote content type ``ct``.

    The class is made once per (content type as synchronized, base class)
    and cached, so that objects made at different times are instances of
    one class. The content type remembers its class until a content-type row
    is saved, deleted or refreshed: the prefetch asks for it per reference,
    and describing the type to find the class is the costly part.
    """
    base = conf.remote_object_class() or RemoteObject
    memo = ct.__dict__.get("_stand_in_memo")
    if memo is not None and memo[0] == _generation and memo[1] is base:
        return memo[2]
    generation = _generation
    cls = _stand_in_class(ct, base)
    ct.__dict__["_stand_in_memo"] = (generation, base, cls)
    return cls


def _stand_in_class(ct: GenericContentType, base: type) -> type[RemoteObject]:
    described = json.dumps(
        [
            *(ct.type_name, ct.pk_type, ct.fields, ct.field_types, ct.relations, ct.listable),
            getattr(ct, "queryable", None) or {},
        ],
        sort_keys=True,
        default=str,
    )
    key = (*ct.natural_key(), ct.in_schema, described, base)
    try:
        return _stand_ins[key]
    except KeyError:
        pass
    with _stand_ins_lock:
        if key not in _stand_ins:
            _stand_ins[key] = _make_stand_in(ct, base)
        return _stand_ins[key]


def _make_stand_in(ct: GenericContentType, base: type) -> type[RemoteObject]:
    object_name = ct.type_name or ct.model.capitalize()
    module = f"{__name__}.{ct.project}"
    namespace: dict[str, Any] = {"__module__": module, "__qualname__": object_name}
    for name, target in ct.relations.items():
        attribute = snake_case(name)
        namespace[attribute] = RelationDescriptor(attribute, target)
        if not target["many"]:
            namespace[f"{attribute}_id"] = RelationIdDescriptor(attribute)
    cls: type[RemoteObject] = type(object_name, (base,), namespace)
    cls._meta = RemoteOptions(cls, ct)
    cls.DoesNotExist = type(
        "DoesNotExist",
        (base.DoesNotExist,),
        {"__module__": module, "__qualname__": f"{object_name}.DoesNotExist"},
    )
    cls.MultipleObjectsReturned = type(
        "MultipleObjectsReturned",
        (base.MultipleObjectsReturned,),
        {"__module__": module, "__qualname__": f"{object_name}.MultipleObjectsReturned"},
    )
    manager = RemoteManager(cls, getattr(ct, "queryable", None) or {})
    cls._default_manager = cls._base_manager = manager
    cls.objects = ManagerDescriptor(manager)  # type: ignore[assignment]
    return cls
