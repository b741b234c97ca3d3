"""Settings come from the environment; each case imports them in a fresh process."""

import json
import subprocess

from tests.helpers import run_python

PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": db["NAME"], "max_age": db.get("CONN_MAX_AGE"),
    "health": db.get("CONN_HEALTH_CHECKS"),
    "prepared": [db["OPTIONS"].get(k) for k in ("server_side_binding", "prepare_threshold")],
    "cache": settings.CACHES["default"]["BACKEND"],
    "domain": settings.APP_DOMAIN, "origin": settings.APP_ORIGIN,
    "hsts": getattr(settings, "SECURE_HSTS_SECONDS", 0),
    "secure_cookie": settings.SESSION_COOKIE_SECURE,
    "anonymous_rate": settings.ANONYMOUS_RATE, "auth_failure_rate": settings.AUTH_FAILURE_RATE,
}))
"""


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return run_python(
        "-c",
        code,
        drop=(
            "DATABASE_URL",
            "REDIS_URL",
            "DEBUG",
            "SECRET_KEY",
            "APP_URL",
            "ANONYMOUS_RATE",
            "AUTH_FAILURE_RATE",
            "DB_PREPARED_STATEMENTS",
        ),
        **env,
    )


def probe(**env: str) -> dict:
    result = run(PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_need_no_services():
    s = probe()
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["domain"] == "127.0.0.1:8000"
    assert s["origin"] == "http://127.0.0.1:8000"
    # The SPEC's rates, as defaults (no environment override in this process).
    assert s["anonymous_rate"] == "30/m"
    assert s["auth_failure_rate"] == "20/m"


def test_database_url_and_redis_url():
    s = probe(DATABASE_URL="postgres://u:p@db.internal:5433/gate", REDIS_URL="redis://cache:6379/2")
    assert s["engine"] == "config.postgresql"  # Django's, with a cheaper health check
    assert s["name"] == "gate"
    assert s["max_age"] == 600
    assert s["health"] is True
    assert s["prepared"] == [True, 5]
    assert s["cache"] == "django_redis.cache.RedisCache"


def test_prepared_statements_can_be_turned_off():
    s = probe(DATABASE_URL="postgres://u:p@db.internal:5433/gate", DB_PREPARED_STATEMENTS="0")
    assert s["prepared"] == [None, None]


def test_postgres_driver_is_psycopg3():
    result = run("import django.db.backends.postgresql.base as b; print(b.is_psycopg3)")
    assert result.stdout.strip() == "True"


def test_app_url_gives_siwe_domain_and_https_security():
    s = probe(APP_URL="https://auth.example.com", SECRET_KEY="x" * 50)
    assert s["domain"] == "auth.example.com"
    assert s["origin"] == "https://auth.example.com"
    assert s["hsts"] == 31536000
    assert s["secure_cookie"] is True


def test_bad_app_url_stops_start_up():
    result = run("import django; django.setup()", APP_URL="ftp://x")
    assert result.returncode != 0
    assert "APP_URL must be an http(s) origin" in result.stderr


def test_bad_boolean_stops_start_up():
    result = run("import django; django.setup()", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_refuses_development_secret_key_with_debug_off():
    result = run_python("manage.py", "check", drop=("DEBUG", "SECRET_KEY"))
    assert result.returncode == 1
    assert "gatehouse.E001" in result.stderr

    wsgi = run("import config.wsgi")
    assert wsgi.returncode == 1
    assert "SECRET_KEY is the development key while DEBUG is off" in wsgi.stderr


def test_serves_with_a_real_secret_key_or_debug():
    assert run("import config.wsgi", SECRET_KEY="s" * 50).returncode == 0
    assert run("import config.wsgi", DEBUG="1").returncode == 0


def test_invalid_initial_free_credits_stops_start_up():
    for bad in ("abc", "-1", "1.0000001"):
        result = run("import django; django.setup()", INITIAL_FREE_CREDITS=bad)
        assert result.returncode != 0, bad
        assert "INITIAL_FREE_CREDITS" in result.stderr
