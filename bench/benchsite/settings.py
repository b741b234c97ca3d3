"""Gatehouse's settings plus the baseline library, for the benchmark server only."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework_api_key"]  # noqa: F405
ROOT_URLCONF = "bench.benchsite.urls"
# The server under test must not spend its time writing access logs.
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
