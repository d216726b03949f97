"""The ``shortcut`` view of ``django.contrib.contenttypes``, for GenericContentType ids."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.utils.translation import gettext as _

from federated_fk.models import GenericContentType

__all__ = ["shortcut"]


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
