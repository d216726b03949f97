"""Remote objects: stand-ins for rows that live in another service.

``GenericContentType.model_class()`` of a remote content type returns a
stand-in class built here: a ``RemoteObject`` subclass, one per content type,
with a ``_meta`` describing the remote model, so that
``isinstance(ref.content_object, ct.model_class())`` holds for remote targets
as it does for local ones.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models.base import ModelState
from django.utils.text import camel_case_to_spaces, format_lazy

from federated_fk import conf
from federated_fk.contract import pk_field
from federated_fk.exceptions import FederationError, RemoteObjectDoesNotExist
from federated_fk.ids import InvalidId, parse_remote_id

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from federated_fk.client import EntityType
    from federated_fk.models import GenericContentType


class RemoteOptions:
    """The ``_meta`` of a stand-in class: what is known of a remote model.

    It carries the attributes of ``Model._meta`` that generic code reads:
    names, verbose names, the primary-key field and ``concrete_model``.
    """

    abstract = False
    proxy = False
    swapped = None

    def __init__(
        self,
        model: type[RemoteObject],
        project: str,
        app_label: str,
        model_name: str,
        type_name: str,
        pk_type: str,
        fields: tuple[str, ...] = (),
        field_types: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.model = self.concrete_model = model
        self.project = project
        self.app_label = app_label
        self.model_name = model_name
        self.object_name = type_name or model_name.capitalize()
        self.type_name = self.object_name
        self.verbose_name = camel_case_to_spaces(self.object_name)
        self.verbose_name_plural = format_lazy("{}s", self.verbose_name)
        self.pk_type = pk_type
        self.pk = pk_field(pk_type)
        self.fields = fields
        self.field_types = dict(field_types)

    def entity_type(self) -> EntityType:
        """Return what the GraphQL client needs to fetch objects of this model.

        The fields are the project's declared ``FIELDS`` for this type, if
        any, else every scalar field the remote schema had when synchronized.
        """
        from federated_fk.client import EntityType

        project = conf.federation_settings()["PROJECTS"].get(self.project) or {}
        declared = (project.get("FIELDS") or {}).get(self.type_name)
        return EntityType(
            key=(self.project, self.app_label, self.model_name),
            type_name=self.type_name,
            fields=tuple(declared or self.fields),
            pk=self.pk,
            field_types=tuple(self.field_types.items()),
        )

    @property
    def label(self) -> str:
        return f"{self.app_label}.{self.object_name}"

    @property
    def label_lower(self) -> str:
        return f"{self.app_label}.{self.model_name}"

    def __repr__(self) -> str:
        return f"<RemoteOptions for {self.project}:{self.label}>"


class RemoteManager:
    """The ``_default_manager`` of a stand-in class: look-ups by primary key."""

    def __init__(self, model: type[RemoteObject]) -> None:
        self.model = model

    def get(self, pk: Any = None, **kwargs: Any) -> RemoteObject:
        """Return a lazy stand-in for ``pk``; it loads on first field access."""
        pk = kwargs.pop("id", pk)
        if kwargs or pk is None:
            raise TypeError(
                f"Remote {self.model._meta.label} objects are looked up by pk only, "
                f"got {sorted(kwargs) or 'no pk'}."
            )
        return self.model(pk)

    def filter(self, pk__in: Iterable[Any] = (), **kwargs: Any) -> list[RemoteObject]:
        """Fetch the objects whose primary keys are in ``pk__in``, in one request.

        Objects that do not exist are left out, as a queryset leaves them out.
        """
        if kwargs:
            raise TypeError(
                f"Remote {self.model._meta.label} objects are filtered by pk__in "
                f"only, got {sorted(kwargs)}."
            )
        return load_remote_objects({self.model: pk__in})


class RemoteObject:
    """An object of a remote service, named by its content type and primary key.

    Stand-ins are lazy: making one costs no request. Remote fields become
    attributes once the object is loaded (``_data``); until then, reading
    one loads the object. Two stand-ins are equal when they name the same
    remote object.
    """

    _meta: ClassVar[RemoteOptions]
    _default_manager: ClassVar[RemoteManager]
    _base_manager: ClassVar[RemoteManager]
    DoesNotExist: ClassVar[type[RemoteObjectDoesNotExist]] = RemoteObjectDoesNotExist

    def __init__(self, pk: Any, data: dict[str, Any] | None = None) -> None:
        self.pk = self._meta.pk.to_python(pk)
        self._data = data
        self._state = ModelState()
        self._state.adding = False

    @property
    def content_type(self) -> GenericContentType:
        """The GenericContentType of this object's remote model."""
        from federated_fk.models import GenericContentType

        return GenericContentType.objects.get_for_model(self)

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
        # those are the remote fields.
        if name.startswith("_"):
            raise AttributeError(name)
        if self._data is None:
            self._load()
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"Remote {self._meta.label} has no field {name!r}.") from None

    def _load(self) -> None:
        """Fetch this object's fields from its service (one request)."""
        from federated_fk.client import fetch

        entity_type = self._meta.entity_type()
        self._set_data(fetch({entity_type: [self.pk]})[(entity_type.key, self.pk)])

    async def aload(self) -> RemoteObject:
        """Fetch this object's fields from async code, unless already loaded.

        :raises DoesNotExist: the remote service has no such object
        """
        from federated_fk.client import afetch

        if self._data is None:
            entity_type = self._meta.entity_type()
            self._set_data((await afetch({entity_type: [self.pk]}))[(entity_type.key, self.pk)])
        return self

    def refresh_from_remote(self) -> None:
        """Fetch this object's fields again, bypassing what it holds."""
        self._data = None
        self._load()

    def _set_data(self, data: dict[str, Any] | None) -> None:
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
        title = (self._data or {}).get("title") or (self._data or {}).get("name")
        if title:
            return str(title)
        return f"{self._meta.verbose_name} {self.pk}"


