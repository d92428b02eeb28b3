"""The notices the server pages include: no token yet, and a token VPS.org rejects (401).
Admins are led to the token page; everyone else is told an admin must act."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from panel.models import Membership
from panel.teams import token_missing_context

TEMPLATES = ["team/_no_token.html", "team/_token_rejected.html"]


def _render(template: str, user) -> str:
    request = RequestFactory().get("/servers/")
    request.user = user
    membership = Membership.objects.get(user=user)
    return render_to_string(template, {"membership": membership}, request=request)


@pytest.mark.parametrize("template", TEMPLATES)
def test_admins_get_a_link_to_the_token_page(template, admin_user) -> None:
    html = _render(template, admin_user)
    assert 'href="/team/token/"' in html
    assert 'role="alert"' in html


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("fixture", ["manager_user", "operator_user", "viewer_user"])
def test_others_are_told_an_admin_must_act(request, template, fixture) -> None:
    html = _render(template, request.getfixturevalue(fixture))
    assert "/team/token/" not in html
    assert "An admin of the team must" in html


def test_the_rejected_notice_names_the_rejection(admin_user) -> None:
    assert "rejected" in _render("team/_token_rejected.html", admin_user)
    assert "no VPS.org API token" in _render("team/_no_token.html", admin_user)


def test_token_missing_context_for_views(admin_user, viewer_user) -> None:
    admin = token_missing_context(Membership.objects.get(user=admin_user))
    assert admin["token_url"] == "/team/token/"
    assert admin["token_is_admin"] is True
    viewer = token_missing_context(Membership.objects.get(user=viewer_user))
    assert viewer["token_url"] is None
    assert "An admin of the team must add one" in viewer["token_missing_message"]
    assert token_missing_context(None)["token_url"] is None
