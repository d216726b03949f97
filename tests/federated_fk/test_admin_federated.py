"""The admin for federated relations: inlines, their checks, and targets in lists."""

from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.admin.sites import AdminSite
from django.contrib.auth.models import User
from django.contrib.contenttypes.admin import GenericTabularInline as DjangoGenericTabularInline
from django.core.management import call_command
from django.urls import path

from federated_fk.admin import (
    FederatedAdminMixin,
    FederatedStackedInline,
    FederatedTabularInline,
    GenericInlineModelAdmin,
    GenericStackedInline,
    GenericTabularInline,
    check_django_generic_inlines,
    target_display,
)
from federated_fk.models import GenericContentType
from tests.deferredapp.models import Review
from tests.testapp.models import Book, DjangoReference, Reference

pytestmark = pytest.mark.django_db

site = AdminSite(name="federated_admin")


class ReferenceInline(FederatedTabularInline):
    model = Reference
    fields = ["note"]


@admin.register(Book, site=site)
class BookAdmin(admin.ModelAdmin):
    inlines = [ReferenceInline]


@admin.register(Reference, site=site)
class ReferenceAdmin(FederatedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "content_object"]
    readonly_fields = ["content_object"]
    fields = ["content_object"]


@admin.register(Review, site=site)
class ReviewAdmin(FederatedAdminMixin, admin.ModelAdmin):
    list_display = ["id", "book", "stars"]
    readonly_fields = [target_display("book", "remote book")]


urlpatterns = [path("admin/", site.urls)]


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


def test_djangos_names_are_aliases():
    assert GenericTabularInline is FederatedTabularInline
    assert GenericStackedInline is FederatedStackedInline
    assert issubclass(GenericTabularInline, GenericInlineModelAdmin)


def test_a_federated_inline_passes_its_checks():
    assert BookAdmin(Book, site).check() == []


@pytest.mark.parametrize(
    ("attrs", "model", "check_id", "message"),
    [
        ({}, DjangoReference, "federated_fk.E501", "'testapp.DjangoReference' has no Federated"),
        ({"ct_field": "nope"}, Reference, "federated_fk.E502", "'ct_field' references 'nope'"),
        ({"ct_fk_field": "nope"}, Reference, "federated_fk.E503", "'ct_fk_field' references"),
        ({"ct_fk_field": "id"}, Reference, "federated_fk.E504", "content type field"),
    ],
)
def test_inline_checks(attrs, model, check_id, message):
    inline = type("Inline", (FederatedTabularInline,), {"model": model, **attrs})
    parent = type("ParentAdmin", (admin.ModelAdmin,), {"inlines": [inline]})
    errors = parent(Book, AdminSite()).check()
    assert [e.id for e in errors] == [check_id]
    assert message in errors[0].msg


def test_a_django_generic_inline_of_a_federated_key_is_a_check_error():
    class DjangoInline(DjangoGenericTabularInline):
        model = Reference

    other = AdminSite(name="django_inline")
    other.register(Book, inlines=[DjangoInline])
    try:
        errors = [e for e in check_django_generic_inlines() if e.obj is DjangoInline]
    finally:
        other.unregister(Book)  # the site lives on in Django's list of sites
    assert [e.id for e in errors] == ["federated_fk.E505"]
    assert "FederatedTabularInline" in errors[0].hint


@pytest.mark.urls(__name__)
def test_the_inline_lists_edits_and_adds_references(staff_client):
    book = Book.objects.create(title="Dune")
    Reference.objects.create(content_object=book)
    url = f"/admin/testapp/book/{book.pk}/change/"
    response = staff_client.get(url)
    assert response.status_code == 200
    prefix = "testapp-reference-content_type-object_id"
    assert f'name="{prefix}-TOTAL_FORMS"' in response.content.decode()
    ref = Reference.objects.get()
    assert f'value="{ref.pk}"' in response.content.decode()
    data = {
        "title": "Dune",
        "price": "0",
        f"{prefix}-TOTAL_FORMS": "2",
        f"{prefix}-INITIAL_FORMS": "1",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
        f"{prefix}-0-id": str(ref.pk),
        f"{prefix}-0-note": "edited",
        f"{prefix}-1-note": "added",
    }
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    # The new row points at the book through GenericContentType.
    refs = Reference.objects.order_by("pk")
    assert [(r.note, r.content_object) for r in refs] == [("edited", book), ("added", book)]
    assert {r.content_type for r in Reference.objects.all()} == {
        GenericContentType.objects.get_for_model(Book)
    }


