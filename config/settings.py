"""Storeloop settings.

Every value comes from the environment (or a `*_FILE` holding it) through
django-environ, which fails loudly on a malformed value. Defaults are what runs
on a developer's machine; `.env.example` lists every variable.
"""

import json
from pathlib import Path

import environ

from config.logging import configure_structlog

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for developers; real deployments set the environment.
env.smart_cast = False
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _secret(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    file_path = env.str(f"{name}_FILE", default="")
    if file_path:
        return Path(file_path).read_text().strip()
    return env.str(name, default=default)


DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = _secret("SECRET_KEY", default=None) or ""
if not SECRET_KEY:
    if not DEBUG:
        raise environ.ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE), or DEBUG=1 for local work."
        )
    SECRET_KEY = "dev-only-insecure-secret-key-never-use-in-production-0123456789"  # noqa: S105

# The key behind card fingerprints (HMAC of the network token). Rotating it
# means re-fingerprinting every stored card, so it is separate from SECRET_KEY.
CARD_FINGERPRINT_KEY = _secret("CARD_FINGERPRINT_KEY", default="") or SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "django_celery_beat",
    "django_structlog",
    "anymail",
    "core",
    "merchants",
    "profiles",
    "payments",
    "insights",
    "loyalty",
    "campaigns",
    "exports",
    "outbound",
    "imports",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads or logs a request body.
    "core.card_numbers.RejectCardNumbersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "merchants.middleware.CurrentMerchantMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "merchants.context_processors.dashboard",
            ],
        },
    },
]

# PostgreSQL only. `make` points DATABASE_URL at the embedded server when unset.
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/storeloop")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# Off by default: with persistent connections a health check is one more round trip (`SELECT 1`)
# at the start of every request, measured at a tenth of an ingested purchase's time. Without it a
# connection the database dropped (a restart, a failover) fails the one request that meets it,
# which answers 503 with Retry-After (config.views.server_error), and Django then discards the connection;
# the next request reconnects.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=False)
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise environ.ImproperlyConfigured("Storeloop runs on PostgreSQL only; DATABASE_URL must be postgres://…")
# A streaming read replica, optional: the dashboards read from it (core.replicas); writes, and reads
# that decide a write, stay on the primary. docs/scaling.md has the rest of the path past one server.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **environ.Env.db_url_config(DATABASE_REPLICA_URL),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": DATABASES["default"]["CONN_HEALTH_CHECKS"],
        "TEST": {"MIRROR": "default"},
    }
