import pytest
from django.contrib.admin.sites import site

from accounts.models import User
from apikeys.check import KeyCode, apikey_verify
from apikeys.models import APIKey, APIKeyEvent, EventAction
from apikeys.services import apikey_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator(db):
    return User.objects.create_superuser(username="op", password="operator password 1")


@pytest.fixture
def admin_client(client, operator):
    client.force_login(operator)
    return client


def test_list_and_detail_never_show_secret_or_digest(admin_client, org):
    key, full = apikey_create(organization=org, name="visible")
    r = admin_client.get("/admin/apikeys/apikey/")
    assert r.status_code == 200
    page = r.content.decode()
    assert key.hint in page and "visible" in page and "Acme" in page  # the organization by name
    assert full not in page and key.digest not in page
    r = admin_client.get(f"/admin/apikeys/apikey/{key.pk}/change/")
    assert r.status_code == 200
    page = r.content.decode()
    assert key.hint in page
    assert full not in page and key.digest not in page
    assert "digest" not in site._registry[APIKey].get_fields(r.wsgi_request, key)


def test_search_and_filters(admin_client, org):
    apikey_create(organization=org, name="alpha")
    revoked, _ = apikey_create(organization=org, name="beta")
    admin_client.post(
        "/admin/apikeys/apikey/",
        {"action": "revoke_keys", "_selected_action": [str(revoked.pk)]},
    )
    assert "alpha" in admin_client.get("/admin/apikeys/apikey/?q=alph").content.decode()
    assert "beta" not in admin_client.get("/admin/apikeys/apikey/?q=alph").content.decode()
    active = admin_client.get("/admin/apikeys/apikey/?status=active").content.decode()
    assert "alpha" in active and "beta" not in active
    gone = admin_client.get("/admin/apikeys/apikey/?status=revoked").content.decode()
    assert "beta" in gone and "alpha" not in gone
    assert admin_client.get("/admin/apikeys/apikey/?environment=live").status_code == 200


def test_revoke_action_goes_through_the_service(admin_client, org, operator):
    key, full = apikey_create(organization=org, name="doomed")
    assert apikey_verify(full).valid  # cached
    r = admin_client.post(
        "/admin/apikeys/apikey/",
        {"action": "revoke_keys", "_selected_action": [str(key.pk)]},
        follow=True,
    )
    assert r.status_code == 200
    assert "Revoked 1 API key(s)." in r.content.decode()
    assert apikey_verify(full).code is KeyCode.REVOKED
    event = APIKeyEvent.objects.get(key=key, action=EventAction.REVOKED)
    assert event.actor_id == operator.pk


def test_no_add_or_delete(admin_client, org):
    key, _ = apikey_create(organization=org, name="k")
    assert admin_client.get("/admin/apikeys/apikey/add/").status_code == 403
    assert admin_client.get(f"/admin/apikeys/apikey/{key.pk}/delete/").status_code == 403
    assert admin_client.get("/admin/apikeys/apikeyevent/").status_code == 200
