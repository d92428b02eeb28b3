"""Accounts, servers and their lifecycle: everything the API answers from.

One re-entrant lock guards all of it. Transitions are settled lazily: a server in
transition carries the status it will reach and when; every access first settles the
servers whose moment has come, so no background thread is needed and a restart from
the state file continues where it left off.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import catalog
from .catalog import OPERATING_SYSTEMS, PLANS
from .errors import ApiError, not_found
from .validation import validate_create, validate_update

STATE_VERSION = 1
CREATE_MESSAGE = "Server is being provisioned. This may take 2-5 minutes."

# status while in transition -> status it settles to
TRANSITIONAL: dict[str, str] = {
    "provisioning": "active",
    "starting": "active",
    "stopping": "stopped",
    "rebooting": "active",
}
# action -> (status it requires, transitional status, answer message)
POWER_ACTIONS: dict[str, tuple[str, str, str]] = {
    "start": ("stopped", "starting", "Server is starting"),
    "stop": ("active", "stopping", "Server is stopping"),
    "reboot": ("active", "rebooting", "Server is rebooting"),
}
# A machine that is powered on consumes resources; one booting up does not yet.
USAGE_STATUSES = frozenset({"active", "stopping", "rebooting"})
_FORCED_STATUS_RE = re.compile(r"[a-z][a-z_-]{0,31}", re.ASCII)

# The first account's fixed seed ids, never handed out by the counter even once deleted.
_SEED_IDS = frozenset({*catalog.DOC_SERVER_IDS, *catalog.FIRST_ACCOUNT_EXTRA_IDS})
IPV4_PREFIX = "203.0.113."  # TEST-NET-3, RFC 5737
IPV6_PREFIX = "2001:0db8::"  # documentation range, written as the documentation writes it


def iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def token_key(token: str) -> str:
    """Accounts are stored under a hash of their token so the state file holds no secret."""
    return hashlib.sha256(token.encode()).hexdigest()


def format_credits(cents: int) -> str:
    return f"{cents / 100:.2f}"


@dataclass(frozen=True, slots=True)
class Token:
    """A configured API token: which account it opens and whether it may write."""

    value: str
    read_only: bool
    name: str
    created_at: str

    @property
    def account_key(self) -> str:
        return token_key(self.value)

    @property
    def permissions(self) -> tuple[str, ...]:
        return catalog.READ_PERMISSIONS if self.read_only else catalog.FULL_PERMISSIONS

    @property
    def hint(self) -> str:
        """Enough of the token to tell tokens apart in logs and pages, never all of it."""
        return "…" + self.value[-4:]


@dataclass(slots=True)
class Account:
    email: str
    first_name: str
    last_name: str
    company_name: str
    created_at: str  # a date, as the Account API gives it
    credits_cents: int


@dataclass(slots=True)
class Server:
    id: int
    owner: str  # account key
    name: str
    hostname: str | None
    status: str
    ip_address: str | None
    ipv6_address: str | None
    location: str
    plan_id: int
    os_id: int
    backups_enabled: bool
    ssh_key_id: int | None
    created_at: float
    updated_at: float
    # Set while in transition: the status to reach, and the wall-clock time it is reached.
    pending_status: str | None = None
    pending_until: float | None = None

    # The three answers share their fields but not their order: each follows its own
    # example in the documentation, so they are assembled from these parts in that order.
    def _head(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "hostname": self.hostname,
            "status": self.status,
            "ip_address": self.ip_address,
        }

    def _os(self) -> dict[str, Any]:
        return {"id": self.os_id, "name": OPERATING_SYSTEMS[self.os_id]}

    def _times(self) -> dict[str, Any]:
        return {"created_at": iso(self.created_at), "updated_at": iso(self.updated_at)}

    def list_item(self) -> dict[str, Any]:
        return {
            **self._head(),
            "location": self.location,
            "plan": PLANS[self.plan_id].summary(),
            "os": self._os(),
            **self._times(),
        }

    def detail(self, now: float) -> dict[str, Any]:
        return {
            **self._head(),
            "ipv6_address": self.ipv6_address,
            "location": self.location,
            "plan": PLANS[self.plan_id].detail(),
            "os": self._os(),
            "backups_enabled": self.backups_enabled,
            "resource_usage": resource_usage(self, now),
            **self._times(),
        }

    def created(self) -> dict[str, Any]:
        """The create answer: the documentation's example has exactly these fields."""
        return {
            **self._head(),
            "location": self.location,
            "plan": PLANS[self.plan_id].summary(),
            "os": self._os(),
            "backups_enabled": self.backups_enabled,
            **self._times(),
            "message": CREATE_MESSAGE,
        }


