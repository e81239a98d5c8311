from django.urls import path

from regdesk.account import views

app_name = "account"
urlpatterns = [
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke_view, name="token_revoke"),
    path("notifications/", views.notification_settings, name="notifications"),
]
