"""Roles on the pages (SPEC §1), enforced on the server: a member manages only the
keys they created and sees no billing; only owners change roles."""

from __future__ import annotations

import pytest

from accounts.authentication import ACTIVE_ORG_SESSION_KEY
from accounts.models import Membership, Role
from accounts.services import membership_add
from apikeys.check import apikey_verify
from apikeys.models import APIKey
from apikeys.services import apikey_create

pytestmark = pytest.mark.django_db


def test_a_member_cannot_revoke_an_admins_key(member_client, org, org_admin):
    theirs, full_key = apikey_create(organization=org, created_by=org_admin, name="admin's")
    listing = member_client.get("/keys/")
    assert b"admin&#x27;s" in listing.content
    assert f"/keys/{theirs.pk}/revoke".encode() not in listing.content
    page = member_client.get(f"/keys/{theirs.pk}/")
    assert page.status_code == 200
    assert b"Revoke" not in page.content and b"Regenerate" not in page.content

    for url in (f"/keys/{theirs.pk}/revoke", f"/keys/{theirs.pk}/regenerate"):
        assert member_client.get(url).status_code == 403
        forged = member_client.post(url, {"grace_period": "0"})
        assert forged.status_code == 403
        assert b"only the keys they created" in forged.content
    fresh = APIKey.objects.get(pk=theirs.pk)
    assert fresh.revoked_at is None and fresh.regenerated_at is None
    assert apikey_verify(full_key).valid


def test_a_member_manages_the_keys_they_created(member_client, member):
    created = member_client.post(
        "/keys/new",
        {
            "form_token": "m" * 32,
            "name": "mine",
            "environment": "test",
            "expires_in": "7",
            "permissions": ["chat:read"],
        },
    )
    assert created.status_code == 201
    key = APIKey.objects.get()
    assert key.created_by_id == member.pk
    assert f"/keys/{key.pk}/revoke".encode() in member_client.get("/keys/").content
    assert member_client.post(f"/keys/{key.pk}/revoke").status_code == 302
    assert APIKey.objects.get().revoked_at is not None


def test_a_member_cannot_touch_an_operators_key(member_client, org):
    operators, _ = apikey_create(organization=org, name="made by an operator")
    assert member_client.post(f"/keys/{operators.pk}/revoke").status_code == 403
    assert APIKey.objects.get().revoked_at is None


def test_an_admin_manages_every_key(client, org, org_admin, member):
    members_key, _ = apikey_create(organization=org, created_by=member, name="bob's")
    client.force_login(org_admin)
    assert client.post(f"/keys/{members_key.pk}/revoke").status_code == 302
    assert APIKey.objects.get().revoked_at is not None


def test_billing_is_for_owners_and_admins(member_client, client, user, org_admin):
    assert member_client.get("/billing/").status_code == 403
    overview = member_client.get("/")
    assert overview.status_code == 200
    assert b"Credit balance" not in overview.content
    assert b'href="/billing/"' not in overview.content
    for person in (user, org_admin):
        client.force_login(person)
        assert client.get("/billing/").status_code == 200
        assert b"Credit balance" in client.get("/").content


def test_owners_change_roles(owner_client, org, member):
    page = owner_client.get("/members/")
    assert page.status_code == 200
    assert f"/members/{member.pk}/role".encode() in page.content
    response = owner_client.post(f"/members/{member.pk}/role", {"role": "admin"})
    assert response.status_code == 302
    assert Membership.objects.get(user=member).role == Role.ADMIN


def test_members_and_admins_cannot_change_roles(client, org, member, org_admin, user):
    for person in (member, org_admin):
        client.force_login(person)
        assert b"/role" not in client.get("/members/").content
        response = client.post(f"/members/{user.pk}/role", {"role": "member"})
        assert response.status_code == 403
    assert Membership.objects.get(user=user).role == Role.OWNER
    assert Membership.objects.get(user=member).role == Role.MEMBER


def test_the_last_owner_stays_an_owner(owner_client, user):
    response = owner_client.post(f"/members/{user.pk}/role", {"role": "member"}, follow=True)
    assert b"at least one owner" in response.content
    assert Membership.objects.get(user=user).role == Role.OWNER


def test_bad_role_changes_change_nothing(owner_client, member, other_org):
    assert owner_client.post(f"/members/{member.pk}/role", {"role": "god"}).status_code == 302
    assert Membership.objects.get(user=member).role == Role.MEMBER
    stranger = membership_add(user=member, organization=other_org, role=Role.MEMBER)
    response = owner_client.post(
        "/members/00000000-0000-0000-0000-000000000000/role", {"role": "admin"}, follow=True
    )
    assert b"No such member" in response.content
    assert owner_client.get(f"/members/{member.pk}/role").status_code == 405
    assert Membership.objects.get(pk=stranger.pk).role == Role.MEMBER


def test_the_switcher_changes_the_organization(owner_client, user, other_org):
    membership_add(user=user, organization=other_org, role=Role.ADMIN)
    theirs, _ = apikey_create(organization=other_org, name="in other")
    page = owner_client.get("/")
    assert b"switch" in page.content
    assert b"in other" not in owner_client.get("/keys/").content
    response = owner_client.post("/organization/switch", {"organization": str(other_org.pk)})
    assert response.status_code == 302
    assert owner_client.session[ACTIVE_ORG_SESSION_KEY] == str(other_org.pk)
    assert b"in other" in owner_client.get("/keys/").content
    assert owner_client.get(f"/keys/{theirs.pk}/").status_code == 200


def test_the_switcher_refuses_an_organization_you_are_not_in(owner_client, other_org, org):
    assert (
        owner_client.post("/organization/switch", {"organization": str(other_org.pk)}).status_code
        == 404
    )
    assert owner_client.post("/organization/switch", {"organization": "nope"}).status_code == 404
    assert owner_client.session.get(ACTIVE_ORG_SESSION_KEY) is None


def test_a_user_removed_from_every_organization_sees_no_pages(owner_client, user):
    Membership.objects.filter(user=user).delete()
    response = owner_client.get("/keys/")
    assert response.status_code == 403
    assert b"does not belong to any organization" in response.content


def test_a_members_key_is_no_stronger_than_the_member(member_client, member, org):
    form = {"form_token": "n" * 32, "name": "strong", "environment": "live", "expires_in": "7"}
    page = member_client.get("/keys/new").content.decode()
    assert 'value="chat:read"' in page and 'value="keys"' not in page
    everything = member_client.post("/keys/new", form)
    assert everything.status_code == 403
    assert b"choose the key&#x27;s permissions" in everything.content
    keys = member_client.post("/keys/new", form | {"permissions": ["keys"]})
    assert keys.status_code == 400
    assert b"Select a valid choice." in keys.content
    assert APIKey.objects.count() == 0

    # A key that already holds more (say the member was an admin when making it)
    # cannot be regenerated by them: the new secret would be stronger than they are.
    strong, full_key = apikey_create(
        organization=org, created_by=member, name="old", permissions=["keys"]
    )
    assert (
        member_client.post(f"/keys/{strong.pk}/regenerate", {"grace_period": "0"}).status_code
        == 403
    )
    assert apikey_verify(full_key).valid
    assert member_client.post(f"/keys/{strong.pk}/revoke").status_code == 302


def test_an_admin_grants_any_permission(client, org_admin):
    client.force_login(org_admin)
    form = {"form_token": "a" * 32, "name": "ops", "environment": "live", "expires_in": "7"}
    assert client.post("/keys/new", form | {"permissions": ["keys", "billing"]}).status_code == 201
    assert APIKey.objects.get().permissions == ["billing", "keys"]
