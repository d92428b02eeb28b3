"""Seed the OS catalog with the operating systems VPS.org's documentation names."""

from typing import Any

from django.db import migrations

# From the Servers API documentation's examples (os 5 and os 3); the rest is learned
# from the servers the API returns, or added in the admin.
DOCUMENTED = (("5", "Ubuntu 22.04 LTS"), ("3", "Debian 12"))


def seed(apps: Any, schema_editor: Any) -> None:
    OperatingSystem = apps.get_model("servers", "OperatingSystem")
    for api_id, name in DOCUMENTED:
        OperatingSystem.objects.get_or_create(
            api_id=api_id, defaults={"name": name, "source": "seeded"}
        )


def unseed(apps: Any, schema_editor: Any) -> None:
    OperatingSystem = apps.get_model("servers", "OperatingSystem")
    OperatingSystem.objects.filter(source="seeded").delete()


class Migration(migrations.Migration):
    dependencies = [("servers", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
