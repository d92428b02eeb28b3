# The cache table (issue 10, branch prod) and the accounts' migrations (issue 13) were
# numbered apart on their branches; this joins the two lines. Nothing to do in it.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("panel", "0003_cache_table"),
        ("panel", "0004_audit_entry_changes"),
    ]

    operations: list[migrations.operations.base.Operation] = []
