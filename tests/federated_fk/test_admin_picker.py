"""The admin's target picker: its JSON search, local and remote, and the forms it fills.

Against a real shop_b subgraph process (tests/servers.py); shop_b "down" is a
closed port.
"""

from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.admin.sites import AdminSite
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client
from django.urls import path

from federated_fk.admin import (
    FederatedAdminMixin,
    FederatedPickerMixin,
    GenericContentTypeAdmin,
)
from federated_fk.fields.many_to_many.forms import key_string
from federated_fk.forms import (
    INTERNAL_APPS,
    FederatedTargetField,
    FederatedTargetSelect,
    FederatedTargetSelectMultiple,
    RemoteTargetField,
    target_types,
)
from federated_fk.models import GenericContentType
from tests.deferredapp.models import Review
from tests.gm2mapp.models import Fan, Movie
from tests.testapp.models import Book, Reference

pytestmark = pytest.mark.django_db

site = AdminSite(name="picker_admin")
site.register(GenericContentType, GenericContentTypeAdmin)


@admin.register(Book, site=site)
class BookAdmin(admin.ModelAdmin):
    search_fields = ["title"]


@admin.register(Movie, site=site)
class MovieAdmin(admin.ModelAdmin):
    search_fields = ["title"]


@admin.register(Reference, site=site)
class ReferenceAdmin(FederatedAdminMixin, admin.ModelAdmin):
    fields = ["content_object", "note"]


@admin.register(Review, site=site)
class ReviewAdmin(FederatedAdminMixin, admin.ModelAdmin):
    fields = ["book", "stars"]


@admin.register(Fan, site=site)
class FanAdmin(FederatedAdminMixin, admin.ModelAdmin):
    fields = ["name", "videos"]
    federated_targets = {"videos": ["gm2mapp.Movie", "shop_b:remoteshop.Book"]}


inline_site = AdminSite(name="picker_inline_admin")
inline_site.register(GenericContentType, GenericContentTypeAdmin)


class VideoRowInline(FederatedPickerMixin, admin.TabularInline):
    """The rows of a many-to-many's through table: each a FederatedForeignKey."""

    model = Fan.videos.through
    fields = ["target"]
    extra = 1


@admin.register(Fan, site=inline_site)
class FanRowsAdmin(admin.ModelAdmin):
    fields = ["name"]
    inlines = [VideoRowInline]


urlpatterns = [path("admin/", site.urls), path("rows/", inline_site.urls)]
SEARCH = "/admin/federated_fk/genericcontenttype/autocomplete/"


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


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


@pytest.fixture
def shop_b_down(federation):
    federation["PROJECTS"]["shop_b"] = {"URL": "http://127.0.0.1:9/graphql/", "TIMEOUT": 2}
    return federation


def remote_ct(model="book"):
    return GenericContentType.objects.get_by_natural_key("shop_b", "remoteshop", model)


def search(client, term, field="content_object", model="testapp.reference", **params):
    app_label, model_name = model.split(".")
    query = {"term": term, "app_label": app_label, "model_name": model_name, "field_name": field}
    response = client.get(SEARCH, {**query, **params})
    assert response.status_code == 200, response.content[:500]
    return response.json()


def test_the_default_types_leave_out_djangos_internal_apps(federation):
    key = Reference._meta.get_field("content_object")
    labels = {(ct.project, ct.app_label, ct.model) for ct in target_types(key)}
    assert ("shop_a", "testapp", "book") in labels
    assert ("shop_b", "remoteshop", "book") in labels
    assert not {app for _p, app, _m in labels} & INTERNAL_APPS
    # Named types are exactly those.
    named = target_types(key, ["testapp.Book", "shop_b:remoteshop.Book"])
    assert [(ct.project, ct.model) for ct in named] == [("shop_a", "book"), ("shop_b", "book")]


@pytest.mark.urls(__name__)
def test_local_and_remote_targets_are_found_by_typing_part_of_a_title(
    staff_client, federation, shop_b
):
    local = Book.objects.create(title="Book 12, the local one")
    Book.objects.create(title="Unrelated")
    body = search(staff_client, "book 12")
    local_ct = GenericContentType.objects.get_for_model(Book)
    results = {r["id"]: r["text"] for r in body["results"]}
    assert results[key_string(local_ct.pk, local.pk)] == "Book 12, the local one (book, shop_a)"
    assert results[key_string(remote_ct().pk, 12)] == "B Book 12 (book, shop_b)"
    assert "Unrelated (book, shop_a)" not in results.values()
    remote = [text for text in results.values() if text.endswith("(book, shop_b)")]
    # Each word is searched for: B Book 12, 112, 120-129, 212, 312, 412, in one page.
    assert len(remote) == 15 and body["pagination"] == {"more": False}
    # One request per searchable remote type offered (shop_b's Book and Edition).
    searchable = [ct for ct in target_types(Reference._meta.get_field("content_object"))]
    searchable = [ct for ct in searchable if ct.is_remote and ct.queryable.get("search")]
    assert shop_b.stats()["graphql_requests"] == len(searchable)


