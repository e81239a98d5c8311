"""Django settings, read from environment variables through typed helpers (see env.py).

REGDESK_DATA      data directory (SQLite database, uploads, secret key); default ./data
DATABASE_URL      postgres://user@host:port/db selects PostgreSQL; default: SQLite in REGDESK_DATA
REGDESK_SECRET_KEY  Django secret key; default: generated once and kept in REGDESK_DATA
REGDESK_DEBUG     1/0 (default 0)
REGDESK_ALLOWED_HOSTS  comma-separated (default: *)
REGDESK_BASE_URL  public URL of the site, used in emails and links (default http://127.0.0.1:8000)
REGDESK_EMAIL_BACKEND / REGDESK_SMTP_HOST / REGDESK_SMTP_PORT / REGDESK_FROM_EMAIL  outgoing mail
REGDESK_DB_PREPARED  1/0 (default 1): prepared statements on PostgreSQL (0 behind a pooler)
REGDESK_INTAKE_WORKERS  processes of `regdesk mail poll` and `mail maildir` (default 1)
"""

from __future__ import annotations

import secrets
from pathlib import Path

from regdesk.config.env import env_bool, env_database, env_int, env_list, env_path, env_str

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("REGDESK_DATA", Path.cwd() / "data")


def _secret_key() -> str:
    configured = env_str("REGDESK_SECRET_KEY", "")
    if configured:
        return configured
    keyfile = DATA_DIR / "secret_key"
    if not keyfile.exists():
        keyfile.write_text(secrets.token_urlsafe(50))
        keyfile.chmod(0o600)
    return keyfile.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("REGDESK_DEBUG", False)
ALLOWED_HOSTS = env_list("REGDESK_ALLOWED_HOSTS", ["*"])
BASE_URL = env_str("REGDESK_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("REGDESK_CSRF_TRUSTED_ORIGINS", [BASE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "regdesk.desks",
    "regdesk.directory",
    "regdesk.tickets",
    "regdesk.portal",
    "regdesk.workspace",
    "regdesk.api",
    "regdesk.notifications",
    "regdesk.escalation",
    "regdesk.webhooks",
    "regdesk.account",
    "regdesk.consultations",
    "regdesk.channels",
    "regdesk.telegram",
    "django_tasks",
    "django_tasks_db",
]

# Background work (Django Tasks API): the database backend by default; REGDESK_TASKS=redis://…
# selects RQ on Redis for scale-out; REGDESK_TASKS=immediate runs tasks inline (tests, demos).
TASKS_URL = env_str("REGDESK_TASKS", "database")
if TASKS_URL.startswith(("redis://", "rediss://")):
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": TASKS_URL, "DEFAULT_TIMEOUT": 600}}
elif TASKS_URL == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
elif TASKS_URL == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
else:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"REGDESK_TASKS={TASKS_URL!r}: use 'database', 'immediate' or redis://host:port/db"
    )

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "regdesk.directory.middleware.PersonLanguageMiddleware",
    "regdesk.directory.middleware.BrowserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "regdesk.config.urls"
WSGI_APPLICATION = "regdesk.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", sqlite_path=DATA_DIR / "regdesk.sqlite3")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "REGDESK_DB_PREPARED", True
):
    # Parameters bound by the server, and a statement run a few times on a connection prepared
    # once: PostgreSQL then skips parsing and planning it (a third to a half of its CPU per ticket
    # registered). Off for a pooler in transaction mode, which cannot keep prepared statements.
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": True,
        "prepare_threshold": 5,
        **DATABASES["default"].get("OPTIONS", {}),  # type: ignore[dict-item]
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "portal:login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Collected files (`regdesk manage collectstatic`: compressed) are served when present; until
# then, e.g. under `regdesk serve`, whitenoise reads the apps' own files. With finders on, their
# uncompressed copies would shadow the collected ones.
WHITENOISE_USE_FINDERS = not (STATIC_ROOT.is_dir() and any(STATIC_ROOT.iterdir()))
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Seconds a process remembers what an API token stands for (its user, their desks): a token
# revoked, a user deactivated or a membership changed elsewhere takes this long to be seen by
# the other processes. 0: read on every request.
REGDESK_API_AUTH_CACHE_SECONDS = env_int("REGDESK_API_AUTH_CACHE_SECONDS", 5, minimum=0)
# Processes a mail poll or a Maildir import shares its messages out to, by sender and thread
# (docs/channels.md); PostgreSQL only, one on SQLite. The worker's periodic poll keeps one.
REGDESK_INTAKE_WORKERS = env_int("REGDESK_INTAKE_WORKERS", 1, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REGDESK_MAX_UPLOAD_MB", 50, minimum=1) * 1024 * 1024

EMAIL_BACKEND = env_str("REGDESK_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("REGDESK_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = env_int("REGDESK_SMTP_PORT", 25, minimum=1)
DEFAULT_FROM_EMAIL = env_str("REGDESK_FROM_EMAIL", "regdesk@localhost")

CACHE_URL = env_str("REGDESK_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("REGDESK_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("REGDESK_LOG_LEVEL", "WARNING")},
}
