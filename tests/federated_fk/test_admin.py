import pytest
from django.contrib.auth.models import User

from federated_fk.models import GenericContentType

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(user)
    return client


def test_changelist_lists_local_and_remote_content_types(admin_client, remote_book_ct):
    response = admin_client.get("/admin/federated_fk/genericcontenttype/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "shop_b" in body and "shop_a" in body and "shared" in body


def test_content_types_are_read_only(admin_client, remote_book_ct):
    assert admin_client.get("/admin/federated_fk/genericcontenttype/add/").status_code == 403
    url = f"/admin/federated_fk/genericcontenttype/{remote_book_ct.pk}/delete/"
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert GenericContentType.objects.filter(pk=remote_book_ct.pk).exists()
