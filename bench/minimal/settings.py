"""The smallest Django that serves the benchmark's trivial answer: no database, no
apps, two middleware (security headers and the common URL handling). A row served
by it can be set beside outside numbers for Django; the project's full-stack
no-auth row shows what the project's own middleware and DRF add on top."""

import os

SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.minimal.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
DATABASES: dict = {}
USE_TZ = True
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
