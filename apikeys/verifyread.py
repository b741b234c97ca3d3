"""The remote verify endpoint's shared state in one Redis round trip.

A gateway's verify call needs the caller's key record and rate counter, the
checked key's record and rate counter, and the checked key's organization's
balance. One Lua script reads them all, and increments the counters in the order
the endpoint decides: the caller's always (as the API-key authentication does);
the checked key's only when the call will be answered and the key passes, which
the script cannot judge by itself (records are pickled). So the process says
which record bytes it expects: the bytes it last read for that key and judged
valid for this call (not expired, not revoked, allowed from this address, holding
the permissions asked for; for the caller, holding `verify`, and within its limit
after this request). The script counts the checked key only when both live
records still are exactly those bytes. Any change to a key (a revocation, an
expiry, new permissions) publishes new bytes, so a changed key is never counted
on a stale judgement: the process judges the record it got back and counts then,
in a second round trip, only if that record passes. Revocation stays immediate
and every count exact.

Redis only (LookupError otherwise); the caller falls back to the general path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apikeys import keycache
from apikeys.keycache import HotNames, HotRead, KeyRecord
from config import cache as shared_cache
from config import ratelimit

_SCRIPT = """
local c, cn, ok = {false, false, false, false}, false, true
if ARGV[1] == '1' then
  c = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  cn = redis.call('INCR', KEYS[5])
  if cn == 1 then redis.call('EXPIRE', KEYS[5], ARGV[5]) end
  if redis.call('INCR', KEYS[11]) == 1 then redis.call('EXPIRE', KEYS[11], ARGV[6]) end
  ok = ARGV[2] ~= '' and c[1] == ARGV[2] and cn <= tonumber(ARGV[3])
end
local k = redis.call('MGET', KEYS[6], KEYS[7], KEYS[8], KEYS[10])
local kn = false
if ok and ARGV[4] ~= '' and k[1] == ARGV[4] then
  kn = redis.call('INCR', KEYS[9])
  if kn == 1 then redis.call('EXPIRE', KEYS[9], ARGV[5]) end
end
return {c[1], c[2], c[3], c[4], cn, k[1], k[2], k[3], kn, k[4]}
"""
_NONE = "-"  # the name of an entry nobody writes, for the slots a call does not use

# digest -> the record bytes this process last read. A hint only (which bytes to
# expect): Redis compares them with the live record, so a stale hint costs a
# second round trip, never a wrong count. Bounded; cleared when full.
_last_seen: dict[str, bytes] = {}
_LAST_SEEN_MAX = 4096


def last_seen(digest: str) -> tuple[bytes, KeyRecord] | None:
    raw = _last_seen.get(digest)
    record = keycache.record_from_bytes(raw) if raw is not None else None
    return (raw, record) if record is not None else None


def _remember(digest: str, raw: bytes | None) -> None:
    if raw is None:
        return
    if len(_last_seen) >= _LAST_SEEN_MAX:
        _last_seen.clear()
    _last_seen[digest] = raw


@dataclass(frozen=True, slots=True)
class Plan:
    """What to read and count for the checked key."""

    digest: str
    ip: str | None
    permissions: tuple[str, ...]
    expect: bytes  # count only if the live record is these bytes (b"": never)
    counter: str  # the rate counter to count against
    window: int  # and the end of its window
    balance_name: str  # the organization's cached balance (or _NONE)


@dataclass(frozen=True, slots=True)
class CallerPlan:
    digest: str
    ip: str | None
    names: HotNames
    expect: bytes
    limit: int


@dataclass(frozen=True, slots=True)
class Read:
    plan: Plan
    raw: bytes | None
    record: KeyRecord | None
    count: int | None  # the checked key's counter after the script's INCR
    used_recently: bool
    seen_address: bool
    balance_raw: bytes | None


def read(plan: Plan, caller: CallerPlan | None = None) -> tuple[HotRead | None, Read]:
    """One round trip: the caller's HotRead (when `caller`) and the checked key's Read."""
    names = caller.names if caller else None
    keys = [
        names.record if names else _NONE,
        names.used if names else _NONE,
        names.seen if names else _NONE,
        (names.failures or _NONE) if names else _NONE,
        names.counter if names else _NONE,
        keycache.record_key(plan.digest),
        keycache.used_key(plan.digest),
        keycache.seen_key(plan.digest, plan.ip or "-"),
        plan.counter,
        plan.balance_name,
        # The caller's usage counter (apikeys.usage), counted as the key path counts it.
        keycache.usage_key(caller.digest) if caller else _NONE,
    ]
    args: list[Any] = [
        "1" if caller else "",
        caller.expect if caller else b"",
        caller.limit if caller else 0,
        plan.expect,
        keycache.RATE_PERIOD + ratelimit.EXPIRATION_FUDGE,
        keycache.USAGE_NEW_SECONDS,
    ]
    c_raw, c_used, c_seen, c_fail, c_n, raw, used, seen, n, balance = shared_cache.run_script(
        _SCRIPT, keys, args
    )
    hot = None
    if caller is not None and names is not None:
        hot = keycache.hot_from_raw(names, caller.ip, c_raw, c_used, c_seen, c_fail, c_n)
        _remember(caller.digest, c_raw)
    record = keycache.record_from_bytes(raw) if raw is not None else None
    _remember(plan.digest, raw if record is not None else None)
    checked = Read(
        plan,
        raw,
        record,
        int(n) if n is not None else None,
        used is not None,
        plan.ip is not None and seen is not None,
        balance,
    )
    return hot, checked
