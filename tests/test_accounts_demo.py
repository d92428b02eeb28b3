"""`make run`'s demo logins (seeded by manage.py seed_demo) sign in with the password alone,
and the login page of a development panel says how to try two-factor sign-in."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

DEMO_USERS = ["demo", "demo-manager", "demo-operator", "demo-viewer"]


@pytest.mark.parametrize("username", DEMO_USERS)
def test_the_demo_logins_need_no_second_factor(db, username) -> None:
    call_command("seed_demo", stdout=io.StringIO())
    client = Client()
    response = client.post("/accounts/login/", {"login": username, "password": "vpsorg-demo"})
    assert response["Location"] == "/servers/"
    assert "_auth_user_id" in client.session


def test_a_development_login_page_explains_the_demo_and_two_factor(db, settings) -> None:
    settings.DEBUG = True
    page = Client().get("/accounts/login/").text
    assert "vpsorg-demo" in page
    assert "To try two-factor sign-in" in page


def test_a_production_login_page_does_not(db, settings) -> None:
    settings.DEBUG = False
    page = Client().get("/accounts/login/").text
    assert "vpsorg-demo" not in page
