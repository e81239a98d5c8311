from django.contrib import admin

from regdesk.directory.models import (
    Agent,
    AgentMembership,
    Device,
    Organisation,
    Person,
    PersonEmail,
    Product,
    ProductVersion,
)


class PersonEmailInline(admin.TabularInline):
    model = PersonEmail
    extra = 1


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["full_name", "organisation", "is_organisation_manager", "language", "login"]
    list_filter = ["organisation", "is_organisation_manager", "language"]
    search_fields = ["full_name", "emails__address", "login", "telegram_username"]
    inlines = [PersonEmailInline]
    autocomplete_fields = ["organisation", "user"]
    filter_horizontal = ["desks"]


class DeviceInline(admin.TabularInline):
    model = Device
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "tier"]
    list_filter = ["tier", "desks"]
    search_fields = ["name"]
    filter_horizontal = ["desks"]
    inlines = [DeviceInline]


class MembershipInline(admin.TabularInline):
    model = AgentMembership
    extra = 1


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "language"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    inlines = [MembershipInline]


class ProductVersionInline(admin.TabularInline):
    model = ProductVersion
    extra = 1


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["title", "code", "desk", "support_years"]
    list_filter = ["desk"]
    inlines = [ProductVersionInline]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organisation", "model", "serial"]
    search_fields = ["device_id", "serial", "name"]
    list_filter = ["organisation"]
