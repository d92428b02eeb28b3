from __future__ import annotations

from django.contrib import admin

from servers.models import OperatingSystem, SSHKey


@admin.register(OperatingSystem)
class OperatingSystemAdmin(admin.ModelAdmin):
    """The OS catalog the create form offers: fix a name, hide a retired OS, add a new one."""

    list_display = ("name", "api_id", "offered", "source", "created_at")
    list_editable = ("offered",)
    list_filter = ("offered", "source")
    search_fields = ("name", "api_id")
    readonly_fields = ("source", "created_at")


@admin.register(SSHKey)
class SSHKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "key_id", "team", "created_at")
    list_filter = ("team",)
    search_fields = ("name", "key_id", "team__name")
    autocomplete_fields = ("team",)
