"""The list's results rendered again from this worker's memo when VPS.org answers the same
servers (servers.fragments.ResultsMemo): the page is the one a fresh render makes, and
anything that changes what it shows (a server, the viewer's role, the time) renders anew."""

from __future__ import annotations

import re

import pytest
from django.middleware.csrf import _unmask_cipher_token

from servers import cache as server_cache
from servers import fragments, listing
from tests.conftest import API, client_for, page, server_json

SERVERS = f"{API}/servers/"
TOKEN_RE = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")([^"]+)"')


@pytest.fixture
def renders(monkeypatch) -> list[int]:
    """How many times the results' context was made (a render, not a memo hit)."""
    made: list[int] = []
    real = listing.results_context

    def counted(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("servers.views.results_context", counted)
    return made


def _answer(api, *servers: dict) -> None:
    api.get(SERVERS, json=page(list(servers)))
    api.get(f"{API}/plans/", json=page([]))


def _secrets(html: str) -> set[str]:
    """The CSRF secrets of the tokens in a page (each rendering masks the token anew)."""
    return {_unmask_cipher_token(match[2]) for match in TOKEN_RE.finditer(html)}


def _unvaried(html: str, at: int) -> str:
    html = TOKEN_RE.sub(r'\1"', html).replace(f"at={at}", "at=T")
    return re.sub(r'nonce="[^"]+"', 'nonce=""', html)


@pytest.mark.django_db
def test_the_same_answer_gives_the_same_page_without_a_render(
    api, operator_user, renders, monkeypatch
) -> None:
    # A stopped server has a Start form with the request's CSRF token in it.
    _answer(api, server_json(1, name="web-01"), server_json(2, name="db-01", status="stopped"))
    browser = client_for(operator_user)
    at = [1_900_000_000.0]
    monkeypatch.setattr(server_cache, "clock", lambda: at[0])
    first = browser.get("/servers/").content.decode()
    browser.cookies.pop("csrftoken", None)  # a new visitor's token: each page has its own
    at[0] += 5
    second = browser.get("/servers/").content.decode()
    assert len(renders) == 1
    # Each page carries its own visitor's token, in the page's header and in the form.
    assert TOKEN_RE.findall(second)[-1][0] == 'csrfmiddlewaretoken" value="'
    assert len(_secrets(first)) == len(_secrets(second)) == 1
    assert _secrets(first) != _secrets(second)
    assert "csrf-token" not in second  # no marker left, escaped or not
    # The poller asks with the time of its own answer.
    assert f"at={int(at[0] - 5)}" in first and f"at={int(at[0])}" in second
    # Else the pages are the same, the request's own nonce aside.
    assert _unvaried(second, int(at[0])) == _unvaried(first, int(at[0] - 5))
    assert "db-01" in second and "<panel-" not in second


@pytest.mark.django_db
def test_a_changed_server_is_rendered_anew(api, operator_user, renders) -> None:
    api.get(SERVERS, json=page([server_json(1, name="web-01")]))
    api.get(SERVERS, json=page([server_json(1, name="web-01", status="stopped")]))
    api.get(f"{API}/plans/", json=page([]))
    browser = client_for(operator_user)
    browser.get("/servers/")
    html = browser.get("/servers/").content.decode()
    assert len(renders) == 2
    assert 'data-status="stopped"' in html


@pytest.mark.django_db
def test_each_role_and_each_list_state_has_its_own_render(
    api, operator_user, viewer_user, renders
) -> None:
    _answer(api, server_json(1, name="web-01"))
    operator_page = client_for(operator_user).get("/servers/").content.decode()
    viewer_page = client_for(viewer_user).get("/servers/").content.decode()
    client_for(viewer_user).get("/servers/?sort=-created")
    assert len(renders) == 3
    assert 'class="bulk-select"' in operator_page and 'class="bulk-select"' not in viewer_page


@pytest.mark.django_db
def test_a_render_is_reused_only_for_a_while(api, operator_user, renders, monkeypatch) -> None:
    _answer(api, server_json(1))
    browser = client_for(operator_user)
    now = [1000.0]
    monkeypatch.setattr(fragments.results_memo, "clock", lambda: now[0])
    browser.get("/servers/")
    now[0] += fragments.results_memo.seconds - 1
    browser.get("/servers/")
    assert len(renders) == 1
    now[0] += 2  # relative times ("2 minutes ago") may have moved on
    browser.get("/servers/")
    assert len(renders) == 2


@pytest.mark.django_db
def test_a_list_with_a_server_in_transition_is_not_kept(api, operator_user, renders) -> None:
    # Its poller counts the time since the transition began: every page renders.
    _answer(api, server_json(1, status="rebooting"))
    browser = client_for(operator_user)
    browser.get("/servers/")
    browser.get("/servers/")
    assert len(renders) == 2


@pytest.mark.django_db
def test_a_filter_change_within_the_page_uses_the_render_too(api, operator_user, renders) -> None:
    # htmx asks for #results alone: the same markup, without the page around it.
    _answer(api, server_json(1, name="web-01"), server_json(2, name="db-01", hostname="db01.test"))
    browser = client_for(operator_user)
    browser.get("/servers/?q=web")
    fragment = browser.get("/servers/?q=web", HTTP_HX_REQUEST="true").content.decode()
    assert len(renders) == 1
    assert fragment.lstrip().startswith('<div id="results"')
    assert "web-01" in fragment and "db-01" not in fragment
    assert 'id="live-list"' in fragment and "<panel-" not in fragment


def test_the_memo_is_bounded() -> None:
    memo = fragments.ResultsMemo(seconds=10, size=2, clock=lambda: 0.0)
    for n in range(3):
        memo.keep(n, fragments.RenderedResults([], f"markup {n}".encode(), None, []))
    assert memo.get(0, []) is None and memo.get(2, []).markup == b"markup 2"
