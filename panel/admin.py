from __future__ import annotations

from typing import Any

from allauth.mfa.admin import AuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from panel.accounts import unlock
from panel.audit import Action, record
from panel.models import AuditEntry, Invitation, Membership, Team, TeamToken


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "joined_at")
    autocomplete_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at", "has_token")
    search_fields = ("name",)
    inlines = [MembershipInline]

    @admin.display(boolean=True, description="API token")
    def has_token(self, team: Team) -> bool:
        return TeamToken.objects.filter(team=team).exists()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "role", "joined_at")
    list_filter = ("role",)
    search_fields = ("user__username", "team__name")
    autocomplete_fields = ("user", "team")


@admin.register(TeamToken)
class TeamTokenAdmin(admin.ModelAdmin):
    """Shows who stored which token when; the token itself (even encrypted) never."""

    list_display = ("team", "__str__", "token_name", "stored_by", "stored_at")
    fields = (
        "team",
        "__str__",
        "token_name",
        "account_email",
        "permissions",
        "stored_by",
        "stored_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # Staff may remove a token here; the team's trail records it as the token page does.
    def delete_model(self, request: HttpRequest, obj: TeamToken) -> None:
        label, team = str(obj), obj.team
        super().delete_model(request, obj)
        record(team, request.user, Action.TOKEN_REMOVE, target_name=label)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TeamToken]) -> None:
        removed = [(str(stored), stored.team) for stored in queryset.select_related("team")]
        super().delete_queryset(request, queryset)
        for label, team in removed:
            record(team, request.user, Action.TOKEN_REMOVE, target_name=label)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail cannot be edited or deleted, not even by staff."""

    list_display = (
        "created_at",
        "team",
        "username",
        "action",
        "target_id",
        "target_name",
        "outcome",
    )
    list_filter = ("action", "outcome", "team")
    search_fields = ("username", "target_id", "target_name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: an invitation's link exists only in the mail and on the page that made it."""

    list_display = (
        "email",
        "team",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
    )
    list_filter = ("role",)
    search_fields = ("email", "team__name")
    fields = (*list_display, "accepted_by")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


User = get_user_model()


class PanelUserAdmin(UserAdmin):
    """Django's user admin, with an action that lifts a log-in lock-out (as
    `manage.py unlock_login` does)."""

    actions = ["unlock_login"]

    @admin.action(description=_("Unlock log-in (forget the failed attempts)"))
    def unlock_login(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for user in queryset:
            unlock(username=user.get_username(), user=user)
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "%(n)d account may log in again at once.",
                "%(n)d accounts may log in again at once.",
                count,
            )
            % {"n": count},
            messages.SUCCESS,
        )


admin.site.unregister(User)
admin.site.register(User, PanelUserAdmin)


class ReadOnlyAuthenticatorAdmin(AuthenticatorAdmin):
    """allauth's list of authenticators, without their data (encrypted secrets, keys): staff
    see who has which method and may delete one for a user who lost the device (the user
    then signs in with the password alone and sets it up again)."""

    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.unregister(Authenticator)
admin.site.register(Authenticator, ReadOnlyAuthenticatorAdmin)
