"""The one exception the API layer turns into an HTTP answer."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An answer other than success: its status and its JSON body.

    Raised deep inside the state or validation code so that a handler never has to
    thread error values back through its return type.
    """

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}

    @classmethod
    def detail(cls, status: int, message: str) -> ApiError:
        return cls(status, {"detail": message})


def not_found() -> ApiError:
    return ApiError.detail(404, "Not found.")
