"""The table of the default cache (panel.cache_backend.DatabaseCache, LOCATION panel_cache),
made by `migrate` so that a fresh deployment needs no separate createcachetable step."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "panel_cache"


def create_table(apps, schema_editor) -> None:
    # Idempotent: a table made earlier by `manage.py createcachetable` is kept as it is.
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_table(apps, schema_editor) -> None:
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("panel", "0002_invitations_audit_index")]

    operations = [migrations.RunPython(create_table, drop_table)]
