"""What the sync keeps in the station's store (migration 3): peers, invites, sources, upstream.

Every read and write goes through the store's lock, so the hub thread, the ZAP authenticator
thread and a station agent thread can share one store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fieldkit.store.store import Store

INVITE_TTL = timedelta(hours=24)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_stamp_of(seconds: float) -> str:
    """A Unix time in the form of :func:`now_iso`."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Peer:
    """A station enrolled with this hub."""

    station_id: str
    name: str
    role: str
    public_key: str
    relay: bool
    revoked: bool


@dataclass(frozen=True)
class Invite:
    public_key: str
    name: str
    role: str
    relay: bool
    expires_at: str
    used: bool

    @property
    def expired(self) -> bool:
        return self.expires_at < now_iso()


@dataclass(frozen=True)
class Upstream:
    """The hub this station is enrolled with."""

    endpoint: str
    server_key: str
    hub_id: str
    hub_name: str


_PEER_COLUMNS = "station_id, name, role, public_key, relay, revoked_at IS NOT NULL"


def _peer(row: tuple | None) -> Peer | None:
    if row is None:
        return None
    return Peer(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]))


class SyncState:
    """The sync tables of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def _one(self, sql: str, params: Iterable[object] = ()) -> tuple | None:
        with self.store.lock:
            row = self.db.execute(sql, list(params)).fetchone()
        return tuple(row) if row is not None else None

    def _all(self, sql: str, params: Iterable[object] = ()) -> list[tuple]:
        with self.store.lock:
            return [tuple(r) for r in self.db.execute(sql, list(params)).fetchall()]

    # -- hub side: peers and invites ---------------------------------------------------
    def peer_by_key(self, public_key: str) -> Peer | None:
        return _peer(
            self._one(f"SELECT {_PEER_COLUMNS} FROM sync_peers WHERE public_key = ?", [public_key])
        )

    def peer_by_name(self, name: str) -> Peer | None:
        """The station enrolled under ``name`` (a live one before a revoked one)."""
        return _peer(
            self._one(
                f"SELECT {_PEER_COLUMNS} FROM sync_peers WHERE name = ?"
                " ORDER BY revoked_at IS NOT NULL, enrolled_at DESC LIMIT 1",
                [name],
            )
        )

    def peer_by_id(self, station_id: str) -> Peer | None:
        return _peer(
            self._one(f"SELECT {_PEER_COLUMNS} FROM sync_peers WHERE station_id = ?", [station_id])
        )

    def peers(self) -> list[Peer]:
        rows = self._all(f"SELECT {_PEER_COLUMNS} FROM sync_peers ORDER BY name")
        return [p for p in map(_peer, rows) if p is not None]

    def peer_ids(self) -> set[str]:
        return {r[0] for r in self._all("SELECT station_id FROM sync_peers")}

    def add_invite(self, public_key: str, name: str, role: str, relay: bool) -> Invite:
        expires = (datetime.now(UTC) + INVITE_TTL).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self.store.transaction():
            self.db.execute(
                "INSERT INTO sync_invites (public_key, name, role, relay, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [public_key, name, role, int(relay), now_iso(), expires],
            )
        return Invite(public_key, name, role, relay, expires, False)

    def invite(self, public_key: str) -> Invite | None:
        row = self._one(
            "SELECT public_key, name, role, relay, expires_at, used_at IS NOT NULL"
            " FROM sync_invites WHERE public_key = ?",
            [public_key],
        )
        if row is None:
            return None
        return Invite(row[0], row[1], row[2], bool(row[3]), row[4], bool(row[5]))

    def key_status(self, public_key: str) -> tuple[bool, str]:
        """For the authenticator: may this CURVE key connect now, and why (not)."""
        peer = self.peer_by_key(public_key)
        if peer is not None:
            if peer.revoked:
                return False, f"revoked station {peer.name}"
            return True, f"station {peer.name}"
        invite = self.invite(public_key)
        if invite is not None:
            if invite.used:
                return False, f"invite for {invite.name} already used"
            if invite.expired:
                return False, f"invite for {invite.name} expired"
            return True, f"invite for {invite.name}"
        return False, "unknown key"

    def enrol(self, invite: Invite, station_id: str, name: str, role: str, public_key: str) -> Peer:
        """Record a station from its invite (the caller checked the invite); one transaction."""
        with self.store.transaction():
            # A revoked station may be enrolled again with a new invite: its row is replaced.
            self.db.execute(
                "INSERT OR REPLACE INTO sync_peers"
                " (station_id, name, role, public_key, relay, enrolled_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [station_id, name, role, public_key, int(invite.relay), now_iso()],
            )
            self.db.execute(
                "UPDATE sync_invites SET used_at = ?, used_by = ? WHERE public_key = ?",
                [now_iso(), station_id, invite.public_key],
            )
        return Peer(station_id, name, role, public_key, invite.relay, False)

    def revoke(self, name: str) -> list[Peer]:
        """Revoke every live enrolment of ``name`` and its unused invites; returns the peers."""
        with self.store.transaction():
            rows = self.db.execute(
                f"SELECT {_PEER_COLUMNS} FROM sync_peers WHERE name = ? AND revoked_at IS NULL",
                [name],
            ).fetchall()
            self.db.execute(
                "UPDATE sync_peers SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                [now_iso(), name],
            )
            self.db.execute(
                "UPDATE sync_invites SET used_at = ?, used_by = 'revoked'"
                " WHERE name = ? AND used_at IS NULL",
                [now_iso(), name],
            )
        return [p for p in (_peer(tuple(r)) for r in rows) if p is not None]

    def touch(self, station_id: str) -> None:
        with self.store.transaction():
            self.db.execute(
                "UPDATE sync_peers SET last_seen = ? WHERE station_id = ?", [now_iso(), station_id]
            )

    def record_seen(self, seen: Mapping[str, tuple[str, int | None, int | None]]) -> None:
        """On a hub: when each station was last heard, its protocol version and pull cursor."""
        with self.store.transaction():
            self.db.conn.executemany(
                "UPDATE sync_peers SET last_seen = ? WHERE station_id = ?",
                [(at, station) for station, (at, _v, _c) in seen.items()],
            )
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
                [
                    (f"peer.{station}", json.dumps({"v": version, "cursor": cursor}))
                    for station, (_at, version, cursor) in seen.items()
                ],
            )

    def peer_status(self) -> dict[str, dict[str, int | None]]:
        """On a hub: the last protocol version and pull cursor of each station heard."""
        return {
            key[len("peer.") :]: json.loads(value)
            for key, value in self._all("SELECT key, value FROM sync_state WHERE key LIKE 'peer.%'")
        }

    def add_sources(self, origins: Iterable[str], peer_id: str) -> None:
        """Remember the origins a peer pushed here (call inside the push's transaction)."""
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO sync_sources (origin, peer) VALUES (?, ?)",
            [(o, peer_id) for o in origins],
        )

    def sources(self) -> set[str]:
        return {r[0] for r in self._all("SELECT origin FROM sync_sources")}

    def heads(self, origins: Iterable[str] | None = None) -> dict[str, int]:
        """Contiguous high-water marks, of every origin or of ``origins``."""
        if origins is None:
            return {o: int(c) for o, c in self._all("SELECT origin, contiguous FROM origins")}
        wanted = sorted(set(origins))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        found = {
            o: int(c)
            for o, c in self._all(
                f"SELECT origin, contiguous FROM origins WHERE origin IN ({marks})", wanted
            )
        }
        return {o: found.get(o, 0) for o in wanted}

    def local_marks(self, origins: Iterable[str]) -> dict[str, tuple[int, int]]:
        """Per origin: (contiguous, max seq) held here."""
        wanted = sorted(set(origins))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        found = {
            o: (int(c), int(m))
            for o, c, m in self._all(
                f"SELECT origin, contiguous, max_seq FROM origins WHERE origin IN ({marks})",
                wanted,
            )
        }
        return {o: found.get(o, (0, 0)) for o in wanted}

    def top(self) -> int:
        row = self._one("SELECT max(id) FROM changes")
        return int(row[0]) if row and row[0] is not None else 0

    # -- station side: upstream, cursor, acks ------------------------------------------
    def _get(self, key: str) -> str | None:
        row = self._one("SELECT value FROM sync_state WHERE key = ?", [key])
        return row[0] if row else None

    def _set(self, values: Mapping[str, str]) -> None:
        with self.store.transaction():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
                list(values.items()),
            )

    def upstream(self) -> Upstream | None:
        values = dict(self._all("SELECT key, value FROM sync_state"))
        if "endpoint" not in values:
            return None
        return Upstream(
            values["endpoint"], values["server_key"], values["hub_id"], values.get("hub_name", "")
        )

    def has_upstream(self) -> bool:
        """True once this station is enrolled with a hub (a hub of its own is then a relay)."""
        return self._get("endpoint") is not None

    def set_upstream(self, upstream: Upstream) -> None:
        with self.store.transaction():
            previous = self.upstream()
            self._set(
                {
                    "endpoint": upstream.endpoint,
                    "server_key": upstream.server_key,
                    "hub_id": upstream.hub_id,
                    "hub_name": upstream.hub_name,
                }
            )
            if previous is None or previous.hub_id != upstream.hub_id:
                self.db.execute("DELETE FROM sync_acks")
                self.db.execute("DELETE FROM sync_state WHERE key IN ('cursor', 'cursor_hub')")

    def cursor(self, hub_id: str) -> int:
        """The downstream cursor in the log of hub ``hub_id`` (0 for another hub)."""
        if self._get("cursor_hub") != hub_id:
            return 0
        return int(self._get("cursor") or 0)

    def set_cursor(self, hub_id: str, cursor: int) -> None:
        self._set({"cursor_hub": hub_id, "cursor": str(cursor)})

    def acks(self) -> dict[str, int]:
        return {o: int(s) for o, s in self._all("SELECT origin, seq FROM sync_acks")}

    def record_acks(self, heads: Mapping[str, int]) -> None:
        """Raise the acknowledged marks (never lowers them)."""
        if not heads:
            return
        with self.store.transaction():
            self.db.conn.executemany(
                "INSERT INTO sync_acks (origin, seq) VALUES (?, ?)"
                " ON CONFLICT (origin) DO UPDATE SET seq = max(seq, excluded.seq)",
                list(heads.items()),
            )

    def source_origins(self) -> set[str]:
        """The origins this station pushes upstream: its own and what its children pushed."""
        return {self.store.station_id} | self.sources()

    def waiting(self) -> int:
        """Changes this station is the source of that the upstream has not acknowledged."""
        acked = self.acks()
        total = 0
        for origin, (_contiguous, max_seq) in self.local_marks(self.source_origins()).items():
            total += max(0, max_seq - acked.get(origin, 0))
        return total
