"""Forms of the server pages. Field names are the API's, so a 400's field errors land on
the field of the same name; each form checks what the API documents before sending."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from servers import client as vpsorg
from servers.catalog import Location, location, orderable, os_groups, plan_locations
from servers.models import OperatingSystem, SSHKey
from servers.money import money
from servers.templatetags.server_format import gigabytes, megabytes

# The API documents no maximum; 64 keeps a name usable as a DNS label and is what
# a DRF CharField backend would typically allow.
NAME_MAX = 64
HOSTNAME_MAX = 253

name_validator = RegexValidator(
    r"\A[A-Za-z0-9-]+\Z",
    _("Use only letters, digits and hyphens (no spaces or dots)."),
    code="invalid_name",
)

_LABEL = re.compile(r"\A[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_POSITIVE_INT = re.compile(r"\A[1-9][0-9]{0,17}\Z")
_LOCATION = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")


def validate_fqdn(value: str) -> None:
    """A fully qualified domain name: two labels or more, no all-digit top label."""
    labels = value.split(".")
    if (
        len(value) > HOSTNAME_MAX
        or len(labels) < 2
        or labels[-1].isdigit()
        or not all(_LABEL.match(label) for label in labels)
    ):
        raise ValidationError(
            _("Enter a fully qualified domain name, such as web01.example.com."),
            code="invalid_hostname",
        )


def _positive_int(value: str, message: str) -> str:
    if not _POSITIVE_INT.match(value):
        raise ValidationError(message, code="invalid")
    return value


class NameField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Name"))
        kwargs.setdefault(
            "help_text", _("Letters, digits and hyphens, e.g. web-server-02. Up to 64 characters.")
        )
        super().__init__(max_length=NAME_MAX, validators=[name_validator], **kwargs)
        self.widget.attrs.update(
            {"pattern": "[A-Za-z0-9\\-]+", "autocomplete": "off", "spellcheck": "false"}
        )


class HostnameField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Hostname"))
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", _("Optional. A fully qualified domain name, e.g. web02.example.com.")
        )
        super().__init__(max_length=HOSTNAME_MAX, validators=[validate_fqdn], **kwargs)
        self.widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def to_python(self, value: Any) -> str:
        # A trailing dot is the same FQDN written absolutely; the API wants it without.
        return super().to_python(value).rstrip(".")


def apply_api_errors(form: forms.Form, error: vpsorg.InvalidRequest) -> None:
    """Put a 400's field errors on the fields of the same name; the rest above the form."""
    placed = False
    for field, messages in error.field_errors.items():
        for message in messages:
            if field in form.fields and not form.fields[field].widget.is_hidden:
                form.add_error(field, message)
            else:
                form.add_error(None, f"{field}: {message}")
            placed = True
    if not placed:
        form.add_error(None, error.message)


