"""riskreg settings: one file, read from the environment.

Every value comes through a helper that refuses a bad value loudly instead of guessing.
The embedded default is SQLite in the project folder. DEBUG is off unless DEBUG=1 says otherwise
(`make run` and the test suite set it for a development machine): a forgotten variable must not turn
on debug pages or demo logins. A deployment sets SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL
(see .env.example).
"""

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


SUPPORTED_ENGINES = {"django.db.backends.postgresql", "django.db.backends.sqlite3"}


def database_from_url(url: str) -> dict:
    """Turn postgres://user:password@host:port/name?sslmode=require into a DATABASES entry (dj-database-url).

    Only PostgreSQL and SQLite are supported: a typo in the scheme must not fall back
    silently to some other database.
    """
    config: dict[str, Any]  # a DATABASES entry: dj-database-url's, with this project's keys added
    try:
        scheme = urlsplit(url).scheme
        config = dict(dj_database_url.parse(url))
    except dj_database_url.UnknownSchemeError:
        config = {}
    except ValueError as error:  # a port that is no number, a bracket left open
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid URL: {error}") from None
    if config.get("ENGINE") not in SUPPORTED_ENGINES:
        raise ImproperlyConfigured(f"DATABASE_URL scheme {scheme!r} is not supported (use postgres:// or sqlite:///)")
    # Each request is one transaction: a change and its history commit or roll back together.
    config["ATOMIC_REQUESTS"] = True
    if config["ENGINE"] == "django.db.backends.sqlite3":
        if config["NAME"] in ("", ":memory:"):  # dj-database-url reads sqlite:/// as an in-memory database
            raise ImproperlyConfigured("DATABASE_URL=sqlite:///PATH names no file")
        return config
    if not config["NAME"]:
        raise ImproperlyConfigured("DATABASE_URL names no database (postgres://user:pw@host:port/NAME)")
    config.update(PORT=str(config["PORT"]), OPTIONS=config.get("OPTIONS", {}), CONN_HEALTH_CHECKS=True,
                  CONN_MAX_AGE=env_int("CONN_MAX_AGE", 60))  # fmt: skip
    return config


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (see .env.example); "
            "on a development machine set DEBUG=1 instead, as `make run` does"
        )
    # Development only: a fixed key is fine on one's own machine, never in production.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "riskreg.lib.security.csrf_failure"  # the form-expired page in the app's layout

INSTALLED_APPS = [
    "django.contrib.admin",
    # Before auth: its createsuperuser and changepassword write users inside a transaction (tracked).
    "riskreg.accounts",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "django_tables2",
    "simple_history",
    "riskreg.frameworks",
    "riskreg.evaluations",
    "riskreg.risks",
    "riskreg.decisions",
    "riskreg.audit",
    "riskreg.importers",
    "riskreg.notifications",
    "riskreg.filings",
    "riskreg.demo",  # seed_demo and generate_data: the demo and synthetic loaders
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost, so that every response carries them, also one a middleware below answers by itself
    # (the 413 of UploadLimitMiddleware, a redirect to the log-in page): issue 27.
    "riskreg.lib.security.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "riskreg.lib.security.UploadLimitMiddleware",  # before anything reads the body (CSRF reads the form)
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "riskreg.lib.security.SessionLifetimeMiddleware",
    "riskreg.lib.security.MethodNotAllowedPageMiddleware",
    # Puts request.user on every history record a request writes.
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "riskreg.urls"
WSGI_APPLICATION = "riskreg.wsgi.application"

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
                "riskreg.views.my_work_count",
            ],
            # Where each fact comes from, one way for every page, report and record (riskreg/provenance.py).
            "libraries": {"provenance": "riskreg.templatetags.provenance"},
        },
    },
]

_database_url = os.environ.get("DATABASE_URL", "")
if _database_url:
    DATABASES = {"default": database_from_url(_database_url)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
            # Each request is one transaction: a change and its history commit or roll back together.
            "ATOMIC_REQUESTS": True,
        }
    }

