"""The status badge. A minimal version, written by the server pages; the power-actions
work extends it (polling while a server is in transition)."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from servers import status as status_rules

register = template.Library()

_CSS_SAFE = re.compile(r"[^a-z0-9-]")


@register.simple_tag
def status_badge(server: Any) -> SafeString:
    """`<span class="badge badge-STATUS" data-status="RAW">label</span>`; the only
    element that carries data-status, with the status exactly as the API sent it."""
    raw = getattr(server, "status", "") or ""
    known = raw in status_rules.LABELS
    css = _CSS_SAFE.sub("", raw.lower()) if known else "unknown"
    return format_html(
        '<span class="badge badge-{}" data-status="{}">{}</span>',
        css,
        raw,
        status_rules.label(raw) or "?",
    )
