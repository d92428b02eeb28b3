"""servers.api: the team's client, and upstream failures as sentences."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from panel.models import Team
from servers import client as vpsorg
from servers.api import NoToken, TokenUnreadable, client_for, error_message
from tests.conftest import client_for as browser_for


def test_a_team_without_token_has_no_client(db: object) -> None:
    with pytest.raises(NoToken):
        client_for(Team.objects.create(name="Empty"))


def test_a_token_under_a_lost_key_is_unreadable_not_a_crash(team: Team, settings) -> None:
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    team.refresh_from_db()
    with pytest.raises(TokenUnreadable):
        client_for(team)


def test_the_list_page_explains_an_unreadable_token(admin_user, settings, api) -> None:
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = browser_for(admin_user).get("/servers/")
    assert response.status_code == 200
    assert "cannot be decrypted" in response.content.decode()
    assert len(api.calls) == 0


@pytest.mark.parametrize(
    ("retry_after", "text"),
    [(1.0, "Try again in 1 second."), (30.0, "Try again in 30 seconds."), (None, "a moment")],
)
def test_rate_limit_message_counts_seconds(retry_after: float | None, text: str) -> None:
    assert text in error_message(
        vpsorg.RateLimited("slow down", status=429, retry_after=retry_after)
    )


def test_every_error_class_reads_as_a_sentence() -> None:
    for error in (
        vpsorg.Unauthorized(status=401),
        vpsorg.Forbidden(status=403),
        vpsorg.PaymentRequired(status=402),
        vpsorg.NotFound(status=404),
        vpsorg.ServerError(status=503),
        vpsorg.Unavailable(),
        vpsorg.UnexpectedResponse(status=200),
        vpsorg.InvalidRequest("Server is already running.", status=400),
        NoToken(),
    ):
        message = error_message(error)
        assert message.endswith("."), message
        assert "VPS.org" in message or "token" in message
