"""FederatedManyToManyField: a generic many-to-many whose targets may live in any service.

The django-gm2m model, federated: one through table per relation, holding a
ForeignKey to the source, a ForeignKey to ``GenericContentType`` and the
target's id, tied together by a ``FederatedForeignKey``. Like Django's
``ManyToManyField``, the field sits in ``_meta.local_many_to_many`` and its
auto-created through model is a real model with ``auto_created`` set, so
Django's migration autodetector and schema editor create, alter and drop
the through table themselves; nothing of Django's is patched.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from django.apps import apps as global_apps
from django.core import checks, exceptions
from django.db import connection, models
from django.db.models.fields.related import lazy_related_operation
from django.db.models.query_utils import PathInfo
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from federated_fk.fields.foreign_key import FederatedForeignKey
from federated_fk.fields.many_to_many.checks import ManyToManyChecks
from federated_fk.fields.many_to_many.deletion import CASCADE
from federated_fk.fields.many_to_many.forms import FederatedTargetsField, key_string
from federated_fk.fields.many_to_many.history import relate_historical
from federated_fk.fields.many_to_many.managers import FederatedManyToManyDescriptor
from federated_fk.fields.many_to_many.reverse import FederatedManyToManyReverse
from federated_fk.fields.many_to_many.targets import TargetJoin
from federated_fk.fields.many_to_many.through import CONTENT_TYPE_MODEL, create_through_model
from federated_fk.fields.remote_policy import DEFAULT_POLICY, RemotePolicy, is_default

#: Wide enough for integer, UUID (36 characters) and most string ids.
DEFAULT_PK_MAXLENGTH = 64


class FederatedManyToManyRel:
    """The ``remote_field`` of a FederatedManyToManyField.

    Django's migration machinery reads ``model`` (the dependency: the through
    table points at GenericContentType), ``through`` and ``through_fields``;
    the autodetector also reads a relation's ``is_relation`` and its
    ``remote_field`` (the field) when a model it reaches is renamed.
    """

    parent_link = False
    symmetrical = False
    multiple = True
    limit_choices_to: dict[str, Any] = {}
    is_relation = True
    auto_created = True
    concrete = False
    editable = False
    many_to_many = True
    many_to_one = False
    one_to_many = False
    one_to_one = False

    def __init__(
        self,
        field: FederatedManyToManyField,
        through: Any,
        through_fields: Sequence[str] | None,
        related_name: str | None,
        related_query_name: str | None,
        db_constraint: bool,
    ) -> None:
        self.field = field
        self.model = CONTENT_TYPE_MODEL
        self.through = through
        self.through_fields = tuple(through_fields) if through_fields else None
        self.related_name = related_name
        self.related_query_name = related_query_name
        self.db_constraint = db_constraint

    @property
    def remote_field(self) -> FederatedManyToManyField:
        """The field, as ``ForeignObjectRel.remote_field``."""
        return self.field

    @property
    def hidden(self) -> bool:
        return self.is_hidden()

    def is_hidden(self) -> bool:
        return bool(self.related_name) and self.related_name[-1] == "+"


class FederatedManyToManyField(ManyToManyChecks, models.Field):
    """A many-to-many relation to objects of any model, in any service.

    Use it as a ``ManyToManyField`` without a target::

        class User(models.Model):
            favourites = FederatedManyToManyField("Book", Audiobook)

        user.favourites.add(book, remote_audiobook)
        list(user.favourites.all())      # local instances and remote stand-ins
        User.objects.prefetch_related("favourites")
        book.user_set.all()              # reverse relation of a local target

    :param related_models: models (or ``"app_label.Model"`` names) that get a
        reverse relation when the classes are ready; other local models get
        one when an instance is first added, or with ``add_relation()``
    :param through: a custom through model with one ForeignKey to the source
        and one ``FederatedForeignKey``
    :param through_fields: names of the source ForeignKey and of the
        FederatedForeignKey in the through model (optionally followed by its
        content-type and object-id fields), when the through model is ambiguous
    :param pk_maxlength: the width of the target-id column of the auto-created
        through table (``None``: unlimited)
    :param on_delete: deletion policy of both sides (``many_to_many.deletion``),
        overridden by ``on_delete_src`` and ``on_delete_tgt``; for local targets
    :param on_remote_delete: what happens to the links to a remote target
        when it is deleted in its service (``federated_fk.fields.remote_deletion``):
        ``models.CASCADE`` deletes the through rows, ``models.DO_NOTHING`` (the
        default) keeps them, and any other callable is called as
        ``policy(field, queryset)`` with the through rows; not ``SET_NULL``
    """

    many_to_many = True
    many_to_one = False
    one_to_many = False
    one_to_one = False
    description = _("Federated many-to-many relationship")

    def __init__(
        self,
        *related_models: Any,
        through: Any = None,
        through_fields: Sequence[str] | None = None,
        db_table: str | None = None,
        db_constraint: bool = True,
        for_concrete_model: bool = True,
        related_name: str | None = None,
        related_query_name: str | None = None,
        pk_maxlength: int | None = DEFAULT_PK_MAXLENGTH,
        on_delete: Any = None,
        on_delete_src: Any = None,
        on_delete_tgt: Any = None,
        on_remote_delete: RemotePolicy = DEFAULT_POLICY,
        **kwargs: Any,
    ) -> None:
        if through is not None and db_table is not None:
            raise ValueError("Cannot specify a db_table if an intermediary model is used.")
        kwargs["rel"] = FederatedManyToManyRel(
            self, through, through_fields, related_name, related_query_name, db_constraint
        )
        kwargs.setdefault("blank", False)
        super().__init__(**kwargs)
        self.related_models = list(related_models)
        self.db_table = db_table
        self.for_concrete_model = for_concrete_model
        self.pk_maxlength = pk_maxlength
        self.on_delete = on_delete
        self.on_delete_src = on_delete_src or on_delete or CASCADE
        self.on_delete_tgt = on_delete_tgt or on_delete or CASCADE
        self._on_delete_args = (on_delete, on_delete_src, on_delete_tgt)
        self.on_remote_delete = on_remote_delete

    # -- what Django's machinery reads ------------------------------------

    @property
    def related_model(self) -> str:
        # A label, never a class: the relation graph skips it, and migrations
        # depend on the app of GenericContentType, as the through table does.
        return CONTENT_TYPE_MODEL

    def db_type(self, connection: Any) -> None:
        return None

    def db_parameters(self, connection: Any) -> dict[str, Any]:
        return {"type": None, "check": None}

    def get_internal_type(self) -> str:
        return "ManyToManyField"

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, _path, _args, kwargs = super().deconstruct()
        kwargs.pop("blank", None)
        if self.blank:
            kwargs["blank"] = True
        rel = self.remote_field
        through = rel.through
        if through is not None and not (isinstance(through, type) and through._meta.auto_created):
            kwargs["through"] = through if isinstance(through, str) else through._meta.label
        if rel.through_fields:
            kwargs["through_fields"] = list(rel.through_fields)
        optional = {
            "db_table": (self.db_table, None),
            "db_constraint": (rel.db_constraint, True),
            "for_concrete_model": (self.for_concrete_model, True),
            "related_name": (rel.related_name, None),
            "related_query_name": (rel.related_query_name, None),
            "pk_maxlength": (self.pk_maxlength, DEFAULT_PK_MAXLENGTH),
        }
        for key, (value, default) in optional.items():
            if value != default:
                kwargs[key] = value
        for key, value in zip(
            ("on_delete", "on_delete_src", "on_delete_tgt"), self._on_delete_args, strict=True
        ):
            if value is not None:
                kwargs[key] = value
        if not is_default(self.on_remote_delete):
            kwargs["on_remote_delete"] = self.on_remote_delete
        # The related models only add reverse accessors: no schema depends on them.
        return name, "federated_fk.fields.FederatedManyToManyField", [], kwargs

    # -- class set-up -------------------------------------------------------

    def contribute_to_class(self, cls: type[models.Model], name: str, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, **kwargs)
        setattr(cls, self.name, FederatedManyToManyDescriptor(self))
        self._relations: dict[type[models.Model], tuple[Any, bool]] = {}
        self._relations_lock = threading.RLock()
        self.clashes: list[checks.CheckMessage] = []
        if cls._meta.abstract:
            return
        rel = self.remote_field
        if rel.through is not None:

            def resolve_through_model(_: Any, model: type[models.Model], field: Any) -> None:
                field.remote_field.through = model

            lazy_related_operation(resolve_through_model, cls, rel.through, field=self)
        elif not cls._meta.swapped:
            rel.through = create_through_model(self, cls)
        if cls._meta.apps is global_apps:
            for target in self.related_models:
                lazy_related_operation(self._add_declared_relation, cls, target, rel.through)
        else:
            relate_historical(self, cls)

    def _add_declared_relation(self, _source: Any, target: Any, _through: Any) -> None:
        self.add_relation(target)

    def _get_m2m_db_table(self, opts: Any) -> str:
        if self.db_table:
            return self.db_table
        from django.db.backends.utils import truncate_name

        return truncate_name(f"{opts.db_table}_{self.name}", connection.ops.max_name_length())

    # -- forms ------------------------------------------------------------------

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": FederatedTargetsField, **kwargs})

    def value_from_object(self, obj: models.Model) -> list[str]:
        """Return the targets of ``obj`` as form values ("<ct id>:<object id>"), no request."""
        if obj.pk is None:
            return []
        rows = self.through._base_manager.using(obj._state.db or "default").filter(
            **{self.source_field.attname: getattr(obj, self.source_field.target_field.attname)}
        )
        names = (self.ct_field.attname, self.object_id_field.attname)
        return [key_string(ct_id, oid) for ct_id, oid in rows.values_list(*names)]

    def save_form_data(self, instance: models.Model, data: Any) -> None:
        getattr(instance, self.name).set(data)

    # -- what schema editors, introspection and the admin ask a many-to-many --

    def m2m_db_table(self) -> str:
        return self.through._meta.db_table

    def m2m_field_name(self) -> str:
        return self.source_field.name

    def m2m_column_name(self) -> str:
        return self.source_field.column

    def m2m_target_field_name(self) -> str:
        return self.source_field.target_field.name

    def m2m_reverse_field_name(self) -> str:
        # The column a table alteration may change (pk_maxlength).
        return self.object_id_field.name

    def m2m_reverse_name(self) -> str:
        # Both target columns: SQLite copies rows between through tables by
        # listing id, m2m_column_name() and m2m_reverse_name().
        return f"{self.ct_field.column}, {self.object_id_field.column}"

    # -- through model --------------------------------------------------------

    @property
    def through(self) -> type[models.Model]:
        """The through model (auto-created or given)."""
        return self.remote_field.through

    @cached_property
    def _through_parts(self) -> tuple[models.ForeignKey, FederatedForeignKey]:
        source, target, errors = self._find_through_fields()
        if errors:
            raise exceptions.ImproperlyConfigured(errors[0].msg)
        return source, target

    @property
    def source_field(self) -> models.ForeignKey:
        """The ForeignKey of the through model to the source model."""
        return self._through_parts[0]

    @property
    def target_field(self) -> FederatedForeignKey:
        """The FederatedForeignKey of the through model to the targets."""
        return self._through_parts[1]

    @property
    def ct_field(self) -> models.ForeignKey:
        return self.through._meta.get_field(self.target_field.ct_field)

    @property
    def object_id_field(self) -> models.Field:
        return self.through._meta.get_field(self.target_field.fk_field)

    @cached_property
    def target_join(self) -> TargetJoin:
        return TargetJoin(self)

    def get_path_info(self, filtered_relation: Any = None) -> list[PathInfo]:
        """Join the source to its through rows; lookups compare the targets."""
        opts = self.through._meta
        return [
            PathInfo(
                from_opts=self.model._meta,
                to_opts=opts,
                target_fields=(self.ct_field, self.object_id_field),
                join_field=self.target_join,
                m2m=True,
                direct=False,
                filtered_relation=filtered_relation,
            )
        ]

    @cached_property
    def path_infos(self) -> list[PathInfo]:
        return self.get_path_info()

    # -- reverse relations ------------------------------------------------------

    def add_relation(self, model: Any, auto: bool = False) -> None:
        """Give the local ``model`` a reverse relation to this field, if it has none.

        ``model`` is a model class or an ``"app_label.Model"`` name. Remote
        stand-ins get no reverse relation.
        """
        if isinstance(model, str):
            model = self._resolve_model_name(model)
        if not isinstance(model, type) or not issubclass(model, models.Model):
            return
        if self.for_concrete_model:
            model = model._meta.concrete_model
        with self._relations_lock:
            if model in self._relations:
                return
            reverse = FederatedManyToManyReverse(self)
            clash = reverse.clash(model)
            if clash is not None:
                self.clashes.append(clash)
                self._relations[model] = (None, auto)
                return
            reverse.contribute_to_class(model, reverse.query_name)
            self._relations[model] = (reverse, auto)

    def _resolve_model_name(self, name: str) -> type[models.Model]:
        if "." not in name:
            name = f"{self.model._meta.app_label}.{name}"
        return self.model._meta.apps.get_model(name)

    def get_related_models(self, include_auto: bool = False) -> list[type[models.Model]]:
        """Return the local models with a reverse relation to this field.

        :param include_auto: include those made when an instance was added
        """
        return [m for m, (_rel, auto) in self._relations.items() if include_auto or not auto]

    def related_accessor_name(self) -> str:
        return self.remote_field.related_name or f"{self.model._meta.model_name}_set"

    def related_query_name(self) -> str:
        rel = self.remote_field
        if rel.is_hidden():
            # Not for queries, but the target still needs the relation to
            # apply on_delete_tgt.
            return f"_{self.model._meta.model_name}_{self.name}+"
        return rel.related_query_name or rel.related_name or self.model._meta.model_name
