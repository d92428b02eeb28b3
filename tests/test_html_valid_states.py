"""The Nu HTML checker on the states of the pages of issue 9 that the page-by-page check
(tests/test_html_valid.py) does not reach: the create form sent back with errors and with
no plans, the SSH keys table, the activity with changes and a deleted server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from django.core.cache import cache

from panel.audit import Action, record
from servers.models import SSHKey
from tests.conftest import API, client_for, page
from tests.test_html_valid import HTMX_ATTRIBUTES, _checker, _save
from tests.test_server_create import form_data, plans


def test_the_states_are_valid_html(tmp_path: Path, admin_user: Any, team: Any, api: Any) -> None:
    checker = _checker()
    api.get(f"{API}/plans/", json=page(plans()))
    SSHKey.objects.create(team=team, name="Deploy key", key_id=42)
    record(team, admin_user, Action.SERVER_EDIT, target_id="7", target_name="web-1",
           changes={"name": ("web-0", "web-1"), "backups_enabled": (None, True)})  # fmt: skip
    record(team, admin_user, Action.SERVER_DELETE, target_id="7", target_name="web-1")
    record(team, admin_user, Action.MEMBER_ROLE, target_name="vera", message="Viewer → Operator")
    browser = client_for(admin_user)
    files = [
        _save(tmp_path, "create-errors", browser.post(
            "/servers/new/", form_data(plan_id="2", location="eu-central", name="bad name")
        )),
        _save(tmp_path, "create-chosen", browser.get(
            "/servers/new/", {"location": "us-west", "plan_id": "1", "os_id": "5"}
        )),
        _save(tmp_path, "ssh-keys", browser.get("/servers/ssh-keys/")),
        _save(tmp_path, "activity", browser.get("/team/activity/")),
        _save(tmp_path, "activity-pt",
              browser.get("/team/activity/", HTTP_ACCEPT_LANGUAGE="pt-BR")),
    ]  # fmt: skip
    # The plans failing (and not cached): the codes are typed.
    api.replace("GET", f"{API}/plans/", status=503, json={"detail": "down"})
    cache.clear()
    files.append(_save(tmp_path, "create-no-plans", browser.get("/servers/new/")))
    result = subprocess.run(
        [*checker, "--errors-only", "--format", "json", "--filterpattern", HTMX_ATTRIBUTES,
         *map(str, files)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    errors = [f"{Path(m.get('url', '')).name}: {m.get('message')}" for m in messages]
    assert errors == []
    assert "is not offered in eu-central" in (tmp_path / "create-errors.html").read_text()
    assert '<input type="text" name="plan_id"' in (tmp_path / "create-no-plans.html").read_text()
