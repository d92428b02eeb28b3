"""Fixed catalogue data: plans, operating systems, locations and the seed servers.

The Servers documentation is the source of truth wherever it names a value (plan 1
"Standard VPS", plan 2 "Performance VPS", os 5 "Ubuntu 22.04 LTS", os 3 "Debian 12",
servers 12345 and 12346); the rest is invented to be plausible and to exercise the
awkward cases a client meets: a plan not offered everywhere, a plan that cannot be
ordered, a stopped and a suspended server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOCATIONS: tuple[str, ...] = ("us-west", "us-east", "eu-central")


@dataclass(frozen=True, slots=True)
class Plan:
    id: int
    name: str
    slug: str
    vcpus: int
    memory: int  # MB
    storage: int  # GB
    bandwidth: int  # GB per month
    price_monthly_cents: int
    price_hourly: float
    available: bool
    locations: tuple[str, ...]
    description: str

    def summary(self) -> dict[str, Any]:
        """The plan as it is nested in a server of the list answer."""
        return {
            "id": self.id,
            "name": self.name,
            "vcpus": self.vcpus,
            "memory": self.memory,
            "storage": self.storage,
        }

    def detail(self) -> dict[str, Any]:
        """The plan as it is nested in a server of the detail answer."""
        return {**self.summary(), "bandwidth": self.bandwidth}

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "slug": self.slug,
            "vcpus": self.vcpus,
            "memory": self.memory,
            "storage": self.storage,
            "bandwidth": self.bandwidth,
            "price_monthly": self.price_monthly_cents / 100,
            "price_hourly": self.price_hourly,
            "available": self.available,
            "locations": list(self.locations),
            "description": self.description,
        }


PLANS: dict[int, Plan] = {
    plan.id: plan
    for plan in (
        Plan(
            1,
            "Standard VPS",
            "standard",
            2,
            4096,
            80,
            2048,
            1000,
            0.014,
            True,
            LOCATIONS,
            "Balanced resources for websites, small applications and staging.",
        ),
        Plan(
            2,
            "Performance VPS",
            "performance",
            4,
            8192,
            160,
            4096,
            2000,
            0.027,
            True,
            ("us-west", "us-east"),
            "More cores and memory for databases and busy applications.",
        ),
        Plan(
            3,
            "Starter VPS",
            "starter",
            1,
            2048,
            40,
            1024,
            500,
            0.007,
            True,
            LOCATIONS,
            "An entry-level server for personal projects and testing.",
        ),
        Plan(
            4,
            "Memory VPS",
            "memory",
            2,
            16384,
            120,
            4096,
            4000,
            0.055,
            True,
            ("us-east", "eu-central"),
            "A high-memory server for caches and in-memory analytics.",
        ),
        Plan(
            5,
            "Legacy VPS",
            "legacy",
            1,
            1024,
            25,
            500,
            350,
            0.005,
            False,
            ("us-west", "us-east"),
            "A retired plan kept for existing servers; it can no longer be ordered.",
        ),
    )
}

OPERATING_SYSTEMS: dict[int, str] = {
    1: "Ubuntu 24.04 LTS",
    2: "Debian 11",
    3: "Debian 12",
    4: "Rocky Linux 9",
    5: "Ubuntu 22.04 LTS",
    6: "AlmaLinux 9",
}

# The documentation's two servers keep their documented ids in the first account; the
# other seed servers of the first account sit in a block of their own so that the first
# server created there gets 12347, as in the documentation's create example.
DOC_SERVER_IDS: tuple[int, ...] = (12345, 12346)
FIRST_FREE_ID = 12347


def _seed(
    name: str,
    status: str,
    location: str,
    plan_id: int,
    os_id: int,
    created_at: str,
    updated_at: str,
    *,
    hostname: str,
    backups: bool = False,
) -> dict[str, Any]:
    return {
        "name": name,
        "hostname": hostname,
        "status": status,
        "location": location,
        "plan_id": plan_id,
        "os_id": os_id,
        "backups_enabled": backups,
        "created_at": created_at,
        "updated_at": updated_at,
    }


# One entry per seed server; ids, addresses and owners are filled in per account. The
# first two are the documentation's; the rest give a demo page enough rows and every
# settled status, including a suspended server on the plan that can no longer be ordered.
SEED_SERVERS: tuple[dict[str, Any], ...] = (
    _seed(
        "web-server-01",
        "active",
        "us-west",
        1,
        5,
        "2025-01-10T14:30:00Z",
        "2025-01-15T10:20:00Z",
        hostname="web01.example.com",
        backups=True,
    ),
    _seed(
        "db-server-01",
        "active",
        "us-east",
        2,
        3,
        "2025-01-12T09:15:00Z",
        "2025-01-16T08:45:00Z",
        hostname="db01.example.com",
        backups=True,
    ),
    _seed(
        "app-server-01",
        "active",
        "eu-central",
        3,
        1,
        "2025-02-03T11:00:00Z",
        "2025-02-03T11:04:12Z",
        hostname="app01.example.com",
    ),
    _seed(
        "cache-server-01",
        "active",
        "us-east",
        4,
        4,
        "2025-02-14T16:20:00Z",
        "2025-03-01T07:30:00Z",
        hostname="cache01.example.com",
    ),
    _seed(
        "api-server-01",
        "active",
        "us-west",
        2,
        5,
        "2025-02-20T10:05:00Z",
        "2025-02-20T10:08:31Z",
        hostname="api01.example.com",
        backups=True,
    ),
    _seed(
        "worker-01",
        "active",
        "us-east",
        1,
        3,
        "2025-03-02T08:40:00Z",
        "2025-03-02T08:43:05Z",
        hostname="worker01.example.com",
    ),
    _seed(
        "monitoring-01",
        "active",
        "eu-central",
        3,
        6,
        "2025-03-11T12:00:00Z",
        "2025-03-11T12:03:48Z",
        hostname="monitoring01.example.com",
    ),
    _seed(
        "mail-server-01",
        "active",
        "eu-central",
        1,
        2,
        "2025-03-15T15:30:00Z",
        "2025-04-02T09:12:00Z",
        hostname="mail01.example.com",
        backups=True,
    ),
    _seed(
        "staging-01",
        "stopped",
        "us-west",
        3,
        2,
        "2025-03-05T13:45:00Z",
        "2025-03-20T18:02:40Z",
        hostname="staging01.example.com",
    ),
    _seed(
        "backup-01",
        "stopped",
        "us-east",
        1,
        3,
        "2025-03-18T07:10:00Z",
        "2025-04-10T22:00:00Z",
        hostname="backup01.example.com",
    ),
    _seed(
        "legacy-app-01",
        "suspended",
        "us-east",
        5,
        2,
        "2024-11-18T08:00:00Z",
        "2025-04-01T00:00:00Z",
        hostname="legacy01.example.com",
    ),
    _seed(
        "ci-runner-01",
        "stopped",
        "us-west",
        3,
        1,
        "2025-04-07T09:00:00Z",
        "2025-04-08T17:25:00Z",
        hostname="ci01.example.com",
    ),
    # More than one default page (20): a client that ignores `next` visibly misses servers.
    *(
        _seed(name, status, location, plan, os_id, created, created, hostname=f"{name}.example.com")
        for name, status, location, plan, os_id, created in (
            ("frontend-01", "active", "us-west", 1, 5, "2025-04-12T10:00:00Z"),
            ("frontend-02", "active", "eu-central", 1, 5, "2025-04-12T10:20:00Z"),
            ("search-01", "active", "us-east", 4, 3, "2025-04-20T14:00:00Z"),
            ("queue-01", "active", "us-east", 3, 3, "2025-05-02T09:30:00Z"),
            ("analytics-01", "active", "us-west", 2, 1, "2025-05-18T16:45:00Z"),
            ("dns-01", "active", "us-west", 3, 2, "2025-06-01T08:00:00Z"),
            ("dns-02", "active", "eu-central", 3, 2, "2025-06-01T08:05:00Z"),
            ("git-01", "stopped", "us-east", 1, 6, "2025-06-22T12:10:00Z"),
            ("files-01", "stopped", "eu-central", 3, 4, "2025-07-04T15:00:00Z"),
            ("vpn-01", "stopped", "us-west", 3, 1, "2025-07-30T19:40:00Z"),
            ("old-web-01", "suspended", "us-west", 5, 2, "2024-10-02T11:00:00Z"),
            ("trial-box-01", "suspended", "eu-central", 3, 5, "2025-08-09T07:15:00Z"),
        )
    ),
)

FIRST_ACCOUNT_EXTRA_IDS: tuple[int, ...] = tuple(
    range(12401, 12401 + len(SEED_SERVERS) - len(DOC_SERVER_IDS))
)
# Addresses of the first account's seed servers; the first two are the documentation's.
FIRST_ACCOUNT_IPV4: tuple[str, ...] = tuple(f"203.0.113.{10 + n}" for n in range(len(SEED_SERVERS)))

PROFILES: tuple[dict[str, str], ...] = (
    {
        "email": "alex.morgan@example.com",
        "first_name": "Alex",
        "last_name": "Morgan",
        "company_name": "Example Hosting Ltd",
    },
    {
        "email": "sam.rivera@example.org",
        "first_name": "Sam",
        "last_name": "Rivera",
        "company_name": "Rivera Labs",
    },
    {
        "email": "kim.tanaka@example.net",
        "first_name": "Kim",
        "last_name": "Tanaka",
        "company_name": "",
    },
)

FULL_PERMISSIONS: tuple[str, ...] = ("servers:read", "servers:write", "plans:read", "account:read")
READ_PERMISSIONS: tuple[str, ...] = ("servers:read", "plans:read", "account:read")
