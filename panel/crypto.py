"""Encryption of stored API tokens with Fernet.

Keys come from TOKEN_ENCRYPTION_KEYS (the first encrypts, all decrypt). Without it a key
is derived from SECRET_KEY, which `manage.py check --deploy` warns about. Once the setting
is made, the derived key opens nothing at run time; only `rotate()` (the
`rotate_token_keys` command) still tries it, to move the tokens stored before the setting
to the first key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet", "rotate", "uses_derived_key"]


def _keys() -> tuple[str, ...]:
    # Tolerate "key1, key2" as well as "key1,key2".
    return tuple(k.strip() for k in settings.TOKEN_ENCRYPTION_KEYS if k.strip())


def uses_derived_key() -> bool:
    return not _keys()


def _derived_key() -> bytes:
    digest = hashlib.sha256(b"vpsorg-panel token encryption:" + settings.SECRET_KEY.encode())
    return base64.urlsafe_b64encode(digest.digest())


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        return MultiFernet([Fernet(_derived_key())])
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS must be comma-separated Fernet keys "
            "(make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')"
        ) from None


def fernet() -> MultiFernet:
    # Keyed on the settings so tests that override them get a fresh instance.
    return _fernet(_keys(), settings.SECRET_KEY)


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> bytes:
    return fernet().encrypt(plaintext.encode())


@sensitive_variables()
def decrypt(ciphertext: bytes) -> str:
    return fernet().decrypt(ciphertext).decode()


@cache
def _rotator(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        return _fernet(keys, secret_key)
    _fernet(keys, secret_key)  # fails loudly on a bad key, as everywhere else
    # Tried last, and only here: the tokens stored under the derived key before
    # TOKEN_ENCRYPTION_KEYS was set (what the deploy check advises) are not lost.
    return MultiFernet([*(Fernet(k.encode()) for k in keys), Fernet(_derived_key())])


def rotate(ciphertext: bytes) -> bytes:
    """Re-encrypt with the first key; whatever listed key, or the derived one, opens it."""
    return _rotator(_keys(), settings.SECRET_KEY).rotate(ciphertext)
