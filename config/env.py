"""Typed readers for environment variables.

Settings are read once at start-up; a malformed value stops the process with a
message that names the variable, instead of failing later on a request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE_RE = re.compile(r"^(\d+)/(\d*)([smhd])$")


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_usd(name: str, default: str) -> Decimal:
    """A non-negative USD amount with at most 6 decimals (credits are micro-dollars)."""
    raw = os.environ.get(name, default).strip()
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ImproperlyConfigured(
            f"{name} must be a USD amount like 5 or 2.5, got {raw!r}"
        ) from exc
    if not value.is_finite() or value < 0 or value.as_tuple().exponent < -6:  # type: ignore[operator]
        raise ImproperlyConfigured(
            f"{name} must be a non-negative USD amount with at most 6 decimals, got {raw!r}"
        )
    return value


def env_parsed(name: str, default: str, parse: Callable[[str], object]) -> object:
    raw = os.environ.get(name, default)
    try:
        return parse(raw)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from exc


@lru_cache(maxsize=64)
def parse_rate(rate: str) -> tuple[int, int]:
    """ "20/m" -> (20, 60); "100/5m" -> (100, 300). Raises ValueError on anything else."""
    match = _RATE_RE.match(rate.strip()) if isinstance(rate, str) else None
    if not match:
        raise ValueError(f"rate must look like 20/m or 100/5m, got {rate!r}")
    count, multiplier, unit = match.groups()
    period = _PERIODS[unit] * (int(multiplier) if multiplier else 1)
    if int(count) < 1 or period < 1:
        raise ValueError(f"rate must allow at least one request per period, got {rate!r}")
    return int(count), period


def env_rate(name: str, default: str) -> str:
    """A rate in django-ratelimit's syntax ("20/m", "100/5m"), checked by parse_rate."""
    value = env_str(name, default)
    try:
        parse_rate(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must look like 20/m or 100/5m, got {value!r}") from None
    return value


def load_env_file(default: str) -> None:
    """Read the development `.env` (written by the first `make run`) into the environment.

    manage.py calls this, so operator commands see the same DEBUG and SECRET_KEY
    as the server `make run` started. Variables already in the environment win.
    GATEHOUSE_ENV_FILE names another file; empty reads none (the test suite sets it so).
    """
    path = os.environ.get("GATEHOUSE_ENV_FILE", default)
    if path:
        load_dotenv(path, override=False)
