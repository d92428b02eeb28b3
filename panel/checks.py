"""System checks for `manage.py check --deploy`."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def token_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    keys = settings.TOKEN_ENCRYPTION_KEYS
    if not keys:
        return [
            Warning(
                "TOKEN_ENCRYPTION_KEYS is not set: the stored API tokens are encrypted with "
                "a key derived from SECRET_KEY, so whoever learns SECRET_KEY can read them, "
                "and changing SECRET_KEY makes them unreadable.",
                hint=(
                    "Set TOKEN_ENCRYPTION_KEYS to one or more comma-separated Fernet keys "
                    "(python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'), then run "
                    "`manage.py rotate_token_keys`."
                ),
                id="panel.W001",
            )
        ]
    return []


@register(Tags.security)
def token_encryption_keys_valid(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for position, key in enumerate(settings.TOKEN_ENCRYPTION_KEYS, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            errors.append(
                Error(
                    f"TOKEN_ENCRYPTION_KEYS: key number {position} is not a Fernet key "
                    "(32 url-safe base64-encoded bytes).",
                    id="panel.E001",
                )
            )
    return errors
