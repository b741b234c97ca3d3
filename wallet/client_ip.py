"""Placeholder until the API-key branch's client_ip helper is merged."""

from __future__ import annotations


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"
