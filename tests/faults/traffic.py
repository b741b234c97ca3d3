"""Clients for the fault tests: one request, real signatures, and a bounded load.

Every request has a deadline (the socket timeout) and gets a request id, so an
answer can be matched with the server's access log and with the ledger.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import siwe
from eth_account import Account
from eth_account.messages import encode_defunct

WALLET_PREFIX = "Eliza Cloud Authentication"  # settings.WALLET_AUTH_MESSAGE_PREFIX default
# No request may take longer than this, whatever is broken underneath (seconds).
REQUEST_TIMEOUT = 20


@dataclass
class Answer:
    kind: str
    method: str
    path: str
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    body: Any
    headers: dict[str, str]
    started: float
    seconds: float
    request_id: str
    error: str = ""

    @property
    def code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"].get("code")
        return None


def request(
    port: int,
    method: str,
    path: str,
    *,
    kind: str = "",
    headers: dict[str, str] | None = None,
    body: Any = None,
    timeout: float = REQUEST_TIMEOUT,
) -> Answer:
    request_id = uuid.uuid4().hex
    sent = {"X-Request-ID": request_id, **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        raw = response.read()
        status, answer_headers = response.status, {k.lower(): v for k, v in response.getheaders()}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        error = ""
    except (OSError, http.client.HTTPException) as exc:
        status, parsed, answer_headers, error = None, None, {}, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    return Answer(
        kind or path, method, path, status, parsed, answer_headers, started,
        time.monotonic() - started, request_id, error,
    )  # fmt: skip


def wallet() -> Any:
    return Account.create()


def personal_sign(account: Any, text: str) -> str:
    return "0x" + account.sign_message(encode_defunct(text=text)).signature.hex()


_last_ts: dict[str, int] = {}
_ts_lock = threading.Lock()


def wallet_headers(account: Any, method: str, path: str) -> dict[str, str]:
    # Two signed requests of one wallet in the same millisecond would sign the same
    # text (the second a replay): each wallet's timestamps strictly increase.
    with _ts_lock:
        ms = max(time.time_ns() // 1_000_000, _last_ts.get(account.address, 0) + 1)
        _last_ts[account.address] = ms
    ts = str(ms)
    text = f"{WALLET_PREFIX}\nTimestamp: {ts}\nMethod: {method}\nPath: {path}"
    return {
        "X-Wallet-Address": account.address,
        "X-Timestamp": ts,
        "X-Wallet-Signature": personal_sign(account, text),
    }


def siwe_message(account: Any, *, port: int, nonce: str) -> str:
    now = dt.datetime.now(dt.UTC)
    return siwe.SiweMessage(
        domain=f"127.0.0.1:{port}",
        address=account.address,
        uri=f"http://127.0.0.1:{port}",
        version="1",
        chain_id=1,
        issued_at=siwe.ISO8601Datetime.from_datetime(now),
        expiration_time=siwe.ISO8601Datetime.from_datetime(now + dt.timedelta(minutes=5)),
        nonce=nonce,
        statement="Sign in to Gatehouse.",
    ).prepare_message()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Load:
    """Threads that call `mix` in turn until stopped (or a hard deadline): bounded loops."""

    mix: list[Callable[[], Answer | list[Answer]]]
    threads: int = 4
    max_seconds: float = 600
    answers: list[Answer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    crashed: list[BaseException] = field(default_factory=list)

    def _run(self, offset: int) -> None:
        deadline = time.monotonic() + self.max_seconds
        i = offset
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                got = self.mix[i % len(self.mix)]()
                got = got if isinstance(got, list) else [got]
                i += 1
                with self._lock:
                    self.answers.extend(got)
                if any(a.status is None for a in got):
                    time.sleep(0.05)  # no server there: do not spin
        except BaseException as exc:  # a bug in the test's own client code
            self.crashed.append(exc)

    def __enter__(self) -> Load:
        for n in range(self.threads):
            thread = threading.Thread(target=self._run, args=(n,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT * 3)
        assert not any(t.is_alive() for t in self._threads), "a load thread hung"
        if self.crashed:
            raise self.crashed[0]

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)


def between(answers: list[Answer], start: float, end: float) -> list[Answer]:
    """Answers to requests sent after `start` that came back before `end`."""
    return [a for a in answers if a.started >= start and a.started + a.seconds <= end]


def tally(answers: list[Answer]) -> Counter:
    return Counter((a.kind, a.status, a.code) for a in answers)