_stand_ins: dict[tuple[Any, ...], type[RemoteObject]] = {}
_stand_ins_lock = threading.Lock()


def stand_in_class(ct: GenericContentType) -> type[RemoteObject]:
    """Return the stand-in class of the remote content type ``ct``.

    The class is made once per (content type, base class) and cached, so
    that objects made at different times are instances of one class.
    """
    base = conf.remote_object_class()
    types = tuple(sorted(ct.field_types.items()))
    key = (*ct.natural_key(), ct.type_name, ct.pk_type, tuple(ct.fields), types, base)
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
    cls: type[RemoteObject] = type(
        object_name, (base,), {"__module__": module, "__qualname__": object_name}
    )
    cls._meta = RemoteOptions(
        cls,
        ct.project,
        ct.app_label,
        ct.model,
        ct.type_name,
        ct.pk_type,
        tuple(ct.fields),
        tuple(sorted(ct.field_types.items())),
    )
    cls.DoesNotExist = type(
        "DoesNotExist",
        (base.DoesNotExist,),
        {"__module__": module, "__qualname__": f"{object_name}.DoesNotExist"},
    )
    cls._default_manager = cls._base_manager = RemoteManager(cls)
    return cls


def _plan(wanted: Mapping[type[RemoteObject], Iterable[Any]]) -> dict[EntityType, list[Any]]:
    plan: dict[EntityType, list[Any]] = {}
    for stand_in, pks in wanted.items():
        meta = stand_in._meta
        label = f"{meta.project} {meta.app_label}.{meta.model_name}"
        ids = []
        for pk in pks:
            try:
                ids.append(parse_remote_id(label, meta.pk_type, pk))
            except InvalidId:
                continue  # names no remote row: missing, and no reason to fail the others
        plan.setdefault(meta.entity_type(), []).extend(ids)
    return plan


def _objects(
    wanted: Mapping[type[RemoteObject], Iterable[Any]],
    plan: dict[EntityType, list[Any]],
    found: Any,
) -> list[RemoteObject]:
    objects = []
    for stand_in, entity_type in zip(wanted, plan, strict=True):
        for pk in dict.fromkeys(plan[entity_type]):
            data = found.get((entity_type.key, pk))
            if data is not None:
                objects.append(stand_in(pk, data=data))
    return objects


def load_remote_objects(
    wanted: Mapping[type[RemoteObject], Iterable[Any]],
    errors: dict[str, FederationError] | None = None,
) -> list[RemoteObject]:
    """Fetch remote objects of any types: one request per remote project.

    ``wanted`` maps stand-in classes to primary keys. Objects that do not
    exist are left out.

    :param errors: if given, a project's failure is recorded here by project
        name (and its objects left out) instead of raised
    :raises RemoteProjectNotConfigured: a project has no endpoint
    :raises RemoteUnavailable: a project could not answer
    """
    from federated_fk.client import fetch

    plan = _plan(wanted)
    return _objects(wanted, plan, fetch(plan, errors))


async def aload_remote_objects(
    wanted: Mapping[type[RemoteObject], Iterable[Any]],
    errors: dict[str, FederationError] | None = None,
) -> list[RemoteObject]:
    """The async twin of ``load_remote_objects``."""
    from federated_fk.client import afetch

    plan = _plan(wanted)
    return _objects(wanted, plan, await afetch(plan, errors))