# PostgreSQL with two roles (riskreg/lib/dbroles.py): the app connects as the DATABASE_URL role, which
# owns nothing; `migrate` connects as the MIGRATE_DATABASE_URL role, which owns the tables, and grants
# the app role what it needs. Unset, migrations use DATABASE_URL (one role, as before).
_migrate_database_url = os.environ.get("MIGRATE_DATABASE_URL", "")
MIGRATE_DATABASE = database_from_url(_migrate_database_url) if _migrate_database_url else None
if MIGRATE_DATABASE is not None and (
    {MIGRATE_DATABASE["ENGINE"], DATABASES["default"]["ENGINE"]} != {"django.db.backends.postgresql"}
    or MIGRATE_DATABASE["NAME"] != DATABASES["default"]["NAME"]
):
    raise ImproperlyConfigured(
        "MIGRATE_DATABASE_URL and DATABASE_URL must name the same PostgreSQL database (with two different roles)"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Each person's signing key is derived from their password (accounts/signer_keys.py) at this cost: the
# public key is as good a check of a guessed password as a password hash, so as slow as Django's own.
SIGNER_KEY_ITERATIONS = env_int("SIGNER_KEY_ITERATIONS", 1_000_000)
if SIGNER_KEY_ITERATIONS < 1:
    raise ImproperlyConfigured("SIGNER_KEY_ITERATIONS must be a positive number of iterations.")

# A sign-off counts toward approval only with a valid signature by its signer's own key (issue 27).
# Sign-offs made before signer keys existed carry none: SIGNATURES_REQUIRED_AFTER_EVENT, the audit trail's
# head (`manage.py audit_head`, its number) just before the upgrade, lets those written up to that event
# count still. An event's number is given under the chain's lock and cannot be set back, as a time can.
SIGN_OFFS_NEED_SIGNATURE = env_bool("SIGN_OFFS_NEED_SIGNATURE", True)
SIGNATURES_REQUIRED_AFTER_EVENT = env_int("SIGNATURES_REQUIRED_AFTER_EVENT", 0)
if SIGNATURES_REQUIRED_AFTER_EVENT < 0:
    raise ImproperlyConfigured("SIGNATURES_REQUIRED_AFTER_EVENT must be an audit event's number, or 0 for none.")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:after-login"  # My work for someone with tasks, else the overview
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-gb"
FORMAT_MODULE_PATH = ["riskreg.formats"]  # one date format everywhere: "7 Apr 2026"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Largest evidence file accepted, in bytes (25 MB by default).
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 25 * 1024 * 1024)
# Largest Inspect log imported, in bytes (200 MB by default; for a multi-file upload, all files together).
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 200 * 1024 * 1024)
# Reading a log is bounded in memory and time whatever the file holds (riskreg/importers/inspect.py):
# the parts of an .eval zip (counted from its end record before its directory is read), each part's
# unpacked size, the total unpacked of the parts read, the header (parsed whole), any one sample
# (summaries and a .json log's samples stream one at a time) and the number of samples.
IMPORT_MAX_MEMBERS = env_int("IMPORT_MAX_MEMBERS", 100_000)
IMPORT_MAX_MEMBER_BYTES = env_int("IMPORT_MAX_MEMBER_BYTES", 64 * 1024 * 1024)
IMPORT_MAX_UNPACKED_BYTES = env_int("IMPORT_MAX_UNPACKED_BYTES", 256 * 1024 * 1024)
IMPORT_MAX_HEADER_BYTES = env_int("IMPORT_MAX_HEADER_BYTES", 2 * 1024 * 1024)
IMPORT_MAX_SAMPLE_BYTES = env_int("IMPORT_MAX_SAMPLE_BYTES", 2 * 1024 * 1024)
IMPORT_MAX_SAMPLES = env_int("IMPORT_MAX_SAMPLES", 500_000)
IMPORT_MAX_METRICS = env_int("IMPORT_MAX_METRICS", 1_000)
# Parsing costs by the JSON value, not by the byte (`{}` is 3 bytes): the values of one log (all the
# parts read, or the whole .json) and of one .eval part are counted as they stream, before they are
# parsed (issue 27): each `,`, `{` and `[`. The defaults allow 8 bytes a value at the byte limits above;
# real logs run 14 to 50 bytes a value (a tiny part 9), `[{},{},…]` 1.5.
IMPORT_MAX_JSON_VALUES = env_int("IMPORT_MAX_JSON_VALUES", 32_000_000)
IMPORT_MAX_PART_JSON_VALUES = env_int("IMPORT_MAX_PART_JSON_VALUES", 8_000_000)
# ... and of all the files of one request (an API call, a browser preview or its confirmation, a run of
# import_inspect): by default what one log may cost, so that 50 files cost no more than one largest log.
IMPORT_MAX_REQUEST_JSON_VALUES = env_int("IMPORT_MAX_REQUEST_JSON_VALUES", IMPORT_MAX_JSON_VALUES)
# Imports running at once, across every worker process (riskreg/importers/slots.py): per user, and in
# all, so that most server threads stay free for everything else. Beyond either, a refusal (429); 0: no limit.
IMPORT_MAX_CONCURRENT_PER_USER = env_int("IMPORT_MAX_CONCURRENT_PER_USER", 1)
IMPORT_MAX_CONCURRENT = env_int("IMPORT_MAX_CONCURRENT", 2)

