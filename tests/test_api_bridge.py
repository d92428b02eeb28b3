"""servers.api: the team's client, and upstream failures as sentences."""

from __future__ import annotations

import threading

import pytest
from cryptography.fernet import Fernet

from panel.models import Team
from sandbox import start_sandbox
from servers import api as api_module
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


# --- One pool of connections per worker process ------------------------------------------


def _in_thread(fn):  # type: ignore[no-untyped-def]
    box: list[object] = []
    thread = threading.Thread(target=lambda: box.append(fn()))
    thread.start()
    thread.join()
    return box[0]


def test_the_threads_of_a_process_share_one_session(team: Team, settings, monkeypatch) -> None:
    monkeypatch.setenv("GUNICORN_THREADS", "6")
    monkeypatch.setattr(api_module, "_shared", None)
    settings.VPSORG_LIST_CONCURRENCY = 8
    here = client_for(team)._session
    there = _in_thread(lambda: client_for(team)._session)
    assert here is there
    adapter = here.get_adapter("https://admin.vps.org/api/v1/servers/")
    assert isinstance(adapter, vpsorg.DeadlineAdapter)
    # Every thread's concurrent pages fit in the pool, so none is closed after use.
    assert adapter.pool_maxsize == 6 * 8


def test_a_forked_worker_gets_a_session_of_its_own(team: Team, monkeypatch) -> None:
    monkeypatch.setattr(api_module, "_shared", None)
    parent = client_for(team)._session
    monkeypatch.setattr(api_module.os, "getpid", lambda: -1)
    child = client_for(team)._session
    assert child is not parent
    assert client_for(team)._session is child


def test_a_connection_opened_by_one_thread_serves_the_next(team: Team, settings, monkeypatch):
    monkeypatch.setattr(api_module, "_shared", None)
    with start_sandbox(tokens=("pool-token",), transition_seconds=0.01) as box:
        settings.VPSORG_API_URL = box.api_url
        stored = team.api_token
        stored.set_token("pool-token")
        stored.save()
        team.refresh_from_db()
        assert team.api_token.last4  # loaded here: the threads below need no database
        for _ in range(3):
            assert _in_thread(lambda: len(client_for(team).list_servers())) >= 4
        session = client_for(team)._session
        pools = session.get_adapter(box.api_url).poolmanager.pools
        # Three requests from three threads, one TCP connection.
        # urllib3's pool container has keys() but cannot be iterated.
        assert [pools[key].num_connections for key in pools.keys()] == [1]  # noqa: SIM118
        assert box.requests.snapshot()["by_endpoint"]["GET /api/v1/servers/"] == 3
