import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing import services
from billing.models import EntryKind, LedgerEntry

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_grant_credits(org, capsys):
    call_command("grant_credits", "--org", "acme", "--usd", "12.5", "--reason", "goodwill")
    assert capsys.readouterr().out == "Granted 12.500000 USD to acme; balance 12.500000 USD.\n"
    entry = LedgerEntry.objects.get()
    assert entry.kind == EntryKind.ADJUSTMENT
    assert entry.amount_micros == 12_500_000
    assert entry.description == "goodwill"


@pytest.mark.django_db
def test_grant_credits_reference_is_idempotent(org, capsys):
    for _ in range(2):
        call_command("grant_credits", "--org=acme", "--usd=1", "--reason=r", "--reference=t-1")
    assert services.balance_micros(organization=org) == 1_000_000
    entry = LedgerEntry.objects.get()
    when = entry.created_at.strftime("%Y-%m-%d %H:%M:%S")
    assert capsys.readouterr().out == (
        "Granted 1.000000 USD to acme; balance 1.000000 USD.\n"
        f"Reference 't-1' was already applied (ledger entry {entry.pk} of {when} UTC, "
        "1.000000 USD to acme); nothing changed. Balance 1.000000 USD.\n"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("second", [["--org=other", "--usd=1"], ["--org=acme", "--usd=2"]])
def test_grant_credits_reference_used_for_another_grant_is_an_error(org, second, capsys):
    from accounts.services import organization_create

    other = organization_create(name="Other", slug="other")
    call_command("grant_credits", "--org=acme", "--usd=1", "--reason=r", "--reference=t-1")
    entry = LedgerEntry.objects.get()
    with pytest.raises(CommandError) as exc:
        call_command("grant_credits", *second, "--reason=r", "--reference=t-1")
    when = entry.created_at.strftime("%Y-%m-%d %H:%M:%S")
    assert str(exc.value) == (
        f"Reference 't-1' is already used by ledger entry {entry.pk} of {when} UTC, "
        "1.000000 USD to acme; nothing changed."
    )
    assert capsys.readouterr().out == "Granted 1.000000 USD to acme; balance 1.000000 USD.\n"
    assert LedgerEntry.objects.count() == 1
    assert services.balance_micros(organization=other) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org=nope", "--usd=1", "--reason=r"], "No organization with slug 'nope'."),
        (["--org=acme", "--usd=-1", "--reason=r"], "--usd must be positive."),
        (["--org=acme", "--usd=0", "--reason=r"], "--usd must be positive."),
        (["--org=acme", "--usd=1.1234567", "--reason=r"], "--usd has more than 6 decimals."),
        (
            ["--org=acme", "--usd=ten", "--reason=r"],
            '--usd must be a decimal number such as "12.5".',
        ),
        (
            ["--org=acme", "--usd=1e12", "--reason=r"],
            '--usd must be a decimal number such as "12.5".',
        ),
        (["--org=acme", "--usd=2000000000", "--reason=r"], "--usd must be at most 1000000000 USD."),
        (["--org=acme", "--usd=1", "--reason=  "], "--reason must not be empty."),
    ],
)
def test_grant_credits_bad_input_changes_nothing(org, args, message):
    with pytest.raises(CommandError) as exc:
        call_command("grant_credits", *args)
    assert str(exc.value) == message
    assert LedgerEntry.objects.count() == 0


def test_commands_exit_non_zero_from_the_shell(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DEBUG="1", SQLITE_PATH=str(tmp_path / "cmd.sqlite3"))

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )

    assert manage("migrate", "-v0").returncode == 0
    bad = manage("grant_credits", "--org", "ghost", "--usd", "1", "--reason", "x")
    assert bad.returncode == 1
    assert "No organization with slug 'ghost'." in bad.stderr
    missing = manage("grant_credits", "--org", "ghost")
    assert missing.returncode == 2
    ok = manage("check_ledger")
    assert ok.returncode == 0
    assert ok.stdout == "Every balance equals its ledger.\n"
