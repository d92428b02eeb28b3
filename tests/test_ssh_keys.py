"""The SSH keys page: its form, the table of saved keys, the empty state, the nav link."""

from __future__ import annotations

import re

import pytest

from servers.models import SSHKey
from tests.conftest import client_for


@pytest.mark.django_db
def test_the_empty_page_says_what_to_do_and_labels_have_no_colon(api, manager_user) -> None:
    html = client_for(manager_user).get("/servers/ssh-keys/").content.decode()
    assert "No SSH key saved yet." in html
    assert "<table" not in html
    labels = re.findall(r"<label[^>]*>([^<]*)</label>", html.split("<main")[1])
    assert "Name" in labels and "VPS.org key id" in labels
    assert not any(label.strip().endswith(":") for label in labels)
    assert re.search(r'<input type="number" name="key_id"[^>]*inputmode="numeric"', html)


@pytest.mark.django_db
def test_saved_keys_are_listed_each_with_a_remove_button(api, manager_user, team) -> None:
    deploy = SSHKey.objects.create(team=team, name="Deploy key", key_id=42)
    SSHKey.objects.create(team=team, name="Ana's laptop", key_id=7)
    html = client_for(manager_user).get("/servers/ssh-keys/").content.decode()
    table = html.split('<table class="servers keys">')[1].split("</table>")[0]
    assert re.findall(r'<th scope="row">([^<]*)</th>', table) == ["Ana&#x27;s laptop", "Deploy key"]
    assert f'action="/servers/ssh-keys/{deploy.pk}/delete/"' in table
    assert 'Remove<span class="visually-hidden"> Deploy key</span>' in table
    assert "No SSH key saved yet." not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "linked"),
    [
        ("admin_user", True),
        ("manager_user", True),
        ("operator_user", False),
        ("viewer_user", False),
    ],
)
def test_the_navigation_links_the_page_for_those_who_may_use_it(api, request, role, linked) -> None:
    html = client_for(request.getfixturevalue(role)).get("/team/activity/").content.decode()
    nav = html.split('<nav class="site-nav"')[1].split("</nav>")[0]
    assert ('href="/servers/ssh-keys/"' in nav) is linked


@pytest.mark.django_db
def test_on_the_page_its_nav_link_is_current_not_servers(api, manager_user) -> None:
    html = client_for(manager_user).get("/servers/ssh-keys/").content.decode()
    nav = html.split('<nav class="site-nav"')[1].split("</nav>")[0]
    current = re.findall(r'<a href="([^"]+)" aria-current="page">', nav)
    assert current == ["/servers/ssh-keys/"]
