"""Item 3: gunicorn workers SIGKILLed, and graceful SIGTERMs, during metered calls.

Every metered call is charged and answered, or neither, counted from the
client's side against the ledger by request id. The one exception is physical:
a worker SIGKILLed after its debit committed and before its answer was sent
leaves a charged call whose client saw the connection drop; a sync worker has at
most one such call in flight, and the client can find it in the ledger by the
X-Request-ID it sent (docs/reliability.md).
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.faults.services import START_TIMEOUT
from tests.faults.traffic import Load, bearer, between, request, tally

pytestmark = pytest.mark.faults

ECHO_PRICE_MICROS = 1_000
FUNDS = 100_000_000


def test_workers_killed_and_stopped_during_metered_calls(stack):
    seeded = stack.seed(
        {
            "orgs": [{"slug": "acme", "credits_micros": FUNDS}],
            "keys": [{"name": "live", "org": "acme"}],
        }
    )
    key = seeded["keys"]["live"]["key"]
    org = seeded["orgs"]["acme"]
    first = stack.gunicorn(workers=3)
    port = stack.port

    def echo():
        # A client that gives up while its request waits in the listen queue of a
        # server whose workers are still booting would be charged without seeing
        # the answer (the worker answers a closed socket): wait as long as a boot.
        return request(
            port, "POST", "/api/v1/echo", kind="echo", headers=bearer(key),
            body={"message": "m"}, timeout=START_TIMEOUT,
        )  # fmt: skip

    with Load([echo], threads=4) as load:
        time.sleep(2.5)
        victim, graceful, *_ = first.worker_pids()
        first.signal_worker(victim, signal.SIGKILL)  # mid-request, no goodbye
        time.sleep(1.5)
        first.signal_worker(graceful, signal.SIGTERM)  # finishes its request, then exits
        time.sleep(1.5)
        replaced = first.worker_pids()
        stopped_at = time.monotonic()
        assert first.stop() == 0  # graceful shutdown of the whole server
        second = stack.gunicorn(workers=3)  # same port, as a deploy would
        restarted_at = time.monotonic()
        time.sleep(3)
    answers = load.answers
    summary = tally(answers)

    assert victim not in replaced and graceful not in replaced and len(replaced) == 3
    # Only two outcomes: a 200 that says what it charged, or no HTTP answer at all.
    assert {a.status for a in answers} <= {200, None}, summary
    ok = {a.request_id for a in answers if a.status == 200}
    dropped = {a.request_id for a in answers if a.status is None}
    assert all(a.body["charged"] == "0.001000" for a in answers if a.status == 200)
    assert len(ok) > 20 and dropped, summary
    # The restarted server serves.
    assert {a.status for a in between(answers, restarted_at, float("inf"))} == {200}, summary
    assert second.worker_pids()

    charged = [
        row[0]
        for row in stack.sql(
            "SELECT metadata->>'requestId' FROM billing_ledgerentry"
            " WHERE organization_id = %s AND kind = 'usage'",
            [org],
        )
    ]
    assert len(charged) == len(set(charged))  # nothing charged twice
    assert ok <= set(charged)  # every answered call was charged
    unanswered = set(charged) - ok
    # A charged call without an answer is one the SIGKILLed worker had in flight
    # (it died before its access-log line).
    served_by = {**first.served_by(), **second.served_by()}
    assert unanswered <= dropped and len(unanswered) <= 1, (unanswered, summary)
    assert all(served_by.get(request_id) is None for request_id in unanswered)
    refunds = stack.sql(
        "SELECT count(*) FROM billing_ledgerentry WHERE organization_id = %s AND kind = 'refund'",
        [org],
    )[0][0]
    assert refunds == 0
    balance = stack.sql(
        "SELECT balance_micros FROM billing_creditaccount WHERE organization_id = %s", [org]
    )[0][0]
    assert balance == FUNDS - len(charged) * ECHO_PRICE_MICROS
    assert stack.check_ledger().returncode == 0
    # What the client saw while the server was away: refused connections.
    assert any(a.started >= stopped_at for a in answers if a.status is None)
