from django.urls import path

from regdesk.telegram import views

app_name = "telegram"
urlpatterns = [
    path("link/", views.link, name="link"),
    path("<int:bot_id>/webhook", views.webhook, name="webhook"),
]
