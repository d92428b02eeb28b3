"""The default cache (panel.cache_backend.DatabaseCache): Django's database cache whose
add() and incr() hold when several processes use them at once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import caches
from django.test import override_settings

from tests.live_panel import ServiceUnavailable, postgres_database

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("INSTANCES_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DB_PREFIX = os.environ.get("INSTANCES_DB_PREFIX", "test_instances") + "_cache"
DEFAULT_CACHE = {
    "default": {
        "BACKEND": "panel.cache_backend.DatabaseCache",
        "LOCATION": "panel_cache",
    }
}


@pytest.fixture
def db_cache(transactional_db: None):
    """The backend on the test database, in the table the migration made."""
    with override_settings(CACHES=DEFAULT_CACHE):
        cache = caches["default"]
        cache.clear()
        yield cache
        cache.clear()


def test_add_wins_once_until_the_entry_expires_or_goes(db_cache) -> None:
    assert db_cache.add("lock", 1, 60) is True
    assert db_cache.add("lock", 2, 60) is False
    assert db_cache.get("lock") == 1
    db_cache.delete("lock")
    assert db_cache.add("lock", 3, 60) is True
    assert db_cache.get("lock") == 3


def test_incr_and_decr_count_and_refuse_a_missing_key(db_cache) -> None:
    db_cache.set("count", 5, None)
    assert db_cache.incr("count") == 6
    assert db_cache.incr("count", 10) == 16
    assert db_cache.decr("count", 6) == 10
    assert db_cache.get("count") == 10
    with pytest.raises(ValueError):
        db_cache.incr("missing")


def test_big_pickled_values_round_trip(db_cache) -> None:
    value = {"at": 1.5, "value": [{"id": str(n), "name": "x" * 300} for n in range(100)]}
    db_cache.set("list", value, 60)
    assert db_cache.get("list") == value


def _race(*extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"CACHE_URL", "DATABASE_URL"}}
    result = subprocess.run(
        [sys.executable, "scripts/bench_cache.py", "--rounds", "60", "--only", "default", *extra],
        cwd=ROOT,
        env={**env, "DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _assert_no_double_lock_nor_lost_increment(out: str) -> None:
    assert out.startswith("default: 2 processes x 60 rounds"), out
    assert re.search(r"won by more than one process: 0 of 60$", out, re.M), out
    assert re.search(r"increments lost: 0 of 120$", out, re.M), out


def test_two_processes_never_both_win_a_lock_nor_lose_an_increment() -> None:
    """The measurement script races two real processes on one SQLite file: the panel's
    backend must show no double lock and no lost increment (Django's own database cache
    loses increments, the file-based cache loses both; the script prints them too)."""
    _assert_no_double_lock_nor_lost_increment(_race())


def test_on_postgresql_too() -> None:
    """The same race on PostgreSQL (DATABASE_URL without CACHE_URL), where the row lock
    (SELECT ... FOR UPDATE) does what IMMEDIATE does on SQLite."""
    try:
        with postgres_database(POSTGRES, DB_PREFIX) as url:
            out = _race("--database-url", url)
    except ServiceUnavailable as reason:
        pytest.skip(str(reason))
    _assert_no_double_lock_nor_lost_increment(out)
