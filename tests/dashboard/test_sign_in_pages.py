"""Sign-in, sign-up, sign-out and password reset pages, and the failed-attempt
throttle that the dashboard's and the admin's password sign-ins share."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import Membership, Organization, Role, User

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in_user(client):
    return client.get("/keys/").status_code == 200


def test_sign_in_page_with_the_wallet_button(client):
    response = client.get("/signin")
    assert response.status_code == 200
    body = response.content.decode()
    assert "data-siwe-login" in body
    assert "/static/js/siwe-login.js" in body
    assert 'name="csrfmiddlewaretoken"' in body


def test_slash_is_the_sign_in_page_for_a_visitor(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/signin?next=/"


def test_sign_in_with_username_or_email(client, user):
    user.email = "alice@example.com"
    user.save()
    response = client.post("/signin", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    client.post("/signout")
    response = client.post("/signin", {"username": "ALICE@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert signed_in_user(client)


def test_a_wrong_password_gets_the_form_back(client, user):
    response = client.post("/signin", {"username": "alice", "password": "wrong"})
    assert response.status_code == 400
    assert b"Please enter a correct username or email and password" in response.content or (
        b"Please enter a correct" in response.content
    )
    assert not signed_in_user(client)


def test_ten_failures_lock_the_account_even_for_the_right_password(client, user):
    for _ in range(10):
        assert client.post("/signin", {"username": "alice", "password": "wrong"}).status_code == 400
    response = client.post("/signin", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert b"Too many failed sign-in attempts" in response.content
    assert not signed_in_user(client)


def test_the_address_is_locked_after_thirty_failures_on_any_accounts(client, user):
    for i in range(30):
        client.post("/signin", {"username": f"nobody{i}", "password": "wrong"})
    response = client.post("/signin", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert b"Too many failed sign-in attempts" in response.content
    assert not signed_in_user(client)


def test_the_account_lock_holds_from_another_address(client, user):
    for _ in range(10):
        client.post(
            "/signin", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="198.51.100.7"
        )
    response = client.post(
        "/signin", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="203.0.113.9"
    )
    assert response.status_code == 400
    assert not signed_in_user(client)


def test_the_admin_login_is_throttled_too(client):
    User.objects.create_superuser(username="op", password="pw-op-long-enough")
    for _ in range(30):
        response = client.post("/admin/login/", {"username": "op", "password": "wrong"})
        assert response.status_code == 200
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "op", "password": "pw-op-long-enough"}
    )
    assert response.status_code == 200
    assert b"Too many failed sign-in attempts" in response.content
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_the_admin_login_works_before_any_lock(client):
    User.objects.create_superuser(username="op", password="pw-op-long-enough")
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "op", "password": "pw-op-long-enough"}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_sign_up_makes_a_user_who_owns_a_new_organization(client):
    response = client.post(
        "/signup",
        {
            "email": "Dana@Example.com",
            "password": "a long enough passphrase",
            "password_again": "a long enough passphrase",
            "organization_name": "Dana Labs",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/keys/"
    user = User.objects.get()
    assert user.username == "dana@example.com" and user.email == "dana@example.com"
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert membership.organization.name == "Dana Labs"
    assert signed_in_user(client)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"email": ""}, "This field is required."),
        ({"password": "short", "password_again": "short"}, "This password is too short."),
        ({"password": "password123", "password_again": "password123"}, "too common"),
        ({"password_again": "something else entirely"}, "The two passwords differ."),
        ({"organization_name": "o" * 101}, "Must be 1 to 100 characters."),
    ],
)
def test_bad_sign_up_gets_the_form_back_and_creates_nothing(client, data, message):
    form = {
        "email": "dana@example.com",
        "password": "a long enough passphrase",
        "password_again": "a long enough passphrase",
        "organization_name": "",
    } | data
    response = client.post("/signup", form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert User.objects.count() == 0
    assert Organization.objects.count() == 0


def test_sign_up_with_a_taken_email_is_refused(client, user):
    user.username = "taken@example.com"
    user.save()
    response = client.post(
        "/signup",
        {
            "email": "TAKEN@example.com",
            "password": "a long enough passphrase",
            "password_again": "a long enough passphrase",
        },
    )
    assert response.status_code == 400
    assert b"already exists" in response.content
    assert User.objects.count() == 1


def test_sign_ups_per_address_are_limited(client, settings):
    settings.SIGNUP_RATE = "2/h"
    for i in range(2):
        form = {"email": f"u{i}@example.com", "password": "a long enough passphrase"}
        form["password_again"] = form["password"]
        assert client.post("/signup", form).status_code == 302
        client.post("/signout")
    form = {"email": "u9@example.com", "password": "a long enough passphrase"}
    form["password_again"] = form["password"]
    response = client.post("/signup", form)
    assert response.status_code == 429
    assert b"Too many accounts" in response.content
    assert User.objects.count() == 2


def test_sign_out_is_a_post(owner_client):
    assert owner_client.get("/signout").status_code == 405
    assert signed_in_user(owner_client)
    response = owner_client.post("/signout")
    assert response.status_code == 302
    assert response["Location"] == "/signin"
    assert not signed_in_user(owner_client)


def test_password_reset_by_email(client, user):
    user.email = "alice@example.com"
    user.save()
    response = client.post("/password-reset", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/password-reset/sent"
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password-reset/\S+)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    assert b"Choose a new password" in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "another long passphrase", "new_password2": "another long passphrase"},
    )
    assert done.status_code == 302
    assert done["Location"] == "/password-reset/done"
    user.refresh_from_db()
    assert user.check_password("another long passphrase")


def test_password_reset_for_an_unknown_address_says_the_same(client):
    response = client.post("/password-reset", {"email": "who@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []
