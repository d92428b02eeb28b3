"""The default cache when no CACHE_URL is set: Django's database cache, made safe for the
panel's two compare-and-set uses across processes.

Why the database cache and not the file-based one (figures: scripts/bench_cache.py, and the
commit that chose it): both are shared by every worker of one machine, and both are fast
enough for the panel (a 50 KB server list read or written in well under a millisecond or
two), but the file-based cache's add() is a has_key() then a set(), so two workers can both
"win" the single-flight lock or the lock-out's first count; and its incr() is a get() then a
set(), so concurrent increments are lost. In the database they can be made one step:

- SQLite runs with transaction_mode IMMEDIATE (panel/settings.py), so every atomic block
  holds the database's write lock from its first statement: the read and the write of
  add() and incr() cannot interleave with another process's.
- PostgreSQL (DATABASE_URL without CACHE_URL) gets the same through SELECT ... FOR UPDATE
  on the entry's row; an entry that does not exist yet is guarded by the table's primary
  key (a second INSERT fails, and add() answers False, as Django's base class does).
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, router, transaction


class DatabaseCache(DjangoDatabaseCache):
    def _lock_row(self, alias: str, key: str, version: int | None) -> None:
        """Hold the entry's row until the caller's transaction ends (where rows lock)."""
        connection = connections[alias]
        if connection.features.has_select_for_update:
            quote = connection.ops.quote_name
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {quote('cache_key')} FROM {quote(self._table)} "  # noqa: S608
                    f"WHERE {quote('cache_key')} = %s FOR UPDATE",
                    [self.make_and_validate_key(key, version=version)],
                )

    def add(
        self,
        key: str,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,  # seconds, None for ever, or Django's default
        version: int | None = None,
    ) -> bool:
        alias = router.db_for_write(self.cache_model_class)
        with transaction.atomic(using=alias):
            self._lock_row(alias, key, version)
            return super().add(key, value, timeout, version)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        alias = router.db_for_write(self.cache_model_class)
        with transaction.atomic(using=alias):
            self._lock_row(alias, key, version)
            return super().incr(key, delta, version)
