"""AlignWeb settings: one module, every production value from the environment.

Defaults give a working development setup (SQLite file, DEBUG on, eager Celery).
``make run`` (alignweb/local.py) sets LOCAL_MODE=1: DEBUG off with a generated secret,
plain HTTP on loopback, an embedded broker and a real worker.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str
from .queues import broker_queues

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)
# The local stack of `make run`: production behaviour on one machine over plain HTTP.
LOCAL_MODE = env_bool("LOCAL_MODE", default=False)
# Where the local stack keeps its secret key, broker files and task results (git-ignored).
LOCAL_DIR = Path(env_str("LOCAL_DIR") or BASE_DIR / ".local")

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG=0 AlignWeb refuses to start without a "
            "SECRET_KEY environment variable (50+ random characters)."
        )
    SECRET_KEY = "django-insecure-local-development-only-" + "x" * 20  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "alignweb",
    "coding",
    "transcripts",
    "audit",
    "demo",  # the offline demo (manage.py demo): builds on the apps above
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "alignweb.middleware.UploadLimitMiddleware",
]

ROOT_URLCONF = "alignweb.urls"
WSGI_APPLICATION = "alignweb.wsgi.application"

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
                "coding.context_processors.navigation",
            ],
        },
    },
]

# Database: embedded SQLite unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend plus range-checked binary integer parameters: with server-side
    # binding, psycopg's C dumpers would otherwise send an out-of-range IntegerField value
    # as its low 32 bits (see alignweb/db/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "alignweb.db.postgresql"
    # Server-side parameter binding, and prepared statements for anything run five times
    # on a connection: PostgreSQL then skips parsing and planning the hot queries (the
    # coder's access check plans in ~1 ms and runs in 0.1 ms). Both off behind a
    # transaction-pooling PgBouncer: DB_SERVER_SIDE_BINDING=0.
    _server_binding = env_bool("DB_SERVER_SIDE_BINDING", default=True)
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": _server_binding,
        "prepare_threshold": env_int("DB_PREPARE_THRESHOLD", 5) if _server_binding else None,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the dev server and an eager worker share the file.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and not LOCAL_MODE
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# The local stack serves static files straight from the source folders (no collectstatic
# step on every start); production serves the hashed, compressed copies.
WHITENOISE_USE_FINDERS = LOCAL_MODE or DEBUG

# Uploads: imports are read in memory and validated; anything bigger is refused with 413.
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES

# Celery: Redis in production; the embedded file broker (localfs://) under `make run`;
# eager (in-process) when no broker is configured.
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
# Longer than the longest task (a generation slot hands over after a minute).
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
_default_backend = CELERY_BROKER_URL
if CELERY_BROKER_URL.startswith("localfs://"):
    from .local_broker import transport_options

    CELERY_BROKER_TRANSPORT_OPTIONS.update(transport_options(LOCAL_DIR / "broker"))
    (LOCAL_DIR / "results").mkdir(parents=True, exist_ok=True)
    _default_backend = f"file://{LOCAL_DIR / 'results'}"
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", _default_backend)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Broker queue names carry this prefix, so several sets of queues can share one Redis
# without a worker of one taking another's tasks (each test run has its own prefix).
# Workers consume CELERY_TASK_QUEUES unless started with -Q.
CELERY_QUEUE_PREFIX = env_str("CELERY_QUEUE_PREFIX", "")
CELERY_QUEUE_NAMES = ("default", "generation")
CELERY_TASK_DEFAULT_QUEUE = f"{CELERY_QUEUE_PREFIX}default"
CELERY_TASK_QUEUES = broker_queues(CELERY_QUEUE_PREFIX, CELERY_QUEUE_NAMES)

# Caches: Redis when configured (shared by all web processes), else local memory.
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    # Service errors become 400/403/409 in one place (alignweb.errors).
    "EXCEPTION_HANDLER": "alignweb.errors.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "alignweb.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "alignweb.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": [],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AlignWeb API",
    "DESCRIPTION": "Blinded dual-coding studies: studies, items, assignments, scores, "
    "reconciliation, agreement and exports.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Vendored Swagger UI (machines are offline; no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Security. Production values are on unless DEBUG; each can be tuned from the environment.
# The local stack serves plain HTTP on loopback, so the HTTPS-only settings are off there.
_https = not DEBUG and not LOCAL_MODE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=_https)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=_https)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=_https)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Content-Security-Policy (django-csp 4): no inline scripts anywhere, no third-party origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# Login throttling: failed attempts per username+IP before a cool-down.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 300)

# Outbound model endpoints: hosts allowed besides public ones; loopback allowed for the fake server.
ENDPOINT_HOST_ALLOWLIST = env_list("ENDPOINT_HOST_ALLOWLIST", ["127.0.0.1", "localhost"])

GIT_COMMIT = env_str("GIT_COMMIT")

# The built-in offline model server the demo endpoints point at (`make run` starts it).
FAKE_MODEL_PORT = env_int("FAKE_MODEL_PORT", 8765)
# The new-run form asks for confirmation at or above either estimate.
GENERATION_CONFIRM_USD = env_int("GENERATION_CONFIRM_USD", 5)
GENERATION_CONFIRM_CELLS = env_int("GENERATION_CONFIRM_CELLS", 2000)

# Email (invitations). Sent only when EMAIL_BACKEND or EMAIL_HOST is set; otherwise the
# members page shows the invitation links to copy. SMTP details come from the environment.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "alignweb@localhost")
INVITE_EMAIL_ENABLED = bool(env_str("EMAIL_BACKEND") or env_str("EMAIL_HOST"))

# Extra regular expressions scrubbed from coder-facing text (comma-separated), on top of
# the built-in model, vendor, self-identification and provider-id rules (coding/blinding.py).
BLINDING_EXTRA_PATTERNS = env_list("BLINDING_EXTRA_PATTERNS", [])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
