"""Minimal settings for django-helpdesk 2.6 in the email benchmark's own venv (.bench/peer-venv).

Only what helpdesk's install notes require (contrib apps, ``SITE_ID``, its URLs) plus the
benchmark's choices: PostgreSQL like regdesk (PEER_DATABASE_URL), teams mode off (it would pull in
pinax-teams), mail sent to the dummy backend, attachments under PEER_MEDIA_ROOT. Never imported by
regdesk.
"""

import os
from urllib.parse import urlparse

_url = urlparse(
    os.environ.get("PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/peer_helpdesk_bench")
)

SECRET_KEY = "peer-helpdesk-benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SITE_ID = 1
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sites",
    "django.contrib.humanize",
    "django.contrib.staticfiles",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
ROOT_URLCONF = "peer_helpdesk.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": _url.username or "postgres",
        "PASSWORD": _url.password or "",
        "HOST": _url.hostname or "127.0.0.1",
        "PORT": str(_url.port or 5432),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
STATIC_URL = "/static/"
MEDIA_ROOT = os.environ.get("PEER_MEDIA_ROOT", "/tmp/peer-helpdesk-media")
MEDIA_URL = "/media/"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DEFAULT_FROM_EMAIL = "support@wialon.com"
HELPDESK_TEAMS_MODE_ENABLED = False
