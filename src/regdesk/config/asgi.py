"""ASGI entry point (uvicorn regdesk.config.asgi:application)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regdesk.config.settings")
application = get_asgi_application()