@pytest.mark.urls(__name__)
def test_a_search_the_remote_would_refuse_finds_nothing_there_and_asks_nothing(
    staff_client, federation, shop_b
):
    Book.objects.create(title="a b c d e f g h i j k")
    body = search(staff_client, "a b c d e f g h i j k")  # 11 words: shop_b takes at most 10
    assert [r["text"] for r in body["results"]] == ["a b c d e f g h i j k (book, shop_a)"]
    assert shop_b.stats()["graphql_requests"] == 0


@pytest.mark.urls(__name__)
def test_pages_of_twenty_per_type(staff_client, federation, shop_b):
    ct = remote_ct()
    first = search(staff_client, "B Book 1", types=str(ct.pk))
    assert len(first["results"]) == 20 and first["pagination"] == {"more": True}
    second = search(staff_client, "B Book 1", types=str(ct.pk), page="2")
    assert len(second["results"]) == 20
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    # One request per page of the one type asked for.
    assert shop_b.stats()["graphql_requests"] == 2


@pytest.mark.urls(__name__)
def test_types_narrow_the_search_and_cannot_widen_it(staff_client, federation, shop_b, settings):
    Book.objects.create(title="Book 12, the local one")
    local_ct = GenericContentType.objects.get_for_model(Book)
    body = search(staff_client, "book 12", types=str(local_ct.pk))
    assert [r["text"] for r in body["results"]] == ["Book 12, the local one (book, shop_a)"]
    assert shop_b.stats()["graphql_requests"] == 0
    # A type the key's content-type field refuses is not searched.
    field = Reference._meta.get_field("content_type")
    field.remote_field.limit_choices_to = {"project": "shop_b"}
    try:
        body = search(staff_client, "book 12", types=str(local_ct.pk))
    finally:
        field.remote_field.limit_choices_to = {}
    assert body["results"] == []


@pytest.mark.urls(__name__)
def test_a_service_that_is_down_is_one_result_beside_the_local_ones(staff_client, shop_b_down):
    Book.objects.create(title="Book 12, the local one")
    body = search(staff_client, "book 12")
    assert body["results"][0] == {
        "id": "unavailable:shop_b",
        "text": "shop_b unavailable",
        "disabled": True,
    }
    assert [r["text"] for r in body["results"][1:]] == ["Book 12, the local one (book, shop_a)"]


