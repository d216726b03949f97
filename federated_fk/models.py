"""GenericContentType: a ContentType that names a model in any service."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from federated_fk import conf
from federated_fk.changes.models import ChangeEvent, FeedHorizon, FollowCursor
from federated_fk.contract import PkType
from federated_fk.remote.objects import forget_stand_in_memos, stand_in_class

__all__ = ["ChangeEvent", "FeedHorizon", "FollowCursor", "GenericContentType"]

#: (project, app_label, model): what a GenericContentType names.
Key = tuple[str, str, str]


def _row_key(ct: Any) -> Key:
    # Not ct.natural_key(): historical models in migrations have no methods.
    return (ct.project, ct.app_label, ct.model)


def _model_key(model: Any, for_concrete_model: bool, project: str | None) -> Key:
    """Return the natural key of ``model`` (a class or instance, local or remote)."""
    opts = model._meta
    if for_concrete_model:
        opts = opts.concrete_model._meta
    if project is None:
        project = getattr(opts, "project", None) or conf.project_for_label(
            opts.app_label, opts.model_name
        )
    return (project, opts.app_label, opts.model_name)


class GenericContentTypeManager(models.Manager["GenericContentType"]):
    """The ``ContentTypeManager`` API, keyed by (project, app_label, model).

    Lookups are cached per database alias, by natural key and by id, and
    shared by all the ``get_for_*`` methods.
    """

    use_in_migrations = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache: dict[str, dict[Key | int, GenericContentType]] = {}

    def get_by_natural_key(self, *key: str) -> GenericContentType:
        """Return the content type for ``(project, app_label, model)``.

        A two-part key ``(app_label, model)``, as Django's ``ContentType``
        uses, names a model of the current project.
        """
        if len(key) == 2:
            key = (conf.current_project(), *key)
        if len(key) != 3:
            raise TypeError(
                "get_by_natural_key() takes (project, app_label, model) or "
                f"(app_label, model), got {len(key)} values: {key!r}."
            )
        ct = self.cached_natural_key(*key)
        if ct is None:
            project, app_label, model = key
            ct = self.get(project=project, app_label=app_label, model=model)
            self._add_to_cache(self.db, ct)
        return ct

    def get_for_model(
        self,
        model: Any,
        for_concrete_model: bool = True,
        project: str | None = None,
    ) -> GenericContentType:
        """Return the content type of ``model``, creating it if necessary.

        ``model`` is a model class or instance, or a remote stand-in class or
        object. Local models belong to the current project (or to ``"shared"``
        when settings say so) unless ``project`` names another one. Lookups
        are cached so that later lookups of the same model hit no database.
        """
        key = _model_key(model, for_concrete_model, project)
        try:
            return self._cache[self.db][key]
        except KeyError:
            pass
        project, app_label, model_name = key
        lookup = {"project": project, "app_label": app_label, "model": model_name}
        try:
            # get() before get_or_create() so that reads go to db_for_read
            # (Django ticket #20401).
            ct = self.get(**lookup)
        except self.model.DoesNotExist:
            ct, _created = self.get_or_create(**lookup)
        self._add_to_cache(self.db, ct)
        return ct

    def get_for_models(
        self,
        *models: Any,
        for_concrete_models: bool = True,
        project: str | None = None,
    ) -> dict[Any, GenericContentType]:
        """Return a dict mapping each of ``models`` to its content type.

        Cache misses cost one query for all of them, plus one insert for each
        content type that does not exist yet.
        """
        results: dict[Any, GenericContentType] = {}
        needed: dict[Key, list[Any]] = defaultdict(list)
        for model in models:
            key = _model_key(model, for_concrete_models, project)
            try:
                results[model] = self._cache[self.db][key]
            except KeyError:
                needed[key].append(model)
        if needed:
            names_by_app: dict[tuple[str, str], set[str]] = defaultdict(set)
            for ct_project, app_label, model_name in needed:
                names_by_app[(ct_project, app_label)].add(model_name)
            condition = Q(
                *(
                    Q(project=ct_project, app_label=app_label, model__in=names)
                    for (ct_project, app_label), names in names_by_app.items()
                ),
                _connector=Q.OR,
            )
            for ct in self.filter(condition):
                for model in needed.pop(_row_key(ct), []):
                    results[model] = ct
                self._add_to_cache(self.db, ct)
        for (ct_project, app_label, model_name), pending in needed.items():
            ct = self.create(project=ct_project, app_label=app_label, model=model_name)
            self._add_to_cache(self.db, ct)
            for model in pending:
                results[model] = ct
        return results

    def get_for_id(self, id: int) -> GenericContentType:
        """Return the content type with primary key ``id``, through the cache.

        Content types are not created on the fly here; a missing id raises
        ``GenericContentType.DoesNotExist``.
        """
        try:
            return self._cache[self.db][id]
        except KeyError:
            ct = self.get(pk=id)
            self._add_to_cache(self.db, ct)
            return ct

    def cached(
        self, using: str | None, model: Any, for_concrete_model: bool = True
    ) -> GenericContentType | None:
        """Return the cached content type of ``model`` in database ``using``, or None."""
        if using is None:
            return None
        return self._cache.get(using, {}).get(_model_key(model, for_concrete_model, None))

    def cached_natural_key(
        self, project: str, app_label: str, model: str
    ) -> GenericContentType | None:
        """Return the cached content type ``(project, app_label, model)`` of this
        manager's database, or None: no query, so safe to call from async code."""
        return self._cache.get(self.db, {}).get((project, app_label, model))

    def cached_id(self, using: str | None, id: int) -> GenericContentType | None:
        """Return the cached content type with primary key ``id`` in ``using``, or None."""
        return None if using is None else self._cache.get(using, {}).get(id)

    def clear_cache(self) -> None:
        """Clear the content-type cache of every database."""
        self._cache.clear()
        forget_stand_in_memos()

    def _add_to_cache(self, using: str, ct: GenericContentType) -> None:
        # Keyed by the row's own fields, not by a model class: a stale row
        # has no class, and a remote one has no local model at all.
        cache = self._cache.setdefault(using, {})
        cache[_row_key(ct)] = ct
        cache[ct.id] = ct


