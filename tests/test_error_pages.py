"""The panel's own error pages: a friendly 404 and a 500 that needs nothing to render."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.test import Client

from tests.conftest import client_for


def test_an_unknown_address_is_a_friendly_404(viewer_user) -> None:
    response = client_for(viewer_user).get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert 'href="/servers/"' in body
    assert "vera-viewer" in body  # the normal header: the user still knows where they are


def test_the_404_page_works_logged_out(db) -> None:
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_the_500_page_renders_without_any_context() -> None:
    body = render_to_string("500.html")
    assert "Something went wrong" in body
    assert "/static/css/panel.css" in body


def test_opening_a_post_only_address_explains_itself(operator_user) -> None:
    # Start: stop and reboot answer a GET with their confirmation page (issue 8).
    response = client_for(operator_user).get("/servers/12345/start/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "only takes a button or form" in response.content.decode()


def test_htmx_keeps_the_bare_405(operator_user) -> None:
    response = client_for(operator_user).get("/servers/12345/start/", HTTP_HX_REQUEST="true")
    assert response.status_code == 405
    assert response.content == b""
