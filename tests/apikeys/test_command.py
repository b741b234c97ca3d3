from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Organization
from apikeys import keyformat
from apikeys.check import KeyCode, apikey_verify
from apikeys.models import APIKey

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args):
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue()


def test_creates_key_and_prints_it_alone_on_the_last_line(org):
    output = run(
        "--org", "acme", "--name", "ci", "--permissions", "chat, keys", "--rate-limit", "120"
    )
    last = output.splitlines()[-1]
    assert keyformat.parse(last).environment == "live"
    assert output.count(last) == 1
    key = APIKey.objects.get()
    assert (key.organization, key.name, key.permissions, key.rate_limit) == (
        org,
        "ci",
        ["chat", "keys"],
        120,
    )
    assert apikey_verify(last).code is KeyCode.VALID


def test_test_key_expiry_and_create_org(db):
    output = run(
        "--org", "newco", "--name", "sandbox", "--create-org", "--test", "--expires-in-days", "7"
    )
    key = keyformat.parse(output.splitlines()[-1])
    assert key.environment == "test"
    row = APIKey.objects.get()
    assert row.organization.slug == "newco"
    assert (row.expires_at - row.created_at).days in {6, 7}
    assert Organization.objects.filter(slug="newco").count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "nope", "--name", "x"], "No organization with slug 'nope'; pass --create-org"),
        (
            ["--org", "acme", "--name", "x", "--permissions", "chat,root"],
            "Unknown permission 'root'",
        ),
        (["--org", "acme", "--name", "x", "--rate-limit", "abc"], "'abc' is not a whole number"),
        (["--org", "acme", "--name", "x", "--rate-limit", "0"], "'0' must be at least 1"),
        (["--org", "acme", "--name", "x", "--rate-limit", "999999999"], "rateLimit"),
        (["--org", "acme", "--name", "x", "--expires-in-days", "400"], "at most 365"),
        (["--org", "acme", "--name", "x", "--expires-in-days", "-3"], "must be at least 1"),
        (["--org", "acme", "--name", "   "], "name"),
        (["--org", "acme", "--name", "x" * 101], "name"),
        (["--org", "Bad Slug!", "--name", "x", "--create-org"], "slug"),
        (["--name", "x"], "--org"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(org, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        run(*args)
    assert APIKey.objects.count() == 0
    assert Organization.objects.count() == 1
