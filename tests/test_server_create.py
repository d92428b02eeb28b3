"""Creating a server: /servers/new/, its validation, API errors, and the double-submit guard."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from django.core.cache import cache

from panel.models import AuditEntry, TeamToken
from servers.models import OperatingSystem, SSHKey
from tests.conftest import API, client_for, page, server_json

SERVERS = f"{API}/servers/"
PLANS = f"{API}/plans/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def plans() -> list[dict[str, Any]]:
    return [
        {
            "id": 1,
            "name": "Standard VPS",
            "vcpus": 2,
            "memory": 4096,
            "storage": 80,
            "bandwidth": 2048,
            "price_monthly": 10.0,
            "price_hourly": 0.014,
            "available": True,
            "locations": ["us-west", "us-east", "eu-central"],
        },
        {
            "id": 2,
            "name": "Performance VPS",
            "vcpus": 4,
            "memory": 8192,
            "storage": 160,
            "price_monthly": 20.0,
            "available": True,
            "locations": ["us-west", "us-east"],
        },
        {
            "id": 5,
            "name": "Legacy VPS",
            "vcpus": 1,
            "memory": 1024,
            "storage": 25,
            "price_monthly": 3.5,
            "available": False,
            "locations": ["us-west"],
        },
    ]


@pytest.fixture
def plans_api(api):
    api.get(PLANS, json=page(plans()))
    return api


def created(**overrides: Any) -> dict[str, Any]:
    data = server_json(
        12347,
        name="web-server-02",
        hostname="web02.example.com",
        status="provisioning",
        ip_address=None,
        backups_enabled=True,
        message="Server is being provisioned. This may take 2-5 minutes.",
    )
    data.update(overrides)
    return data


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "location": "us-west",
        "plan_id": "1",
        "os_id": "5",
        "name": "web-server-02",
        "hostname": "web02.example.com",
        "ssh_key_id": "",
        "backups_enabled": "on",
        "form_nonce": "nonce-0123456789abcdef",
    }
    data.update(overrides)
    return data


def posts(api) -> list[Any]:
    return [c for c in api.calls if c.request.method == "POST"]


# --- the form --------------------------------------------------------------------------


def radios(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" name="{name}" id="[^"]+" value="([^"]*)"', html)


def card(html: str, plan_id: str) -> str:
    """The markup of one plan's radio card."""
    start = html.index(f'for="plan-{plan_id}"')
    return html[start : html.index("</label>", start)]


@pytest.mark.django_db
def test_the_form_offers_plans_locations_and_the_os_catalog(plans_api, manager_user) -> None:
    response = client_for(manager_user).get("/servers/new/")
    html = response.content.decode()
    assert response.status_code == 200
    for name in ("name", "plan_id", "os_id", "location", "hostname", "ssh_key_id"):
        assert f'name="{name}"' in html
    assert 'type="checkbox" name="backups_enabled"' in html
    assert re.search(r'name="form_nonce" value="[A-Za-z0-9_-]{16,}"', html)
    # Locations as radio cards, with the city and country of the codes the panel knows.
    assert radios(html, "location") == ["eu-central", "us-east", "us-west"]
    frankfurt = html[html.index('for="location-eu-central"') :].split("</label>")[0]
    assert "Frankfurt" in frankfurt and "Germany" in frankfurt
    # Every plan that can be ordered, wherever it is offered (no script needed), cheapest first.
    assert radios(html, "plan_id") == ["1", "2"]  # Legacy VPS is not available
    standard = card(html, "1")
    for text in ("Standard VPS", "2 vCPUs", "4 GB RAM", "80 GB disk", "2 TB transfer"):
        assert text in standard
    assert "$10.00/month" in standard and "$0.014/hour" in standard
    assert "Offered in Los Angeles, New York, Frankfurt" in standard
    assert 'data-locations="us-west us-east eu-central"' in standard
    # The OS choice grouped by family.
    os_select = html.split('name="os_id"')[1].split("</select>")[0]
    assert re.search(
        r'<optgroup label="Ubuntu">\s*<option value="5">Ubuntu 22.04 LTS</option>', os_select
    )
    assert re.search(r'<optgroup label="Debian">\s*<option value="3">Debian 12</option>', os_select)
    assert len(plans_api.calls) == 1


