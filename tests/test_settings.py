"""Settings come from the environment and fail loudly on bad values (checked in a subprocess,
since settings are read once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({k: getattr(settings, k) for k in ("
    "'DEBUG', 'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
    "'SECURE_HSTS_SECONDS', 'VPSORG_API_URL', 'VPSORG_TIMEOUT', 'TOKEN_ENCRYPTION_KEYS', "
    "'SECRET_KEY_FALLBACKS')}))"
)


def run_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    clean.pop("VPSORG_API_URL", None)
    clean["DJANGO_SETTINGS_MODULE"] = "panel.settings"
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_defaults_are_secure() -> None:
    result = run_settings(DEBUG="false", SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] > 0
    assert values["VPSORG_API_URL"] == "https://admin.vps.org/api/v1"
    assert values["VPSORG_TIMEOUT"] == 10.0


def test_secure_settings_can_each_be_turned_off_for_loopback_http() -> None:
    result = run_settings(
        DEBUG="false",
        SECRET_KEY="x" * 50,
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False


def test_environment_values_are_read() -> None:
    result = run_settings(
        DEBUG="true",
        VPSORG_API_URL="http://127.0.0.1:8001/api/v1/",
        VPSORG_TIMEOUT="2.5",
        TOKEN_ENCRYPTION_KEYS="a,b",
        SECRET_KEY_FALLBACKS="old-key-1,old-key-2",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["SECRET_KEY_FALLBACKS"] == ["old-key-1", "old-key-2"]
    assert values["VPSORG_API_URL"] == "http://127.0.0.1:8001/api/v1"
    assert values["VPSORG_TIMEOUT"] == 2.5
    assert values["TOKEN_ENCRYPTION_KEYS"] == ["a", "b"]


SERVICES_PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'hosts': settings.ALLOWED_HOSTS, "
    "'db': settings.DATABASES['default']['ENGINE'], "
    "'db_host': settings.DATABASES['default']['HOST'], "
    "'cache': settings.CACHES['default'], 'mailer': settings.MAILERS['default'], "
    "'signup': settings.SIGNUP_ENABLED}))"
)


def probe_services(**env: str) -> dict[str, object]:
    unset = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CACHE_URL", "EMAIL_URL",
             "SIGNUP_ENABLED"}  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    result = subprocess.run(
        [sys.executable, "-c", SERVICES_PROBE],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "panel.settings", "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_hosts_database_cache_mail_and_signup_come_from_the_environment() -> None:
    values = probe_services(
        ALLOWED_HOSTS="panel.example.com,panel2.example.com",
        DATABASE_URL="postgres://panel@db.example.com:5432/panel",
        CACHE_URL="redis://cache.example.com:6379/1",
        EMAIL_URL="smtp+tls://mailer:secret@mail.example.com:587",
        SIGNUP_ENABLED="false",
    )
    assert values["hosts"] == ["panel.example.com", "panel2.example.com"]
    assert values["db"] == "django.db.backends.postgresql"
    assert values["db_host"] == "db.example.com"
    assert values["cache"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.example.com:6379/1",
    }
    assert values["mailer"]["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    options = values["mailer"]["OPTIONS"]
    assert (options["host"], options["port"], options["use_tls"]) == ("mail.example.com", 587, True)
    assert values["signup"] is False


def test_by_default_console_mail_the_database_cache_and_open_signup() -> None:
    values = probe_services()
    assert values["db"] == "django.db.backends.sqlite3"
    assert values["mailer"]["BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    # Shared by every worker of the machine (issue 10), in the table `migrate` makes.
    assert values["cache"]["BACKEND"] == "panel.cache_backend.DatabaseCache"
    assert values["cache"]["LOCATION"] == "panel_cache"
    assert values["signup"] is True


def test_production_mail_goes_to_the_local_mail_server_by_default() -> None:
    values = probe_services(DEBUG="false", SECRET_KEY="x" * 50)
    assert values["mailer"]["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["mailer"]["OPTIONS"] == {"host": "localhost", "port": 25}


def test_a_local_memory_cache_only_when_asked_for() -> None:
    values = probe_services(CACHE_URL="locmemcache://")
    assert values["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DEBUG": "ture"}, "DEBUG"),
        ({"DEBUG": "true", "VPSORG_TIMEOUT": "soon"}, "VPSORG_TIMEOUT"),
        ({"DEBUG": "true", "VPSORG_TIMEOUT": "-1"}, "VPSORG_TIMEOUT"),
        ({"DEBUG": "true", "VPSORG_API_URL": "admin.vps.org"}, "VPSORG_API_URL"),
        ({"DEBUG": "true", "SECURE_SSL_REDIRECT": "maybe"}, "SECURE_SSL_REDIRECT"),
    ],
)
def test_bad_values_fail_loudly(env: dict[str, str], complaint: str) -> None:
    result = run_settings(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr
