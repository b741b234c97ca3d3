"""Gatehouse settings: one module, every value read from the environment.

Nothing set gives a development setup that needs no services (SQLite and the
local-memory cache). `DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and
Redis, which is what production and the concurrency tests use.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_parsed, env_rate, env_str, env_usd

BASE_DIR = Path(__file__).resolve().parent.parent

# --- core -------------------------------------------------------------------

DEV_SECRET_KEY = "gatehouse-insecure-development-key-do-not-use-in-production"
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
# The refusal to run on DEV_SECRET_KEY with DEBUG off lives in config.checks, so
# that `manage.py` commands and the WSGI entry point stop, while importing the
# settings (tests, tooling) still works.

APP_URL = env_str("APP_URL", "http://127.0.0.1:8000").rstrip("/")
_app = urlsplit(APP_URL)
if _app.scheme not in {"http", "https"} or not _app.hostname:
    raise ImproperlyConfigured(f"APP_URL must be an http(s) origin, got {APP_URL!r}")
APP_ORIGIN = f"{_app.scheme}://{_app.netloc}"
# SIWE's `domain` is the RFC 3986 authority: host plus port when one is given.
APP_DOMAIN = _app.netloc
APP_SCHEME = _app.scheme

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [_app.hostname, "127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [APP_ORIGIN])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "billing",
    "apikeys",
    "wallet",
    "dashboard",
    "config.apps.ConfigAppConfig",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    # Before anything reads the query string: a key in a URL is refused and revoked.
    "apikeys.exposure.KeyInURLMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the app itself, before anything that reads sessions or auth.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "config.middleware.ServerTokenMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dashboard.middleware.ContentSecurityPolicyMiddleware",
    "config.middleware.ApiErrorMiddleware",
    "billing.middleware.RateLimitHeadersMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- data -------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 600, minimum=0),
            conn_health_checks=True,
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with a health check that needs no round trip when the
        # server has said nothing since the last request (config/postgresql).
        DATABASES["default"]["ENGINE"] = "config.postgresql"
    # A database that does not answer fails the connection attempt in seconds
    # (an API answer of 503, see config.errors.backing_service_error), instead of
    # holding a worker until gunicorn kills it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DB_CONNECT_TIMEOUT", 3, minimum=1)
    )
    if env_bool("DB_PREPARED_STATEMENTS", True):
        # Parameters sent apart from the statement, so psycopg prepares a statement
        # a connection has run 5 times: PostgreSQL then plans the hot paths' few
        # statements (a SIWE sign-in's account lookup and key insert, a metered
        # debit) once per connection instead of on every request, where planning
        # costs more than executing them. Off (0) behind a PgBouncer in
        # transaction mode older than 1.21, which cannot keep prepared statements.
        DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=5)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {"timeout": 20},
        }
    }

REDIS_URL = env_str("REDIS_URL")
# Every cache key starts with "<prefix>:", so one Redis database can hold several
# deployments (and the test suite, which uses a prefix of its own per run).
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "gh")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # Fail fast when Redis is away: callers turn the error into a
                # 503 or a logged pass-through, never a hung worker.
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "gatehouse",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }

SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- security ---------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = APP_SCHEME == "https"
    CSRF_COOKIE_SECURE = APP_SCHEME == "https"
    if APP_SCHEME == "https":
        SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
        SECURE_HSTS_INCLUDE_SUBDOMAINS = True
        SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
# The dashboard's pages; the API docs and the admin keep their own inline code.
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)

# Password sign-in: the lock-out backend first (dashboard and admin alike).
AUTHENTICATION_BACKENDS = [
    "accounts.login_throttle.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


def _rate(name: str, default: str) -> str:
    value = env_str(name, default)
    if not re.fullmatch(r"[1-9]\d*/\d*[smhd]", value):
        raise ImproperlyConfigured(f"{name} must look like 10/15m, got {value!r}")
    return value


# Failed password sign-ins (dashboard and admin) before a lock-out, for the rest
# of the window: per account, and per client address (offices share one).
LOGIN_FAILURES_PER_ACCOUNT = _rate("LOGIN_FAILURES_PER_ACCOUNT", "10/15m")
LOGIN_FAILURES_PER_ADDRESS = _rate("LOGIN_FAILURES_PER_ADDRESS", "30/15m")

# Password-reset mail: printed on the console unless an SMTP host is configured.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "gatehouse@localhost")
SESSION_COOKIE_SAMESITE = "Lax"

# Single-tenant mode: every /api/ request must carry this token in X-API-KEY, and
# organization keys travel as Bearer tokens (ELIZA_SERVER_AUTH_TOKEN is an alias).
SERVER_AUTH_TOKEN = env_str("SERVER_AUTH_TOKEN") or env_str("ELIZA_SERVER_AUTH_TOKEN")

# Addresses of reverse proxies whose X-Forwarded-For is believed.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "x-api-key",
    "x-wallet-address",
    "x-timestamp",
    "x-wallet-signature",
    "x-payment",  # SPEC: x402 payments (being built)
    "x-csrftoken",
    "x-requested-with",
]
CORS_EXPOSE_HEADERS = [
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
    "x-request-id",
]

# --- REST API ---------------------------------------------------------------

REST_FRAMEWORK = {
    # Order matters: wallet signature (fails closed), API key, dashboard session last
    # (DRF takes the WWW-Authenticate challenge from the first class only).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "wallet.authentication.WalletSignatureAuthentication",
        "apikeys.authentication.APIKeyAuthentication",
        "accounts.authentication.SessionPrincipalAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["billing.throttling.PrincipalRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_PAGINATION_CLASS": "config.pagination.Pagination",
    "PAGE_SIZE": 50,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Gatehouse API",
    "DESCRIPTION": "Organizations, API keys, Sign-In with Ethereum, wallet-signed "
    "requests and prepaid credits.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.postprocess_shared_headers",
    ],
}

# --- product ----------------------------------------------------------------

# Free credits (USD) granted once to an account created by a wallet sign-in.
INITIAL_FREE_CREDITS = env_usd("INITIAL_FREE_CREDITS", "5")
# Largest single credit movement an operator or the API may make, in USD.
MAX_CREDIT_AMOUNT_USD = env_int("MAX_CREDIT_AMOUNT_USD", 1_000_000_000, minimum=1)

# --- wallets: Sign-In with Ethereum and signed requests ------------------------


def _chain_ids(raw: str) -> list[int]:
    ids = [int(item) for item in raw.split(",") if item.strip()]
    if not ids or any(i < 1 for i in ids):
        raise ValueError(f"must be a comma-separated list of positive chain ids, got {raw!r}")
    return ids


def _one_line(raw: str) -> str:
    # Both values are signed text: a line break or a non-printable character would
    # change the message's structure, so they are refused at start-up.
    if not raw or not raw.isascii() or not raw.isprintable():
        raise ValueError(f"must be one line of printable ASCII, got {raw!r}")
    return raw


# Chains a SIWE message may name; the first is the one the nonce endpoint suggests.
SIWE_ALLOWED_CHAIN_IDS = env_parsed("SIWE_ALLOWED_CHAIN_IDS", "1,8453", _chain_ids)
# The human-readable line the nonce endpoint suggests for SIWE messages.
SIWE_STATEMENT = env_parsed("SIWE_STATEMENT", "Sign in to Gatehouse.", _one_line)
# First line of the message a wallet signs for a signed request (X-Wallet-* headers).
WALLET_AUTH_MESSAGE_PREFIX = env_parsed(
    "WALLET_AUTH_MESSAGE_PREFIX", "Eliza Cloud Authentication", _one_line
)
# How long a signed request's X-Timestamp stays acceptable, either side of now.
WALLET_AUTH_MAX_SKEW_SECONDS = env_int("WALLET_AUTH_MAX_SKEW_SECONDS", 300, minimum=1)
# How long a wallet's (user, organization, plan limit) stays in the shared cache;
# changes to users, memberships and organizations drop it at once.
WALLET_PRINCIPAL_CACHE_SECONDS = env_int("WALLET_PRINCIPAL_CACHE_SECONDS", 60, minimum=0)

# --- API keys (apikeys/) ------------------------------------------------------

# The `ek` in `ek_live_...`: 1-16 lowercase letters or digits.
API_KEY_PREFIX = env_str("API_KEY_PREFIX", "ek")
if not re.fullmatch(r"[a-z0-9]{1,16}", API_KEY_PREFIX):
    raise ImproperlyConfigured(
        f"API_KEY_PREFIX must be 1-16 lowercase letters or digits, got {API_KEY_PREFIX!r}"
    )
# Header names besides X-API-Key that carry a key (e.g. X-Ethos-Api-Key).
API_KEY_EXTRA_HEADERS = env_list("API_KEY_EXTRA_HEADERS", [])
# Which wins when a request carries both X-API-Key and Bearer: "x-api-key" or "bearer".
API_KEY_HEADER_PRECEDENCE = env_str("API_KEY_HEADER_PRECEDENCE", "x-api-key").strip().lower()
if API_KEY_HEADER_PRECEDENCE not in {"x-api-key", "bearer"}:
    raise ImproperlyConfigured(
        f"API_KEY_HEADER_PRECEDENCE must be x-api-key or bearer, got {API_KEY_HEADER_PRECEDENCE!r}"
    )
API_KEY_MAX_ACTIVE = env_int("API_KEY_MAX_ACTIVE", 25, minimum=1)
API_KEY_DEFAULT_EXPIRY_DAYS = env_int("API_KEY_DEFAULT_EXPIRY_DAYS", 90, minimum=1)
API_KEY_MAX_EXPIRY_DAYS = env_int("API_KEY_MAX_EXPIRY_DAYS", 365, minimum=1)
if API_KEY_DEFAULT_EXPIRY_DAYS > API_KEY_MAX_EXPIRY_DAYS:
    raise ImproperlyConfigured(
        "API_KEY_DEFAULT_EXPIRY_DAYS must not exceed API_KEY_MAX_EXPIRY_DAYS"
    )
# How long a key's record stays in the shared cache (revocation overwrites it at once).
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 300, minimum=1)
# Failed authentication attempts allowed per client address (django-ratelimit rate syntax).
AUTH_FAILURE_RATE = env_rate("AUTH_FAILURE_RATE", "20/m")

# --- rate limits and metering (billing/) ----------------------------------------

# Requests per client address per route group for anonymous endpoints (SIWE
# nonce, SIWE verify, headless key creation), in the same rate syntax.
ANONYMOUS_RATE = env_rate("ANONYMOUS_RATE", "30/m")
# New accounts per client address, by any path (SIWE, headless key creation, a
# wallet's first signed request): each comes with free credits (SPEC §3).
SIGNUP_RATE = env_rate("SIGNUP_RATE", "10/h")
# A valid key seen in a URL is revoked at once: every proxy logs URLs (SPEC §2).
API_KEY_REVOKE_EXPOSED = env_bool("API_KEY_REVOKE_EXPOSED", True)
# Redis unreachable: true lets requests through (logged at ERROR), false answers 503.
RATE_LIMIT_FAIL_OPEN = env_bool("RATE_LIMIT_FAIL_OPEN", True)
# Price of one POST /api/v1/echo call (the demo metered endpoint), USD.
ECHO_PRICE_USD = env_usd("ECHO_PRICE_USD", "0.001")
# Largest `cost` one POST /api/v1/keys/verify call may charge, USD.
VERIFY_MAX_COST_USD = env_usd("VERIFY_MAX_COST_USD", "1000")

# --- payments with x402 (billing/x402.py, docs/payments.md) -----------------------

# Where payments go. Empty: payments are off and top-ups answer 503.
X402_PAY_TO = env_str("X402_PAY_TO")
# CAIP-2 network of the asset (eip155:8453 is Base, eip155:84532 Base Sepolia).
X402_NETWORK = env_str("X402_NETWORK", "eip155:8453")
if not re.fullmatch(r"eip155:[1-9]\d{0,19}", X402_NETWORK):
    raise ImproperlyConfigured(f"X402_NETWORK must be eip155:<chain id>, got {X402_NETWORK!r}")
# The name v1 clients know the network by; empty: derived from the chain id, else the CAIP-2 id.
X402_V1_NETWORK = env_str("X402_V1_NETWORK")
# The USDC-like EIP-3009 token and its EIP-712 domain (USDC on Base by default).
X402_ASSET = env_str("X402_ASSET", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913")
X402_ASSET_NAME = env_str("X402_ASSET_NAME", "USD Coin")
X402_ASSET_VERSION = env_str("X402_ASSET_VERSION", "2")
X402_ASSET_DECIMALS = env_int("X402_ASSET_DECIMALS", 6, minimum=6)
# A remote facilitator; when empty, the SDK's facilitator runs in-process and pays
# gas with X402_FACILITATOR_PRIVATE_KEY on X402_RPC_URL.
X402_FACILITATOR_URL = env_str("X402_FACILITATOR_URL")
X402_FACILITATOR_PRIVATE_KEY = env_str("X402_FACILITATOR_PRIVATE_KEY")
X402_RPC_URL = env_str("X402_RPC_URL")
# How long a settlement waits for its receipt before it is recorded `pending`
# (keep it below the server's worker timeout); reconcile_payments finishes it.
X402_SETTLE_TIMEOUT_SECONDS = env_int("X402_SETTLE_TIMEOUT_SECONDS", 20, minimum=1)
# How long a signed authorization may stay valid (the requirements' maxTimeoutSeconds).
X402_MAX_TIMEOUT_SECONDS = env_int("X402_MAX_TIMEOUT_SECONDS", 300, minimum=10)
# Top-up amounts offered at POST /api/v1/topup/<amount>, USD.
TOPUP_AMOUNTS_USD = [int(a) for a in env_list("TOPUP_AMOUNTS_USD", ["10", "50", "100"])]

PLAN_RATE_LIMITS = {
    "free": env_int("PLAN_FREE_RATE_LIMIT", 60, minimum=1),
    "pro": env_int("PLAN_PRO_RATE_LIMIT", 300, minimum=1),
    # Used for an enterprise organization that has no custom limit yet.
    "enterprise": env_int("PLAN_ENTERPRISE_RATE_LIMIT", 1000, minimum=1),
}

# --- static, i18n, logging ---------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic writes hashed, compressed copies; whitenoise serves them with
    # far-future caching. With DEBUG on, {% static %} gives the plain names.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOGIN_URL = "dashboard:sign-in"
LOGIN_REDIRECT_URL = "dashboard:overview"

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's own console handler (DEBUG only) would print every django.* record a
    # second time, beside ours: its records go to the root handler alone.
    # (django.server, runserver's access log, keeps its own handler and format.)
    "loggers": {"django": {"handlers": [], "level": LOG_LEVEL, "propagate": True}},
}
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
