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
