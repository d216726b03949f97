"""RemoteForeignKey: a key to the objects of one remote model, without a content type.

It is what ``point()`` makes of a deferred key whose target lives in another
service: one column holding the remote primary key, in that key's type, and
an attribute giving the target's stand-in (a ``RemoteObject``), lazily.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from django import forms
from django.core import checks
from django.core.exceptions import FieldError
from django.db import models
from django.db.models import Lookup, QuerySet, Transform
from django.db.models.constants import LOOKUP_SEP
from django.db.models.fields.mixins import FieldCacheMixin
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.lookups import In
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from federated_fk import conf
from federated_fk.contract import PkType, pk_field
from federated_fk.fields.remote_policy import (
    DEFAULT_POLICY,
    POLICY_HINT,
    RemotePolicy,
    is_default,
    refusal,
)
from federated_fk.models import GenericContentType
from federated_fk.prefetch import report_partial
from federated_fk.pushdown import TargetIds, is_remote_queryset
from federated_fk.remote import RemoteObject, fetch_remote_objects

#: (project, app_label, model name in lower case): what a remote key points at.
Target = tuple[str, str, str]

_INTERNAL_TYPES = {
    PkType.INT: "BigIntegerField",
    PkType.UUID: "UUIDField",
    PkType.STR: "CharField",
}
_FORM_FIELDS = {
    PkType.INT: forms.IntegerField,
    PkType.UUID: forms.UUIDField,
    PkType.STR: forms.CharField,
}
#: The length of the column of a string remote key, unless max_length says otherwise.
DEFAULT_STR_LENGTH = 255


def parse_target(target: str) -> Target:
    """Return ``(project, app_label, model)`` of ``"project:app_label.Model"``.

    :raises ValueError: ``target`` is not of that form
    """
    project, sep, label = target.partition(":")
    app_label, dot, model = label.rpartition(".")
    if not (sep and dot and project and app_label and model):
        raise ValueError(f"A remote target is written 'project:app_label.Model', got {target!r}.")
    return (project, app_label, model.lower())


def target_of(to: Any) -> tuple[Target, str | None]:
    """Return the target named by ``to`` and its primary-key type, if ``to`` knows it.

    ``to`` is a remote ``GenericContentType``, its stand-in class, or the
    string ``"project:app_label.Model"``.
    """
    if isinstance(to, GenericContentType):
        return to.natural_key(), to.pk_type
    if isinstance(to, type) and issubclass(to, RemoteObject):
        opts = to._meta
        return (opts.project, opts.app_label, opts.model_name), opts.pk_type
    if isinstance(to, str):
        return parse_target(to), None
    raise TypeError(
        "A remote target is a GenericContentType, its stand-in class or "
        f"'project:app_label.Model', got {to!r}."
    )


class RemoteForeignKey(FieldCacheMixin, models.Field):
    """A key to the objects of one remote model: a FederatedForeignKey fixed to one type.

    One column (``<name>_id``) holds the remote primary key in the type the
    remote model uses (``pk_type``: ``"int"``, ``"uuid"`` or ``"str"``);
    there is no content-type column. The attribute gives the target's
    stand-in without a request; ``prefetch_related(name)`` loads the targets
    of many rows in one request::

        book = RemoteForeignKey("shop_b:books.Book", pk_type="int", null=True)

    The target is named by its natural key, so migrations do not depend on
    content-type row ids. Its ``GenericContentType`` is made by
    ``sync_remote_contenttypes``.

    :param to: a remote ``GenericContentType``, its stand-in class, or
        ``"project:app_label.Model"``
    :param pk_type: the remote primary key's type; taken from ``to`` when it
        is a content type or stand-in class, else ``"int"``
    :param on_remote_delete: what happens to a row when its target is deleted
        in the remote service (``federated_fk.fields.remote_deletion``):
        ``models.CASCADE`` deletes it, ``models.SET_NULL`` clears the column
        (which must be ``null=True``), ``models.DO_NOTHING`` (the default)
        keeps it, and any other callable is called as
        ``policy(field, queryset)`` with the referencing rows
    """

    description = _("Key to a remote object")
    descriptor_class = ForeignKeyDeferredAttribute

    def __init__(
        self,
        to: Any,
        pk_type: str | None = None,
        on_remote_delete: RemotePolicy = DEFAULT_POLICY,
        **kwargs: Any,
    ) -> None:
        self.on_remote_delete = on_remote_delete
        self.target, known_pk_type = target_of(to)
        if pk_type is not None and known_pk_type is not None and pk_type != known_pk_type:
            raise ValueError(
                f"pk_type {pk_type!r} contradicts {self.remote_label}, whose "
                f"primary key is {known_pk_type!r}."
            )
        pk_type = pk_type or known_pk_type or PkType.INT
        if pk_type not in PkType.values:
            raise ValueError(f"pk_type must be one of {PkType.values}, got {pk_type!r}.")
        self.pk_type = PkType(pk_type)
        kwargs.setdefault("db_index", True)
        if self.pk_type == PkType.STR:
            kwargs.setdefault("max_length", DEFAULT_STR_LENGTH)
        super().__init__(**kwargs)
        self._id_field = pk_field(self.pk_type)

    @property
    def remote_label(self) -> str:
        """The target as ``"project:app_label.model"``."""
        project, app_label, model = self.target
        return f"{project}:{app_label}.{model}"

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [
            *super().check(**kwargs),
            *self._check_target_is_remote(),
            *self._check_on_remote_delete(),
        ]

    def _check_on_remote_delete(self) -> list[checks.CheckMessage]:
        label = f"'{self.model._meta.label}.{self.name}'"
        why = refusal(self.on_remote_delete)
        if why is not None:
            return [
                checks.Error(
                    f"on_remote_delete of RemoteForeignKey {label}: {why}.",
                    hint=POLICY_HINT,
                    obj=self,
                    id="federated_fk.E405",
                )
            ]
        if self.on_remote_delete is models.SET_NULL and not self.null:
            return [
                checks.Error(
                    f"RemoteForeignKey {label} has on_remote_delete=SET_NULL but is not null.",
                    hint="Set null=True, or choose another on_remote_delete.",
                    obj=self,
                    id="federated_fk.E406",
                )
            ]
        return []

    def _check_target_is_remote(self) -> list[checks.CheckMessage]:
        if conf.is_local_project(self.target[0]):
            return [
                checks.Error(
                    f"RemoteForeignKey '{self.model._meta.label}.{self.name}' points at "
                    f"{self.remote_label}, a model of a local project.",
                    hint="Point a deferred key at a local model to get a ForeignKey.",
                    obj=self,
                    id="federated_fk.E403",
                )
            ]
        return []

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, _path, args, kwargs = super().deconstruct()
        kwargs["to"] = self.remote_label
        kwargs["pk_type"] = str(self.pk_type)
        if not is_default(self.on_remote_delete):
            kwargs["on_remote_delete"] = self.on_remote_delete
        if kwargs.get("db_index") is True:
            del kwargs["db_index"]
        else:
            kwargs["db_index"] = False
        if self.pk_type == PkType.STR and kwargs.get("max_length") == DEFAULT_STR_LENGTH:
            del kwargs["max_length"]
        return name, "federated_fk.fields.RemoteForeignKey", args, kwargs

    # The column.

    def get_attname(self) -> str:
        return f"{self.name}_id"

    def get_internal_type(self) -> str:
        return _INTERNAL_TYPES[self.pk_type]

    @cached_property
    def cache_name(self) -> str:
        return self.name

    def to_python(self, value: Any) -> Any:
        if isinstance(value, RemoteObject):
            value = value.pk
        return self._id_field.to_python(value)

    def get_prep_value(self, value: Any) -> Any:
        return self._id_field.get_prep_value(self.to_python(value))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.to_python(value)
        return self._id_field.get_db_prep_value(value, connection, prepared=prepared)

    def formfield(self, **kwargs: Any) -> forms.Field:
        return super().formfield(**{"form_class": _FORM_FIELDS[self.pk_type], **kwargs})

    # Lookups across the key: pushed down to the owning service.

    def get_transform(self, lookup_name: str) -> Any:
        """Return Django's transform of that name, else a step of a remote path.

        ``book__title__icontains="dune"`` keeps the rows whose key is among
        the ids the owning service matches for ``title__icontains="dune"``:
        one remote query (``RemoteQuerySet.pks()``), then ``book_id IN (...)``
        here. What the remote may be filtered on is checked, before any
        request, by the remote queryset.
        """
        found = super().get_transform(lookup_name)
        if found is not None or lookup_name in self.get_lookups():
            return found
        return partial(RemotePath, name=lookup_name)

    def save_form_data(self, instance: models.Model, data: Any) -> None:
        setattr(instance, self.attname, data)

    def contribute_to_class(self, cls: type[models.Model], name: str, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, **kwargs)
        setattr(cls, self.name, RemoteForeignKeyDescriptor(self))

    # The target.

    def content_type(self, using: str | None = None) -> GenericContentType:
        """Return the GenericContentType of the target.

        :raises GenericContentType.DoesNotExist: the remote content types
            were not synchronized (``manage.py sync_remote_contenttypes``)
        """
        try:
            return GenericContentType.objects.db_manager(using).get_by_natural_key(*self.target)
        except GenericContentType.DoesNotExist:
            raise GenericContentType.DoesNotExist(
                f"No GenericContentType for {self.remote_label}, the target of "
                f"{self.model._meta.label}.{self.name}; run "
                "'manage.py sync_remote_contenttypes'."
            ) from None

    def remote_model(self, using: str | None = None) -> type[RemoteObject]:
        """Return the target's stand-in class."""
        return self.content_type(using).model_class()

    def get_prefetch_querysets(
        self, instances: Sequence[models.Model], querysets: Iterable[QuerySet] | None = None
    ) -> tuple[list[Any], Any, Any, bool, str, bool]:
        """Load the targets of ``instances`` in one request; Django's 6-tuple.

        Targets that do not exist read as ``None``. Inside
        ``collect_remote_errors()`` a project that cannot answer is recorded
        there and its targets read as ``None``; elsewhere it raises.
        """
        if querysets:
            raise ValueError("A RemoteForeignKey cannot be prefetched with querysets.")
        attname = self.attname
        pks = {getattr(i, attname) for i in instances} - {None}
        objs: list[Any] = []
        if pks:
            model = self.remote_model(instances[0]._state.db)
            objs = report_partial(fetch_remote_objects({model: pks}))
        to_python = self._id_field.to_python
        return (
            objs,
            lambda obj: obj.pk,
            lambda instance: to_python(getattr(instance, attname)),
            True,
            self.cache_name,
            False,
        )


