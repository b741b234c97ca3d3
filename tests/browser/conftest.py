"""A live Gatehouse under gunicorn (DEBUG off, static files collected and served
by whitenoise) on the test database and Redis, taking x402 payments on the
session's local chain (tests/payments/fixtures.py), and Debian's Chromium
driven by Playwright. Runs in the PostgreSQL + Redis pass only (the `browser` marker);
there a missing Chromium fails the tests, it never skips them.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(settings.BASE_DIR)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "a long enough passphrase"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(static_root: Path, port: int, chain=None) -> dict[str, str]:
    db = settings.DATABASES["default"]
    url = urlsplit(os.environ["DATABASE_URL"])
    # The database pytest-django made (test_<name>): the server sees what tests commit.
    database_url = urlunsplit(url._replace(path="/" + db["NAME"]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=database_url,
        REDIS_URL=os.environ["REDIS_URL"],
        APP_URL=f"http://127.0.0.1:{port}",
        STATIC_ROOT=str(static_root),
        LOG_LEVEL="WARNING",
    )
    if chain is not None:
        # Payments on, as in tests/payments/fixtures.py's `paying`: the Billing page
        # offers its top-up buttons and the in-process facilitator settles on chain.
        env.update({name: str(value) for name, value in chain.paying_settings().items()})
    return env


@pytest.fixture(scope="session")
def live_url(django_db_setup, django_db_blocker, tmp_path_factory, chain):
    """The base URL of a gunicorn serving Gatehouse as in production, payments on."""
    port = _free_port()
    static_root = tmp_path_factory.mktemp("static")
    env = _server_env(static_root, port, chain)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    log = (tmp_path_factory.mktemp("server") / "gunicorn.log").open("w+")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"gunicorn did not start:\n{log.read()[-4000:]}")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which
    # Django's async-safety check takes for async code calling the ORM. The tests
    # are synchronous; the check does not apply (Django's documented switch).
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_url, transactional_db):
    context = chromium.new_context(base_url=live_url, viewport=DESKTOP)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def api_get(live_url: str, path: str, key: str) -> int:
    """Status of a GET on the live API with a key (no cookies: not the browser's session)."""
    request = urllib.request.Request(live_url + path, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def make_person(username: str, *, org=None, role: str = "owner", email: str = ""):
    """A user with PASSWORD, hashed the way the server checks it (the test process
    itself uses a fast hasher the server does not know)."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from accounts.models import User
    from accounts.services import membership_add

    hasher = PBKDF2PasswordHasher()
    user = User.objects.create(
        username=username, email=email, password=hasher.encode(PASSWORD, hasher.salt())
    )
    if org is not None:
        membership_add(user=user, organization=org, role=role)
    return user


def sign_in(page, live_url: str, username: str) -> None:
    page.goto("/signin")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{live_url}/")