@pytest.mark.urls(__name__)
def test_only_staff_search_and_malformed_requests_are_refused(staff_client, federation):
    response = Client().get(SEARCH, {"term": "x"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    for params in (
        {},
        {"app_label": "testapp", "model_name": "nothing", "field_name": "content_object"},
        {"app_label": "testapp", "model_name": "reference", "field_name": "note"},
        {
            "app_label": "testapp",
            "model_name": "reference",
            "field_name": "content_object",
            "types": "x",
        },
        # No column holds a NUL character (PostgreSQL refuses it).
        {
            "app_label": "testapp",
            "model_name": "reference",
            "field_name": "content_object",
            "term": "a\x00b",
        },
        # More words than anyone types (1,000 would be too deep for SQLite).
        {
            "app_label": "testapp",
            "model_name": "reference",
            "field_name": "content_object",
            "term": "a " * 1000,
        },
        # A content-type id no row can have.
        {
            "app_label": "testapp",
            "model_name": "reference",
            "field_name": "content_object",
            "types": "99999999999999999999",
        },
    ):
        assert staff_client.get(SEARCH, params).status_code == 403
    key = {"app_label": "testapp", "model_name": "reference", "field_name": "content_object"}
    for page in ("0x1", "1.5", "9" * 4300, "99999999999", "107374184"):
        assert staff_client.get(SEARCH, {**key, "term": "x", "page": page}).status_code == 404
    # The last page whose offset a service takes, and a long term of few words, still answer.
    assert staff_client.get(SEARCH, {**key, "term": "x", "page": "107374183"}).status_code == 200
    long_term = {**key, "term": "x" * 1000 + " y"}
    assert staff_client.get(SEARCH, long_term).status_code == 200


@pytest.mark.urls(__name__)
def test_remote_targets_need_the_permission_to_set_the_key(client, federation, shop_b):
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_book", content_type__app_label="testapp")
    )
    client.force_login(user)
    Book.objects.create(title="Book 12, the local one")
    body = search(client, "book 12")
    assert [r["text"] for r in body["results"]] == ["Book 12, the local one (book, shop_a)"]
    assert shop_b.stats()["graphql_requests"] == 0
    user.user_permissions.add(Permission.objects.get(codename="add_reference"))
    client.force_login(User.objects.get(pk=user.pk))
    body = search(client, "book 12")
    assert "B Book 12 (book, shop_b)" in [r["text"] for r in body["results"]]


# The forms.


@pytest.mark.urls(__name__)
def test_the_add_form_offers_the_picker(staff_client, federation):
    response = staff_client.get("/admin/testapp/reference/add/")
    form = response.context["adminform"].form
    assert isinstance(form.fields["content_object"], FederatedTargetField)
    assert isinstance(form.fields["content_object"].widget, FederatedTargetSelect)
    assert "content_type" not in form.fields and "object_id" not in form.fields
    html = response.content.decode()
    assert f'data-ajax--url="{SEARCH}"' in html
    assert 'data-field-name="content_object"' in html
    assert "admin/js/autocomplete.js" in html


@pytest.mark.urls(__name__)
def test_saving_checks_that_the_remote_target_exists_with_one_request(
    staff_client, federation, shop_b
):
    value = key_string(remote_ct().pk, 12)
    response = staff_client.post("/admin/testapp/reference/add/", {"content_object": value})
    assert response.status_code == 302, response.context["adminform"].form.errors
    ref = Reference.objects.get()
    assert (ref.content_type, ref.object_id) == (remote_ct(), "12")
    assert shop_b.stats()["graphql_requests"] == 1
    missing = key_string(remote_ct().pk, 99999)
    response = staff_client.post("/admin/testapp/reference/add/", {"content_object": missing})
    assert response.status_code == 200
    assert "book 99999 does not exist in shop_b." in str(
        response.context["adminform"].form.errors["content_object"]
    )
    # The change page names the stored target without a request.
    shop_b.stats(reset=True)
    page = staff_client.get(f"/admin/testapp/reference/{ref.pk}/change/").content.decode()
    assert f'<option value="{value}" selected>#12 (book, shop_b)</option>' in page
    assert shop_b.stats()["graphql_requests"] == 0
    # Saving it unchanged checks nothing again.
    response = staff_client.post(
        f"/admin/testapp/reference/{ref.pk}/change/", {"content_object": value, "note": "n"}
    )
    assert response.status_code == 302
    assert shop_b.stats()["graphql_requests"] == 0


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("object_id", ["abc", "1.5", "9223372036854775808", "9" * 5000])
def test_a_local_id_no_row_can_have_is_a_form_error(staff_client, federation, object_id):
    local_ct = GenericContentType.objects.get_for_model(Book)
    value = key_string(local_ct.pk, object_id)
    response = staff_client.post("/admin/testapp/reference/add/", {"content_object": value})
    assert response.status_code == 200  # the form again, with its error
    assert response.context["adminform"].form.errors["content_object"]
    assert not Reference.objects.exists()


@pytest.mark.urls(__name__)
def test_saving_while_the_service_is_down_is_a_form_error(staff_client, shop_b_down):
    value = key_string(remote_ct().pk, 12)
    response = staff_client.post("/admin/testapp/reference/add/", {"content_object": value})
    assert response.status_code == 200
    errors = str(response.context["adminform"].form.errors["content_object"])
    assert "shop_b unavailable: the target cannot be checked." in errors
    assert not Reference.objects.exists()


@pytest.mark.urls(__name__)
def test_a_local_target_and_a_type_not_offered(staff_client, federation, settings):
    book = Book.objects.create(title="Dune")
    ct = GenericContentType.objects.get_for_model(Book)
    response = staff_client.post(
        "/admin/testapp/reference/add/", {"content_object": key_string(ct.pk, book.pk)}
    )
    assert response.status_code == 302
    assert Reference.objects.get().content_object == book
    user_ct = GenericContentType.objects.get_for_model(User)
    response = staff_client.post(
        "/admin/testapp/reference/add/", {"content_object": key_string(user_ct.pk, 1)}
    )
    assert "is not a type of target this field accepts" in str(
        response.context["adminform"].form.errors["content_object"]
    )


@pytest.mark.urls(__name__)
def test_a_remote_foreign_key_picks_by_id(staff_client, federation, shop_b):
    body = search(staff_client, "B Book 12", field="book", model="deferredapp.review")
    assert {"id": "12", "text": "B Book 12 (book, shop_b)"} in body["results"]
    response = staff_client.get("/admin/deferredapp/review/add/")
    form = response.context["adminform"].form
    assert isinstance(form.fields["book"], RemoteTargetField)
    assert isinstance(form.fields["book"].widget, FederatedTargetSelect)
    shop_b.stats(reset=True)
    response = staff_client.post("/admin/deferredapp/review/add/", {"book": "12", "stars": "4"})
    assert response.status_code == 302
    assert Review.objects.get().book_id == 12
    assert shop_b.stats()["graphql_requests"] == 1
    response = staff_client.post("/admin/deferredapp/review/add/", {"book": "99999", "stars": "4"})
    assert "does not exist in shop_b" in str(response.context["adminform"].form.errors["book"])


@pytest.mark.urls(__name__)
def test_a_many_to_many_field_picks_among_the_named_types(staff_client, federation, shop_b):
    movie = Movie.objects.create(title="Heat")
    body = search(staff_client, "", field="videos", model="gm2mapp.fan")
    texts = [r["text"] for r in body["results"]]
    assert "Heat (movie, shop_a)" in texts
    response = staff_client.get("/admin/gm2mapp/fan/add/")
    widget = response.context["adminform"].form.fields["videos"].widget
    assert isinstance(widget, FederatedTargetSelectMultiple)
    named = [
        ct.pk
        for ct in target_types(Fan._meta.get_field("videos"), FanAdmin.federated_targets["videos"])
    ]
    assert widget.get_url() == f"{SEARCH}?types={'%2C'.join(map(str, named))}"
    movie_key = key_string(GenericContentType.objects.get_for_model(Movie).pk, movie.pk)
    book_key = key_string(remote_ct().pk, 7)
    shop_b.stats(reset=True)
    response = staff_client.post(
        "/admin/gm2mapp/fan/add/", {"name": "Fan", "videos": [movie_key, book_key]}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    fan = Fan.objects.get()
    assert sorted(fan.videos.values_list("object_id", flat=True)) == [str(movie.pk), "7"]
    assert shop_b.stats()["graphql_requests"] == 1


@pytest.mark.urls(__name__)
def test_an_inline_picks_the_target_of_each_row(staff_client, federation, shop_b):
    fan = Fan.objects.create(name="Fan")
    url = f"/rows/gm2mapp/fan/{fan.pk}/change/"
    response = staff_client.get(url)
    formset = response.context["inline_admin_formsets"][0].formset
    field = formset.forms[0].fields["target"]
    assert isinstance(field, FederatedTargetField)
    assert isinstance(field.widget, FederatedTargetSelect)
    assert 'data-field-name="target"' in response.content.decode()
    body = search(staff_client, "B Book 12", field="target", model="gm2mapp.fan_videos")
    assert "B Book 12 (book, shop_b)" in [r["text"] for r in body["results"]]
    prefix = formset.prefix
    shop_b.stats(reset=True)
    response = staff_client.post(
        url,
        {
            "name": "Fan",
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
            f"{prefix}-0-target": key_string(remote_ct().pk, 12),
        },
    )
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    assert list(fan.videos.values_list("object_id", flat=True)) == ["12"]
    assert shop_b.stats()["graphql_requests"] == 1


def test_federated_targets_is_checked():
    class Wrong(FederatedAdminMixin, admin.ModelAdmin):
        federated_targets = {
            "note": ["testapp.Book"],
            "content_object": ["testapp.Book", "testapp.Nothing", "shop_b:Book", "shop_b:x.Y"],
        }

    errors = Wrong(Reference, AdminSite(name="checked")).check()
    assert [(e.id, e.obj) for e in errors] == [
        ("federated_fk.E506", Wrong),
        ("federated_fk.E507", Wrong),
        ("federated_fk.E507", Wrong),
    ]
    assert "names 'note', which is not a FederatedForeignKey" in errors[0].msg
    assert "'testapp.Nothing'" in errors[1].msg and "'shop_b:Book'" in errors[2].msg
    assert FanAdmin(Fan, site).check() == []
    assert VideoRowInline(Fan, inline_site).check() == []
