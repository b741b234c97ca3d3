import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Organization
from apikeys import keyformat
from apikeys.check import KeyCode, apikey_verify
from apikeys.models import APIKey

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


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


def test_operator_made_keys_belong_to_no_user(org, user):
    run("--org", "acme", "--name", "ops")
    key = APIKey.objects.get()
    assert key.created_by is None
    assert key.organization == org


def test_exit_codes_from_the_shell(tmp_path):
    """0 with the key alone on the last line; 1 for a refused request (CommandError);
    2 for arguments argparse refuses. Nothing is created by a refused run."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DEBUG="1", SQLITE_PATH=str(tmp_path / "keys.sqlite3"))

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )

    def key_count():
        counted = manage(
            "shell", "-c", "from apikeys.models import APIKey; print(APIKey.objects.count())"
        )
        assert counted.returncode == 0, counted.stderr
        return int(counted.stdout.split()[-1])

    assert manage("migrate", "-v0").returncode == 0
    missing_org = manage("create_api_key", "--org", "ghost", "--name", "x")
    assert missing_org.returncode == 1
    assert missing_org.stderr == (
        "CommandError: No organization with slug 'ghost'; pass --create-org to create it.\n"
    )
    bad_number = manage("create_api_key", "--org", "ghost", "--name", "x", "--rate-limit", "0")
    assert bad_number.returncode == 2
    assert "'0' must be at least 1" in bad_number.stderr

    ok = manage("create_api_key", "--org", "newco", "--name", "ci", "--create-org")
    assert ok.returncode == 0, ok.stderr
    last = ok.stdout.splitlines()[-1]
    assert re.fullmatch(r"ek_live_[0-9A-Za-z]{38}", last)
    assert ok.stdout.count(last) == 1
    assert key_count() == 1  # the refused runs made nothing
