from django.contrib import admin

from regdesk.notifications.models import Notification, NotificationPreference


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """What was sent: read-only (delivery runs in the background)."""

    list_display = ["created_at", "event", "address", "state", "attempts", "ticket"]
    list_filter = ["state", "event", "channel"]
    search_fields = ["address", "subject", "ticket__reference"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "event", "enabled"]
    list_filter = ["event", "enabled"]
