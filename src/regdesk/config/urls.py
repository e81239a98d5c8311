from django.contrib import admin
from django.urls import include, path

from regdesk.api.api import api
from regdesk.config.views import home

urlpatterns = [
    path("", home, name="home"),
    path("portal/", include("regdesk.portal.urls")),
    path("desk/", include("regdesk.workspace.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]
