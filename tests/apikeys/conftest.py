import pytest


@pytest.fixture
def make_key(db, org, user):
    """Create a key through the service; returns (row, full key)."""
    from apikeys.services import apikey_create

    def make(**kwargs):
        kwargs.setdefault("organization", org)
        kwargs.setdefault("created_by", user)
        kwargs.setdefault("name", "test key")
        return apikey_create(**kwargs)

    return make
