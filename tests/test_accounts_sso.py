"""Single sign-on through OpenID Connect (allauth's openid_connect provider), against the
small provider of tests/oidc_provider.py on loopback: off when unset (no button, no usable
route); a first login creates the account and its personal team, or joins the team of the
invitation it came with; SIGNUP_SSO_ONLY closes the password sign-up only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client

from panel.models import Membership, Role
from tests.conftest import client_for
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider

LOGIN = "/accounts/oidc/sso/login/"


@pytest.fixture
def provider(settings, db) -> Iterator[Provider]:
    """The provider, configured as the settings do from OIDC_ISSUER_URL / OIDC_CLIENT_ID /
    OIDC_CLIENT_SECRET / OIDC_NAME."""
    with running_provider() as running:
        settings.SOCIALACCOUNT_PROVIDERS = {
            "openid_connect": {
                "OAUTH_PKCE_ENABLED": True,
                "APPS": [
                    {
                        "provider_id": "sso",
                        "name": "Corp SSO",
                        "client_id": CLIENT_ID,
                        "secret": CLIENT_SECRET,
                        "settings": {"server_url": running.url},
                    }
                ],
            }
        }
        yield running


def _sso_login(client: Client, provider: Provider, next_url: str = "") -> str:
    """Click the button, sign in at the provider, come back; returns where the panel sends."""
    start = client.post(LOGIN + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302
    authorize = start["Location"]
    assert authorize.startswith(f"{provider.url}/authorize?")
    at_provider = requests.get(authorize, allow_redirects=False, timeout=5)
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["Location"])
    assert back.path == "/accounts/oidc/sso/login/callback/"
    response = client.get(f"{back.path}?{back.query}")
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def test_off_when_unset(db) -> None:
    page = Client().get("/accounts/login/").text
    assert "/accounts/oidc/" not in page
    assert Client().post(LOGIN).status_code == 404
    assert Client().get(LOGIN + "callback/?code=x&state=y").status_code == 404


def test_the_login_page_offers_the_provider(provider) -> None:
    page = Client().get("/accounts/login/").text
    assert "Corp SSO" in page
    assert f'href="{LOGIN}?process=login"' in page


def test_a_first_login_creates_the_account_and_its_team(provider) -> None:
    client = Client()
    assert _sso_login(client, provider) == "/servers/"
    user = User.objects.get(username="sam")
    assert user.email == "sam@corp.example"
    assert client.session["_auth_user_id"] == str(user.pk)
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.ADMIN
    assert provider.token_requests == 1


def test_a_second_login_finds_the_same_account(provider) -> None:
    _sso_login(Client(), provider)
    client = Client()
    assert _sso_login(client, provider) == "/servers/"
    assert User.objects.filter(email="sam@corp.example").count() == 1
    assert Membership.objects.filter(user__username="sam").count() == 1


def test_a_login_from_an_invitation_joins_that_team(provider, admin_user, team) -> None:
    from tests.test_team_invitations import _invite

    link = _invite(client_for(admin_user), email="sam@corp.example", role="operator")
    client = Client()
    assert client.get(link).status_code == 200  # the join page, anonymous
    assert _sso_login(client, provider, next_url=link) == link
    user = User.objects.get(username="sam")
    assert not Membership.objects.filter(user=user).exists()  # no personal team
    assert client.post(link)["Location"] == "/servers/"
    assert Membership.objects.get(user=user).team == team
    assert Membership.objects.get(user=user).role == Role.OPERATOR


def test_sso_only_closes_the_password_signup_but_not_sso(provider, settings) -> None:
    settings.SIGNUP_SSO_ONLY = True
    assert Client().get("/accounts/signup/").status_code == 404
    assert "/accounts/signup/" not in Client().get("/accounts/login/").text
    assert _sso_login(Client(), provider) == "/servers/"
    assert User.objects.filter(username="sam").exists()


def test_signup_disabled_closes_sso_signup_too(provider, settings) -> None:
    settings.SIGNUP_ENABLED = False
    client = Client()
    start = client.post(LOGIN)
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(at_provider.headers["Location"])
    response = client.get(f"{back.path}?{back.query}")
    assert response.status_code == 200
    assert "Sign Up Closed" in response.text
    assert not User.objects.filter(username="sam").exists()


def test_a_forged_callback_is_refused(provider) -> None:
    client = Client()
    client.post(LOGIN)
    response = client.get(LOGIN + "callback/?code=forged&state=forged")
    assert response.status_code == 401  # allauth's error page, in the panel's layout
    assert 'class="site-header"' in response.text
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(username="sam").exists()


def _settings_with(**env: str) -> subprocess.CompletedProcess[str]:
    probe = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({'providers': settings.SOCIALACCOUNT_PROVIDERS, "
        "'sso_only': settings.SIGNUP_SSO_ONLY}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OIDC_", "SIGNUP_"))}
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parent.parent,
        env={**clean, "DJANGO_SETTINGS_MODULE": "panel.settings", "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_environment_configures_the_provider() -> None:
    result = _settings_with(
        OIDC_ISSUER_URL="https://id.example.com/realms/corp/",
        OIDC_CLIENT_ID="panel",
        OIDC_CLIENT_SECRET="s3cret",
        OIDC_NAME="Corp SSO",
        SIGNUP_SSO_ONLY="true",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    app = values["providers"]["openid_connect"]["APPS"][0]
    assert app["provider_id"] == "sso"
    assert app["name"] == "Corp SSO"
    assert app["client_id"] == "panel"
    assert app["secret"] == "s3cret"
    assert app["settings"]["server_url"] == "https://id.example.com/realms/corp"
    assert values["sso_only"] is True


def test_unset_means_no_provider() -> None:
    result = _settings_with()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"providers": {}, "sso_only": False}


def test_half_a_configuration_fails_loudly() -> None:
    result = _settings_with(OIDC_ISSUER_URL="https://id.example.com")
    assert result.returncode != 0
    assert "OIDC_CLIENT_ID" in result.stderr


def test_the_invitation_page_offers_the_provider_with_the_way_back(provider, admin_user):
    from tests.test_team_invitations import _invite

    link = _invite(client_for(admin_user), email="sam@corp.example")
    page = Client().get(link).text
    assert "Corp SSO" in page
    assert f"{LOGIN}?process=login&amp;next={link.replace('/', '%2F')}" in page
