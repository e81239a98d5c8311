"""The peer's URLs: its e-mail templates link to its ticket pages."""

from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
