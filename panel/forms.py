from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from panel import throttle
from panel.models import Role


class NoColonMixin:
    """Labels sit above their fields: no "Email:" colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SignupForm(NoColonMixin, UserCreationForm):
    email = forms.EmailField(
        label=_("Email"),
        required=True,
        help_text=_("For resetting your password and receiving invitations."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        # One account per address: a password reset mails every account with the address.
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _(
                    "An account with this email address exists already. Log in, or reset its "
                    "password."
                ),
                code="email_taken",
            )
        return email


class InvitedSignupForm(SignupForm):
    """Signing up from an invitation: the email is the one the invitation was sent to."""

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].initial = email
        self.fields["email"].disabled = True


class PanelAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing outright while the username or address is locked out."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _(
            "Too many failed log-in attempts. For your safety, logging in is paused for "
            "%(minutes)s; try again then."
        ),
    }

    def clean(self) -> dict[str, Any]:
        seconds = throttle.locked_for(self.request, self.cleaned_data.get("username"))
        if seconds:
            minutes = max(1, -(-seconds // 60))
            raise forms.ValidationError(
                self.error_messages["locked"],
                code="locked",
                params={
                    "minutes": ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
                },
            )
        return super().clean()


class TokenForm(NoColonMixin, forms.Form):
    token = forms.CharField(
        label=_("API token"),
        max_length=500,
        strip=True,
        # render_value=False: a token typed into a form that failed is never sent back.
        widget=forms.PasswordInput(
            render_value=False,
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"},
        ),
        help_text=_(
            "An API token of your VPS.org account. The panel checks it with VPS.org, then "
            "stores it encrypted; it is never shown again in full."
        ),
    )


class InviteForm(NoColonMixin, forms.Form):
    email = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class TeamSwitchForm(forms.Form):
    team = forms.IntegerField(min_value=1)
