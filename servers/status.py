"""Status rules: which statuses are settled, which are in transition, what each allows.

The API documents three settled statuses and four transitional ones; any other status
is unknown and treated as in transition (polled), and shown as it came.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

SETTLED = frozenset({"active", "stopped", "suspended"})
TRANSITIONAL = frozenset({"provisioning", "starting", "stopping", "rebooting"})

LABELS: dict[str, Promise] = {
    "active": _("Active"),
    "stopped": _("Stopped"),
    "suspended": _("Suspended"),
    "provisioning": _("Provisioning"),
    "starting": _("Starting"),
    "stopping": _("Stopping"),
    "rebooting": _("Rebooting"),
}

# Which power actions each settled status allows (the API answers 400 to the others).
ACTIONS: dict[str, tuple[str, ...]] = {
    "active": ("stop", "reboot"),
    "stopped": ("start",),
}

# The statuses the list filter offers: the API's own filter values.
FILTERABLE = ("active", "stopped", "suspended")


def is_settled(status: str) -> bool:
    return status in SETTLED


def label(status: str) -> str:
    """A human label; an unknown status is shown as it came."""
    return str(LABELS.get(status, status))


def allowed_actions(status: str) -> tuple[str, ...]:
    return ACTIONS.get(status, ())