class RemoteForeignKeyDescriptor:
    """The attribute of a RemoteForeignKey: the target's stand-in, made lazily.

    Reading it costs no request (the object loads on first field access);
    assigning a stand-in, or ``None``, sets the id.
    """

    def __init__(self, field: RemoteForeignKey) -> None:
        self.field = field

    def is_cached(self, instance: models.Model) -> bool:
        return self.field.is_cached(instance)

    def get_prefetch_querysets(
        self, instances: Sequence[models.Model], querysets: Iterable[QuerySet] | None = None
    ) -> tuple[list[Any], Any, Any, bool, str, bool]:
        return self.field.get_prefetch_querysets(instances, querysets)

    def __get__(self, instance: models.Model | None, cls: Any = None) -> Any:
        if instance is None:
            return self
        field = self.field
        try:
            return field.get_cached_value(instance)
        except KeyError:
            pass
        pk = getattr(instance, field.attname)
        target = None if pk is None else field.remote_model(instance._state.db)(pk)
        field.set_cached_value(instance, target)
        return target

    def __set__(self, instance: models.Model, value: Any) -> None:
        field = self.field
        if value is None or not isinstance(value, RemoteObject | models.Model):
            # None or a remote id (as deserializers and forms give it).
            setattr(instance, field.attname, field.to_python(value))
            return
        opts = value._meta
        if (getattr(opts, "project", None), opts.app_label, opts.model_name) != field.target:
            raise ValueError(
                f'Cannot assign "{value!r}": "{instance._meta.object_name}.{field.name}" '
                f"must be a {field.remote_label} remote object."
            )
        setattr(instance, field.attname, value.pk)
        field.set_cached_value(instance, value)


