from django.contrib import admin
from django.urls import include, path

from regdesk.api.api import api
from regdesk.config.views import home, language_set

urlpatterns = [
    path("", home, name="home"),
    path("portal/", include("regdesk.portal.urls")),
    path("desk/", include("regdesk.workspace.urls")),
    path("api/v1/", api.urls),
    path("account/", include("regdesk.account.urls")),
    path("telegram/", include("regdesk.telegram.urls")),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", language_set, name="set_language"),
]