REPLICA_READS = "replica" in DATABASES
DATABASE_ROUTERS = ["core.replicas.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# API keys and stores are cached this long for the ingest path (0: never); see merchants/request_cache.py.
REQUEST_CACHE_SECONDS = env.int("REQUEST_CACHE_SECONDS", default=30)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "한국어"), ("zh-hant", "繁體中文"), ("ar", "العربية")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files the product writes for staff (imports' uploads and error files, large exports): never
# served as static files; every download goes through a view that checks the merchant and role.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

AUTH_USER_MODEL = "merchants.User"

# Sign-in: django-allauth, email as the login, TOTP as the second factor.
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
# Staff join by invitation only; the adapter closes open signup.
ACCOUNT_ADAPTER = "merchants.adapters.StaffAccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Storeloop")

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = _secret("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Storeloop <no-reply@storeloop.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Text messages to shoppers (phone confirmation codes; campaigns send through the same backend).
# profiles.sms.ConsoleBackend prints them, profiles.sms.FileBackend writes one file each under SMS_FILE_PATH.
SMS_BACKEND = env.str("SMS_BACKEND", default="profiles.sms.ConsoleBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(BASE_DIR / ".devdata" / "sms"))
# SMS_BACKEND=campaigns.channels.TwilioBackend sends through Twilio's REST API; inbound replies (STOP)
# arrive at /api/v1/campaigns/webhooks/twilio/inbound, signed with the auth token.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = _secret("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="https://api.twilio.com")

# Email through an ESP with django-anymail: EMAIL_BACKEND=anymail.backends.<esp>.EmailBackend, the ESP's
# settings as JSON in ANYMAIL_ESP_SETTINGS (e.g. {"POSTMARK_SERVER_TOKEN": "..."}), and the tracking
# webhook (bounces, complaints) at /api/v1/campaigns/webhooks/esp/<esp>/tracking/ behind basic auth
# with ANYMAIL_WEBHOOK_SECRET ("user:password").
ANYMAIL = json.loads(_secret("ANYMAIL_ESP_SETTINGS", default="") or "{}")
if _secret("ANYMAIL_WEBHOOK_SECRET", default=""):
    ANYMAIL["WEBHOOK_SECRET"] = _secret("ANYMAIL_WEBHOOK_SECRET")

# Payment sources: days a webhook's body is kept for replay before only the figures remain.
PAYMENT_BODY_RETENTION_DAYS = env.int("PAYMENT_BODY_RETENTION_DAYS", default=30)

# Outbound webhooks. Endpoints on private, loopback or link-local addresses are refused unless this is on
# (tests and the demo deliver to a receiver on this machine). Timeouts are per request, in seconds.
OUTBOUND_WEBHOOKS_ALLOW_PRIVATE = env.bool("OUTBOUND_WEBHOOKS_ALLOW_PRIVATE", default=False)
OUTBOUND_WEBHOOK_TIMEOUT_SECONDS = env.float("OUTBOUND_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Requests a worker has in flight at once while it drains an endpoint (different shoppers only).
OUTBOUND_WEBHOOK_CONCURRENCY = env.int("OUTBOUND_WEBHOOK_CONCURRENCY", default=8)

# Shopper pages (kiosk, Wi-Fi, confirmation, preference centre). Rates are "<count>/<second|minute|hour|day>".
SHOPPER_LINK_MAX_AGE_DAYS = env.int("SHOPPER_LINK_MAX_AGE_DAYS", default=30)
EMAIL_CONFIRMATION_MAX_AGE_DAYS = env.int("EMAIL_CONFIRMATION_MAX_AGE_DAYS", default=7)
KIOSK_IDLE_SECONDS = env.int("KIOSK_IDLE_SECONDS", default=60)
KIOSK_DONE_SECONDS = env.int("KIOSK_DONE_SECONDS", default=15)
SHOPPER_RATE_LIMITS = {
    # Form submissions from one kiosk or Wi-Fi portal, and from one client address.
    "signup_point": env.str("SIGNUP_POINT_RATE_LIMIT", default="60/hour"),
    "ip": env.str("SHOPPER_IP_RATE_LIMIT", default="120/hour"),
    # Confirmation codes texted to one phone number, and from one kiosk.
    "sms_phone": env.str("SMS_CODE_PHONE_RATE_LIMIT", default="3/hour"),
    "sms_signup_point": env.str("SMS_CODE_KIOSK_RATE_LIMIT", default="30/hour"),
    # Guesses at one confirmation code.
    "sms_attempts": env.str("SMS_CODE_ATTEMPT_RATE_LIMIT", default="5/hour"),
}

# Security. Production values are the defaults; DEBUG relaxes what breaks http://localhost.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["merchants.api_auth.MerchantAPIKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["merchants.api_auth.HasMerchantAPIKey"],
    "DEFAULT_THROTTLE_CLASSES": ["merchants.api_auth.APIKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("API_RATE_LIMIT", default="6000/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Storeloop API",
    "DESCRIPTION": (
        "REST API for checkout plugins and payment-network feeds. Authenticate with "
        "`Authorization: Api-Key <key>`; every write accepts an `Idempotency-Key` header. "
        'Errors have the shape `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_plumbing_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "LanguageEnum": LANGUAGES,
        "PurchaseChannelEnum": "profiles.models.Channel",
        "ConsentChannelEnum": "profiles.models.ConsentChannel",
        "ConsentSourceEnum": "profiles.models.ConsentSource",
        "ShopperStatusEnum": "profiles.models.ShopperStatus",
    },
}

# Celery. With no broker configured, `make demo` runs the worker on kombu's
# filesystem transport so it still is a real separate process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
_transport_options = env.str("CELERY_BROKER_TRANSPORT_OPTIONS", default="").strip()
CELERY_BROKER_TRANSPORT_OPTIONS = json.loads(_transport_options) if _transport_options else {}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Logging: JSON lines in production, readable lines when DEBUG. django-structlog
# binds a request id to every line of a request and carries it into Celery tasks.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
# The application's own lines about each request (started, finished, Django's 4xx warnings); the web server's
# access log has one line per request besides. `make demo` keeps only errors here, so a request is one line.
REQUEST_LOG_LEVEL = env.str("REQUEST_LOG_LEVEL", default=LOG_LEVEL)
DJANGO_STRUCTLOG_CELERY_ENABLED = True
configure_structlog()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "config.logging.json_formatter"},
        "console": {"()": "config.logging.console_formatter"},
    },
    "filters": {"redact_card_numbers": {"()": "config.logging.RedactCardNumbersFilter"}},
    "handlers": {
        "default": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_card_numbers"],
        },
    },
    "root": {"handlers": ["default"], "level": LOG_LEVEL},
    "loggers": {
        # Replace Django's own console handlers, so each line is written once, masked, in our format.
        "django": {"handlers": ["default"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {"handlers": ["default"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "django_structlog": {"level": LOG_LEVEL},
        "django_structlog.middlewares.request": {"level": REQUEST_LOG_LEVEL},
        "django.request": {"handlers": ["default"], "level": REQUEST_LOG_LEVEL, "propagate": False},
    },
}

# Tenancy: the session key holding the merchant a staff member is working in.
CURRENT_MERCHANT_SESSION_KEY = "current_merchant_id"
