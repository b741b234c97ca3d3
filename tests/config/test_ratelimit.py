import dataclasses
import hashlib
import time
import types
import zlib

import pytest

from config import ratelimit
from config.errors import ServiceUnavailable
from tests import caches as caches_
from tests.helpers import cache_ttl, expected_window_end, fresh_window, in_parallel


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("20/m", (20, 60)),
        ("30/m", (30, 60)),
        ("5/s", (5, 1)),
        ("100/5m", (100, 300)),
        ("1/d", (1, 86400)),
        ("20/m ", (20, 60)),  # surrounding blanks are fine
        (" 5/s", (5, 1)),
    ],
)
def test_parse_rate(rate, parsed):
    assert ratelimit.parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["", "20", "m/20", "0/m", "20/x", "-1/m", "2 0/m", None, 20])
def test_parse_rate_refuses(rate):
    with pytest.raises(ValueError):
        ratelimit.parse_rate(rate)


def test_window_end_is_in_the_next_period_and_staggered():
    now = 1_700_000_000.0
    end = ratelimit.window_end("key:a", 60, now)
    assert now < end <= now + 60
    # The same bucket keeps its window edge for the whole window.
    assert ratelimit.window_end("key:a", 60, end - 1) == end
    assert ratelimit.window_end("key:a", 60, end) == end + 60
    ends = {ratelimit.window_end(f"key:{i}", 60, now) for i in range(50)}
    assert len(ends) > 10


@pytest.mark.django_db
def test_hit_counts_and_refuses_over_the_limit():
    fresh_window("user:1")
    states = [ratelimit.hit("user:1", 3) for _ in range(5)]
    assert [s.allowed for s in states] == [True, True, True, False, False]
    assert [s.remaining for s in states] == [2, 1, 0, 0, 0]
    assert all(s.limit == 3 for s in states)
    assert {s.reset for s in states} == {expected_window_end("user:1")}
    assert 1 <= states[-1].retry_after <= 60
    assert states[0].headers() == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "2",
        "X-RateLimit-Reset": str(states[0].reset),
    }
    # Buckets are independent.
    assert ratelimit.hit("user:2", 3).remaining == 2


@pytest.mark.django_db
def test_peek_does_not_count():
    assert ratelimit.peek("ip:1", 2).allowed
    ratelimit.hit("ip:1", 2)
    assert ratelimit.peek("ip:1", 2).remaining == 1
    ratelimit.hit("ip:1", 2)
    assert not ratelimit.peek("ip:1", 2).allowed


@pytest.mark.django_db
def test_fails_open_when_the_cache_is_down(settings, caplog):
    settings.CACHES = caches_.CLOSED_PORT_REDIS
    state = ratelimit.hit("user:1", 3)
    assert state.allowed and state.remaining == 3
    assert "Rate-limit counter unavailable" in caplog.text


@pytest.mark.concurrency
def test_counter_is_exact_under_concurrency():
    fresh_window("shared", margin=30)  # all 200 hits should land in one window

    def worker(_):
        return [ratelimit.hit("shared", 150) for _ in range(20)]

    states = [state for batch in in_parallel(10, worker) for state in batch]
    # Exact per window: 150 of the window's hits allowed, none more. (On a machine
    # slow enough to cross the window's edge, each window is still counted exactly.)
    for window in {state.reset for state in states}:
        in_window = [state for state in states if state.reset == window]
        assert sum(state.allowed for state in in_window) == min(150, len(in_window))
    assert len(states) == 200


# --- values worked out here from django-ratelimit's rules, not from the module ----


def _window_end(bucket: str, period: int, ts: int) -> int:
    """django-ratelimit's staggered window: its edge is offset by crc32(bucket) % period."""
    if period == 1:
        return ts + 1
    end = ts - ts % period + zlib.crc32(bucket.encode()) % period
    return end + period if end <= ts else end


@pytest.mark.parametrize(
    ("rate", "parsed"), [("1/m", (1, 60)), ("2/h", (2, 3600)), ("3/2s", (3, 2))]
)
def test_parse_rate_units(rate, parsed):
    assert ratelimit.parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["5/0m", "1/0s"])
def test_parse_rate_refuses_a_zero_period(rate):
    with pytest.raises(ValueError, match="at least one request per period"):
        ratelimit.parse_rate(rate)


@pytest.mark.parametrize("period", [1, 2, 60, 3600])
def test_window_end_matches_django_ratelimit(period):
    base = 1_700_000_000
    for bucket in ("key:a", "ip:10.0.0.1", "user:7"):
        for ts in range(base, base + 130):
            assert ratelimit.window_end(bucket, period, ts + 0.5) == _window_end(bucket, period, ts)


def test_window_end_when_now_is_exactly_the_edge():
    bucket = "key:a"
    offset = zlib.crc32(bucket.encode()) % 60
    ts = 1_700_000_040 - 1_700_000_040 % 60 + offset  # ts % 60 == the bucket's offset
    assert ratelimit.window_end(bucket, 60, ts) == ts + 60


def test_window_end_defaults_to_the_clock():
    before = int(time.time())
    end = ratelimit.window_end("key:clock", 60)
    assert end in {_window_end("key:clock", 60, before), _window_end("key:clock", 60, before + 1)}


def test_counter_key():
    digest = hashlib.sha256(b"user:1|60|1700000040").hexdigest()
    assert ratelimit.counter_key("user:1", 60, 1_700_000_040) == "rl:" + digest[:40]


