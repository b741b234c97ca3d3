"""Schemathesis hooks for fuzzing a live Gatehouse (docs/fuzzing.md).

    PYTHONPATH=scripts SCHEMATHESIS_HOOKS=schemathesis_hooks \
    FUZZ_KEY=ek_live_... FUZZ_KEY_ID=<its id> .venv/bin/schemathesis run ...

With FUZZ_KEY set, every request carries that key and none of the credential
headers schemathesis would invent (so requests reach the views), and the key's
own id is never the one revoked or regenerated. Without it, the invented ones
are sent. The `error_envelope` check is the suite's (tests/envelope.py).
"""

from __future__ import annotations

import os

import schemathesis

from tests import envelope

CREDENTIAL_HEADERS = frozenset(
    {"authorization", "cookie", "x-api-key"}
    | {"x-wallet-address", "x-timestamp", "x-wallet-signature"}
)
KEY = os.environ.get("FUZZ_KEY", "")
KEY_ID = os.environ.get("FUZZ_KEY_ID", "").strip().lower()
NOT_OURS = "00000000-0000-0000-0000-000000000000"


@schemathesis.hook
def map_case(ctx, case):
    if not KEY:
        return case
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in CREDENTIAL_HEADERS}
    headers["X-API-Key"] = KEY
    case.headers = headers
    if case.cookies:
        case.cookies.clear()
    key_id = str((case.path_parameters or {}).get("key_id", "")).strip().lower()
    if KEY_ID and key_id.replace("-", "").strip("{}") == KEY_ID.replace("-", ""):
        case.path_parameters["key_id"] = NOT_OURS
    return case


error_envelope = schemathesis.check(envelope.error_envelope)