def resource_usage(server: Server, now: float) -> dict[str, Any]:
    """Plausible, moving figures derived from time and id, so nothing needs storing."""
    if server.status not in USAGE_STATUSES:
        return {"cpu_percent": 0.0, "memory_used": 0, "disk_used": 0, "bandwidth_used": 0}
    plan = PLANS[server.plan_id]
    # A stable 0..1 phase per server so that two servers do not move in lockstep.
    phase = (server.id * 2654435761 % 2**32) / 2**32
    cpu = 30 + 25 * math.sin(now / 17 + phase * math.tau) + 12 * math.sin(now / 4.3 + phase * 7)
    memory_share = 0.35 + 0.2 * phase + 0.1 * math.sin(now / 45 + phase * math.tau)
    moment = datetime.fromtimestamp(now, UTC)
    month_start = datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp()
    # Traffic is counted per calendar month, so it only grows until the month turns; a
    # server created this month counts from its creation, so a new one starts near 0.
    counted_since = max(month_start, server.created_at)
    month_share = max(0.0, now - counted_since) / (31 * 86400)
    bandwidth = int(plan.bandwidth * (0.2 + 0.5 * phase) * month_share)
    return {
        "cpu_percent": round(min(99.9, max(0.1, cpu)), 1),
        "memory_used": int(plan.memory * memory_share),
        "disk_used": max(1, int(plan.storage * (0.2 + 0.45 * phase))),
        "bandwidth_used": min(plan.bandwidth, bandwidth),
    }


@dataclass(slots=True)
class _Data:
    """Everything that is saved to the state file."""

    accounts: dict[str, Account] = field(default_factory=dict)
    servers: dict[int, Server] = field(default_factory=dict)
    next_id: int = catalog.FIRST_FREE_ID
    next_ipv6: int = 1


