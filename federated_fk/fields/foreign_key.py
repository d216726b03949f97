"""FederatedForeignKey: a GenericForeignKey whose target may live in another service.

It subclasses Django's ``GenericForeignKey`` and overrides only what names
Django's ``ContentType`` model, plus the remote half of prefetching;
everything else is Django's own code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property, partial
from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.db.models.base import ModelBase

from federated_fk.fields.remote_policy import (
    DEFAULT_POLICY,
    POLICY_HINT,
    RemotePolicy,
    is_default,
    refusal,
)
from federated_fk.ids import InvalidId, id_parser, parse_remote_id
from federated_fk.models import GenericContentType
from federated_fk.prefetch import report_partial
from federated_fk.remote import fetch_remote_objects

CONTENT_TYPE_HINT = (
    "FederatedForeignKeys must use a ForeignKey to "
    "'federated_fk.GenericContentType' as the 'content_type' field."
)

PrefetchResult = tuple[list[Any], Callable[[Any], Any], Callable[[Any], Any], bool, str, bool]


def _target_key(obj: Any) -> Any:
    """The join key of a fetched target: (pk, class), as Django's ``GenericForeignKey``."""
    return (obj.pk, obj.__class__)


class FederatedForeignKey(GenericForeignKey):
    """A ``GenericForeignKey`` whose target may live in another service.

    Declare it as you declare ``GenericForeignKey``, with ``content_type`` a
    ForeignKey to ``GenericContentType``::

        content_type = models.ForeignKey(GenericContentType, models.CASCADE)
        object_id = models.CharField(max_length=64)
        content_object = FederatedForeignKey("content_type", "object_id")

    Local targets behave exactly as with ``GenericForeignKey``. A remote
    target is a ``RemoteObject`` stand-in: reading the attribute costs no
    request, and the object loads on first field access.

    :param ct_field: the name of the ForeignKey to ``GenericContentType``
    :param fk_field: the name of the field holding the target's id
    :param for_concrete_model: record proxy targets under their concrete model
    :param on_remote_delete: what happens to a reference when its remote
        target is deleted (``federated_fk.fields.remote_deletion``):
        ``models.CASCADE`` deletes the row, ``models.SET_NULL`` clears both
        columns (both must be ``null=True``), ``models.DO_NOTHING`` (the
        default) keeps it, and any other callable is called as
        ``policy(field, queryset)`` with the referencing rows
    """

    def __init__(
        self,
        ct_field: str = "content_type",
        fk_field: str = "object_id",
        for_concrete_model: bool = True,
        on_remote_delete: RemotePolicy = DEFAULT_POLICY,
    ) -> None:
        super().__init__(ct_field, fk_field, for_concrete_model)
        self.on_remote_delete = on_remote_delete

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name = super().deconstruct()[0]
        kwargs: dict[str, Any] = {}
        if self.ct_field != "content_type":
            kwargs["ct_field"] = self.ct_field
        if self.fk_field != "object_id":
            kwargs["fk_field"] = self.fk_field
        if not self.for_concrete_model:
            kwargs["for_concrete_model"] = False
        if not is_default(self.on_remote_delete):
            kwargs["on_remote_delete"] = self.on_remote_delete
        return name, "federated_fk.fields.FederatedForeignKey", [], kwargs

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [*super().check(**kwargs), *self._check_on_remote_delete()]

    def _check_on_remote_delete(self) -> list[checks.CheckMessage]:
        policy = self.on_remote_delete
        why = refusal(policy)
        if why is not None:
            return [
                checks.Error(
                    f"on_remote_delete of '{self.model._meta.label}.{self.name}': {why}.",
                    hint=POLICY_HINT,
                    obj=self,
                    id="federated_fk.E007",
                )
            ]
        if policy is not models.SET_NULL:
            return []
        not_null = []
        for name in (self.ct_field, self.fk_field):
            try:
                column = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue  # E001 or E002
            if not column.null:
                not_null.append(name)
        if not not_null:
            return []
        return [
            checks.Error(
                f"on_remote_delete=SET_NULL of '{self.model._meta.label}.{self.name}' "
                f"needs null=True on {' and '.join(repr(n) for n in not_null)}.",
                hint="Set null=True on the content-type and object-id fields, or choose "
                "another on_remote_delete.",
                obj=self,
                id="federated_fk.E008",
            )
        ]

    def get_content_type(
        self,
        obj: Any = None,
        id: int | None = None,
        using: str | None = None,
        model: Any = None,
    ) -> GenericContentType:
        """Return the GenericContentType of ``obj``, of ``id`` or of ``model``."""
        manager = GenericContentType.objects
        if obj is not None:
            # Read for every object resolved: try the cache before making a
            # manager for the object's database.
            cached = manager.cached(obj._state.db, obj, self.for_concrete_model)
            return cached or manager.db_manager(obj._state.db).get_for_model(
                obj, for_concrete_model=self.for_concrete_model
            )
        if id is not None:
            return manager.cached_id(using, id) or manager.db_manager(using).get_for_id(id)
        if model is not None:
            return manager.db_manager(using).get_for_model(
                model, for_concrete_model=self.for_concrete_model
            )
        raise ValueError(
            "Impossible arguments to GFK.get_content_type!: "
            "FederatedForeignKey.get_content_type() takes obj, id or model."
        )

    def get_forward_related_filter(self, obj: Any) -> dict[str, Any]:
        """See corresponding method on RelatedField."""
        return {
            self.fk_field: obj.pk,
            self.ct_field: self.get_content_type(obj=obj).pk,
        }

    def _check_object_id_field(self) -> list[checks.CheckMessage]:
        try:
            self.model._meta.get_field(self.fk_field)
        except FieldDoesNotExist:
            return [
                checks.Error(
                    "The FederatedForeignKey object ID references the "
                    f"nonexistent field '{self.fk_field}'.",
                    obj=self,
                    id="federated_fk.E001",
                )
            ]
        return []

    def _check_content_type_field(self) -> list[checks.CheckMessage]:
        object_name = self.model._meta.object_name
        try:
            field = self.model._meta.get_field(self.ct_field)
        except FieldDoesNotExist:
            return [
                checks.Error(
                    "The FederatedForeignKey content type references the "
                    f"nonexistent field '{object_name}.{self.ct_field}'.",
                    obj=self,
                    id="federated_fk.E002",
                )
            ]
        if not isinstance(field, models.ForeignKey):
            return [
                checks.Error(
                    f"'{object_name}.{self.ct_field}' is not a ForeignKey.",
                    hint=CONTENT_TYPE_HINT,
                    obj=self,
                    id="federated_fk.E003",
                )
            ]
        target = field.remote_field.model
        if isinstance(target, ModelBase) and target._meta.label == "contenttypes.ContentType":
            return [
                checks.Error(
                    f"'{object_name}.{self.ct_field}' is a ForeignKey to Django's "
                    "'contenttypes.ContentType', which knows only local models.",
                    hint=CONTENT_TYPE_HINT,
                    obj=self,
                    id="federated_fk.E006",
                )
            ]
        if target != GenericContentType:
            return [
                checks.Error(
                    f"'{object_name}.{self.ct_field}' is not a ForeignKey to "
                    "'federated_fk.GenericContentType'.",
                    hint=CONTENT_TYPE_HINT,
                    obj=self,
                    id="federated_fk.E004",
                )
            ]
        return []

    def get_prefetch_querysets(
        self, instances: Sequence[models.Model], querysets: Iterable[QuerySet] | None = None
    ) -> PrefetchResult:
        """Resolve the targets of ``instances``: one query per local content type.

        Remote targets are resolved per remote project; ``querysets`` apply
        to local content types only. What Django's ``GenericForeignKey``
        returns, found in one pass: instances are grouped by content type,
        and each id is checked once, with its join key made at the same time.
        """
        custom = self._custom_querysets(querysets)
        by_type: dict[Any, list[models.Model]] = defaultdict(list)
        for instance in instances:
            by_type[getattr(instance, self._ct_attname)].append(instance)
        #: The join key of each instance, by id(): (target pk, target class), or None.
        keys: dict[int, Any] = {}
        objs: list[Any] = []
        remote: dict[GenericContentType, set[Any]] = {}
        for ct_id, group in by_type.items():
            if ct_id is None:
                keys.update((id(i), None) for i in group)
                continue
            ct = self.get_content_type(id=ct_id, using=group[0]._state.db)
            fkeys = self._join_keys(ct, group, keys)
            if not fkeys:
                continue
            if ct.is_remote:
                remote[ct] = fkeys
            elif ct_id in custom:
                objs.extend(custom[ct_id].filter(pk__in=fkeys))
            else:
                objs.extend(ct.get_all_objects_for_this_type(pk__in=fkeys))
        objs.extend(self._get_remote_objects(remote))
        strict_key = self._strict_key(self._join_key)

        def join_key(instance: Any) -> Any:
            try:
                return keys[id(instance)]
            except KeyError:  # not one of ``instances``: checked on its own
                return strict_key(instance)

        return objs, _target_key, join_key, True, self.name, False

    def _custom_querysets(self, querysets: Iterable[QuerySet] | None) -> dict[Any, QuerySet]:
        """The querysets given for local content types, by content-type id (as Django checks)."""
        custom: dict[Any, QuerySet] = {}
        for queryset in querysets or ():
            ct_id = self.get_content_type(model=queryset.query.model, using=queryset.db).pk
            if ct_id in custom:
                raise ValueError("Only one queryset is allowed for each content type.")
            custom[ct_id] = queryset
        return custom

    def _join_keys(
        self, ct: GenericContentType, group: list[models.Model], keys: dict[int, Any]
    ) -> set[Any]:
        """Record the join key of each of ``group`` (of content type ``ct``); return their ids.

        An id that cannot name a row of the target's model (malformed, out of
        range) is left out and joins nothing: it reads as None.
        """
        model = ct.model_class()
        parse = None if model is None else self._id_parser(ct.pk, group[0]._state.db, ct)
        fkeys: set[Any] = set()
        for instance in group:
            fk_val = getattr(instance, self.fk_field)
            key = None
            if fk_val is not None and model is not None:
                try:
                    if parse is not None:
                        parse(fk_val)
                except InvalidId:
                    pass
                else:
                    fkeys.add(fk_val)
                    key = (model._meta.pk.get_prep_value(fk_val), model)
            keys[id(instance)] = key
        return fkeys

    def _join_key(self, instance: Any) -> Any:
        """The join key of one instance, as Django's ``GenericForeignKey`` makes it."""
        ct_id = getattr(instance, self._ct_attname)
        if ct_id is None:
            return None
        model = self.get_content_type(id=ct_id, using=instance._state.db).model_class()
        return (model._meta.pk.get_prep_value(getattr(instance, self.fk_field)), model)

    def _id_is_valid(
        self,
        instance: models.Model,
        parsers: dict[tuple[Any, str | None], Callable[[Any], Any] | None] | None = None,
    ) -> bool:
        """Whether the object id of ``instance`` is exactly a key of its target's model."""
        ct_id = getattr(instance, self._ct_attname)
        if ct_id is None:
            return True
        using = instance._state.db
        parsers = {} if parsers is None else parsers
        if (ct_id, using) not in parsers:
            parsers[(ct_id, using)] = self._id_parser(ct_id, using)
        parse = parsers[(ct_id, using)]
        if parse is None:
            return True
        try:
            parse(getattr(instance, self.fk_field))
        except InvalidId:
            return False
        return True

    @cached_property
    def _ct_attname(self) -> str:
        return self.model._meta.get_field(self.ct_field).attname

    def _id_parser(
        self, ct_id: Any, using: str | None, ct: GenericContentType | None = None
    ) -> Callable[[Any], Any] | None:
        """Return what parses an id of content type ``ct_id`` exactly; None if it has no model."""
        ct = ct or self.get_content_type(id=ct_id, using=using)
        model = ct.model_class()
        if model is None:
            return None
        if ct.is_remote:
            # Labelled as the loader labels it: str(ct) would build the verbose name.
            label = f"{ct.project} {ct.app_label}.{ct.model}"
            return partial(parse_remote_id, label, model._meta.pk_type)
        return id_parser(model, using)

    def _strict_key(
        self,
        key: Callable[[Any], Any],
        parsers: dict[tuple[Any, str | None], Callable[[Any], Any] | None] | None = None,
    ) -> Callable[[Any], Any]:
        """Wrap a prefetch key function: an id that is not exact matches nothing.

        Django's key converts loosely (``" 1 "`` is 1): it would give a
        malformed id the target of a valid one.
        """

        def strict_key(instance: Any) -> Any:
            return key(instance) if self._id_is_valid(instance, parsers) else None

        return strict_key

    def _get_remote_objects(self, remote: dict[GenericContentType, set[Any]]) -> list[Any]:
        """Fetch the remote targets: one request per remote project.

        A type the synchronized schema described once but no longer does is
        not fetched: its targets read as None, as deleted ones do
        (``ct.in_schema`` tells them apart; reading a field of such a stand-in
        raises ``RemoteTypeNotInSchema``). A type never synchronized raises.
        """
        wanted = {ct.model_class(): fkeys for ct, fkeys in remote.items()}
        wanted = {cls: fkeys for cls, fkeys in wanted.items() if not _gone(cls._meta)}
        if not wanted:
            return []
        return report_partial(fetch_remote_objects(wanted))


def _gone(meta: Any) -> bool:
    """Whether the synchronized schema described the type once, and no longer does."""
    return bool(meta.type_name) and not meta.in_schema
