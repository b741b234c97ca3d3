"""Gatehouse's settings plus the baseline library, for the benchmark server only."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework_api_key"]  # noqa: F405
ROOT_URLCONF = "bench.benchsite.urls"
# The server under test must not spend its time writing access logs.
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# Every benchmark wallet signs up from 127.0.0.1: the per-address sign-up cap
# (SIGNUP_RATE, 10 an hour by default) would refuse all but the first ten.
SIGNUP_RATE = env_rate("SIGNUP_RATE", "1000000/h")  # noqa: F405
