"""Error reports (the DEBUG page, the mails to ADMINS) without the team's API token.

Django already hides POST fields named by `sensitive_post_parameters` and the locals of
functions marked `sensitive_variables`. A token also travels in places no decorator
reaches: the `headers` dict that `requests` builds several frames below our code, the
client's `_token`. This filter hides, in every frame, variables whose name says token,
secret, password, authorization or key, and inside mappings (headers included) the
values of such keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter


class PanelExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        # DATABASE_URL, CACHE_URL and EMAIL_URL carry passwords (runserver's report lists the
        # environment among the request's META).
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION|CREDENTIAL|FERNET"
        "|DATABASE|CACHE_URL|EMAIL_URL|DSN",
        flags=re.IGNORECASE,
    )

    def is_active(self, request: HttpRequest | None) -> bool:
        # Django filters only when DEBUG is false; a panel run with DEBUG=true by mistake
        # must not show the token on its error page either.
        return True

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and self.hidden_settings.search(key):
            return self.cleansed_substitute
        # Mappings that are not dicts (requests' CaseInsensitiveDict of headers).
        if isinstance(value, Mapping) and not isinstance(value, dict):
            value = dict(value)
        return super().cleanse_setting(key, value)

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: Any
    ) -> list[tuple[str, Any]]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        cleansed = []
        for name, value in variables:
            if name == "self" and hasattr(value, "_token"):
                # The API client: show its class, never its attributes.
                cleansed.append((name, f"<{type(value).__name__}>"))
            elif name in ("request", "self"):
                cleansed.append((name, value))
            else:
                cleansed.append((name, self.cleanse_setting(name, value)))
        return cleansed
