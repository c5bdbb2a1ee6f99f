"""Settings for the clinic records application.

Everything a deployment changes comes from environment variables (see README,
"Configuration"). The defaults are safe for a first local run: SQLite in the
project folder, a filesystem Celery broker, console email. With DEBUG off the
application refuses to start on the development secret key.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from ehr.env import env_bool, env_float, env_int, env_list, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("EHR_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

_DEV_SECRET_KEY = "django-insecure-local-development-key-never-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and (
    SECRET_KEY == _DEV_SECRET_KEY
    or SECRET_KEY.startswith("django-insecure")
    or len(SECRET_KEY) < 50
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is off."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "simple_history",
    "django_htmx",
    "csp",
    "ehr",
    "patients",
    "sessions.apps.InfusionsConfig",
    "reports",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Signs out after IDLE_TIMEOUT_MINUTES without activity (polling does not count)
    # and SESSION_ABSOLUTE_HOURS after signing in.
    "frontend.middleware.IdleLogoutMiddleware",
    # With OTP_REQUIRED, a staff session not verified by a one-time code reaches nothing.
    "frontend.middleware.SecondFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ehr.urls"
WSGI_APPLICATION = "ehr.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
_default_sqlite = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": environ.Env.db_url_config(env_str("DATABASE_URL", _default_sqlite))}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 0)
# A kept connection is tried (SELECT 1) before a request reuses it: a database restart
# then costs a reconnection, not the first request after it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("CONN_HEALTH_CHECKS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a Celery worker process started by the tests
    # reads the same test database as the test itself.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif env_bool("DATABASE_PREPARED_STATEMENTS", True):
    # PostgreSQL: values travel as parameters beside the statement (not quoted into its
    # text), so a statement a connection runs again and again (the token lookup, the
    # reach check, the inserts of charting) is the same text every time; psycopg
    # prepares it on its 5th run and PostgreSQL reuses its plan. Persistent connections
    # (CONN_MAX_AGE) keep them. Off (false) behind a pooler in transaction mode
    # that cannot keep prepared statements (PgBouncer before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=5
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts ---------------------------------------------------------------------
AUTH_USER_MODEL = "ehr.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out users before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "frontend:login"
LOGIN_REDIRECT_URL = "frontend:home"
LOGOUT_REDIRECT_URL = "frontend:login"

# Lockout after repeated failed logins: per account (from any address) and per
# address (whichever accounts it tries), each counted on its own. Sign-ins from the
# clinic's own networks (LOGIN_TRUSTED_NETWORKS, e.g. the address its staff share
# behind NAT) are counted per account only (ehr.lockout.lockout_parameters).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
LOGIN_TRUSTED_NETWORKS = env_networks("LOGIN_TRUSTED_NETWORKS")
AXES_LOCKOUT_PARAMETERS = "ehr.lockout.lockout_parameters"
# A success must not wipe the failures: with separate counters, signing in to one's
# own account would otherwise reset the count of the address trying someone else's.
# Failures age out after AXES_COOLOFF_TIME instead.
AXES_RESET_ON_SUCCESS = False
# The same client address as the audit trail (the hop the TLS proxy saw).
AXES_CLIENT_IP_CALLABLE = "ehr.audit.client_ip"
AXES_LOCKOUT_CALLABLE = "ehr.lockout.lockout_response"
AXES_ENABLED = env_bool("AXES_ENABLED", True)

# Second factor: staff may enrol a TOTP device; with OTP_REQUIRED every staff
# login must present a code.
OTP_REQUIRED = env_bool("OTP_REQUIRED", False)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Clinic records")

# Automatic logoff after a period without requests (the session expires).
IDLE_TIMEOUT_MINUTES = env_int("IDLE_TIMEOUT_MINUTES", 15)
SESSION_COOKIE_AGE = IDLE_TIMEOUT_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# And at the latest this long after signing in, however active (frontend.middleware).
SESSION_ABSOLUTE_HOURS = env_int("SESSION_ABSOLUTE_HOURS", 12)
if SESSION_ABSOLUTE_HOURS < 1:
    raise ImproperlyConfigured("SESSION_ABSOLUTE_HOURS must be a whole number of hours, 1 or more.")

BREAK_GLASS_HOURS = env_int("BREAK_GLASS_HOURS", 4)

# An API token works for this long after it was issued (ehr.authentication); signing
# in again at /api/v1/auth/token/ then issues a fresh one.
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 12)
if API_TOKEN_TTL_HOURS < 1:
    raise ImproperlyConfigured("API_TOKEN_TTL_HOURS must be a whole number of hours, 1 or more.")

# --- Security (production) ------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy (django-csp): scripts, styles, fonts and requests from this
# origin only, no inline script or style, no plugins, no framing, forms post only
# here. Images may also be data: URIs (the TOTP enrolment QR code is one). The
# templates have no inline <script>, event-handler or style attributes; htmx is
# told not to inject its indicator styles nor to evaluate code (base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Internationalisation ------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

# --- Static files and private storage ------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
PRIVATE_STORAGE_ROOT = Path(env_str("PRIVATE_STORAGE_ROOT", str(VAR_DIR / "private")))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # No base_url: private files are served only through permission-checked views.
        "OPTIONS": {"location": str(PRIVATE_STORAGE_ROOT), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}

# --- Email -------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "records@clinic.invalid")
# Absolute address of the web app, used in links sent by email.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CLINIC_NAME = env_str("CLINIC_NAME", "Harbor Ketamine Infusion Clinic")
CLINIC_ADDRESS = env_str("CLINIC_ADDRESS", "200 Harbor Street, Suite 4, Portland, ME 04101")
CLINIC_PHONE = env_str("CLINIC_PHONE", "(207) 555-0142")

# --- REST API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ehr.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["ehr.api.permissions.IsActiveStaffOrPortalUser"],
    "DEFAULT_PAGINATION_CLASS": "ehr.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ehr.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ketamine infusion clinic records API",
    "DESCRIPTION": "Patients, evaluations, infusion sessions, rating scales and treatment "
    "summaries. Every request is scoped by role and care team and is audited.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery ------------------------------------------------------------------------
# With CELERY_BROKER_URL unset the embedded default is a filesystem broker in
# var/celery: a real worker process runs without Redis (see README).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or "filesystem://"
CELERY_EMBEDDED_BROKER_DIR = VAR_DIR / "celery"
if CELERY_BROKER_URL == "filesystem://":
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_EMBEDDED_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_EMBEDDED_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_EMBEDDED_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_EMBEDDED_BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.05,
    }
else:
    # A task not acknowledged within this time is handed to another worker; every
    # task time limit must stay well below it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
if not 0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT.")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django support closes the worker's database connection before and after every
# task unless this is set. ehr.celery applies Django's rule for the time between two
# requests instead (CONN_MAX_AGE, CONN_HEALTH_CHECKS), so a worker keeps its connection
# when CONN_MAX_AGE allows; Celery's own count then only closes it after this many tasks.
CELERY_DB_REUSE_MAX = 10_000
# Tests give their worker a queue of its own so that no other worker takes their tasks.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# How often beat runs the sweep of stuck treatment summaries (seconds).
SUMMARY_SWEEP_SECONDS = env_float("SUMMARY_SWEEP_SECONDS", 60.0)
CELERY_BEAT_SCHEDULE = {
    # Re-enqueue treatment summaries stuck in "queued", or "generating" past their lease.
    "requeue-stuck-summaries": {
        "task": "reports.requeue_stuck_summaries",
        "schedule": SUMMARY_SWEEP_SECONDS,
        # A sweep not started before the next one is due is dropped, not run late.
        "options": {"expires": SUMMARY_SWEEP_SECONDS * 11 / 12},
    },
}
CELERY_TIMEZONE = TIME_ZONE

# --- Treatment summaries ---------------------------------------------------------------
# A summary still "queued" after this long is enqueued again by the sweep.
# Minutes; decimals allowed (the fault drills use a fraction of a minute).
SUMMARY_QUEUED_GRACE_MINUTES = env_float("SUMMARY_QUEUED_GRACE_MINUTES", 5)
# A generation attempt that has not finished after this long is taken back by the sweep;
# it must outlast the task's hard time limit so that a live attempt is never taken over.
SUMMARY_LEASE_MINUTES = env_float("SUMMARY_LEASE_MINUTES", 10)
# Attempts (crashed, timed out or retried) before a summary fails for good.
SUMMARY_MAX_ATTEMPTS = env_int("SUMMARY_MAX_ATTEMPTS", 3)
if SUMMARY_LEASE_MINUTES * 60 <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("SUMMARY_LEASE_MINUTES must exceed the task time limit.")

# --- Logging -------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
