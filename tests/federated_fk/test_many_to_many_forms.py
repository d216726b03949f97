"""The form field of FederatedManyToManyField, in a ModelForm and on the admin change page."""

import pytest
from django import forms
from django.contrib.auth.models import User as AdminUser

from federated_fk.fields.many_to_many.forms import FederatedTargetsField, FederatedTargetsWidget
from federated_fk.models import GenericContentType
from tests.gm2mapp.models import Fan, Movie, Opera, User

pytestmark = pytest.mark.django_db


class UserForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name", "preferred_videos"]


@pytest.fixture
def me():
    me = User.objects.create(name="Me")
    me.preferred_videos.add(Movie.objects.create(title="V for Vendetta"))
    return me


@pytest.fixture
def remote_ct(settings):
    settings.FEDERATION = {
        **settings.FEDERATION,
        "PROJECTS": {"shop_b": {"URL": "http://127.0.0.1:9/graphql/"}},  # never reached
    }
    return GenericContentType.objects.create(
        project="shop_b", app_label="remoteshop", model="book", type_name="Book", in_schema=True
    )


def key(obj):
    return f"{GenericContentType.objects.get_for_model(obj).pk}:{obj.pk}"


def test_the_form_lists_current_targets_and_rows_to_add_more(me, remote_ct):
    form = UserForm(instance=me)
    assert isinstance(form.fields["preferred_videos"], FederatedTargetsField)
    assert isinstance(form.fields["preferred_videos"].widget, FederatedTargetsWidget)
    html = str(form["preferred_videos"])
    vendetta = Movie.objects.get()
    assert f'value="{key(vendetta)}" checked> V for Vendetta (gm2mapp.movie)' in html
    assert html.count('name="preferred_videos_ct"') == 2
    assert f'<option value="{remote_ct.pk}">shop_b remoteshop.book</option>' in html


def test_the_form_keeps_removes_and_adds_targets(me, remote_ct):
    vendetta = Movie.objects.get()
    bride = Opera.objects.create(title="The Bartered Bride")
    opera_ct = GenericContentType.objects.get_for_model(Opera)
    data = {
        "name": "Me",
        "preferred_videos": [key(vendetta)],
        "preferred_videos_ct": [str(opera_ct.pk), str(remote_ct.pk)],
        "preferred_videos_id": [str(bride.pk), "42"],
    }
    form = UserForm(data, instance=me)
    assert form.is_valid(), form.errors
    assert form.has_changed() and "preferred_videos" in form.changed_data
    form.save()
    assert me.preferred_videos.values_list("object_id", flat=True)[::1] == [
        str(vendetta.pk),
        str(bride.pk),
        "42",
    ]
    form = UserForm({"name": "Me"}, instance=me)  # nothing kept, nothing added
    assert not form.is_valid()  # required: the field is not blank=True


def test_unknown_targets_are_form_errors(me):
    movie_ct = GenericContentType.objects.get_for_model(Movie)
    for value, message in (
        ("12", "is not a target"),
        (f"{movie_ct.pk}:999", "movie 999 does not exist"),
        ("99999:1", "There is no content type 99999"),
    ):
        form = UserForm({"name": "Me", "preferred_videos": [value]}, instance=me)
        assert not form.is_valid()
        assert message in str(form.errors["preferred_videos"])


def test_the_field_is_required_unless_blank():
    form = UserForm({"name": "New"})
    assert not form.is_valid()
    assert "preferred_videos" in form.errors
    fan = Fan.objects.create(name="Fan")
    fan.videos.add(Movie.objects.create(title="Heat"))
    form = forms.modelform_factory(Fan, fields=["name", "videos"])({"name": "Fan"}, instance=fan)
    assert form.is_valid()
    form.save()
    assert fan.videos.count() == 0


def test_admin_change_page(me, client, remote_ct):
    AdminUser.objects.create_superuser("admin", "a@example.com", "pw")
    client.login(username="admin", password="pw")
    url = f"/admin/gm2mapp/user/{me.pk}/change/"
    page = client.get(url).content.decode()
    assert "V for Vendetta (gm2mapp.movie)" in page
    response = client.post(
        url,
        {
            "name": "Me",
            "preferred_videos": [key(Movie.objects.get())],
            "preferred_videos_ct": [str(remote_ct.pk)],
            "preferred_videos_id": ["7"],
        },
    )
    assert response.status_code == 302
    assert me.preferred_videos.count() == 2
    assert "shop_b remoteshop.book #7" in client.get(url).content.decode()


def test_the_form_refuses_what_a_read_would_refuse(me, remote_ct):
    vendetta = Movie.objects.get()
    movie_ct = GenericContentType.objects.get_for_model(Movie)
    gone = GenericContentType.objects.create(
        project="shop_b", app_label="remoteshop", model="pamphlet", type_name="Pamphlet"
    )
    elsewhere = GenericContentType.objects.create(
        project="shop_z", app_label="remoteshop", model="book", type_name="Book", in_schema=True
    )
    for value, message in (
        (f"{remote_ct.pk}:1.5", "is not a valid shop_b remoteshop.book id"),
        (f"{remote_ct.pk}: 7", "is not a valid shop_b remoteshop.book id"),
        (f"{gone.pk}:7", "no longer exposes it"),
        (f"{elsewhere.pk}:7", "No GraphQL endpoint is configured for project 'shop_z'"),
        (f"{movie_ct.pk}: {vendetta.pk}", f"movie  {vendetta.pk} does not exist"),
    ):
        form = UserForm({"name": "Me", "preferred_videos": [value]}, instance=me)
        assert not form.is_valid()
        assert message in " ".join(form.errors["preferred_videos"]), form.errors
    assert me.preferred_videos.count() == 1
