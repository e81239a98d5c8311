from django.urls import path

from regdesk.workspace.views import actions, calls, inbound, queues, regulations, tickets

app_name = "workspace"
urlpatterns = [
    path("", queues.queue_view, name="queue"),
    path("q/<slug:queue>/", queues.queue_view, name="queue"),
    path("counts/", queues.queue_counts_view, name="counts"),
    path("calls/", calls.calls_view, name="calls"),
    path("inbound/", inbound.inbound_view, name="inbound"),
    path("inbound/<int:pk>/retry/", inbound.inbound_retry_view, name="inbound_retry"),
    path("inbound/<int:pk>/original/", inbound.inbound_original_view, name="inbound_original"),
    path("t/<str:reference>/", tickets.ticket_view, name="ticket"),
    path(
        "t/<str:reference>/secrets/<slug:field_id>/reveal/",
        tickets.secret_reveal_view,
        name="secret_reveal",
    ),
    path("t/<str:reference>/<slug:action>/", actions.ticket_action, name="ticket_action"),
    path("attachments/<int:pk>/", tickets.attachment_download, name="attachment"),
    path("regulation/<slug:slug>/", regulations.regulation_view, name="regulation"),
]
