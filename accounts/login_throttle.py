"""Failed password sign-ins, throttled per client address and per account.

The dashboard's sign-in and the Django admin's both authenticate through
`django.contrib.auth.authenticate`, so the throttle sits there: the first
authentication backend (`LoginLockoutBackend`) refuses every attempt, the right
password included, while the address or the account is over its limit, and
the `user_login_failed` signal counts each failure. Counters are django-ratelimit
windows in the shared cache, so every server process sees the same count.

Per account stops a slow guess at one password from many addresses; per address
stops one address from trying many accounts. A locked account stays usable
through wallet sign-in and API keys: this only guards passwords.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django_ratelimit.core import get_usage

from config.net import client_ip

logger = logging.getLogger("gatehouse.auth")

ADDRESS_GROUP = "login-failures:address"
ACCOUNT_GROUP = "login-failures:account"


@dataclass(frozen=True, slots=True)
class Lockout:
    scope: str  # "address" or "account"
    retry_after: int  # seconds until the window ends


def _account(username: Any) -> str:
    # Usernames are case-sensitive in Django, but a guesser changing case gains
    # nothing: "Alice" and "alice" share one bucket.
    return str(username or "").strip().lower()[:254]


def _buckets(request: Any, username: Any) -> list[tuple[str, str, str, str]]:
    buckets = [
        ("address", ADDRESS_GROUP, settings.LOGIN_FAILURES_PER_ADDRESS, client_ip(request) or "-")
    ]
    account = _account(username)
    if account:
        buckets.append(("account", ACCOUNT_GROUP, settings.LOGIN_FAILURES_PER_ACCOUNT, account))
    return buckets


def _usage(request: Any, group: str, rate: str, value: str, *, increment: bool) -> dict | None:
    try:
        return get_usage(
            request, group=group, key=lambda _g, _r: value, rate=rate, increment=increment
        )
    except Exception:
        # The shared cache is away. RATE_LIMIT_FAIL_OPEN decides, as for every counter.
        logger.exception("Cache unavailable while counting failed sign-ins")
        if settings.RATE_LIMIT_FAIL_OPEN:
            return None
        return {"count": 1, "limit": 0, "time_left": 60}


def login_lockout(request: Any, username: Any) -> Lockout | None:
    """The lock-out in force for this address or account, if any."""
    if request is None:
        return None  # not a web sign-in (a shell, a command): nothing to count against
    for scope, group, rate, value in _buckets(request, username):
        usage = _usage(request, group, rate, value, increment=False)
        if usage is not None and usage["count"] >= usage["limit"]:
            return Lockout(scope=scope, retry_after=max(1, int(usage["time_left"])))
    return None


def login_failure_count(request: Any, username: Any) -> None:
    """Count one failed sign-in against the address and the account."""
    if request is None:
        return
    for _scope, group, rate, value in _buckets(request, username):
        _usage(request, group, rate, value, increment=True)


class LoginLockoutBackend(ModelBackend):
    """First in AUTHENTICATION_BACKENDS: while locked out, no backend is asked.

    Raising PermissionDenied stops `authenticate()` there (it then sends
    `user_login_failed`); otherwise None lets the next backend (ModelBackend)
    check the password. It is a ModelBackend only so that a session recorded
    with it (`force_login` picks the first backend) finds its user.
    """

    def authenticate(self, request: Any, username: Any = None, password: Any = None, **kwargs):
        lockout = login_lockout(request, username)
        if lockout is not None:
            logger.warning(
                "Unauthorized access attempt: password sign-in while locked out (%s) from %s",
                lockout.scope,
                client_ip(request),
            )
            raise PermissionDenied("Too many failed sign-in attempts.")
        return None


@receiver(user_login_failed)
def _count_failed_login(sender: Any, credentials: dict, request: Any = None, **kwargs) -> None:
    login_failure_count(request, credentials.get("username"))


SIGNUP_GROUP = "signups:address"


def signup_refused(request: Any) -> Lockout | None:
    """Count a sign-up from this address against SIGNUP_RATE; a Lockout once past it.

    Counted before the account is made, so failed attempts count too: a script
    trying addresses cannot make more accounts by making mistakes first."""
    value = client_ip(request) or "-"
    usage = _usage(request, SIGNUP_GROUP, settings.SIGNUP_RATE, value, increment=True)
    if usage is not None and usage["count"] > usage["limit"]:
        return Lockout(scope="address", retry_after=max(1, int(usage["time_left"])))
    return None