class SandboxState:
    """The sandbox's data, shared by every request thread."""

    def __init__(
        self,
        tokens: Iterable[str] = ("sandbox-demo-token",),
        read_tokens: Iterable[str] = (),
        *,
        transition_seconds: float = 5.0,
        credits: float = 100.0,
        state_file: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tokens: dict[str, Token] = {}
        for value, read_only in [(t, False) for t in tokens] + [(t, True) for t in read_tokens]:
            if not value or any(c.isspace() for c in value):
                raise ValueError("a token must be non-empty and contain no whitespace")
            if value in self.tokens:
                raise ValueError(f"token …{value[-4:]} is given more than once")
            self.tokens[value] = Token(
                value,
                read_only,
                "Sandbox read-only token" if read_only else "Sandbox token",
                "2025-01-05T12:00:00Z",
            )
        if transition_seconds < 0:
            raise ValueError("transition_seconds must not be negative")
        if credits < 0:
            raise ValueError("credits must not be negative")
        self.transition_seconds = float(transition_seconds)
        self.credits_cents = round(credits * 100)
        self.state_file = Path(state_file) if state_file is not None else None
        self._clock = clock
        self._lock = threading.RLock()
        self._dirty = False
        self._data = _Data()
        if self.state_file is not None and self.state_file.exists():
            self._data = self._load(self.state_file)
        self._seed_missing_accounts()
        self._save()

    # -- plumbing -----------------------------------------------------------------

    @contextmanager
    def _access(self) -> Iterator[float]:
        """Hold the lock, settle due transitions, and save afterwards if anything changed."""
        with self._lock:
            now = self._clock()
            self._settle(now)
            try:
                yield now
            finally:
                if self._dirty:
                    self._save()

    def _settle(self, now: float) -> None:
        for server in self._data.servers.values():
            if server.pending_until is not None and now >= server.pending_until:
                server.status = server.pending_status or "active"
                server.updated_at = server.pending_until
                server.pending_status = server.pending_until = None
                if server.ip_address is None:
                    self._assign_addresses(server)
                self._dirty = True

    def _assign_addresses(self, server: Server) -> None:
        server.ip_address = self._free_ipv4()
        server.ipv6_address = f"{IPV6_PREFIX}{self._data.next_ipv6:x}"
        self._data.next_ipv6 += 1

    def _free_ipv4(self) -> str:
        used = {s.ip_address for s in self._data.servers.values()}
        # .10 upwards first, like the documentation's examples; a freed address is reused.
        for host in [*range(10, 255), *range(1, 10)]:
            address = f"{IPV4_PREFIX}{host}"
            if address not in used:
                return address
        # The /24 is exhausted; sharing an address beats refusing to provision in a sandbox.
        return f"{IPV4_PREFIX}{10 + len(self._data.servers) % 245}"

    def _new_id(self) -> int:
        while self._data.next_id in self._data.servers or self._data.next_id in _SEED_IDS:
            self._data.next_id += 1
        new_id = self._data.next_id
        self._data.next_id += 1
        return new_id

    def _seed_missing_accounts(self) -> None:
        for index, token in enumerate(self.tokens.values()):
            if token.account_key not in self._data.accounts:
                self._seed_account(token.account_key, index)
                self._dirty = True

    def _seed_account(self, key: str, index: int) -> None:
        profile = dict(catalog.PROFILES[index % len(catalog.PROFILES)])
        if index >= len(catalog.PROFILES):
            local, domain = profile["email"].split("@")
            profile["email"] = f"{local}+{index + 1}@{domain}"
        self._data.accounts[key] = Account(
            **profile, created_at="2025-01-05", credits_cents=self.credits_cents
        )
        fixed_ids = (*catalog.DOC_SERVER_IDS, *catalog.FIRST_ACCOUNT_EXTRA_IDS)
        documented = index == 0 and not any(i in self._data.servers for i in fixed_ids)
        for position, template in enumerate(catalog.SEED_SERVERS):
            server = Server(
                id=fixed_ids[position] if documented else self._new_id(),
                owner=key,
                name=template["name"],
                hostname=template["hostname"],
                status=template["status"],
                ip_address=None,
                ipv6_address=None,
                location=template["location"],
                plan_id=template["plan_id"],
                os_id=template["os_id"],
                backups_enabled=template["backups_enabled"],
                ssh_key_id=None,
                created_at=parse_iso(template["created_at"]),
                updated_at=parse_iso(template["updated_at"]),
            )
            used = {s.ip_address for s in self._data.servers.values()}
            address = catalog.FIRST_ACCOUNT_IPV4[position]
            if documented and address not in used:
                server.ip_address = address
                server.ipv6_address = f"{IPV6_PREFIX}{position + 1:x}"
                self._data.next_ipv6 = max(self._data.next_ipv6, position + 2)
            else:
                self._assign_addresses(server)
            self._data.servers[server.id] = server

    def _save(self) -> None:
        self._dirty = False
        if self.state_file is None:
            return
        payload = {
            "version": STATE_VERSION,
            "next_id": self._data.next_id,
            "next_ipv6": self._data.next_ipv6,
            "accounts": {key: asdict(acc) for key, acc in self._data.accounts.items()},
            "servers": [asdict(s) for s in self._data.servers.values()],
        }
        directory = self.state_file.parent
        directory.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename over it: a reader or a crash never sees half
        # a file. No fsync: this guards against our own crash, not a power cut.
        fd, temp = tempfile.mkstemp(prefix=f".{self.state_file.name}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=1)
            os.replace(temp, self.state_file)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    @staticmethod
    def _load(path: Path) -> _Data:
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            if payload.get("version") != STATE_VERSION:
                raise ValueError(f"unsupported version {payload.get('version')!r}")
            return _Data(
                accounts={k: Account(**v) for k, v in payload["accounts"].items()},
                servers={s["id"]: Server(**s) for s in payload["servers"]},
                next_id=int(payload["next_id"]),
                next_ipv6=int(payload["next_ipv6"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"cannot load state file {path}: {exc}") from exc

    def _owned(self, token: Token, server_id: int) -> Server:
        server = self._data.servers.get(server_id)
        # Another account's server is "not found", never "forbidden": ids must not leak.
        if server is None or server.owner != token.account_key:
            raise not_found()
        return server

    # -- API ----------------------------------------------------------------------

    def authenticate(self, value: str) -> Token | None:
        return self.tokens.get(value)

    def list_servers(
        self, token: Token, *, status: str | None = None, location: str | None = None
    ) -> list[dict[str, Any]]:
        with self._access():
            return [
                server.list_item()
                for server in sorted(self._data.servers.values(), key=lambda s: s.id)
                if server.owner == token.account_key
                and (status is None or server.status == status)
                and (location is None or server.location == location)
            ]

    def get_server(self, token: Token, server_id: int) -> dict[str, Any]:
        with self._access() as now:
            return self._owned(token, server_id).detail(now)

    def create_server(self, token: Token, body: Any) -> dict[str, Any]:
        with self._access() as now:
            clean = validate_create(body)
            account = self._data.accounts[token.account_key]
            price = PLANS[clean["plan_id"]].price_monthly_cents
            if account.credits_cents < price:
                raise ApiError.detail(
                    402,
                    f"Insufficient credits: this plan costs {format_credits(price)} per month"
                    f" and the account has {format_credits(account.credits_cents)} left.",
                )
            account.credits_cents -= price
            server = Server(
                id=self._new_id(),
                owner=token.account_key,
                name=clean["name"],
                hostname=clean["hostname"],
                status="provisioning",
                ip_address=None,
                ipv6_address=None,
                location=clean["location"],
                plan_id=clean["plan_id"],
                os_id=clean["os_id"],
                backups_enabled=clean["backups_enabled"],
                ssh_key_id=clean["ssh_key_id"],
                created_at=now,
                updated_at=now,
                pending_status=TRANSITIONAL["provisioning"],
                pending_until=now + self.transition_seconds,
            )
            self._data.servers[server.id] = server
            self._dirty = True
            return server.created()

    def update_server(
        self, token: Token, server_id: int, body: Any, *, partial: bool
    ) -> dict[str, Any]:
        with self._access() as now:
            server = self._owned(token, server_id)
            clean = validate_update(body, partial=partial)
            for name, value in clean.items():
                setattr(server, name, value)
            # Like a model saved with auto_now: every successful write touches it.
            server.updated_at = now
            self._dirty = True
            return server.detail(now)

    def delete_server(self, token: Token, server_id: int) -> None:
        with self._access():
            server = self._owned(token, server_id)
            del self._data.servers[server.id]
            self._dirty = True

    def power(self, token: Token, server_id: int, action: str) -> dict[str, Any]:
        required, transitional, message = POWER_ACTIONS[action]
        with self._access() as now:
            server = self._owned(token, server_id)
            if server.status == "suspended":
                raise ApiError.detail(400, "Server is suspended.")
            # Transitional and unknown statuses alike: the machine is doing something else.
            if server.status not in ("active", "stopped"):
                raise ApiError.detail(400, f"Server is busy ({server.status}).")
            if server.status != required:
                already = "Server is already running." if action == "start" else None
                raise ApiError.detail(400, already or "Server is not running.")
            server.status = transitional
            server.pending_status = TRANSITIONAL[transitional]
            server.pending_until = now + self.transition_seconds
            server.updated_at = now
            self._dirty = True
            return {
                "status": "success",
                "message": message,
                "server": {"id": server.id, "name": server.name, "status": server.status},
            }

    def list_plans(self, location: str | None = None) -> list[dict[str, Any]]:
        return [
            plan.to_api()
            for plan in PLANS.values()
            if location is None or location in plan.locations
        ]

    def get_plan(self, plan_id: int) -> dict[str, Any]:
        plan = PLANS.get(plan_id)
        if plan is None:
            raise not_found()
        return plan.to_api()

    def account_me(self, token: Token) -> dict[str, Any]:
        with self._access():
            account = self._data.accounts[token.account_key]
            return {
                "account": {
                    "email": account.email,
                    "first_name": account.first_name,
                    "last_name": account.last_name,
                    "company_name": account.company_name,
                    "created_at": account.created_at,
                },
                "token": {
                    "name": token.name,
                    "permissions": list(token.permissions),
                    "created_at": token.created_at,
                },
            }

    # -- test controls ------------------------------------------------------------

    def force_status(self, server_id: int, status: Any) -> dict[str, Any]:
        """Put a server in any status at once, e.g. "suspended", and keep it there.

        Any lower-case word is accepted, so that a client's handling of statuses it
        does not know can be tried too.
        """
        if not isinstance(status, str) or not _FORCED_STATUS_RE.fullmatch(status):
            raise ApiError(400, {"status": ["Give a status: a lower-case word, e.g. suspended."]})
        with self._access() as now:
            server = self._data.servers.get(server_id)
            if server is None:
                raise not_found()
            server.status = status
            server.pending_status = server.pending_until = None
            server.updated_at = now
            if status != "provisioning" and server.ip_address is None:
                self._assign_addresses(server)
            self._dirty = True
            return server.detail(now)

    def reset(self) -> None:
        """Back to the seed: every configured account's servers, credits and ids."""
        with self._lock:
            self._data = _Data()
            self._seed_missing_accounts()
            self._save()

    def accounts_summary(self) -> list[dict[str, Any]]:
        with self._access():
            summary = []
            for token in self.tokens.values():
                account = self._data.accounts[token.account_key]
                summary.append(
                    {
                        "token": token.hint,
                        "read_only": token.read_only,
                        "email": account.email,
                        "credits": format_credits(account.credits_cents),
                        "servers": sum(
                            1 for s in self._data.servers.values() if s.owner == token.account_key
                        ),
                    }
                )
            return summary

    def set_credits(self, token_value: str, credits: float) -> None:
        """For tests that want to reach the 402 without creating servers first."""
        with self._access():
            token = self.tokens[token_value]
            self._data.accounts[token.account_key].credits_cents = round(credits * 100)
            self._dirty = True
