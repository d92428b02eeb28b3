"""Request body validation with Django REST framework's error shape and wording.

A 400 body is a map of field name to a list of messages, and the messages are DRF's
own where DRF has one ("This field is required.", "A valid integer is required."), so
that a client's error display is exercised with the texts the real API would send.
"""

from __future__ import annotations

import re
from typing import Any

from .catalog import LOCATIONS, OPERATING_SYSTEMS, PLANS
from .errors import ApiError

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
NOT_BLANK = "This field may not be blank."
NOT_STRING = "Not a valid string."
NOT_INTEGER = "A valid integer is required."
NOT_BOOLEAN = "Must be a valid boolean."
READ_ONLY = "This field cannot be changed."
NAME_MAX = 64

_NAME_RE = re.compile(r"[A-Za-z0-9-]+", re.ASCII)
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)

Errors = dict[str, list[str]]

UPDATABLE_FIELDS: tuple[str, ...] = ("name", "hostname", "backups_enabled")


def require_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "null"
        raise ApiError(
            400, {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}
        )
    return data


def is_fqdn(value: str) -> bool:
    """At least two DNS labels; a final all-digit label would make it an IPv4 address."""
    if len(value) > 253:
        return False
    labels = value.split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        return False
    return all(_LABEL_RE.fullmatch(label) for label in labels)


def _check_name(value: Any, errors: Errors) -> str | None:
    if value is None:
        errors["name"] = [NOT_NULL]
    elif not isinstance(value, str):
        errors["name"] = [NOT_STRING]
    elif value.strip() == "":
        errors["name"] = [NOT_BLANK]
    else:
        messages = []
        if len(value) > NAME_MAX:
            messages.append(f"Ensure this field has no more than {NAME_MAX} characters.")
        if not _NAME_RE.fullmatch(value):
            messages.append("Use only letters, digits and hyphens.")
        if messages:
            errors["name"] = messages
        else:
            return value
    return None


def _check_hostname(value: Any, errors: Errors) -> str | None:
    """A hostname may be null (no hostname) but not blank, as DRF's allow_null field."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors["hostname"] = [NOT_STRING]
    elif value.strip() == "":
        errors["hostname"] = [NOT_BLANK]
    elif not is_fqdn(value):
        errors["hostname"] = ["Enter a valid fully qualified domain name, e.g. web01.example.com."]
    return value


def _check_boolean(field: str, value: Any, errors: Errors) -> bool | None:
    # Strictly JSON true/false: the documentation types it as a boolean, and accepting
    # "yes" or 1 would let a sloppy client pass here and fail against the real API.
    if value is None:
        errors[field] = [NOT_NULL]
    elif not isinstance(value, bool):
        errors[field] = [NOT_BOOLEAN]
    else:
        return value
    return None


def _check_integer(field: str, value: Any, errors: Errors) -> int | None:
    # bool is a subclass of int in Python, but JSON true is not an integer.
    if value is None:
        errors[field] = [NOT_NULL]
    elif isinstance(value, bool) or not isinstance(value, int):
        errors[field] = [NOT_INTEGER]
    else:
        return value
    return None


def validate_create(data: Any) -> dict[str, Any]:
    """The create body, cleaned, or ApiError(400) listing every bad field at once."""
    data = require_object(data)
    errors: Errors = {}
    for field in ("name", "plan_id", "os_id", "location"):
        if field not in data:
            errors[field] = [REQUIRED]
    clean: dict[str, Any] = {"hostname": None, "ssh_key_id": None, "backups_enabled": False}

    if "name" in data:
        clean["name"] = _check_name(data["name"], errors)

    plan = None
    if "plan_id" in data:
        plan_id = _check_integer("plan_id", data["plan_id"], errors)
        if plan_id is not None:
            plan = PLANS.get(plan_id)
            if plan is None:
                errors["plan_id"] = [f'Invalid pk "{plan_id}" - object does not exist.']
            elif not plan.available:
                errors["plan_id"] = [f"The plan {plan.name} is not available for new servers."]
                plan = None
            else:
                clean["plan_id"] = plan_id

    if "os_id" in data:
        os_id = _check_integer("os_id", data["os_id"], errors)
        if os_id is not None:
            if os_id in OPERATING_SYSTEMS:
                clean["os_id"] = os_id
            else:
                errors["os_id"] = [f'Invalid pk "{os_id}" - object does not exist.']

    location = None
    if "location" in data:
        value = data["location"]
        if value is None:
            errors["location"] = [NOT_NULL]
        elif not isinstance(value, str) or value not in LOCATIONS:
            errors["location"] = [f'"{value}" is not a valid choice.']
        else:
            location = clean["location"] = value

    if plan is not None and location is not None and location not in plan.locations:
        offered = ", ".join(plan.locations)
        errors["plan_id"] = [
            f"The plan {plan.name} is not offered in {location} (offered in: {offered})."
        ]

    if "hostname" in data:
        clean["hostname"] = _check_hostname(data["hostname"], errors)

    # Optional fields may be sent as null by clients that pass "no value" through.
    if data.get("ssh_key_id") is not None:
        key_id = _check_integer("ssh_key_id", data["ssh_key_id"], errors)
        if key_id is not None:
            if key_id < 1:
                errors["ssh_key_id"] = ["Ensure this value is greater than or equal to 1."]
            else:
                clean["ssh_key_id"] = key_id

    if "backups_enabled" in data:
        clean["backups_enabled"] = _check_boolean(
            "backups_enabled", data["backups_enabled"], errors
        )

    if errors:
        raise ApiError(400, errors)
    return clean


def validate_update(data: Any, *, partial: bool) -> dict[str, Any]:
    """A PUT (every field required) or PATCH (any subset) body, cleaned."""
    data = require_object(data)
    errors: Errors = {}
    for field in data:
        if field not in UPDATABLE_FIELDS:
            errors[field] = [READ_ONLY]
    if not partial:
        for field in UPDATABLE_FIELDS:
            if field not in data:
                errors[field] = [REQUIRED]

    clean: dict[str, Any] = {}
    if "name" in data:
        clean["name"] = _check_name(data["name"], errors)
    if "hostname" in data:
        clean["hostname"] = _check_hostname(data["hostname"], errors)
    if "backups_enabled" in data:
        clean["backups_enabled"] = _check_boolean(
            "backups_enabled", data["backups_enabled"], errors
        )

    if errors:
        raise ApiError(400, errors)
    return clean
