"""``_meta`` of stand-in classes: what the synchronized schema says of a remote model."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ObjectDoesNotExist
from django.db import models
from django.utils.text import camel_case_to_spaces, format_lazy

from federated_fk import conf
from federated_fk.contract import pk_field
from federated_fk.exceptions import RemoteTypeNotInSchema
from federated_fk.remote.converters import named_type, snake_case, stand_in_field
from federated_fk.remote.entities import EntityType

if TYPE_CHECKING:
    from federated_fk.remote.objects import RemoteObject


class RemoteRelationField(models.Field):
    """A remote field whose values are other objects, as ``_meta.get_fields()`` lists it.

    ``related_model`` is the local model of a ``"shared"`` target, else the
    stand-in class of the related remote type.
    """

    def __init__(self, name: str, target: dict[str, Any], opts: RemoteOptions) -> None:
        super().__init__(name=name, null=True)
        self.set_attributes_from_name(name)
        self.is_relation = True  # Field.__init__ sets it from remote_field, which this has not
        self.target = target
        self.many_to_many = bool(target["many"])
        self.many_to_one = not self.many_to_many
        self.one_to_many = self.one_to_one = False
        self._opts = opts

    @property
    def related_model(self) -> type:  # type: ignore[override]
        return self._opts.related_model(self.target)


def _trusted(target: dict[str, Any], project: str) -> dict[str, Any]:
    """Return a stored relation target, "shared" only where this service shares the model.

    A row synchronized before that rule held may say "shared" of any local
    table; such a target is taken as a model of the remote project itself,
    so that nothing is ever read from this service's own tables on its word.
    """
    shared = target.get("project") == conf.SHARED_PROJECT
    if shared and not conf.is_shared_model(target["app_label"], target["model"]):
        return {**target, "project": project}
    return target


class RemoteOptions:
    """The ``_meta`` of a stand-in class: what is known of a remote model.

    It carries the attributes of ``Model._meta`` that generic code reads
    (names, verbose names, the primary-key field, ``concrete_model``,
    ``get_fields()``), all from the content type that
    ``sync_remote_contenttypes`` wrote from the remote schema.
    """

    abstract = False
    proxy = False
    swapped = None
    auto_created = False

    def __init__(self, model: type[RemoteObject], ct: Any) -> None:
        self.model = self.concrete_model = model
        self.project: str = ct.project
        self.app_label: str = ct.app_label
        self.model_name: str = ct.model
        #: The GraphQL type name: empty when the schema never described the type.
        self.type_name: str = ct.type_name
        self.in_schema: bool = ct.in_schema and bool(ct.type_name)
        self.object_name = ct.type_name or ct.model.capitalize()
        self.verbose_name = camel_case_to_spaces(self.object_name)
        self.verbose_name_plural = format_lazy("{}s", self.verbose_name)
        self.pk_type: str = ct.pk_type
        self.pk = pk_field(ct.pk_type)
        self.pk.model = model
        #: GraphQL names of the fields fetched, their GraphQL types and relations.
        self.fields: tuple[str, ...] = tuple(ct.fields)
        self.field_types: dict[str, str] = dict(ct.field_types)
        self.relations: dict[str, dict[str, Any]] = {
            name: _trusted(target, ct.project) for name, target in ct.relations.items()
        }
        self.listable: bool = ct.listable
        #: The manager of GenericContentType (this module does not import the
        #: models: they import it).
        self.content_types: Any = type(ct)._default_manager
        #: The database of the content type: objects carry it as their
        #: ``_state.db``, so that looking their content type up hits the cache.
        self.db: str | None = ct._state.db
        self._entity_types: dict[tuple[str, ...], EntityType] = {}

    def entity_type(self) -> EntityType:
        """Return what the GraphQL client needs to fetch objects of this model.

        The fields are the project's declared ``FIELDS`` for this type, if
        any, else every field the remote schema had when synchronized. Made
        once per set of fields, with its converters.

        :raises RemoteTypeNotInSchema: the synchronized schema does not
            describe this type: nothing is fetched under a guessed name
        """
        self.check_in_schema()
        project = conf.federation_settings()["PROJECTS"].get(self.project) or {}
        fields = tuple((project.get("FIELDS") or {}).get(self.type_name) or self.fields)
        if fields not in self._entity_types:
            self._entity_types[fields] = EntityType(
                key=(self.project, self.app_label, self.model_name),
                type_name=self.type_name,
                fields=fields,
                pk=self.pk,
                field_types=tuple(self.field_types.items()),
                relations=tuple(
                    (name, rel["pk_type"]) for name, rel in self.relations.items() if name in fields
                ),
            )
        return self._entity_types[fields]

    def check_in_schema(self) -> None:
        """Raise unless the synchronized schema describes this type.

        :raises RemoteProjectNotConfigured: the project has no endpoint (it
            cannot even be synchronized)
        :raises RemoteTypeNotInSchema: the schema does not describe the type
        """
        if not self.in_schema:
            conf.project_settings(self.project)
            raise RemoteTypeNotInSchema(
                self.project, self.app_label, self.model_name, gone=bool(self.type_name)
            )

    @cached_property
    def python_names(self) -> frozenset[str]:
        """The Python names of the remote fields, the attributes objects have."""
        return frozenset(snake_case(name) for name in self.fields)

    @cached_property
    def _fields(self) -> tuple[models.Field, ...]:
        made: list[models.Field] = [self.pk]
        for name in self.fields:
            if name in self.relations:
                made.append(RemoteRelationField(snake_case(name), self.relations[name], self))
                continue
            graphql_type = self.field_types.get(name, "")
            field_class = stand_in_field(named_type(graphql_type))
            field = field_class(name=snake_case(name), null=not graphql_type.endswith("!"))
            field.set_attributes_from_name(snake_case(name))
            field.model = self.model
            made.append(field)
        return tuple(made)

    def get_fields(self, include_parents: bool = True, include_hidden: bool = False) -> tuple:
        """Return the remote fields as unbound model fields, typed from the SDL."""
        return self._fields

    def get_field(self, field_name: str) -> models.Field:
        """Return the remote field ``field_name``.

        :raises FieldDoesNotExist: the remote type has no such field
        """
        for field in self._fields:
            if field.name == field_name:
                return field
        raise FieldDoesNotExist(f"Remote {self.label} has no field named {field_name!r}.")

    def related_model(self, target: dict[str, Any]) -> type:
        """Return the model of a relation's target: local (shared) or a stand-in class."""
        if conf.is_local_project(target["project"]):
            try:
                return apps.get_model(target["app_label"], target["model"])
            except LookupError:
                raise ImproperlyConfigured(
                    f"Remote {self.label} ({self.project}) relates to the shared model "
                    f"{target['app_label']}.{target['model']}, which is not installed here: "
                    "install its app and list it in FEDERATION['SHARED_APPS']."
                ) from None
        key = (target["project"], target["app_label"], target["model"])
        try:
            ct = self.content_types.get_by_natural_key(*key)  # cached after the first time
        except ObjectDoesNotExist:
            # A related type the schema names only as a reference target.
            project, app_label, model = key
            ct, _ = self.content_types.get_or_create(
                project=project, app_label=app_label, model=model
            )
        return ct.model_class()

    @property
    def label(self) -> str:
        return f"{self.app_label}.{self.object_name}"

    @property
    def label_lower(self) -> str:
        return f"{self.app_label}.{self.model_name}"

    def __repr__(self) -> str:
        return f"<RemoteOptions for {self.project}:{self.label}>"
