"""Views: ``shortcut`` (as ``django.contrib.contenttypes``'), and the target picker's search.

``FederatedAutocompleteJsonView`` answers the picker's select2 widgets
(``federated_fk.forms``) with Django's autocomplete protocol.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from django.apps import apps
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth import get_permission_codename
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponseRedirect, JsonResponse
from django.utils.text import smart_split
from django.utils.translation import gettext as _

from federated_fk.exceptions import FederationError
from federated_fk.fields import FederatedForeignKey, FederatedManyToManyField, RemoteForeignKey
from federated_fk.ids import InvalidId, parse_ids
from federated_fk.models import GenericContentType
from federated_fk.picker import (
    Key,
    candidate_types,
    is_pickable,
    option_text,
    option_value,
    stand_in_for,
    target_types,
)

__all__ = ["FederatedAutocompleteJsonView", "shortcut"]

logger = logging.getLogger("federated_fk.admin")
#: The largest offset a picker page asks for: a service's offsets are 32-bit Ints.
MAX_OFFSET = 2**31 - 1
#: The most words of a picker's search term (a remote type takes at most 10 of them).
MAX_PICKER_WORDS = 100


def shortcut(request: HttpRequest, content_type_id: Any, object_id: Any) -> HttpResponseRedirect:
    """Redirect to an object's page given a content-type id and an object id."""
    try:
        content_type = GenericContentType.objects.get(pk=content_type_id)
        if not content_type.model_class():
            raise Http404(
                _("Content type %(ct_id)s object has no associated model")
                % {"ct_id": content_type_id}
            )
        obj = content_type.get_object_for_this_type(pk=object_id)
    except (ObjectDoesNotExist, ValueError):
        raise Http404(
            _("Content type %(ct_id)s object %(obj_id)s doesn’t exist")
            % {"ct_id": content_type_id, "obj_id": object_id}
        ) from None
    try:
        get_absolute_url = obj.get_absolute_url
    except AttributeError:
        raise Http404(
            _("%(ct_name)s objects don’t have a get_absolute_url() method")
            % {"ct_name": content_type.name}
        ) from None
    absurl = get_absolute_url()
    # An absolute URL already names its domain.
    if absurl.startswith(("http://", "https://", "//")):
        return HttpResponseRedirect(absurl)
    object_domain = _object_domain(request, obj)
    if object_domain is None:
        return HttpResponseRedirect(absurl)
    return HttpResponseRedirect(f"{request.scheme}://{object_domain}{absurl}")


def _object_domain(request: HttpRequest, obj: Any) -> str | None:
    """Return the domain of the Site ``obj`` belongs to, else the current one."""
    try:
        object_domain = get_current_site(request).domain
    except ObjectDoesNotExist:
        object_domain = None
    if not apps.is_installed("django.contrib.sites"):
        return object_domain
    Site = apps.get_model("sites.Site")
    for field in obj._meta.many_to_many:
        if field.remote_field.model is Site:
            site_qs = getattr(obj, field.name).all()
            if object_domain and site_qs.filter(domain=object_domain).exists():
                return object_domain
            # With several related sites, the first one is as good as any.
            site = site_qs.first()
            return site.domain if site else object_domain
    for field in obj._meta.fields:
        if field.remote_field and field.remote_field.model is Site:
            try:
                site = getattr(obj, field.name)
            except Site.DoesNotExist:
                continue
            if site is not None:
                return site.domain
    return object_domain


# The target picker's search.