@pytest.mark.django_db
def test_plan_prices_are_in_the_users_language(plans_api, manager_user) -> None:
    html = (
        client_for(manager_user).get("/servers/new/", HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    )
    # CLDR puts a no-break space between the symbol and the amount.
    assert "US$\xa010,00/mês" in card(html, "1") and "US$\xa00,014/hora" in card(html, "1")
    assert "US$\xa020,00/mês" in card(html, "2")
    assert "Frankfurt" in html and "Alemanha" in html


@pytest.mark.django_db
def test_the_currency_is_a_setting(plans_api, manager_user, settings) -> None:
    settings.PRICE_CURRENCY = "EUR"
    html = client_for(manager_user).get("/servers/new/").content.decode()
    assert "€10.00/month" in card(html, "1")
    assert "$" not in card(html, "1")


@pytest.mark.django_db
def test_plans_are_cached_per_team(plans_api, manager_user) -> None:
    c = client_for(manager_user)
    c.get("/servers/new/")
    c.get("/servers/new/")
    assert len(plans_api.calls) == 1


@pytest.mark.django_db
def test_a_chosen_location_marks_the_plans_not_offered_there(plans_api, manager_user) -> None:
    # ?location= preselects (as a link or a form sent back with an error does); without a
    # script the other plans stay visible, marked, and the summary shows the choice.
    response = client_for(manager_user).get(
        "/servers/new/", {"location": "eu-central", "plan_id": "1", "os_id": "5"}
    )
    html = response.content.decode()
    assert re.search(
        r'value="eu-central" [^>]*data-summary-text="Frankfurt, Germany"[^>]* checked>', html
    )
    assert re.search(r'id="plan-1" value="1" required[^>]* checked>', html)
    assert 'data-offered="no"' in card(html, "2")
    assert "Not offered here; only in Los Angeles" in card(html, "2")
    assert "data-offered" not in card(html, "1")
    summary = html.split("data-create-summary")[1].split("</aside>")[0]
    for text in (
        "Standard VPS · 2 vCPUs · 4 GB RAM · 80 GB disk",
        "Frankfurt, Germany",
        "Ubuntu 22.04 LTS",
        "$10.00",
    ):
        assert text in summary


@pytest.mark.django_db
def test_without_plans_the_codes_are_typed_and_sent(api, manager_user) -> None:
    api.get(PLANS, status=503, json={"detail": "down"})
    api.post(SERVERS, status=201, json=created())
    html = client_for(manager_user).get("/servers/new/").content.decode()
    assert '<input type="text" name="location"' in html
    assert '<input type="text" name="plan_id"' in html
    response = client_for(manager_user).post("/servers/new/", form_data())
    assert response.status_code == 302
    assert json.loads(posts(api)[0].request.body)["location"] == "us-west"


@pytest.mark.django_db
def test_an_admin_hidden_os_is_not_offered(plans_api, manager_user) -> None:
    OperatingSystem.objects.filter(api_id="3").update(offered=False)
    OperatingSystem.objects.create(api_id="7", name="FreeBSD 14")
    html = client_for(manager_user).get("/servers/new/").content.decode()
    os_select = html.split('name="os_id"')[1].split("</select>")[0]
    assert "Debian 12" not in os_select
    assert '<option value="7">FreeBSD 14</option>' in os_select


@pytest.mark.django_db
def test_saved_ssh_keys_are_offered_by_name(plans_api, manager_user, team) -> None:
    SSHKey.objects.create(team=team, name="Deploy key", key_id=42)
    html = client_for(manager_user).get("/servers/new/").content.decode()
    select = html.split('name="ssh_key_id"')[1].split("</select>")[0]
    assert '<option value="42">Deploy key</option>' in select


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer_user", "operator_user"])
def test_only_managers_and_admins_create(plans_api, request, role) -> None:
    c = client_for(request.getfixturevalue(role))
    assert c.get("/servers/new/").status_code == 403
    assert c.post("/servers/new/", form_data()).status_code == 403
    assert posts(plans_api) == []


@pytest.mark.django_db
def test_plans_failing_still_shows_the_form(api, manager_user) -> None:
    api.get(PLANS, status=503, json={"detail": "down"})
    response = client_for(manager_user).get("/servers/new/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "The plans could not be loaded" in html
    assert 'name="name"' in html


@pytest.mark.django_db
def test_no_token(api, admin_user, team) -> None:
    TeamToken.objects.filter(team=team).delete()
    response = client_for(admin_user).post("/servers/new/", form_data())
    assert response.status_code == 200
    assert "This team has no VPS.org API token yet." in response.content.decode()
    assert len(api.calls) == 0


# --- success ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_sends_the_documented_body_and_lands_on_the_server(
    plans_api, manager_user, team
) -> None:
    plans_api.post(SERVERS, status=201, json=created())
    response = client_for(manager_user).post("/servers/new/", form_data())
    assert response.status_code == 302
    assert response["Location"] == "/servers/12347/"
    (call,) = posts(plans_api)
    assert json.loads(call.request.body) == {
        "name": "web-server-02",
        "plan_id": 1,
        "os_id": 5,
        "location": "us-west",
        "hostname": "web02.example.com",
        "backups_enabled": True,
    }
    entry = AuditEntry.objects.get(team=team, action="server.create")
    assert entry.outcome == "ok"
    assert entry.target_id == "12347" and entry.target_name == "web-server-02"
    assert entry.username == "mona-manager"


@pytest.mark.django_db
def test_the_new_servers_page_shows_provisioning(plans_api, manager_user) -> None:
    plans_api.post(SERVERS, status=201, json=created())
    plans_api.get(f"{SERVERS}12347/", json=created())
    c = client_for(manager_user)
    response = c.post("/servers/new/", form_data(), follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [("/servers/12347/", 302)]
    assert 'data-status="provisioning"' in html
    assert "Server web-server-02 is being created." in html
    # The message has an id, and the card's poller is told to replace it once the
    # server is ready (issue 8: no stale words).
    assert '<p id="message-transition-12347" class="message message-success"' in html
    assert re.search(r'id="live-card"[^>]*hx-get="[^"]*note=1', html)


@pytest.mark.django_db
def test_optional_fields_and_an_ssh_key(plans_api, manager_user) -> None:
    plans_api.post(SERVERS, status=201, json=created())
    data = form_data(hostname="", ssh_key_id="42", location="eu-central")
    del data["backups_enabled"]
    response = client_for(manager_user).post("/servers/new/", data)
    assert response.status_code == 302
    body = json.loads(posts(plans_api)[0].request.body)
    assert body == {
        "name": "web-server-02",
        "plan_id": 1,
        "os_id": 5,
        "location": "eu-central",
        "ssh_key_id": 42,
        "backups_enabled": False,
    }


@pytest.mark.django_db
def test_an_os_id_the_catalog_lacks_is_still_sent(plans_api, manager_user) -> None:
    plans_api.post(SERVERS, status=201, json=created(os={"id": 6, "name": "AlmaLinux 9"}))
    response = client_for(manager_user).post("/servers/new/", form_data(os_id="6"))
    assert response.status_code == 302
    assert json.loads(posts(plans_api)[0].request.body)["os_id"] == 6
    assert OperatingSystem.objects.get(api_id="6").name == "AlmaLinux 9"  # learned


# --- validation before sending ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "web server"}, "name", "Use only letters, digits and hyphens"),
        ({"name": "web.server"}, "name", "Use only letters, digits and hyphens"),
        ({"name": "x" * 65}, "name", "at most 64 characters"),
        ({"hostname": "web02"}, "hostname", "fully qualified domain name"),
        ({"hostname": "-bad.example.com"}, "hostname", "fully qualified domain name"),
        ({"hostname": "10.0.0.1"}, "hostname", "fully qualified domain name"),
        ({"location": "mars-1"}, "location", "Choose one of the locations offered."),
        ({"plan_id": "99"}, "plan_id", "Choose one of the plans offered."),
        ({"plan_id": "5"}, "plan_id", "Choose one of the plans offered."),  # not available
        ({"plan_id": "2", "location": "eu-central"}, "plan_id", "is not offered in eu-central"),
        ({"os_id": "ubuntu"}, "os_id", "Choose one of the operating systems offered."),
        ({"os_id": ""}, "os_id", "This field is required."),
        ({"ssh_key_id": "abc"}, "ssh_key_id", "An SSH key id is a whole number"),
        ({"ssh_key_id": "0"}, "ssh_key_id", "An SSH key id is a whole number"),
    ],
)
def test_invalid_input_is_never_sent(plans_api, manager_user, overrides, field, text) -> None:
    response = client_for(manager_user).post("/servers/new/", form_data(**overrides))
    html = response.content.decode()
    assert response.status_code == 200
    assert text in html
    assert posts(plans_api) == []
    # The message sits with its field, and what was typed stays.
    assert re.search(rf'<ul class="errorlist" id="id_{field}_error">', html)
    assert 'value="web02.example.com"' in html or overrides.get("hostname") is not None


