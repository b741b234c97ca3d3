"""The client's address, the one way every part of Gatehouse finds it.

REMOTE_ADDR is the peer. X-Forwarded-For is believed only when that peer is one
of settings.TRUSTED_PROXIES (addresses or CIDR networks), and then only as far
as the chain of trusted proxies goes: walking the header from the right, the
first address that is not a trusted proxy is the client. Anything a client
writes to the left of that is ignored, so it cannot choose its own address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings

MAX_FORWARDED_HOPS = 20
_ATTR = "gatehouse_client_ip"


@lru_cache(maxsize=8)
def _trusted_networks(proxies: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


# Pure functions of their arguments, memoised: a busy server sees the same few
# addresses over and over, and parsing them is most of the cost here.
@lru_cache(maxsize=4096)
def _normalised(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _is_trusted(address: str, proxies: tuple[str, ...]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in _trusted_networks(proxies))


def client_ip(request: Any) -> str | None:
    """The client's address for a Django or DRF request; None only when the server
    gave no usable peer address."""
    django_request = getattr(request, "_request", request)
    cached = django_request.__dict__.get(_ATTR, False)
    if cached is not False:
        return cached
    meta = django_request.META
    address = _normalised(meta.get("REMOTE_ADDR", ""))
    proxies = tuple(settings.TRUSTED_PROXIES)
    if address is not None and proxies and _is_trusted(address, proxies):
        hops = meta.get("HTTP_X_FORWARDED_FOR", "").split(",")[-MAX_FORWARDED_HOPS:]
        for hop in reversed(hops):
            candidate = _normalised(hop) if len(hop) <= 64 else None
            if candidate is None:
                break  # garbage: keep the last address a trusted proxy vouched for
            address = candidate
            if not _is_trusted(candidate, proxies):
                break
    django_request.__dict__[_ATTR] = address
    return address
