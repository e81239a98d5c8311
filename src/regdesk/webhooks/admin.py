from django.contrib import admin

from regdesk.webhooks.models import WebhookDelivery, WebhookSubscription
from regdesk.webhooks.services import webhooks_desk_flag_refresh


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Subscriptions are created through the API (the secret is shown once); here an
    administrator may allow private targets or switch a subscription off."""

    list_display = ["desk", "url", "is_active", "allow_private", "created_at"]
    list_filter = ["desk", "is_active", "allow_private"]
    fields = ["desk", "url", "events", "is_active", "allow_private", "created_by", "created_at"]
    readonly_fields = ["desk", "url", "events", "created_by", "created_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        webhooks_desk_flag_refresh(desk=obj.desk)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "subscription", "kind", "state", "attempts", "last_status"]
    list_filter = ["state", "kind"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
