"""All settings, read from the environment (django-environ).

Production differs from development only by environment values. The embedded
default (no DATABASE_URL, no REDIS_URL) is SQLite with Celery tasks executed
in-process, so a new user can run the app with one command.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from helpdesk.lib.cache import redis_cache_config
from helpdesk.lib.storage_url import storage_from_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# No default: a missing secret must fail fast (the run script writes a dev .env).
SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
    "helpdesk",
    "accounts",
    "tickets",
    "knowledge_base",
    "metrics",
    "apikeys",
    "mail",
    "webhooks",
    "privacy",
    "auditlog",
    "desk_settings",
    "surveys",
    "success",
    "automation",
    # Staff two-factor sign-in (docs/sign-in.md).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise: static files need no policy; every page and API answer gets one.
    # django-csp, with the common case's header kept per process (helpdesk/lib/csp.py).
    "helpdesk.lib.csp.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # Read-your-writes with read replicas (a no-op without them): docs/scaling.md.
    "helpdesk.lib.db_router.ReadYourWritesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language cookie, then the browser's Accept-Language; a signed-in
    # user's own preference wins (accounts.language, docs/languages.md).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The signed-in user's own language wins over cookie and browser.
    "accounts.language.UserLanguageMiddleware",
    # request.user.is_verified(), then staff who still owe a second factor
    # reach only the code or enrolment page (docs/sign-in.md).
    "django_otp.middleware.OTPMiddleware",
    "accounts.two_factor_middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # django-auditlog's middleware, plus which path (page/admin/api) made a config change.
    "desk_settings.audit.ConfigAuditMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"

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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # services own their transactions
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Embedded default: WAL lets readers run beside the one writer;
    # BEGIN IMMEDIATE takes the write lock first, so a transaction that reads
    # then writes waits (busy timeout) instead of failing "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
_POSTGRESQL = "django.db.backends.postgresql"
# Read replicas (docs/scaling.md): DATABASE_REPLICA_URL, one or more
# comma-separated URLs of hot standbys of DATABASE_URL. Reads go to one only
# where a view opts in (helpdesk.lib.db_router.use_replica) and only while its lag
# is under HELPDESK_REPLICA_MAX_LAG_SECONDS; everything else uses the primary.
HELPDESK_DB_REPLICAS = []
for _n, _url in enumerate(u.strip() for u in env.list("DATABASE_REPLICA_URL", default=[]) if u.strip()):
    _alias = "replica" if _n == 0 else f"replica{_n + 1}"
    _replica = env.db_url_config(_url)
    if _replica.get("ENGINE") != DATABASES["default"]["ENGINE"] or _replica["ENGINE"] != _POSTGRESQL:
        # A hot standby is a PostgreSQL copy of DATABASE_URL; anything else
        # would be read as if it held the same rows.
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL: every replica must be a postgres:// URL, and DATABASE_URL PostgreSQL too."
        )
    DATABASES[_alias] = {
        **_replica,
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        # Tests: the standby already holds the test database (replication).
        "TEST": {"MIRROR": "default"},
    }
    HELPDESK_DB_REPLICAS.append(_alias)
DATABASE_ROUTERS = ["helpdesk.lib.db_router.ReplicaRouter"]
HELPDESK_REPLICA_MAX_LAG_SECONDS = env.float("HELPDESK_REPLICA_MAX_LAG_SECONDS", default=30)
if not 0 < HELPDESK_REPLICA_MAX_LAG_SECONDS <= 3600:
    raise ImproperlyConfigured("HELPDESK_REPLICA_MAX_LAG_SECONDS must be more than 0 and at most 3600 seconds.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
# The first loads a session's user per request without the ORM's compile and checks no
# password; the second signs people in (accounts/backends.py, docs/accounts.md).
AUTHENTICATION_BACKENDS = ["accounts.backends.SessionUserBackend", "django.contrib.auth.backends.ModelBackend"]
# Staff sign-in (docs/sign-in.md). Roles that must use a second factor: the
# environment sets a floor the Settings page can only add to.
HELPDESK_2FA_REQUIRED_ROLES = env.list("HELPDESK_2FA_REQUIRED_ROLES", default=["manager", "admin"])
# Whether a sign-in through the OpenID Connect provider counts as the second
# factor (the provider does MFA). False here wins over the Settings page.
HELPDESK_OIDC_SATISFIES_2FA = env.bool("HELPDESK_OIDC_SATISFIES_2FA", default=True)
OTP_TOTP_ISSUER = env("HELPDESK_2FA_ISSUER", default="Help desk")
# django-otp's own per-device back-off is off: the lock-out is the shared
# database throttle (accounts/two_factor.py), 5 wrong codes -> 15 minutes.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# The Django admin lists devices (to reset a lost phone) without showing
# anyone's key, QR code or recovery codes: an admin cannot copy a factor.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# OpenID Connect single sign-on for staff; off while OIDC_ISSUER is empty.
OIDC_ISSUER = env("OIDC_ISSUER", default="")
OIDC_CLIENT_ID = env("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env("OIDC_CLIENT_SECRET", default="")
OIDC_SCOPES = env("OIDC_SCOPES", default="openid email profile")
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", default="groups")
# "idp-group:role,other-group:role" with role agent, manager or admin.
OIDC_ROLE_MAP = env("OIDC_ROLE_MAP", default="")
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", default="single sign-on")
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en"
# The shipped languages: each has a complete catalogue in locale/ (docs/languages.md).
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Per-language date formats on top of Django's (helpdesk/formats/, docs/languages.md).
FORMAT_MODULE_PATH = ["helpdesk.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [BASE_DIR / "static"]
# Front-end libraries installed from the npm registry (package.json; no CDN).
if (BASE_DIR / "node_modules" / "chart.js" / "dist").is_dir():
    STATICFILES_DIRS.append(("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"))
if (BASE_DIR / "node_modules" / "htmx.org" / "dist").is_dir():
    STATICFILES_DIRS.append(("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"))
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Attachments are private: never served from MEDIA_URL, only through an
# access-checked view (see tickets.views).
MEDIA_URL = "/_private-media-not-served/"
# Attachments and raw e-mails: the local disk, or S3-compatible object
# storage when STORAGE_URL is set (docs/storage.md).
STORAGES = {
    "default": storage_from_url(env("STORAGE_URL", default="")),
    "staticfiles": {
        "BACKEND": env(
            "DJANGO_STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

# Upload limits (attachments).
HELPDESK_ATTACHMENT_MAX_BYTES = env.int("HELPDESK_ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)
HELPDESK_ATTACHMENT_MAX_PER_MESSAGE = env.int("HELPDESK_ATTACHMENT_MAX_PER_MESSAGE", default=10)
# Refused by name whatever the content (docs/uploads.md); the type itself is
# decided by content against the allow list in tickets/attachments.py, which
# HELPDESK_ATTACHMENT_ALLOWED_TYPES (JSON {"type": ["ext", ...]}) amends.
HELPDESK_ATTACHMENT_BLOCKED_EXTENSIONS = env.list(
    "HELPDESK_ATTACHMENT_BLOCKED_EXTENSIONS",
    default=[
        "exe", "bat", "cmd", "com", "scr", "pif", "cpl", "msi", "msp", "dll", "sys", "reg", "inf", "lnk", "url",
        "scf", "js", "jse", "vbs", "vbe", "wsf", "wsh", "hta", "ps1", "psm1", "jar", "appref-ms", "application",
        "iso", "img", "vhd", "vhdx", "html", "htm", "xhtml", "shtml", "mht", "mhtml", "svg", "svgz",
    ],
)  # fmt: skip
HELPDESK_ATTACHMENT_ALLOWED_TYPES = env.json("HELPDESK_ATTACHMENT_ALLOWED_TYPES", default={})
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
HELPDESK_AUTO_CLOSE_DAYS = env.int("HELPDESK_AUTO_CLOSE_DAYS", default=4)
HELPDESK_REPORTING_TIMEZONE = env("HELPDESK_REPORTING_TIMEZONE", default="UTC")
# The write path (docs/delivery.md): "worker" refreshes stored SLA due instants
# after the commit from a dirty mark, "inline" in the event's transaction;
# "send" renders notification e-mails in the delivery worker, "event" with the event.
HELPDESK_SLA_REFRESH = env("HELPDESK_SLA_REFRESH", default="worker")
HELPDESK_NOTIFY_RENDER = env("HELPDESK_NOTIFY_RENDER", default="send")
# Config audit (docs/settings.md): store before/after as JSON values, not their str().
AUDITLOG_STORE_JSON_CHANGES = True
# Above this many tickets created in a dashboard period, long-range medians / p90 come from the
# rollup histograms instead of exact per-ticket percentiles (README "Decisions").
DASHBOARD_EXACT_MAX_TICKETS = env.int("HELPDESK_DASHBOARD_EXACT_MAX_TICKETS", default=10_000)

# Django's database sessions, read without the ORM's compile (accounts/sessions.py).
SESSION_ENGINE = "accounts.sessions"

# Security: production is DJANGO_DEBUG=false plus these defaults.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp) and Permissions-Policy: docs/security-headers.md.
# Strict: only our own origin, no inline script or style, no eval, no plugins,
# no framing. The API docs view relaxes it for itself (helpdesk/api_urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
# Powerful browser features the help desk never uses, off for every page
# (and for anything it could ever embed).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="helpdesk@localhost")
# Email channel (mail app; other knobs and defaults in mail/conf.py).
HELPDESK_INBOUND_SECRET = env("HELPDESK_INBOUND_SECRET", default="")
HELPDESK_MAIL_REPLY_ADDRESS = env("HELPDESK_MAIL_REPLY_ADDRESS", default="")
HELPDESK_MAIL_DEFAULT_QUEUE = env("HELPDESK_MAIL_DEFAULT_QUEUE", default="")
# Inbound identity (docs/mail-security.md).
HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS = env.list("HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS", default=[])
HELPDESK_MAIL_TRUST_REPLY_TOKEN = env.bool("HELPDESK_MAIL_TRUST_REPLY_TOKEN", default=True)
HELPDESK_MAIL_MAX_CCS = env.int("HELPDESK_MAIL_MAX_CCS", default=20)
HELPDESK_BASE_URL = env("HELPDESK_BASE_URL", default="http://localhost:8000")
# The embeddable request form (/portal/embed/, docs/portal.md): the sites
# allowed to frame it (CSP frame-ancestors, that view only; empty = no site
# may frame it) and how many submissions one client address may make per hour.
HELPDESK_EMBED_ALLOWED_ORIGINS = env.list("HELPDESK_EMBED_ALLOWED_ORIGINS", default=[])
HELPDESK_EMBED_MAX_PER_HOUR = env.int("HELPDESK_EMBED_MAX_PER_HOUR", default=5)

# Celery. Without REDIS_URL, tasks run in-process (embedded default).
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless
# this is set; helpdesk/celery.py keeps it by Django's rules instead (CONN_MAX_AGE).
CELERY_DB_REUSE_MAX = env.int("HELPDESK_CELERY_DB_REUSE_MAX", default=100_000)
CELERY_TASK_SOFT_TIME_LIMIT = 30
CELERY_TASK_TIME_LIMIT = 60
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"  # the other queues and the routing: helpdesk/celery.py
# Beat (docs/scaling.md): exactly one runs, and a second one is harmless. With
# Redis, celery-redbeat keeps the schedule's state in Redis and lets only the
# holder of a Redis lock send; a second beat waits for the lock and takes over
# when the first stops renewing it (after the lock timeout).
if REDIS_URL:
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = REDIS_URL
    CELERY_REDBEAT_KEY_PREFIX = env("HELPDESK_BEAT_KEY_PREFIX", default="helpdesk:beat:")
    CELERY_BEAT_MAX_LOOP_INTERVAL = 5
    CELERY_REDBEAT_LOCK_TIMEOUT = env.int("HELPDESK_BEAT_LOCK_SECONDS", default=30)
# Redis outages (docs/resilience.md). Every Redis call from a request is
# bounded by this timeout (connect and socket), and after a failure a
# per-process circuit breaker skips Redis for HELPDESK_REDIS_BREAKER_SECONDS.
HELPDESK_REDIS_TIMEOUT = env.float("HELPDESK_REDIS_TIMEOUT", default=0.5)
HELPDESK_REDIS_BREAKER_SECONDS = env.float("HELPDESK_REDIS_BREAKER_SECONDS", default=10)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": HELPDESK_REDIS_TIMEOUT,
    "socket_timeout": HELPDESK_REDIS_TIMEOUT,
    # Publishing: one connection attempt, no retry loop (kombu's default
    # retries for broker_connection_timeout). The database rows are the
    # truth and the sweepers re-enqueue, so a request never waits for Redis.
    "max_retries": 0,
}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Consuming: a worker (and beat) outlives any broker outage. It reconnects
# forever with kombu's backoff (2 s, 4 s, ... capped at 30 s), also when
# Redis is down at start-up, and treats channel errors the same way.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CHANNEL_ERROR_RETRY = True

# The API throttle, presence and work sessions need a cache shared by all
# processes (Redis here). The per-process memory cache is for the embedded
# default and tests only: check --deploy refuses it (helpdesk/checks.py).
CACHES = {
    "default": (
        redis_cache_config(REDIS_URL, timeout=HELPDESK_REDIS_TIMEOUT)
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# A verified API token is remembered per process this long (0: never): a
# revocation made elsewhere takes effect within it (apikeys.token_cache).
HELPDESK_API_TOKEN_CACHE_SECONDS = env.float("HELPDESK_API_TOKEN_CACHE_SECONDS", default=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its header makes anonymous calls 401, not 403.
        "apikeys.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["apikeys.throttle.ApiRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_read": env("HELPDESK_API_RATE_READ", default="1200/min"),
        "api_write": env("HELPDESK_API_RATE_WRITE", default="300/min"),
        "api_anon": env("HELPDESK_API_RATE_ANON", default="60/min"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "helpdesk.lib.api.AutoSchema",
    "EXCEPTION_HANDLER": "helpdesk.lib.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Help desk API",
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # assets from drf-spectacular-sidecar, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Ticket.Status",
        "TicketPriorityEnum": "tickets.models.Ticket.Priority",
        "QueueKindEnum": "tickets.models.QueueKind",
        "EventKindEnum": "tickets.models.TicketEvent.Kind",
        "ActorRoleEnum": "tickets.models.TicketEvent.ActorRole",
        "BodyFormatEnum": "tickets.models.Message.Format",
        "BodyFormatInputEnum": "tickets.api.serializers.INPUT_BODY_FORMATS",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# SQLite (embedded default) ignores INCLUDE columns of covering indexes and constraints;
# metrics migration 0005 adds a plain unique index there for the rollup upsert.
SILENCED_SYSTEM_CHECKS = ["models.W040", "models.W039"]
