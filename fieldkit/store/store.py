"""The station's store: the change log, its materialised tables, the station's identity.

One writer per store: every write goes through :class:`Store` under its lock, in one
``BEGIN IMMEDIATE`` transaction that stores the changes and derives the tables together.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from fieldkit.domain.changes import DELETED, LIFECYCLE_FIELDS, REPLACED_BY, Change
from fieldkit.domain.hlc import HybridClock
from fieldkit.domain.merge import frontier
from fieldkit.domain.model import ENTITIES
from fieldkit.store import materialise
from fieldkit.store.migrations import migrate

META_KEYS = ("station_id", "station_name", "role", "incident", "site", "number_pattern", "ranges")


@dataclass(frozen=True)
class ApplyResult:
    applied: int
    duplicates: int


@dataclass(frozen=True)
class Write:
    """A local write request: set ``values`` on one entity (``base`` computed from the store)."""

    entity: str
    entity_id: str
    values: Mapping[str, Any]
    base: Mapping[str, str] | None = None


class Store:
    """The encrypted store of one station (a ``sqlite_utils.Database`` underneath)."""

    def __init__(self, db: sqlite_utils.Database, clock: HybridClock | None = None) -> None:
        self.db = db
        self.lock = threading.RLock()
        migrate(db)
        self.meta = self._read_meta()
        last = int(self.meta.get("hlc", "0") or 0)
        self.clock = clock or HybridClock(last)
        if clock is not None and last > clock.last:
            clock.receive(last)

    # -- identity of the station -------------------------------------------------------
    def _read_meta(self) -> dict[str, str]:
        return {k: v for k, v in self.db.execute("SELECT key, value FROM meta").fetchall()}

    def set_meta(self, **values: str) -> None:
        with self.transaction():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items())
            )
        self.meta.update(values)

    @property
    def station_id(self) -> str:
        return self.meta["station_id"]

    @property
    def role(self) -> str:
        return self.meta["role"]

    def get_secret(self, name: str) -> bytes | None:
        row = self.db.execute("SELECT value FROM secrets WHERE name = ?", [name]).fetchone()
        return bytes(row[0]) if row else None

    def set_secret(self, name: str, value: bytes) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO secrets VALUES (?, ?)", [name, value])

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (re-entrant under the store's lock)."""
        with self.lock:
            if self.db.conn.in_transaction:
                yield
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    # -- writing -----------------------------------------------------------------------
    def record(
        self,
        entity: str,
        entity_id: str,
        values: Mapping[str, Any],
        author: str,
        base: Mapping[str, str] | None = None,
    ) -> Change:
        """Write one change made at this station; returns it once committed."""
        return self.record_many([Write(entity, entity_id, values, base)], author)[0]

    def record_many(self, writes: Sequence[Write], author: str) -> list[Change]:
        """Write several local changes in one transaction (all or nothing)."""
        with self.transaction():
            seq = self._max_seq(self.station_id)
            histories = self._histories_for(writes)
            changes = []
            station = self.station_id
            stamps = iter(self.clock.tick_many(len(writes)))
            for write in writes:
                seq += 1
                if write.base is not None:
                    base = {k: list(v) for k, v in write.base.items()}
                else:
                    history = histories.get(write.entity_id)
                    base = {} if history is None else _seen_base(history, write.values)
                change = Change(
                    station,
                    seq,
                    next(stamps),
                    write.entity,
                    write.entity_id,
                    dict(write.values),
                    author,
                    base,
                )
                changes.append(change)
                if not ENTITIES[write.entity].append_only:
                    histories.setdefault(write.entity_id, []).append(change)
            self._store(changes)
        return changes

    def record_fresh(self, persons: Sequence[materialise.FreshPerson], author: str) -> None:
        """Write persons this store has never seen, each with at most one triage event (the
        bulk import). The log and tables end exactly as :meth:`record_many` would leave them
        with the same writes, without its lookups."""
        if not persons:
            return
        with self.transaction():
            station = self.station_id
            first = self._max_seq(station)
            stamps = iter(self.clock.tick_many(sum(1 + (p[3] is not None) for p in persons)))
            last = materialise.write_fresh(self.db, persons, station, first, stamps, author)
            self._advance_origins({station: range(first + 1, last + 1)})
            self._save_clock()

    def _histories_for(self, writes: Sequence[Write]) -> dict[str, list[Change]]:
        """The logged changes of the existing mutable records these writes touch."""
        wanted: set[str] = set()
        for write in writes:
            if write.entity not in ENTITIES:
                raise ValueError(f"unknown entity {write.entity!r}")
            if write.base is None and not ENTITIES[write.entity].append_only:
                wanted.add(write.entity_id)
        return materialise.load_changes_of(self.db, sorted(wanted))

    def apply(self, changes: Iterable[Change]) -> ApplyResult:
        """Store changes received from elsewhere; duplicates are no-ops."""
        incoming = list(changes)
        with self.transaction():
            fresh = self._without_known(incoming)
            if fresh:
                self.clock.receive(max(c.hlc for c in fresh))
                self._store(fresh)
        return ApplyResult(len(fresh), len(incoming) - len(fresh))

    def _without_known(self, changes: Sequence[Change]) -> list[Change]:
        by_origin: dict[str, list[Change]] = defaultdict(list)
        for change in changes:
            by_origin[change.origin].append(change)
        fresh: list[Change] = []
        for origin, group in by_origin.items():
            low = min(c.seq for c in group)
            high = max(c.seq for c in group)
            known = {
                row[0]
                for row in self.db.execute(
                    "SELECT seq FROM changes WHERE origin = ? AND seq BETWEEN ? AND ?",
                    [origin, low, high],
                ).fetchall()
            }
            for change in group:
                if change.seq not in known:
                    known.add(change.seq)
                    fresh.append(change)
        return fresh

    def _store(self, changes: list[Change]) -> None:
        self.db.conn.executemany(
            "INSERT INTO changes (origin, seq, hlc, entity, entity_id, body, author)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    c.origin,
                    c.seq,
                    c.hlc,
                    c.entity,
                    c.entity_id,
                    materialise.change_body(c),
                    c.author,
                )
                for c in changes
            ],
        )
        recheck = materialise.apply_to_tables(self.db, changes)
        materialise.refresh_conflicts(self.db, sorted(recheck))
        seqs: dict[str, set[int]] = defaultdict(set)
        for change in changes:
            seqs[change.origin].add(change.seq)
        self._advance_origins(seqs)
        self._save_clock()

    def _save_clock(self) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('hlc', ?)", [str(self.clock.last)]
        )

    def local_change_count(self) -> int:
        """How many changes this station has made (all wait for a hub until sync acks them)."""
        return self._max_seq(self.station_id)

    def _max_seq(self, origin: str) -> int:
        row = self.db.execute("SELECT max_seq FROM origins WHERE origin = ?", [origin]).fetchone()
        return int(row[0]) if row else 0

    def _advance_origins(self, seqs: Mapping[str, Collection[int]]) -> None:
        """Record, per origin, the seqs just stored (distinct): the highest, and up to where
        every one is held."""
        for origin, held_now in seqs.items():
            high = max(held_now)
            row = self.db.execute(
                "SELECT contiguous, max_seq FROM origins WHERE origin = ?", [origin]
            ).fetchone()
            contiguous, max_seq = (int(row[0]), int(row[1])) if row else (0, 0)
            max_seq = max(max_seq, high)
            if (
                max_seq == high
                and len(held_now) == high - contiguous
                and min(held_now) > contiguous
            ):
                contiguous = high  # exactly the next run of seqs (local writes): no need to look
            elif max_seq > contiguous:
                held = self.db.execute(
                    "SELECT seq FROM changes WHERE origin = ? AND seq > ? ORDER BY seq",
                    [origin, contiguous],
                )
                for (seq,) in held:
                    if seq != contiguous + 1:
                        break
                    contiguous = seq
            self.db.execute(
                "INSERT OR REPLACE INTO origins (origin, contiguous, max_seq) VALUES (?, ?, ?)",
                [origin, contiguous, max_seq],
            )

    # -- reading the log ---------------------------------------------------------------
    def high_water(self) -> dict[str, int]:
        """Per origin, the highest seq up to which every change is held (what may be acked)."""
        return {o: int(c) for o, c in self.db.execute("SELECT origin, contiguous FROM origins")}

    def changes_after(self, origin: str, seq: int, limit: int = 1000) -> list[Change]:
        """Changes of one origin with seq above ``seq``, in seq order (an outbox)."""
        rows = self.db.execute(
            "SELECT origin, seq, hlc, entity, entity_id, body, author FROM changes"
            " WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?",
            [origin, seq, limit],
        ).fetchall()
        return [materialise.row_to_change(r) for r in rows]

    def log_after(self, position: int, limit: int = 1000) -> list[tuple[int, Change]]:
        """Changes in local apply order after ``position`` (a downstream cursor)."""
        rows = self.db.execute(
            "SELECT id, origin, seq, hlc, entity, entity_id, body, author FROM changes"
            " WHERE id > ? ORDER BY id LIMIT ?",
            [position, limit],
        ).fetchall()
        return [(r[0], materialise.row_to_change(r[1:])) for r in rows]

    def all_changes(self) -> list[Change]:
        return [c for _, c in self.log_after(0, limit=-1)]

    # -- rebuilding ----------------------------------------------------------------------
    def rebuild(self) -> None:
        """Derive every materialised table again from the log (e.g. after a fix in the rules)."""
        tables = {spec.table for spec in ENTITIES.values()} | {"conflicts"}
        with self.transaction():
            for table in sorted(tables):
                self.db.execute(f"DELETE FROM {table}")
            batch: list[Change] = []
            for _, change in self.log_after(0, limit=-1):
                batch.append(change)
                if len(batch) >= 5000:
                    self._rederive(batch)
                    batch = []
            if batch:
                self._rederive(batch)
            ids = [r[0] for r in self.db.execute("SELECT DISTINCT entity_id FROM changes")]
            materialise.refresh_conflicts(self.db, ids)

    def _rederive(self, batch: list[Change]) -> None:
        materialise.apply_to_tables(self.db, batch)

    def close(self) -> None:
        with self.lock:
            self.db.conn.close()


def _seen_base(history: list[Change] | None, values: Mapping[str, Any]) -> dict[str, list[str]]:
    """What a local writer had seen: the heads of each field it writes (every field for a
    delete or a merge). The new change is appended to ``history`` so that several writes to one
    record in one transaction see each other."""
    if history is None:
        return {}
    if set(values) & LIFECYCLE_FIELDS:
        fields = {name for change in history for name in change.values}
    else:
        fields = set(values)
    base = {}
    for name in sorted(fields):
        heads = frontier(history, name)
        if heads:
            base[name] = heads
    return base


__all__ = ["ApplyResult", "Store", "Write", "DELETED", "REPLACED_BY", "META_KEYS"]