@pytest.mark.django_db
def test_a_trailing_dot_on_the_hostname_is_dropped(plans_api, manager_user) -> None:
    plans_api.post(SERVERS, status=201, json=created())
    client_for(manager_user).post("/servers/new/", form_data(hostname="web02.example.com."))
    assert json.loads(posts(plans_api)[0].request.body)["hostname"] == "web02.example.com"


# --- API errors ------------------------------------------------------------------------


@pytest.mark.django_db
def test_400_field_errors_land_on_their_fields(plans_api, manager_user, team) -> None:
    plans_api.post(
        SERVERS,
        status=400,
        json={
            "name": ["A server with this name already exists."],
            "hostname": ["Enter a valid FQDN."],
            "image": ["Unknown field."],
        },
    )
    response = client_for(manager_user).post("/servers/new/", form_data())
    html = response.content.decode()
    assert response.status_code == 200
    name_errors = html.split('id="id_name_error"')[1].split("</ul>")[0]
    assert "A server with this name already exists." in name_errors
    assert "Enter a valid FQDN." in html.split('id="id_hostname_error"')[1].split("</ul>")[0]
    assert "image: Unknown field." in html.split('class="form-errors"')[1].split("</div>")[0]
    assert 'value="web-server-02"' in html
    entry = AuditEntry.objects.get(team=team, action="server.create")
    assert entry.outcome == "error" and entry.status_code == 400


