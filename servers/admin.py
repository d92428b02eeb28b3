from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from servers.models import OperatingSystem, ServerProtection, SSHKey


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


@admin.register(ServerProtection)
class ServerProtectionAdmin(admin.ModelAdmin):
    """Read-only: a lock is set and removed by a manager on the panel, where it is audited."""

    list_display = ("server_name", "server_id", "team", "protected_by_name", "protected_at")
    list_filter = ("team",)
    search_fields = ("server_name", "server_id", "team__name", "protected_by_name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
