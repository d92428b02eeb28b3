"""The path converter for server ids."""

from __future__ import annotations


class ServerIdConverter:
    """Opaque ids: letters, digits and hyphens (integers in the docs, UUIDs live).

    Anything else (a dot, a slash, a percent sign) never reaches a view, so it cannot
    be smuggled into the API path either.
    """

    regex = "[A-Za-z0-9-]{1,128}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return str(value)
