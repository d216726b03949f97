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
from federated_fk.fields.many_to_many_deletion import CASCADE, POLICIES, SourceDeletion
from federated_fk.fields.many_to_many_managers import (
    FederatedManyToManyDescriptor,
    ReverseManyToManyDescriptor,
    TargetJoin,
)
from federated_fk.fields.relation import FederatedRelation

#: Wide enough for integer, UUID (36 characters) and most string ids.
DEFAULT_PK_MAXLENGTH = 64

CONTENT_TYPE_MODEL = "federated_fk.GenericContentType"


class FederatedManyToManyRel:
    """The ``remote_field`` of a FederatedManyToManyField.

    Django's migration machinery reads ``model`` (the dependency: the through
    table points at GenericContentType), ``through`` and ``through_fields``.
    """

    parent_link = False
    symmetrical = False
    multiple = True
    limit_choices_to: dict[str, Any] = {}

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
    def hidden(self) -> bool:
        return self.is_hidden()

    def is_hidden(self) -> bool:
        return bool(self.related_name) and self.related_name[-1] == "+"


class FederatedManyToManyField(models.Field):
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
    :param on_delete: deletion policy of both sides (``many_to_many_deletion``),
        overridden by ``on_delete_src`` and ``on_delete_tgt``
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

    def _add_declared_relation(self, _source: Any, target: Any, _through: Any) -> None:
        self.add_relation(target)

    def _get_m2m_db_table(self, opts: Any) -> str:
        if self.db_table:
            return self.db_table
        from django.db.backends.utils import truncate_name

        return truncate_name(f"{opts.db_table}_{self.name}", connection.ops.max_name_length())

    # -- forms ------------------------------------------------------------------

    def formfield(self, **kwargs: Any) -> Any:
        from federated_fk.form_fields import FederatedTargetsField

        return super().formfield(**{"form_class": FederatedTargetsField, **kwargs})

    def value_from_object(self, obj: models.Model) -> list[str]:
        """Return the targets of ``obj`` as form values ("<ct id>:<object id>"), no request."""
        from federated_fk.form_fields import key_string

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

    def _find_through_fields(
        self,
    ) -> tuple[Any, Any, list[checks.CheckMessage]]:
        """Return the source ForeignKey and the FederatedForeignKey of the through model."""
        through = self.through
        opts = through._meta
        names = self.remote_field.through_fields
        if names is not None:
            return self._named_through_fields(names)
        sources = [
            f
            for f in opts.fields
            if isinstance(f, models.ForeignKey) and f.remote_field.model == self.model
        ]
        targets = [f for f in opts.private_fields if isinstance(f, FederatedForeignKey)]
        errors = []
        where = f"'{opts.object_name}', the intermediary model of '{self}'"
        hint = "Name them with through_fields=(source_field, federated_foreign_key)."
        if not sources:
            errors.append(
                self._error(
                    f"{where}, has no ForeignKey to '{self.model._meta.object_name}'.", "E303"
                )
            )
        elif len(sources) > 1:
            errors.append(
                self._error(
                    f"{where}, has more than one ForeignKey to '{self.model._meta.object_name}'.",
                    "E304",
                    hint,
                )
            )
        if not targets:
            errors.append(self._error(f"{where}, has no FederatedForeignKey.", "E305"))
        elif len(targets) > 1:
            errors.append(
                self._error(f"{where}, has more than one FederatedForeignKey.", "E306", hint)
            )
        return (sources[0] if sources else None), (targets[0] if targets else None), errors

    def _named_through_fields(
        self, names: Sequence[str]
    ) -> tuple[Any, Any, list[checks.CheckMessage]]:
        opts = self.through._meta
        if not 2 <= len(names) <= 4:
            return (
                None,
                None,
                [
                    self._error(
                        "through_fields must name the source ForeignKey and the "
                        "FederatedForeignKey of the through model (2 to 4 names).",
                        "E307",
                        "through_fields=(source, federated_foreign_key[, content_type, object_id])",
                    )
                ],
            )
        errors = []
        source = target = None
        try:
            source = opts.get_field(names[0])
        except exceptions.FieldDoesNotExist:
            errors.append(
                self._error(
                    f"The intermediary model '{opts.label}' has no field '{names[0]}'.", "E308"
                )
            )
        else:
            if not (
                isinstance(source, models.ForeignKey) and source.remote_field.model == self.model
            ):
                errors.append(
                    self._error(
                        f"'{opts.object_name}.{names[0]}' is not a ForeignKey to "
                        f"'{self.model._meta.object_name}'.",
                        "E309",
                    )
                )
                source = None
        target = next((f for f in opts.private_fields if f.name == names[1]), None)
        if not isinstance(target, FederatedForeignKey):
            errors.append(
                self._error(
                    f"'{opts.object_name}.{names[1]}' is not a FederatedForeignKey.", "E310"
                )
            )
            target = None
        elif tuple(names[2:]) != (target.ct_field, target.fk_field)[: len(names) - 2]:
            errors.append(
                self._error(
                    f"through_fields {list(names)!r} do not match the content-type and object-id "
                    f"fields of '{opts.object_name}.{names[1]}'.",
                    "E310",
                )
            )
        return source, target, errors

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

    # -- checks -------------------------------------------------------------------

    def _error(self, msg: str, id: str, hint: str | None = None) -> checks.Error:
        return checks.Error(msg, hint=hint, obj=self, id=f"federated_fk.{id}")

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [
            *super().check(**kwargs),
            *self._check_unique(),
            *self._check_policies(),
            *self._check_through(),
            *getattr(self, "clashes", []),
        ]

    def _check_unique(self) -> list[checks.CheckMessage]:
        if self.unique:
            return [self._error("FederatedManyToManyFields cannot be unique.", "E301")]
        return []

    def _check_policies(self) -> list[checks.CheckMessage]:
        errors = []
        for name in ("on_delete_src", "on_delete_tgt"):
            if getattr(self, name) not in POLICIES:
                errors.append(
                    self._error(
                        f"{name} is not a deletion policy of "
                        "federated_fk.fields.many_to_many_deletion.",
                        "E311",
                        "Use CASCADE, DO_NOTHING, CASCADE_SIGNAL, CASCADE_SIGNAL_VETO or "
                        "DO_NOTHING_SIGNAL.",
                    )
                )
        return errors

    def _check_through(self) -> list[checks.CheckMessage]:
        through = self.remote_field.through
        if through is None or self.model._meta.abstract:
            return []
        if isinstance(through, str):
            return [
                self._error(
                    f"Field specifies a many-to-many relation through model '{through}', "
                    "which has not been installed.",
                    "E302",
                )
            ]
        return self._find_through_fields()[2]