class GenericContentType(models.Model):
    """A model in any service of the federation: (project, app_label, model).

    Rows of the current project and of the ``"shared"`` project name local
    models; every other project is remote, and its rows describe the remote
    entity type (``type_name``, ``pk_type``) so that a stand-in class can be
    built for it.
    """

    project = models.CharField(
        _("project"),
        max_length=100,
        default=conf.current_project,
        help_text=_("The service that holds the model's rows."),
    )
    app_label = models.CharField(_("app label"), max_length=100)
    model = models.CharField(_("python model class name"), max_length=100)
    type_name = models.CharField(
        _("GraphQL type name"),
        max_length=100,
        blank=True,
        help_text=_("The entity type name in a remote schema; empty for local models."),
    )
    pk_type = models.CharField(
        _("primary key type"),
        max_length=4,
        choices=PkType.choices,
        default=PkType.INT,
        help_text=_("The type of a remote model's primary key."),
    )

    fields = models.JSONField(
        _("remote fields"),
        default=list,
        blank=True,
        help_text=_(
            "The GraphQL fields of a remote entity that are fetched; empty for local models."
        ),
    )

    field_types = models.JSONField(
        _("remote field types"),
        default=dict,
        blank=True,
        help_text=_("The GraphQL type of each remote field, as the remote schema declares it."),
    )
    listable = models.BooleanField(
        _("listable"),
        default=False,
        help_text=_("Whether the remote service pages through the ids of this type."),
    )
    relations = models.JSONField(
        _("remote relations"),
        default=dict,
        blank=True,
        help_text=_(
            "For each remote field whose values are other entities: the related model's "
            "project, app label, model, primary-key type, and whether it is a list."
        ),
    )
    queryable = models.JSONField(
        _("remote queries"),
        default=dict,
        blank=True,
        help_text=_(
            "What the remote service lets others filter, order and search on (its query "
            "field, paths and lookups, ordering, search, largest page); empty if nothing."
        ),
    )
    in_schema = models.BooleanField(
        _("in the remote schema"),
        default=False,
        help_text=_(
            "Whether the remote schema described this type when last synchronized; "
            "objects of a remote type it does not describe are never fetched."
        ),
    )

    objects = GenericContentTypeManager()

    class Meta:
        verbose_name = _("generic content type")
        verbose_name_plural = _("generic content types")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "app_label", "model"],
                name="federated_fk_genericcontenttype_natural_key",
            )
        ]

    def __str__(self) -> str:
        return self.app_labeled_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        forget_stand_in_memos()  # the description of a remote type may have changed

    @property
    def is_local(self) -> bool:
        """True when the rows of this type live in this service's databases."""
        return conf.is_local_project(self.project)

    @property
    def is_remote(self) -> bool:
        """True when the rows of this type live in another service."""
        return not self.is_local

    @property
    def name(self) -> str:
        """Return the verbose name of the model, or its name if it is gone."""
        model = self.model_class()
        if not model:
            return self.model
        return str(model._meta.verbose_name)

    @property
    def app_labeled_name(self) -> str:
        """Return ``"App | model"``, prefixed with the project when not current."""
        model = self.model_class()
        if not model:
            return self.model
        opts = model._meta
        app_name = opts.app_config.verbose_name if self.is_local else opts.app_label
        label = f"{app_name} | {opts.verbose_name}"
        if self.project != conf.current_project():
            label = f"{self.project} | {label}"
        return label

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        forget_stand_in_memos()

    def model_class(self) -> type | None:
        """Return the model class for this type of content.

        Local types give the installed model (None once it is gone); remote
        types give their stand-in class, a ``RemoteObject`` subclass.
        """
        if self.is_remote:
            return stand_in_class(self)
        try:
            return apps.get_model(self.app_label, self.model)
        except LookupError:
            return None

    def get_object_for_this_type(self, using: str | None = None, **kwargs: Any) -> Any:
        """Return the object of this type for the lookup ``kwargs``.

        A local type queries its model's base manager and may raise the
        model's ``DoesNotExist``. A remote type takes only ``pk`` and returns
        a lazy stand-in object that loads on first field access.
        """
        model = self.model_class()
        if self.is_remote:
            return model._default_manager.get(**kwargs)
        return model._base_manager.using(using).get(**kwargs)

    def get_all_objects_for_this_type(self, **kwargs: Any) -> Iterable[Any]:
        """Return all objects of this type for the lookup ``kwargs``.

        For a remote type only ``pk__in`` is accepted.
        """
        model = self.model_class()
        if self.is_remote:
            return model._default_manager.filter(**kwargs)
        return model._base_manager.filter(**kwargs)

    def natural_key(self) -> Key:
        """Return ``(project, app_label, model)``."""
        return (self.project, self.app_label, self.model)
