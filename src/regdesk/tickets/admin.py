from django.contrib import admin

from regdesk.tickets.models import CannedReply, Ticket


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "desk", "language"]
    list_filter = ["desk", "language"]
    search_fields = ["title", "body"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Read-only: tickets change only through the workspace and API (the services)."""

    list_display = ["reference", "subject", "desk", "status", "priority", "next_due_at"]
    list_filter = ["desk", "status", "priority"]
    search_fields = ["reference", "subject"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