class FederatedManyToManyReverse(FederatedRelation):
    """The reverse side of a FederatedManyToManyField, on a local target model.

    A private field named by the relation's query name: ``Book.objects.filter(
    user__name="Jack")`` joins the through table and the source. The reverse
    manager (``book.user_set``) is its accessor. Deleting a target applies the
    field's ``on_delete_tgt`` to the through rows.
    """

    def __init__(self, m2m_field: FederatedManyToManyField) -> None:
        target = m2m_field.target_field
        super().__init__(
            m2m_field.through,
            object_id_field=target.fk_field,
            content_type_field=target.ct_field,
            for_concrete_model=m2m_field.for_concrete_model,
        )
        self.m2m_field = m2m_field
        self.query_name = m2m_field.related_query_name()
        self.accessor_name = m2m_field.related_accessor_name()

    def clash(self, model: type[models.Model]) -> checks.CheckMessage | None:
        """Return an error if ``model`` already uses the accessor or the query name."""
        label = f"{self.m2m_field.model._meta.label}.{self.m2m_field.name}"
        if self.m2m_field.remote_field.is_hidden():
            return None
        if hasattr(model, self.accessor_name):
            return checks.Error(
                f"Reverse accessor '{model._meta.object_name}.{self.accessor_name}' "
                f"for '{label}' clashes with an attribute or relation of "
                f"'{model._meta.label}'.",
                hint=f"Add or change a related_name argument to '{label}'.",
                obj=self.m2m_field,
                id="federated_fk.E312",
            )
        try:
            model._meta.get_field(self.query_name)
        except exceptions.FieldDoesNotExist:
            return None
        return checks.Error(
            f"Reverse query name '{self.query_name}' for '{label}' clashes with a field "
            f"of '{model._meta.label}'.",
            hint=f"Add or change a related_query_name argument to '{label}'.",
            obj=self.m2m_field,
            id="federated_fk.E313",
        )

    def contribute_to_class(self, cls: type[models.Model], name: str, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, **kwargs)
        delattr(cls, name)  # the generic descriptor would give through rows
        if not self.m2m_field.remote_field.is_hidden():
            setattr(cls, self.accessor_name, ReverseManyToManyDescriptor(self))

    def get_path_info(self, filtered_relation: Any = None) -> list[PathInfo]:
        """Join the target to the through rows, then to the source."""
        return [
            *super().get_path_info(filtered_relation),
            *self.m2m_field.source_field.path_infos,
        ]

    def bulk_related_objects(self, objs: Sequence[models.Model], using: str = "default") -> Any:
        """Return the through rows of deleted targets that go with them (``on_delete_tgt``)."""
        from federated_fk.fields.many_to_many_deletion import target_rows

        rows = super().bulk_related_objects(objs, using)
        return target_rows(self.m2m_field, list(objs), rows)


