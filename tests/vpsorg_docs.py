"""The VPS.org documentation's own example bodies, shared by the client's tests
(as mocked answers) and the sandbox's (as what its seed must answer)."""

from __future__ import annotations

from typing import Any

LIST_EXAMPLE: dict[str, Any] = {
    "count": 2,
    "results": [
        {
            "id": 12345,
            "name": "web-server-01",
            "hostname": "web01.example.com",
            "status": "active",
            "ip_address": "203.0.113.10",
            "location": "us-west",
            "plan": {"id": 1, "name": "Standard VPS", "vcpus": 2, "memory": 4096, "storage": 80},
            "os": {"id": 5, "name": "Ubuntu 22.04 LTS"},
            "created_at": "2025-01-10T14:30:00Z",
            "updated_at": "2025-01-15T10:20:00Z",
        },
        {
            "id": 12346,
            "name": "db-server-01",
            "hostname": "db01.example.com",
            "status": "active",
            "ip_address": "203.0.113.11",
            "location": "us-east",
            "plan": {
                "id": 2,
                "name": "Performance VPS",
                "vcpus": 4,
                "memory": 8192,
                "storage": 160,
            },
            "os": {"id": 3, "name": "Debian 12"},
            "created_at": "2025-01-12T09:15:00Z",
            "updated_at": "2025-01-16T08:45:00Z",
        },
    ],
}

CREATE_EXAMPLE: dict[str, Any] = {
    "id": 12347,
    "name": "web-server-02",
    "hostname": "web02.example.com",
    "status": "provisioning",
    "ip_address": None,
    "location": "us-west",
    "plan": {"id": 1, "name": "Standard VPS", "vcpus": 2, "memory": 4096, "storage": 80},
    "os": {"id": 5, "name": "Ubuntu 22.04 LTS"},
    "backups_enabled": True,
    "created_at": "2025-01-16T15:30:00Z",
    "updated_at": "2025-01-16T15:30:00Z",
    "message": "Server is being provisioned. This may take 2-5 minutes.",
}

DETAIL_EXAMPLE: dict[str, Any] = {
    "id": 12345,
    "name": "web-server-01",
    "hostname": "web01.example.com",
    "status": "active",
    "ip_address": "203.0.113.10",
    "ipv6_address": "2001:0db8::1",
    "location": "us-west",
    "plan": {
        "id": 1,
        "name": "Standard VPS",
        "vcpus": 2,
        "memory": 4096,
        "storage": 80,
        "bandwidth": 2048,
    },
    "os": {"id": 5, "name": "Ubuntu 22.04 LTS"},
    "backups_enabled": True,
    "resource_usage": {
        "cpu_percent": 23.5,
        "memory_used": 2048,
        "disk_used": 35,
        "bandwidth_used": 450,
    },
    "created_at": "2025-01-10T14:30:00Z",
    "updated_at": "2025-01-16T15:45:00Z",
}


def action_example(verb: str, status: str) -> dict[str, Any]:
    return {
        "status": "success",
        "message": f"Server is {verb}",
        "server": {"id": 12345, "name": "web-server-01", "status": status},
    }