class PanelForm(forms.Form):
    """Labels sit above their fields, so they need no trailing colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


@dataclass(frozen=True, slots=True)
class PlanCard:
    """One plan as the create form shows it: a radio card with its resources and prices."""

    plan: vpsorg.Plan
    value: str
    specs: list[str]
    monthly: str
    hourly: str
    where: list[Location]
    offered_here: bool
    checked: bool

    @property
    def locations_attr(self) -> str:
        return " ".join(loc.code for loc in self.where)

    @property
    def where_text(self) -> str:
        return ", ".join(loc.title for loc in self.where)

    @property
    def summary(self) -> str:
        return " · ".join([self.plan.name, *self.specs[:3]])


@dataclass(frozen=True, slots=True)
class LocationCard:
    location: Location
    checked: bool


class ServerCreateForm(PanelForm):
    # In page order: where, what, then who it is and how to reach it.
    location = forms.CharField(label=_("Location"))
    plan_id = forms.CharField(label=_("Plan"))
    os_id = forms.CharField(label=_("Operating system"), widget=forms.Select)
    name = NameField()
    hostname = HostnameField()
    ssh_key_id = forms.CharField(
        label=_("SSH key"),
        required=False,
        widget=forms.Select,
        help_text=_("Optional. One of the SSH keys saved in the team, by its name."),
    )
    backups_enabled = forms.BooleanField(
        label=_("Automatic backups"),
        required=False,
        help_text=_("VPS.org keeps regular backups of the server."),
    )
    # One-time token against double submits; see servers.views.CreateGuard.
    form_nonce = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        plans: list[vpsorg.Plan] | None,
        operating_systems: list[OperatingSystem],
        ssh_keys: list[SSHKey],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # None: the plans could not be loaded; the API then judges plan and location,
        # typed into plain text fields.
        self.plans = plans
        self.operating_systems = operating_systems
        self.ssh_keys = ssh_keys
        self.locations = plan_locations(plans) if plans is not None else []
        self.fields["os_id"].widget.choices = [("", _("Choose an operating system…"))] + [
            (family, [(os.api_id, os.name) for os in members])
            for family, members in os_groups(operating_systems)
        ]
        self.fields["ssh_key_id"].widget.choices = [("", _("No SSH key"))] + [
            (str(k.key_id), k.name) for k in ssh_keys
        ]
        if plans is None:
            for name in ("location", "plan_id"):
                self.fields[name].widget.attrs.update({"autocomplete": "off"})

    def location_cards(self) -> list[LocationCard]:
        chosen = self["location"].value() or ""
        return [LocationCard(location(code), code == chosen) for code in self.locations]

    def plan_cards(self) -> list[PlanCard]:
        """Every plan a new server can have, wherever it is offered: without scripts all
        are shown with their locations (the server checks the pair); static/js/create.js
        hides those not offered in the chosen location."""
        chosen_plan = str(self["plan_id"].value() or "")
        here = self.selected_location()
        cards = []
        for plan in orderable(self.plans or []):
            specs = []
            if plan.vcpus is not None:
                specs.append(ngettext("%(n)s vCPU", "%(n)s vCPUs", plan.vcpus) % {"n": plan.vcpus})
            if plan.memory is not None:
                specs.append(_("%(size)s RAM") % {"size": megabytes(plan.memory)})
            if plan.storage is not None:
                specs.append(_("%(size)s disk") % {"size": gigabytes(plan.storage)})
            if plan.bandwidth is not None:
                specs.append(_("%(size)s transfer") % {"size": gigabytes(plan.bandwidth)})
            cards.append(
                PlanCard(
                    plan=plan,
                    value=str(plan.id),
                    specs=specs,
                    monthly=money(plan.price_monthly),
                    hourly=money(plan.price_hourly, exact=True),
                    where=[location(code) for code in plan.locations],
                    offered_here=not here or not plan.locations or here in plan.locations,
                    checked=str(plan.id) == chosen_plan,
                )
            )
        return cards

    def chosen_plan(self) -> PlanCard | None:
        return next((card for card in self.plan_cards() if card.checked), None)

    def chosen_location(self) -> Location | None:
        here = self.selected_location()
        return location(here) if here else None

    def chosen_os(self) -> OperatingSystem | None:
        value = str(self["os_id"].value() or "")
        return next((os for os in self.operating_systems if os.api_id == value), None)

    def selected_location(self) -> str:
        value = self["location"].value() or ""
        return value if value in self.locations else ""

    def clean_location(self) -> str:
        value = self.cleaned_data["location"].strip()
        if self.plans is not None and value not in self.locations:
            raise ValidationError(_("Choose one of the locations offered."), code="invalid")
        if not _LOCATION.match(value):
            raise ValidationError(_("Enter a datacenter code such as us-west."), code="invalid")
        return value

    def clean_os_id(self) -> str:
        value = self.cleaned_data["os_id"].strip()
        if any(os.api_id == value for os in self.operating_systems):
            return value
        # An id the catalog does not know yet is still sent if it is what the API
        # documents (an integer): the catalog may lag behind VPS.org.
        return _positive_int(value, _("Choose one of the operating systems offered."))

    def clean_ssh_key_id(self) -> str:
        value = self.cleaned_data["ssh_key_id"].strip()
        if not value:
            return ""
        return _positive_int(value, _("An SSH key id is a whole number, such as 42."))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        plan_id, location = data.get("plan_id"), data.get("location")
        if not plan_id:
            return data
        if self.plans is None:
            # Plans unknown (the API failed): check the form, let VPS.org judge the offer.
            if not _POSITIVE_INT.match(plan_id) and not re.fullmatch(r"[A-Za-z0-9-]+", plan_id):
                self.add_error("plan_id", _("Choose a plan."))
            return data
        plan = next((p for p in self.plans if str(p.id) == plan_id), None)
        if plan is None or plan.available is False:
            self.add_error("plan_id", _("Choose one of the plans offered."))
        elif location and plan.locations and location not in plan.locations:
            self.add_error(
                "plan_id",
                _("%(plan)s is not offered in %(location)s. Choose another plan or location.")
                % {"plan": plan.name, "location": location},
            )
        return data

    def api_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "plan_id": data["plan_id"],
            "os_id": data["os_id"],
            "location": data["location"],
            "hostname": data["hostname"] or None,
            "ssh_key_id": data["ssh_key_id"] or None,
            "backups_enabled": data["backups_enabled"],
        }


class ServerEditForm(PanelForm):
    name = NameField()
    hostname = HostnameField(
        help_text=_("A fully qualified domain name, e.g. web02.example.com. Leave empty for none.")
    )
    backups_enabled = forms.BooleanField(label=_("Automatic backups"), required=False)

    @classmethod
    def initial_for(cls, server: vpsorg.Server) -> dict[str, Any]:
        return {
            "name": server.name,
            "hostname": server.hostname or "",
            "backups_enabled": bool(server.backups_enabled),
        }


class RenameForm(PanelForm):
    name = NameField(label=_("New name"))


class DeleteForm(PanelForm):
    """The user types the server's name; the view compares it with the real one."""

    name = forms.CharField(
        label=_("Type the server's name to confirm"),
        max_length=200,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class SSHKeyForm(forms.ModelForm):
    class Meta:
        model = SSHKey
        fields = ("name", "key_id")
        help_texts = {
            "name": _("What the team calls it, e.g. “Deploy key” or “Ana's laptop”."),
            # Not the label again ("VPS.org key id"): what the id looks like.
            "key_id": _("The number VPS.org gave the key, e.g. 42."),
        }

    def __init__(self, *args: Any, team: Any, **kwargs: Any) -> None:
        # Labels above their fields, without a colon, as on every other form (PanelForm).
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.instance.team = team
        self.fields["key_id"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})
        self.fields["name"].widget.attrs.update({"autocomplete": "off"})

    def validate_unique(self) -> None:
        # team is not a form field, so ModelForm would skip the per-team constraints.
        try:
            self.instance.validate_constraints()
        except ValidationError as exc:
            self._update_errors(exc)