def create_through_model(field: FederatedManyToManyField, klass: type[models.Model]) -> type:
    """Make the through model of ``field`` on ``klass``, as Django does for a ManyToManyField.

    The model is ``auto_created``: it is not in migrations; Django's schema
    editor creates and drops its table with the field.
    """
    name = f"{klass._meta.object_name}_{field.name}"
    source = klass._meta.model_name
    if source in ("content_type", "object_id", "target"):
        source = f"from_{source}"
    object_id = (
        models.TextField()
        if field.pk_maxlength is None
        else models.CharField(max_length=field.pk_maxlength)
    )
    meta = type(
        "Meta",
        (),
        {
            "db_table": field._get_m2m_db_table(klass._meta),
            "auto_created": klass,
            "app_label": klass._meta.app_label,
            "db_tablespace": klass._meta.db_tablespace,
            "unique_together": ((source, "content_type", "object_id"),),
            # Targets come back in the order they were added.
            "ordering": ("pk",),
            "verbose_name": _("%(from)s-target relationship") % {"from": source},
            "verbose_name_plural": _("%(from)s-target relationships") % {"from": source},
            "apps": klass._meta.apps,
        },
    )
    return type(
        name,
        (models.Model,),
        {
            "Meta": meta,
            "__module__": klass.__module__,
            source: models.ForeignKey(
                klass,
                on_delete=SourceDeletion(field),
                related_name=f"{name}+",
                db_constraint=field.remote_field.db_constraint,
            ),
            "content_type": models.ForeignKey(
                CONTENT_TYPE_MODEL,
                on_delete=models.CASCADE,
                related_name=f"{name}+",
                db_constraint=field.remote_field.db_constraint,
            ),
            "object_id": object_id,
            "target": FederatedForeignKey(
                "content_type", "object_id", for_concrete_model=field.for_concrete_model
            ),
        },
    )


__all__ = [
    "DEFAULT_PK_MAXLENGTH",
    "FederatedManyToManyField",
    "FederatedManyToManyRel",
    "FederatedManyToManyReverse",
    "create_through_model",
]
