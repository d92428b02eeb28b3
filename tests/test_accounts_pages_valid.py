"""allauth's pages in the panel's templates are valid HTML (the Nu checker), in English and
Portuguese: the pages only a real sign-in reaches (the second step, the set-up of an
authenticator app, the recovery codes, adding a security key, confirming access)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from django.test import Client

from tests.test_accounts_two_factor import PASSWORD, _log_out, _set_up_totp, _sign_up
from tests.test_html_valid import HTMX_ATTRIBUTES, _checker, _save

PT = {"HTTP_ACCEPT_LANGUAGE": "pt-BR"}


def test_two_factor_pages_are_valid_html(db, tmp_path: Path) -> None:
    checker = _checker()
    client = Client()
    _sign_up(client)
    files = []
    reauth = client.get("/accounts/2fa/webauthn/add/")
    files.append(_save(tmp_path, "reauthenticate", client.get(reauth["Location"])))
    client.post(reauth["Location"], {"password": PASSWORD})
    files.append(_save(tmp_path, "webauthn_add", client.get("/accounts/2fa/webauthn/add/")))
    files.append(_save(tmp_path, "totp", client.get("/accounts/2fa/totp/activate/")))
    files.append(_save(tmp_path, "totp_pt", client.get("/accounts/2fa/totp/activate/", **PT)))
    _set_up_totp(client, view_codes=False)
    files.append(_save(tmp_path, "codes", client.get("/accounts/2fa/recovery-codes/")))
    files.append(_save(tmp_path, "mfa_index", client.get("/accounts/2fa/", **PT)))
    _log_out(client)
    client.post("/accounts/login/", {"login": "tess", "password": PASSWORD})
    files.append(_save(tmp_path, "authenticate", client.get("/accounts/2fa/authenticate/")))
    files.append(
        _save(tmp_path, "authenticate_pt", client.get("/accounts/2fa/authenticate/", **PT))
    )

    for path in files:
        assert "<h1" in path.read_text(), path.name  # a page, not an error or a redirect

    result = subprocess.run(
        [*checker, "--errors-only", "--format", "json", "--filterpattern", HTMX_ATTRIBUTES,
         *map(str, files)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    errors = [f"{Path(m.get('url', '')).name}: {m.get('message')}" for m in messages]
    assert errors == []