@pytest.mark.django_db
def test_counter_expires_with_its_window_plus_five_seconds():
    fresh_window("expiry:1", period=2, margin=1)
    state = ratelimit.hit("expiry:1", 3, 2)
    key = ratelimit.counter_key("expiry:1", 2, state.reset)
    assert 6 < cache_ttl(key) <= 7  # period 2 + 5 s
    ratelimit.hit("expiry:1", 3, 2)
    assert 5 < cache_ttl(key) <= 7


@pytest.mark.django_db
def test_default_period_is_a_minute():
    state = ratelimit.hit("minute:1", 3)
    assert state.reset == ratelimit.window_end("minute:1", 60)
    assert 60 < cache_ttl(ratelimit.counter_key("minute:1", 60, state.reset)) <= 65
    assert ratelimit.peek("minute:1", 3).remaining == 2


@pytest.mark.django_db
def test_per_second_and_per_hour_rates():
    fresh_window("sec:1", period=1, margin=0.5)
    assert [ratelimit.hit("sec:1", 2, 1).allowed for _ in range(3)] == [True, True, False]
    hour = [ratelimit.hit("hour:1", 2, 3600) for _ in range(3)]
    assert [s.remaining for s in hour] == [1, 0, 0]
    assert hour[0].reset == _window_end("hour:1", 3600, int(time.time()))


def test_retry_after_is_the_time_left_and_at_least_one_second():
    now = int(time.time())
    assert ratelimit.RateState(1, 0, now + 30, False).retry_after in {29, 30}
    assert ratelimit.RateState(1, 0, now, False).retry_after == 1
    assert ratelimit.RateState(1, 0, now - 100, False).retry_after == 1


def test_rate_state_is_frozen():
    state = ratelimit.RateState(1, 0, 0, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.limit = 2


def test_state_from_count():
    assert ratelimit.state_from_count(3, 3, 99) == ratelimit.RateState(3, 0, 99, True)
    assert ratelimit.state_from_count(4, 3, 99) == ratelimit.RateState(3, 0, 99, False)
    assert ratelimit.state_from_count(1, 3, 99) == ratelimit.RateState(3, 2, 99, True)


@pytest.mark.django_db
def test_auth_failures_are_counted_per_address(settings):
    settings.AUTH_FAILURE_RATE = "2/m"
    assert ratelimit.count_auth_failure(None) is None
    assert ratelimit.auth_failures_exceeded(None) is None
    fresh_window(ratelimit.auth_failure_bucket("10.1.1.1"))
    assert ratelimit.count_auth_failure("10.1.1.1").remaining == 1
    assert ratelimit.auth_failures_exceeded("10.1.1.1") is None
    assert ratelimit.count_auth_failure("10.1.1.1").remaining == 0
    over = ratelimit.auth_failures_exceeded("10.1.1.1")
    assert (over.limit, over.remaining, over.allowed) == (2, 0, False)
    assert ratelimit.auth_failure_bucket("10.1.1.1") == "authfail:10.1.1.1"


def test_remembered_state_is_shared_by_the_drf_and_django_request():
    state = ratelimit.RateState(1, 1, 1, True)
    django_request = types.SimpleNamespace()
    drf_request = types.SimpleNamespace(_request=django_request)
    assert ratelimit.remembered(drf_request) is None
    ratelimit.remember(drf_request, state)
    assert ratelimit.remembered(django_request) is state
    assert ratelimit.remembered(drf_request) is state


@pytest.mark.django_db
def test_fail_open_logs_the_exception(settings, caplog):
    settings.CACHES = caches_.CLOSED_PORT_REDIS
    ratelimit.hit("user:down", 3)
    record = next(r for r in caplog.records if "letting the request through" in r.getMessage())
    assert record.exc_info[1] is not None  # logged with its traceback


@pytest.mark.django_db
def test_fail_closed_when_told(settings, caplog):
    settings.CACHES = caches_.CLOSED_PORT_REDIS
    settings.RATE_LIMIT_FAIL_OPEN = False
    with pytest.raises(ServiceUnavailable):
        ratelimit.hit("user:down", 3)
    record = next(r for r in caplog.records if "refusing the request" in r.getMessage())
    assert record.exc_info[1] is not None  # logged with its traceback
    with pytest.raises(ServiceUnavailable):
        ratelimit.peek("user:down", 3)


@pytest.mark.django_db
def test_peek_of_a_fresh_and_of_an_exhausted_bucket():
    fresh = ratelimit.peek("peek:fresh", 4)
    assert (fresh.remaining, fresh.allowed) == (4, True)
    for _ in range(5):
        ratelimit.hit("peek:full", 3)
    full = ratelimit.peek("peek:full", 3)
    assert (full.remaining, full.allowed) == (0, False)


@pytest.mark.django_db
def test_a_locked_out_address_gets_three_unknown_key_lookups_a_minute():
    bucket = "authfail-lookup:10.9.9.9"
    fresh_window(bucket)
    allowed = [ratelimit.locked_out_lookup_allowed("10.9.9.9") for _ in range(4)]
    assert allowed == [True, True, True, False]
    # No address (no client IP known): no budget at all.
    assert ratelimit.locked_out_lookup_allowed(None) is False
    # The budget is per minute: its counter lives in the one-minute window.
    window = _window_end(bucket, 60, int(time.time()))
    assert 60 < cache_ttl(ratelimit.counter_key(bucket, 60, window)) <= 65