@pytest.mark.django_db
def test_a_400_without_fields_is_above_the_form(plans_api, manager_user) -> None:
    plans_api.post(SERVERS, status=400, json={"detail": "Quota of servers reached."})
    html = client_for(manager_user).post("/servers/new/", form_data()).content.decode()
    assert "Quota of servers reached." in html.split('class="form-errors"')[1]


@pytest.mark.django_db
def test_402_says_plainly_there_are_not_enough_credits(plans_api, manager_user, team) -> None:
    plans_api.post(SERVERS, status=402, json={"detail": "Payment required."})
    response = client_for(manager_user).post("/servers/new/", form_data())
    html = response.content.decode()
    assert response.status_code == 200
    # The plan's price; the balance is not known to the panel, and the page says so.
    assert (
        "The VPS.org account does not have enough credits for this server: "
        "Standard VPS costs $10.00 a month."
    ) in html
    assert "VPS.org does not tell the panel the account&#x27;s balance." in html
    assert 'value="web-server-02"' in html and 'value="web02.example.com"' in html
    assert AuditEntry.objects.get(team=team, action="server.create").status_code == 402


@pytest.mark.django_db
def test_402_shows_what_vpsorg_said_about_the_balance(plans_api, manager_user) -> None:
    detail = "Insufficient credits: this plan costs 10.00 per month and the account has 4.00 left."
    plans_api.post(SERVERS, status=402, json={"detail": detail})
    html = client_for(manager_user).post("/servers/new/", form_data()).content.decode()
    assert "Standard VPS costs $10.00 a month." in html
    assert f"VPS.org said: {detail}" in html
    assert "does not tell the panel" not in html


