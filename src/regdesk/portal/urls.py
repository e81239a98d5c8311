from django.contrib.auth import views as auth_views
from django.urls import path

from regdesk.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("login/link/", views.signin_link_request, name="signin_link_request"),
    path("login/link/sent/", views.signin_link_sent, name="signin_link_sent"),
    path("login/link/<str:token>/", views.signin_link, name="signin_link_redeem"),
    path("desks/<slug:desk_slug>/regulation/", views.regulation_page, name="regulation"),
    path("desks/<slug:desk_slug>/new/", views.request_new, name="request_new"),
    path("desks/<slug:desk_slug>/new/fields/", views.request_fields, name="request_fields"),
    path("requests/<str:public_key>/", views.ticket_detail, name="ticket"),
    path("requests/<str:public_key>/reply/", views.ticket_reply, name="ticket_reply"),
    path(
        "requests/<str:public_key>/details/",
        views.ticket_supply_missing,
        name="ticket_supply_missing",
    ),
    path("requests/<str:public_key>/solved/", views.ticket_confirm_solved, name="ticket_solved"),
    path(
        "requests/<str:public_key>/files/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path("widget/<slug:desk_slug>.js", views.widget_script, name="widget"),
]