def find_key(model: type[models.Model], name: str) -> Key | None:
    """Return the FederatedForeignKey, FederatedManyToManyField or RemoteForeignKey ``name``."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if isinstance(field, FederatedForeignKey | FederatedManyToManyField | RemoteForeignKey):
        return field
    return None


@dataclasses.dataclass
class TargetPage:
    """One page of the picker's search: results in Django's ``{id, text}`` form.

    :param results: the targets found, type by type
    :param more: whether a type has more targets past this page
    :param unavailable: the projects that could not answer
    """

    results: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    more: bool = False
    unavailable: list[str] = dataclasses.field(default_factory=list)


class FederatedAutocompleteJsonView(AutocompleteJsonView):
    """Django's autocomplete, for the targets of a federated key, local and remote.

    It takes Django's parameters (``term``, ``page``, ``app_label``,
    ``model_name``, ``field_name`` of the key) and answers Django's JSON:
    ``{"results": [{"id", "text"}], "pagination": {"more"}}``. The ``types``
    parameter (content-type ids, as the widget's URL carries them) narrows
    the search to some of the types the key allows; it cannot widen it.

    Each page holds up to ``paginate_by`` targets of each type. Local types
    are searched as Django's autocomplete searches them, through their
    admin's ``search_fields`` and ``get_search_results``, when the user may
    view them; remote types through their service's search (one request
    per type and page), when the user may add or change the key's model. A
    project that cannot answer is one disabled result, "shop_b unavailable",
    beside what the others found.
    """

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        self.term, self.key, types = self.process_request(request)
        raw = request.GET.get("page") or "1"
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
            raise Http404(_("Page is not “last”, nor can it be converted to an int."))
        number = max(int(raw), 1)
        if (number - 1) * self.paginate_by > MAX_OFFSET:
            # Past any offset a service takes (a 32-bit Int): nothing there.
            raise Http404(_("That page contains no results"))
        page = self.search(request, types, number)
        unavailable = [
            {
                # Not "": select2 hides the option whose id is its placeholder's.
                "id": f"unavailable:{p}",
                "text": _("%(project)s unavailable") % {"project": p},
                "disabled": True,
            }
            for p in page.unavailable
        ]
        return JsonResponse(
            {"results": [*unavailable, *page.results], "pagination": {"more": page.more}}
        )

    def process_request(  # type: ignore[override]
        self, request: HttpRequest
    ) -> tuple[str, Key, list[GenericContentType]]:
        """Return the term, the key and the types to search; PermissionDenied if malformed."""
        term = request.GET.get("term", "")
        # No column holds a NUL (PostgreSQL refuses it); a term of more words than anyone
        # types would make a local search too deep for the database (SQLite refuses 1,000
        # words): malformed, as Django refuses a malformed request.
        if "\x00" in term or len(list(smart_split(term))) > MAX_PICKER_WORDS:
            raise PermissionDenied
        try:
            source = apps.get_model(request.GET["app_label"], request.GET["model_name"])
        except (KeyError, LookupError) as exc:
            raise PermissionDenied from exc
        key = find_key(source, request.GET.get("field_name", ""))
        if key is None:
            raise PermissionDenied
        if isinstance(key, RemoteForeignKey) or not request.GET.get("types"):
            return term, key, target_types(key)
        wanted = parse_ids(GenericContentType, request.GET["types"].split(","))
        if any(isinstance(pk, InvalidId) for pk in wanted):
            raise PermissionDenied
        rows = candidate_types(key).filter(pk__in=wanted).order_by("project", "app_label", "model")
        return term, key, [ct for ct in rows if is_pickable(ct)]

    def has_perm(self, request: HttpRequest, obj: Any = None) -> bool:
        """Whether the user may search remote targets: may add or change the key's model."""
        opts = self.key.model._meta
        return any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for action in ("add", "change")
        )

    def search(
        self, request: HttpRequest, types: list[GenericContentType], number: int
    ) -> TargetPage:
        """Search each type for the term; return page ``number`` of each."""
        size = self.paginate_by
        offset = (number - 1) * size
        page = TargetPage()
        may_search_remote = self.has_perm(request)
        for ct in types:
            if ct.is_remote:
                if not may_search_remote or ct.project in page.unavailable:
                    continue
                try:
                    found = self.remote_targets(ct, offset, size + 1)
                except FederationError as exc:
                    logger.warning("Picker search of %s failed: %s", ct, exc)
                    page.unavailable.append(ct.project)
                    continue
            else:
                found = self.local_targets(request, ct, offset, size + 1)
                if found is None:
                    continue
            page.more |= len(found) > size
            page.results += [
                {"id": option_value(self.key, ct, obj.pk), "text": option_text(obj, ct)}
                for obj in found[:size]
            ]
        return page

    def local_targets(
        self, request: HttpRequest, ct: GenericContentType, offset: int, limit: int
    ) -> list[Any] | None:
        """Search a local type through its admin, as Django's autocomplete does.

        ``None`` when its model has no admin with ``search_fields`` on this
        site, or the user may not view it.
        """
        model = ct.model_class()
        model_admin = self.admin_site._registry.get(model)
        if model_admin is None or not model_admin.get_search_fields(request):
            return None
        if not model_admin.has_view_permission(request):
            return None
        qs = model_admin.get_queryset(request)
        qs, search_use_distinct = model_admin.get_search_results(request, qs, self.term)
        if search_use_distinct:
            qs = qs.distinct()
        if not qs.ordered:
            qs = qs.order_by("pk")
        return list(qs[offset : offset + limit])

    def remote_targets(self, ct: GenericContentType, offset: int, limit: int) -> list[Any]:
        """Search a remote type through its service: one request.

        :raises FederationError: the service could not answer
        """
        model = ct.model_class()
        if not (ct.queryable or {}).get("search"):
            # A type its service does not let others search: its id, typed
            # whole, still finds it (checked when the form is saved).
            target = stand_in_for(model, self.term.strip())
            return [target] if target is not None and offset == 0 else []
        try:
            found = model._default_manager.get_queryset().search(self.term)
        except ValueError:
            return []  # a search its service refuses (too long, too many words): none found
        return list(found[offset : offset + limit])