@pytest.mark.django_db
def test_401_shows_the_token_notice(plans_api, manager_user) -> None:
    plans_api.post(SERVERS, status=401, json={"detail": "Invalid token."})
    html = client_for(manager_user).post("/servers/new/", form_data()).content.decode()
    assert "VPS.org rejected the team" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "failure",
    [
        {"body": requests.exceptions.ReadTimeout("slow")},
        {"body": requests.exceptions.ConnectionError("reset")},
        {"status": 504, "json": {"detail": "Gateway Timeout"}},
        {"status": 201, "body": "not json"},
    ],
)
def test_no_clear_answer_says_it_may_exist_and_never_resends(
    plans_api, manager_user, team, failure
) -> None:
    plans_api.post(SERVERS, **failure)
    c = client_for(manager_user)
    response = c.post("/servers/new/", form_data())
    html = response.content.decode()
    assert response.status_code == 200
    assert "The server may have been created anyway" in html
    assert '<a class="button" href="/servers/">Check the server list</a>' in html
    assert len(posts(plans_api)) == 1  # the client does not retry a POST
    # Sending the same form again (reload, back) does not create a second server.
    again = c.post("/servers/new/", form_data())
    assert again.status_code == 302 and again["Location"] == "/servers/"
    assert len(posts(plans_api)) == 1
    # Nor does the same server from a fresh form.
    fresh = c.post("/servers/new/", form_data(form_nonce="another-nonce-0123456789"))
    assert fresh["Location"] == "/servers/"
    assert len(posts(plans_api)) == 1
    assert AuditEntry.objects.get(team=team, action="server.create").outcome == "error"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("failure", "text"),
    [
        (
            {"status": 503, "json": {"detail": "Down for maintenance."}},
            "is having trouble right now",
        ),
        ({"status": 500, "json": {"detail": "A server error occurred."}}, "HTTP 500"),
        ({"body": requests.exceptions.ConnectTimeout("no route")}, "is not answering right now"),
    ],
)
def test_a_clear_no_may_be_sent_again(plans_api, manager_user, failure, text) -> None:
    plans_api.post(SERVERS, **failure)
    c = client_for(manager_user)
    html = c.post("/servers/new/", form_data()).content.decode()
    assert text in html
    assert "may have been created" not in html
    assert 'name="form_nonce" value="nonce-0123456789abcdef"' in html
    c.post("/servers/new/", form_data())
    assert len(posts(plans_api)) == 2


# --- double submit ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_form_twice_creates_one_server(plans_api, manager_user) -> None:
    plans_api.post(SERVERS, status=201, json=created())
    c = client_for(manager_user)
    first = c.post("/servers/new/", form_data())
    second = c.post("/servers/new/", form_data())
    assert first["Location"] == second["Location"] == "/servers/12347/"
    assert len(posts(plans_api)) == 1


@pytest.mark.django_db
def test_back_and_resubmit_from_a_fresh_form_creates_one_server(plans_api, manager_user) -> None:
    plans_api.post(SERVERS, status=201, json=created())
    c = client_for(manager_user)
    c.post("/servers/new/", form_data())
    again = c.post("/servers/new/", form_data(form_nonce="a-fresh-nonce-0123456789"))
    assert again["Location"] == "/servers/12347/"
    assert len(posts(plans_api)) == 1
    # Another name is another server.
    c.post("/servers/new/", form_data(form_nonce="third-nonce-0123456789ab", name="web-server-03"))
    assert len(posts(plans_api)) == 2


@pytest.mark.django_db
def test_a_teammate_sending_the_same_server_is_stopped_too(
    plans_api, manager_user, admin_user
) -> None:
    plans_api.post(SERVERS, status=201, json=created())
    client_for(manager_user).post("/servers/new/", form_data())
    client_for(admin_user).post("/servers/new/", form_data(form_nonce="admins-own-nonce-012345"))
    assert len(posts(plans_api)) == 1


