"""Settings shared by every environment. Every value comes from the environment (django-environ);
a malformed value fails loudly at start-up. `local`, `test` and `production` only adjust."""

import os
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
env.smart_cast = False

_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


def env_bool(name: str, default: bool) -> bool:
    """A yes/no setting. Unlike env.bool, which reads any unknown word ("ture", "enabled") as
    False, a value that is not clearly yes or no stops start-up."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a yes/no value; use on/off or true/false.")


DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("HEARTH_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "members",
    "moderation",
    "programming",
    "reporting",
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
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "members.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "members.context_processors.navigation",
            ],
        },
    },
]

# Database: PostgreSQL in production and CI; a SQLite file for a bare laptop. An empty
# DATABASE_URL (`DATABASE_URL= make run`) means unset, as it does for REDIS_URL.
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    ),
}
if DATABASES["default"].get("ENGINE") not in (
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
):
    raise ImproperlyConfigured(
        "DATABASE_URL must be a postgres://user:pass@host:5432/name or sqlite:///path URL."
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "members.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: email is the login; staff join by invitation, so open sign-up is closed
# (members.adapters). Rate limits throttle login and password-reset attempts.
ACCOUNT_ADAPTER = "members.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "members.adapters.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Hearth"
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True

# Optional OpenID Connect single sign-on: set all three to show "Sign in with <name>".
OIDC_SERVER_URL = env.str("OIDC_SERVER_URL", default="")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="Single sign-on")
SOCIALACCOUNT_PROVIDERS = {}
if OIDC_SERVER_URL and OIDC_CLIENT_ID and OIDC_CLIENT_SECRET:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": "sso",
                "name": OIDC_PROVIDER_NAME,
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {"server_url": OIDC_SERVER_URL},
            }
        ]
    }

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English"))]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Email: SMTP from EMAIL_URL in production, the console elsewhere.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Hearth <hearth@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Redis is the broker and the cache when REDIS_URL is set; without it a bare laptop uses kombu's
# filesystem transport (a local folder, no server) and a file-based cache shared by the processes.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must be a redis://host:6379/0 (or rediss://) URL.")
BROKER_DIR = Path(env.str("HEARTH_BROKER_DIR", default=str(BASE_DIR / ".run" / "broker")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(BASE_DIR / ".run" / "cache"),
        }
    }

CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Three queues, declared once: bulk ingestion follow-ups, KPI rollups, everything else.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES_NAMES = ("default", "ingest", "kpi")
CELERY_TASK_ROUTES = {
    "members.tasks.ingest_*": {"queue": "ingest"},
    "moderation.tasks.autorules_*": {"queue": "ingest"},
    "reporting.tasks.*": {"queue": "kpi"},
}
CELERY_BEAT_SCHEDULE = {
    # Every ten minutes: invitations created while the broker was down get their email.
    "invitations-send-unsent": {
        "task": "members.tasks.invitations_send_unsent",
        "schedule": crontab(minute="*/10"),
    },
    # Hourly: pending invitations whose week has run out are marked expired, so the team page
    # and the audit log show the lapse without anyone having to open the link.
    "invitations-expire": {
        "task": "members.tasks.invitations_expire",
        "schedule": crontab(minute=5),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "members.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "members.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "members.api_base.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Refused bearer tokens per client address per minute before it is answered 429.
API_TOKEN_FAILURES_PER_MINUTE = env.int("API_TOKEN_FAILURES_PER_MINUTE", default=30)
SPECTACULAR_SETTINGS = {
    "TITLE": "Hearth API",
    "DESCRIPTION": (
        "Community operations API. Authenticate with a session or `Authorization: Bearer "
        "<token>` (a community-scoped token created by an admin). Every error has the shape "
        '`{"code": ..., "message": ..., "errors": {field: [messages]}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status`; name the introduction's explicitly.
    "ENUM_NAME_OVERRIDES": {
        "IntroductionStatusEnum": "members.intros.IntroductionStatus",
    },
}

# Content-Security-Policy: every script and style is served from our own static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Invitations are valid for this long; API tokens are shown once and stored as SHA-256.
HEARTH_INVITATION_DAYS = env.int("HEARTH_INVITATION_DAYS", default=7)
# Webhook signing secrets are encrypted at rest with Fernet. The key is HEARTH_ENCRYPTION_KEY (a
# Fernet key: `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key()
# .decode())"`) or, when unset, derived from SECRET_KEY with HKDF-SHA256. Secrets stored under
# the SECRET_KEY-derived key stay readable after HEARTH_ENCRYPTION_KEY is introduced; changing
# SECRET_KEY without a dedicated key makes stored secrets unreadable (set them again).
HEARTH_ENCRYPTION_KEY = env.str("HEARTH_ENCRYPTION_KEY", default="")
if HEARTH_ENCRYPTION_KEY:
    import base64
    import binascii

    try:
        _key_ok = len(base64.urlsafe_b64decode(HEARTH_ENCRYPTION_KEY.encode())) == 32
    except (binascii.Error, ValueError):
        _key_ok = False
    if not _key_ok:
        raise ImproperlyConfigured(
            "HEARTH_ENCRYPTION_KEY must be a Fernet key: 32 bytes, url-safe base64 encoded."
        )
# Deliveries accepted per community and platform per minute before webhooks answer 429 (counted
# before the signature check, so a flood of forged requests cannot write to the database).
HEARTH_WEBHOOK_RATE_PER_MINUTE = env.int("HEARTH_WEBHOOK_RATE_PER_MINUTE", default=6000)
# How many reverse proxies in front of Hearth append to X-Forwarded-For (0: use REMOTE_ADDR).
HEARTH_TRUSTED_PROXIES = env.int("HEARTH_TRUSTED_PROXIES", default=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.security": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "hearth.security": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
