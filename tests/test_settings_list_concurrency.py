"""VPSORG_LIST_CONCURRENCY: read from the environment, validated, passed to the client.

Read in a subprocess, since settings are read once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from panel.models import Team
from servers import client as vpsorg
from servers.api import client_for

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import django; from django.conf import settings; django.setup(); "
    "print(settings.VPSORG_LIST_CONCURRENCY)"
)


def run_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "VPSORG_LIST_CONCURRENCY"}
    clean.update(DJANGO_SETTINGS_MODULE="panel.settings", DEBUG="true")
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_default_is_the_clients() -> None:
    result = run_settings()
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == vpsorg.DEFAULT_LIST_CONCURRENCY


@pytest.mark.parametrize("value", ["1", "16", " 3 "])
def test_a_whole_number_in_range_is_read(value: str) -> None:
    result = run_settings(VPSORG_LIST_CONCURRENCY=value)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == int(value)


@pytest.mark.parametrize("value", ["0", "17", "-2", "2.5", "many", "٣"])
def test_anything_else_fails_loudly(value: str) -> None:
    result = run_settings(VPSORG_LIST_CONCURRENCY=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "VPSORG_LIST_CONCURRENCY" in result.stderr


def test_the_settings_bound_is_the_clients() -> None:
    # The settings refuse what the client would refuse when a page builds it (a 500).
    assert run_settings(VPSORG_LIST_CONCURRENCY=str(vpsorg.MAX_LIST_CONCURRENCY)).returncode == 0
    over = str(vpsorg.MAX_LIST_CONCURRENCY + 1)
    assert run_settings(VPSORG_LIST_CONCURRENCY=over).returncode != 0


def test_the_teams_client_gets_the_setting(team: Team, settings) -> None:
    settings.VPSORG_LIST_CONCURRENCY = 3
    assert client_for(team).list_concurrency == 3
