"""Recording acts in the team's audit trail."""

from __future__ import annotations

from typing import Any

from panel.models import AuditEntry, Team


def record(
    team: Team,
    user: Any,
    action: str,
    *,
    target_id: str = "",
    target_name: str = "",
    error: Exception | None = None,
) -> AuditEntry:
    """One entry per act; `error` (an upstream failure) marks the outcome as failed."""
    status = getattr(error, "status", None)
    message = str(getattr(error, "message", "") or (error or ""))[:500]
    return AuditEntry.objects.create(
        team=team,
        user=user if getattr(user, "is_authenticated", False) else None,
        username=getattr(user, "get_username", lambda: "")() or "",
        action=action,
        target_id=str(target_id)[:100],
        target_name=str(target_name)[:200],
        outcome=AuditEntry.Outcome.ERROR if error else AuditEntry.Outcome.OK,
        status_code=status,
        message=message,
    )