# -- lookups across a remote key ----------------------------------------------


class RemotePathField:
    """What a path through a RemoteForeignKey compares: each lookup is a remote filter.

    Django's lookup names (``exact``, ``icontains``, ``in``, ...) end the
    path; any other name is one more step of it (``author__name``).
    """

    def __init__(self, key: RemoteForeignKey) -> None:
        self.key = key

    def get_lookup(self, lookup_name: str) -> type[Lookup] | None:
        if lookup_name not in models.Field.get_lookups():
            return None
        found = _PUSHDOWN_LOOKUPS.get(lookup_name)
        if found is None:
            found = type(
                f"Remote{lookup_name.title()}", (RemoteLookup,), {"lookup_name": lookup_name}
            )
            _PUSHDOWN_LOOKUPS[lookup_name] = found
        return found

    def get_transform(self, lookup_name: str) -> Any:
        return partial(RemotePath, name=lookup_name)


_PUSHDOWN_LOOKUPS: dict[str, type[Lookup]] = {}


class RemotePath(Transform):
    """One step of a path across a RemoteForeignKey (``book__author``); never compiled alone."""

    def __init__(self, lhs: Any, *, name: str) -> None:
        self.name = name
        key = lhs.key if isinstance(lhs, RemotePath) else lhs.output_field
        self.key = key
        super().__init__(lhs, output_field=RemotePathField(key))

    @property
    def path(self) -> list[str]:
        """The remote field path, from the key: ``["author", "name"]``."""
        lhs = self.lhs
        return [*(lhs.path if isinstance(lhs, RemotePath) else []), self.name]

    @property
    def column(self) -> Any:
        """The key's column (a ``Col``)."""
        lhs = self.lhs
        return lhs.column if isinstance(lhs, RemotePath) else lhs

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        raise FieldError(
            f"{LOOKUP_SEP.join([self.key.name, *self.path])} is a remote field of "
            f"{self.key.remote_label}: it can be filtered on, not selected."
        )


