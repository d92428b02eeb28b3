"""`manage.py check --deploy` is clean with only the documented production variables
(run in a subprocess with exactly those, as an operator would), and says what is wrong
when one is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
SECRET = "deploy-check-" + "k" * 50


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Exactly the given variables, plus what any process needs to run at all.
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production(**extra: str) -> dict[str, str]:
    return {
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "panel.example.com",
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        **extra,
    }


def test_check_deploy_is_clean_with_only_the_documented_variables() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_is_clean_with_postgres_and_smtp_too() -> None:
    env = production(
        DATABASE_URL="postgres://panel@db.example.com:5432/panel",
        EMAIL_URL="smtp+tls://mailer:secret@mail.example.com:587",
        CACHE_URL="redis://cache.example.com:6379/0",
    )
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_check_still_reports_what_the_operator_turned_off() -> None:
    env = production(SECURE_HSTS_PRELOAD="false", EMAIL_URL="consolemail://")
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "security.W021" in output
    assert "mail.E001" in output


def test_without_secret_key_the_start_stops_with_a_clear_error() -> None:
    env = production()
    del env["SECRET_KEY"]
    result = manage("check", "--deploy", **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is false." in result.stderr