@pytest.mark.urls(__name__)
def test_local_targets_show_with_their_project(staff_client):
    book = Book.objects.create(title="Dune")
    ref = Reference.objects.create(content_object=book)
    body = staff_client.get("/admin/testapp/reference/").content.decode()
    assert 'Dune <span class="federated-project">(shop_a)</span>' in body
    body = staff_client.get(f"/admin/testapp/reference/{ref.pk}/change/").content.decode()
    assert 'Dune <span class="federated-project">(shop_a)</span>' in body


@pytest.fixture
def federation(settings, shop_b, tmp_path):
    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "SHARED_APPS": ["sharedapp"],
        "PROJECTS": {"shop_b": {"URL": shop_b.url, "TIMEOUT": 5}},
    }
    call_command("sync_remote_contenttypes", "shop_b", schema_dir=tmp_path, stdout=StringIO())
    shop_b.stats(reset=True)
    return settings.FEDERATION


def remote_references(count):
    ct = GenericContentType.objects.get_by_natural_key("shop_b", "remoteshop", "book")
    RemoteBook = ct.model_class()
    return [Reference.objects.create(content_object=RemoteBook(i)) for i in range(1, count + 1)]


@pytest.mark.urls(__name__)
def test_a_page_of_remote_targets_costs_one_request(staff_client, federation, shop_b):
    remote_references(30)
    Reference.objects.create(content_object=Book.objects.create(title="Local"))
    response = staff_client.get("/admin/testapp/reference/")
    body = response.content.decode()
    assert response.status_code == 200
    for i in (1, 17, 30):
        assert f'B Book {i} <span class="federated-project">(shop_b)</span>' in body
    assert 'Local <span class="federated-project">(shop_a)</span>' in body
    assert shop_b.stats()["graphql_requests"] == 1


@pytest.mark.urls(__name__)
def test_a_remote_that_is_down_shows_ids_and_unavailable(staff_client, federation):
    refs = remote_references(3)
    federation["PROJECTS"]["shop_b"] = {"URL": "http://127.0.0.1:9/graphql/", "TIMEOUT": 2}
    response = staff_client.get("/admin/testapp/reference/")
    assert response.status_code == 200
    body = response.content.decode()
    for ref in refs:
        assert (
            f'{ref.object_id} <span class="federated-unavailable">(shop_b unavailable)</span>'
            in body
        )
    response = staff_client.get(f"/admin/testapp/reference/{refs[0].pk}/change/")
    assert response.status_code == 200
    assert "(shop_b unavailable)" in response.content.decode()


@pytest.mark.urls(__name__)
def test_a_missing_remote_target_shows_not_found(staff_client, federation):
    ct = GenericContentType.objects.get_by_natural_key("shop_b", "remoteshop", "book")
    Reference.objects.create(content_object=ct.model_class()(99999))
    body = staff_client.get("/admin/testapp/reference/").content.decode()
    assert '99999 <span class="federated-missing">(not found in shop_b)</span>' in body


@pytest.mark.urls(__name__)
def test_remote_foreign_keys_show_their_targets_too(staff_client, federation, shop_b):
    Review.objects.bulk_create([Review(book_id=i) for i in (1, 2, 3)] + [Review()])
    body = staff_client.get("/admin/deferredapp/review/").content.decode()
    assert 'B Book 2 <span class="federated-project">(shop_b)</span>' in body
    assert shop_b.stats()["graphql_requests"] == 1
    review = Review.objects.first()
    body = staff_client.get(f"/admin/deferredapp/review/{review.pk}/change/").content.decode()
    assert "remote book" in body.lower() and "B Book 1" in body
