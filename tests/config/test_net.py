import pytest
from django.test import RequestFactory

from config.net import client_ip


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        ([], "10.0.0.1", "", "10.0.0.1"),
        ([], "10.0.0.1", "1.2.3.4", "10.0.0.1"),  # untrusted peer: header ignored
        (["10.0.0.1"], "10.0.0.1", "1.2.3.4", "1.2.3.4"),
        (["10.0.0.0/8"], "10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2", "1.2.3.4"),  # spoofed left part
        (["10.0.0.0/8"], "10.0.0.1", "garbage", "10.0.0.1"),
        (["10.0.0.0/8"], "10.0.0.1", "1.2.3.4, garbage", "10.0.0.1"),
        (["10.0.0.0/8"], "10.0.0.1", "2001:db8::1", "2001:db8::1"),
        ([], "", "", None),
        ([], "not-an-ip", "", None),
    ],
)
def test_client_ip(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
