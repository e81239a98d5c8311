from django.contrib import admin

from regdesk.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `regdesk token create` or the API page; here they are listed and
    revoked (the plaintext is shown once, at creation, and never stored)."""

    list_display = ["name", "user", "prefix", "scope", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["scope"]
    readonly_fields = ["user", "prefix", "digest", "scope", "created_at", "last_used_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