@pytest.mark.django_db
def test_a_submit_while_the_first_is_in_flight_is_not_sent(plans_api, manager_user, team) -> None:
    # What a second click sees while the first request still waits for VPS.org.
    cache.add(f"servers:create:nonce:{team.pk}:nonce-0123456789abcdef", "pending", 60)
    response = client_for(manager_user).post("/servers/new/", form_data(), follow=True)
    assert response.redirect_chain[0] == ("/servers/", 302)
    assert "already being created" in response.content.decode()
    assert posts(plans_api) == []


@pytest.mark.django_db
def test_without_a_nonce_the_body_guard_still_holds(plans_api, manager_user) -> None:
    plans_api.post(SERVERS, status=201, json=created())
    data = form_data()
    del data["form_nonce"]
    c = client_for(manager_user)
    assert c.post("/servers/new/", data)["Location"] == "/servers/12347/"
    assert c.post("/servers/new/", data)["Location"] == "/servers/12347/"
    assert len(posts(plans_api)) == 1


@pytest.mark.django_db
def test_the_same_nonce_with_other_details_is_still_one_submission(plans_api, manager_user) -> None:
    plans_api.post(SERVERS, status=201, json=created())
    c = client_for(manager_user)
    c.post("/servers/new/", form_data())
    again = c.post("/servers/new/", form_data(name="changed-after-back"))
    assert again["Location"] == "/servers/12347/"
    assert len(posts(plans_api)) == 1


# --- saved SSH keys --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_manager_saves_and_removes_ssh_keys(api, manager_user, team) -> None:
    c = client_for(manager_user)
    response = c.post("/servers/ssh-keys/", {"name": "Deploy key", "key_id": "42"})
    assert response.status_code == 302
    key = SSHKey.objects.get(team=team)
    assert (key.name, key.key_id) == ("Deploy key", 42)
    duplicate = c.post("/servers/ssh-keys/", {"name": "Same id", "key_id": "42"})
    assert "already saved this key id" in duplicate.content.decode()
    assert "Deploy key" in c.get("/servers/ssh-keys/").content.decode()
    assert c.post(f"/servers/ssh-keys/{key.pk}/delete/").status_code == 302
    assert not SSHKey.objects.exists()
    actions = list(AuditEntry.objects.filter(team=team).values_list("action", flat=True))
    assert sorted(actions) == ["ssh_key.add", "ssh_key.delete"]
    activity = c.get("/team/activity/").content.decode()
    assert "SSH key saved" in activity and "SSH key removed" in activity
    assert len(api.calls) == 0


@pytest.mark.django_db
def test_ssh_keys_are_per_team(api, manager_user, outsider_user, other_team) -> None:
    theirs = SSHKey.objects.create(team=other_team, name="Theirs", key_id=7)
    c = client_for(manager_user)
    assert "Theirs" not in c.get("/servers/ssh-keys/").content.decode()
    assert c.post(f"/servers/ssh-keys/{theirs.pk}/delete/").status_code == 404
    assert SSHKey.objects.filter(pk=theirs.pk).exists()


@pytest.mark.django_db
def test_viewers_cannot_manage_ssh_keys(api, viewer_user) -> None:
    assert client_for(viewer_user).get("/servers/ssh-keys/").status_code == 403


# --- the OS catalog in the admin -------------------------------------------------------


@pytest.mark.django_db
def test_the_os_catalog_is_editable_in_the_admin(api, manager_user) -> None:
    from django.contrib.auth.models import User

    staff = User.objects.create_superuser("root", "root@example.com", "pw-root")
    c = client_for(staff)
    page_ = c.get("/admin/servers/operatingsystem/")
    assert page_.status_code == 200
    assert "Ubuntu 22.04 LTS" in page_.content.decode()
    added = c.post(
        "/admin/servers/operatingsystem/add/",
        {"api_id": "11", "name": "Fedora 41", "offered": "on"},
    )
    assert added.status_code == 302
    fedora = OperatingSystem.objects.get(api_id="11")
    assert fedora.source == OperatingSystem.Source.ADMIN
    api.get(PLANS, json=page(plans()))
    html = client_for(manager_user).get("/servers/new/").content.decode()
    assert '<option value="11">Fedora 41</option>' in html
