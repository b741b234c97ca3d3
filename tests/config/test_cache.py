"""config.cache: the raw client is the default cache's own."""

import pytest
from django.core.cache import cache, caches
from django_redis.cache import RedisCache

from config.cache import redis_client


@pytest.mark.django_db
def test_redis_client_is_the_default_caches_own():
    client = redis_client()
    if not isinstance(caches["default"], RedisCache):
        assert client is None
        return
    cache.set("probe:client", 1)
    assert client.exists(cache.make_key("probe:client")) == 1


# add_then_take: the SIWE nonce's one use in one round trip on Redis.


@pytest.mark.django_db
def test_add_then_take_takes_only_when_it_added():
    from config.cache import add_then_take

    cache.delete_many(["probe:marker", "probe:issued"])
    cache.set("probe:issued", 1, timeout=60)
    assert add_then_take("probe:marker", 1, 60, "probe:issued") == (True, True)
    assert cache.get("probe:marker") == 1 and cache.get("probe:issued") is None
    cache.set("probe:issued", 1, timeout=60)
    # The marker is there: nothing is taken (a replay must not burn a fresh nonce).
    assert add_then_take("probe:marker", 1, 60, "probe:issued") == (False, False)
    assert cache.get("probe:issued") == 1
    cache.delete_many(["probe:marker", "probe:issued"])
    assert add_then_take("probe:marker", 1, 60, "probe:issued") == (True, False)


@pytest.mark.django_db
def test_add_then_take_gives_the_marker_its_lifetime():
    from config.cache import add_then_take

    cache.delete("probe:marker")
    add_then_take("probe:marker", 1, 60, "probe:issued")
    client = redis_client()
    if client is not None:
        assert 55 <= client.ttl(cache.make_key("probe:marker")) <= 60


def test_add_then_take_refuses_when_the_cache_is_down():
    from django.test import override_settings

    from config.cache import add_then_take
    from config.errors import ServiceUnavailable
    from tests.caches import CLOSED_PORT_REDIS

    with override_settings(CACHES=CLOSED_PORT_REDIS), pytest.raises(ServiceUnavailable):
        add_then_take("probe:marker", 1, 60, "probe:issued")


# run_script: EVALSHA straight away, loading the script only when Redis lacks it.


def test_run_script_loads_a_script_redis_has_not_seen():
    import uuid

    from config.cache import run_script

    client = redis_client()
    if client is None:
        with pytest.raises(LookupError):
            run_script("return 1", [], [])
        return
    # A source Redis cannot know yet (its SHA1 is new): the first EVALSHA answers
    # NOSCRIPT, and the call still returns the script's result; then it is known.
    source = f"-- {uuid.uuid4().hex}\nreturn {{KEYS[1], ARGV[1]}}"
    assert run_script(source, ["probe:script"], ["x"]) == [
        cache.make_key("probe:script").encode(),
        b"x",
    ]
    assert run_script(source, ["probe:script"], ["y"])[1] == b"y"


# read_and_count: the API-key hot path's one round trip.


@pytest.mark.django_db
def test_read_and_count_reads_counts_and_gives_new_counters_their_expiry():
    from config.cache import read_and_count

    names = ["probe:a", "probe:missing", "probe:b"]
    cache.delete_many([*names, "probe:n", "probe:usage"])
    cache.set("probe:a", {"k": 1}, timeout=60)
    cache.set("probe:b", "two", timeout=60)
    values, n, raw = read_and_count(names, "probe:n", 70, also_count=("probe:usage", 900))
    decoded = [cache.client.decode(v) if raw and v is not None else v for v in values]
    assert decoded == [{"k": 1}, None, "two"]
    assert n == 1
    client = redis_client()
    if client is not None:
        assert 65 <= client.ttl(cache.make_key("probe:n")) <= 70
    values, n, _ = read_and_count(names, "probe:n", 70, also_count=("probe:usage", 900))
    assert n == 2
    assert cache.get("probe:usage") == 2
    if client is not None:
        # Set on the first hit only: the window does not slide with later hits.
        client.expire(cache.make_key("probe:n"), 30)
        _, n, _ = read_and_count(names, "probe:n", 70, also_count=("probe:usage", 900))
        assert n == 3
        assert 25 <= client.ttl(cache.make_key("probe:n")) <= 30
        assert 890 <= client.ttl(cache.make_key("probe:usage")) <= 900
    # Reading alone counts nothing.
    counted = (cache.get("probe:n"), cache.get("probe:usage"))
    values, n, _ = read_and_count(["probe:a"], None, 70)
    assert n is None and len(values) == 1 and values[0] is not None
    assert (cache.get("probe:n"), cache.get("probe:usage")) == counted
    cache.delete_many([*names, "probe:n", "probe:usage"])