# tables2 declares the lists' columns and sorts; riskreg/lib/lists.py draws them (no tables2 template).
# A list filter left empty reads "Any", not a row of dashes.
FILTERS_EMPTY_CHOICE_LABEL = "Any"

# Sessions end after 30 minutes without a request, and 12 hours after logging in, whatever happens.
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Log-in attempts: after this many failures for one username (or four times as many from one
# address) within the window, further attempts are refused until the window has passed.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Mail (issue 16): Django's mail framework. With EMAIL_HOST set, mail goes to that SMTP server;
# without it (the demo), to the console. Mail is queued with the change that causes it and sent after
# the commit; what fails is retried by `manage.py send_notifications` (cron). SITE_URL makes the links.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "riskreg <riskreg@localhost>")
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000")

# Signed checkpoints of the audit trail (issue 18). The private key lives in this file, never in the
# database: `manage.py audit_keygen` writes it, `audit_checkpoint` signs with it (cron). The origin is
# the checkpoints' first line: the log's name for witnesses, the same for the life of the trail.
AUDIT_SIGNING_KEY = os.environ.get("AUDIT_SIGNING_KEY", str(BASE_DIR / "audit-signing.key"))
AUDIT_ORIGIN = os.environ.get("AUDIT_ORIGIN", "riskreg.localhost/audit")
# Checkpoints are checked against verifier keys from here only, never from the database (issue 27): the
# key file's own; AUDIT_VERIFIER_KEY, the published key, for a server or witness without the private key;
# AUDIT_OLD_VERIFIER_KEYS (comma-separated), keys retired by `audit_keygen --replace`.
AUDIT_VERIFIER_KEY = os.environ.get("AUDIT_VERIFIER_KEY", "")
AUDIT_OLD_VERIFIER_KEYS = env_list("AUDIT_OLD_VERIFIER_KEYS", [])
# Checkpoint rows and tree nodes the app's role planted (it can insert them, never remove them), once an
# operator has looked at them: verify_audit names them until they are listed here, and prints the value to
# set (comma-separated: checkpoint:ID, checkpoint:ID-ID, node:HEIGHT/POSITION, node:HEIGHT/POSITION-POSITION).
AUDIT_ACKNOWLEDGED_PLANTED = env_list("AUDIT_ACKNOWLEDGED_PLANTED", [])

# The reporting rules (regimes, deadlines, report outlines) as data, with their sources (issue 19): empty
# means riskreg/filings/obligations.json; a reviewed local copy may be named instead.
FILING_RULES = os.environ.get("FILING_RULES", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
