"""WSGI entry point (gunicorn regdesk.config.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regdesk.config.settings")
application = get_wsgi_application()