class RemoteLookup(Lookup):
    """``<key>__<remote path>__<lookup>=value``: the rows whose key the owning service matches.

    The remote queryset is made (and checked: undeclared fields and lookups
    raise ``FieldError``) when the filter is; its ids are asked for when the
    local query is compiled.
    """

    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        path = self.lhs.path
        key = self.lhs.key
        if hasattr(self.rhs, "resolve_expression"):
            raise FieldError(
                f"{LOOKUP_SEP.join([key.name, *path, self.lookup_name])} is run by "
                f"{key.target[0]}: it compares with values, not with expressions of this "
                "database."
            )
        lookup = LOOKUP_SEP.join([*path, self.lookup_name])
        self.remote = key.remote_model().objects.filter(**{lookup: self.rhs})
        return self.rhs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        column = self.lhs.column
        return compiler.compile(In(column, TargetIds(self.remote.pks, column.output_field)))


@RemoteForeignKey.register_lookup
class RemoteKeyIn(In):
    """``<key>__in`` also takes a remote queryset of the key's target: its ids, not its rows."""

    def get_prep_lookup(self) -> Any:
        if is_remote_queryset(self.rhs):
            key = self.lhs.output_field
            opts = self.rhs.model._meta
            if (getattr(opts, "project", None), opts.app_label, opts.model_name) != key.target:
                raise ValueError(
                    f'Cannot use QuerySet for "{opts.label}": Use a QuerySet for '
                    f'"{key.remote_label}".'
                )
            return self.rhs
        return super().get_prep_lookup()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        if is_remote_queryset(self.rhs):
            ids = TargetIds(self.rhs.pks, self.lhs.output_field)
            return compiler.compile(In(self.lhs, ids))
        return super().as_sql(compiler, connection)
