from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import TemplateView

app_name = "portal"
urlpatterns = [
    path("", TemplateView.as_view(template_name="base.html"), name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="base.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
