"""Every page is valid HTML by the Nu HTML checker (vnu.jar), htmx's hx-* attributes aside.

vnu.jar comes from the npm package vnu-jar (.ci/run installs it into .cache/vnu);
where it or Java is missing the test skips with the reason, and fails in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.conftest import client_for
from tests.test_role_matrix import SID, mock_vpsorg

ROOT = Path(__file__).resolve().parent.parent
VNU = Path(os.environ.get("VNU_JAR") or ROOT / ".cache/vnu/node_modules/vnu-jar/build/dist/vnu.jar")
# The checker does not know htmx's attributes; DESIGN.md allows filtering exactly those.
HTMX_ATTRIBUTES = r".*Attribute “hx-[a-z-]+” not allowed.*"

PAGES_AS_ADMIN = [
    "/servers/",
    f"/servers/{SID}/",
    "/servers/new/",
    f"/servers/{SID}/edit/",
    f"/servers/{SID}/delete/",
    "/servers/ssh-keys/",
    "/servers/does-not-exist/",
    "/no/such/page/",
    "/team/token/",
    "/team/members/",
    "/team/activity/",
    # Accounts (allauth's pages in the panel's templates).
    "/accounts/2fa/",
    "/accounts/sessions/",
    "/accounts/password/change/",
    "/accounts/email/",
]
PAGES_ANONYMOUS = ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]


def _checker() -> list[str]:
    java = shutil.which("java")
    missing = None if java else "no java found"
    if not VNU.exists():
        missing = f"no vnu.jar at {VNU} (npm install --prefix .cache/vnu vnu-jar)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must check the HTML, but {missing}")
        pytest.skip(missing)
    return [java or "java", "-Xss8m", "-jar", str(VNU)]


def _save(tmp_path: Path, name: str, response: Any) -> Path:
    assert response.status_code in (200, 404), (name, response.status_code)
    path = tmp_path / (name.strip("/").replace("/", "_") or "root")
    path = path.with_suffix(".html")
    path.write_bytes(response.content)
    return path


def test_pages_are_valid_html(tmp_path: Path, admin_user: Any, api: Any) -> None:
    checker = _checker()
    mock_vpsorg(api)
    files = []
    browser = client_for(admin_user)
    for url in PAGES_AS_ADMIN:
        files.append(_save(tmp_path, url, browser.get(url)))
    for url in PAGES_ANONYMOUS:
        files.append(_save(tmp_path, url, Client().get(url)))

    result = subprocess.run(
        [*checker, "--errors-only", "--format", "json", "--filterpattern", HTMX_ATTRIBUTES,
         *map(str, files)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    errors = [f"{Path(m.get('url', '')).name}: {m.get('message')}" for m in messages]
    assert errors == []
