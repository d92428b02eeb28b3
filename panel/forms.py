from __future__ import annotations

from typing import Any

from allauth.account import forms as allauth_forms
from allauth.mfa.base import forms as mfa_forms
from allauth.mfa.totp import forms as totp_forms
from allauth.mfa.webauthn import forms as webauthn_forms
from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from panel.models import Role


class NoColonMixin:
    """Labels sit above their fields: no "Email:" colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SignupForm(NoColonMixin, UserCreationForm):
    """The account form of an invitation's join page (the sign-up page is allauth's)."""

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


# --- allauth's forms, without the "Label:" colon (ACCOUNT_FORMS and MFA_FORMS in settings) ---


class LoginForm(NoColonMixin, allauth_forms.LoginForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The page links to the password reset below the form, not inside the label.
        self.fields["password"].help_text = ""


class AccountSignupForm(NoColonMixin, allauth_forms.SignupForm):
    pass


class ChangePasswordForm(NoColonMixin, allauth_forms.ChangePasswordForm):
    pass


class ResetPasswordForm(NoColonMixin, allauth_forms.ResetPasswordForm):
    pass


class ResetPasswordKeyForm(NoColonMixin, allauth_forms.ResetPasswordKeyForm):
    pass


class AddEmailForm(NoColonMixin, allauth_forms.AddEmailForm):
    pass


class ReauthenticateForm(NoColonMixin, allauth_forms.ReauthenticateForm):
    pass


class AuthenticateForm(NoColonMixin, mfa_forms.AuthenticateForm):
    pass


class MFAReauthenticateForm(NoColonMixin, mfa_forms.ReauthenticateForm):
    pass


class ActivateTOTPForm(NoColonMixin, totp_forms.ActivateTOTPForm):
    pass


class AddWebAuthnForm(NoColonMixin, webauthn_forms.AddWebAuthnForm):
    pass
