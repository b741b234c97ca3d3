"""Start-up checks: `manage.py` runs them before every command that serves or
migrates, and the WSGI/ASGI entry points call `assert_safe_to_serve`."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


def insecure_secret_key_errors() -> list[Error]:
    if not settings.DEBUG and settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        return [
            Error(
                "SECRET_KEY is the development key while DEBUG is off.",
                hint="Set SECRET_KEY to a long random value (python -c 'import secrets; "
                "print(secrets.token_urlsafe(50))'), or set DEBUG=1 for local development.",
                id="gatehouse.E001",
            )
        ]
    return []


@register()
def check_secret_key(app_configs, **kwargs) -> list[Error]:
    return insecure_secret_key_errors()


def assert_safe_to_serve() -> None:
    errors = insecure_secret_key_errors()
    if errors:
        raise ImproperlyConfigured(f"{errors[0].msg} {errors[0].hint}")
