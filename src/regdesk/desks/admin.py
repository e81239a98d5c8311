from django.contrib import admin

from regdesk.desks.models import Desk, RegulationVersion


class RegulationVersionInline(admin.TabularInline):
    model = RegulationVersion
    fields = ["version", "effective_from", "published_at", "published_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # publishing goes through the publish page (validation, diff)


@admin.register(Desk)
class DeskAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "ticket_prefix", "email_address", "is_active"]
    search_fields = ["name", "slug"]
    inlines = [RegulationVersionInline]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # Numbers already given keep their prefix.
        return ["ticket_prefix"] if obj is not None and obj.tickets.exists() else []


@admin.register(RegulationVersion)
class RegulationVersionAdmin(admin.ModelAdmin):
    list_display = ["desk", "version", "effective_from", "published_at", "published_by"]
    list_filter = ["desk"]
    readonly_fields = ["desk", "version", "source", "sha256", "effective_from", "published_at",
                       "published_by"]  # fmt: skip

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # every version is kept
