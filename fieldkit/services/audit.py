"""Audit of reads: every time a CAF or CIAV operator reads a person record, who, when, which.

DOMAIN.md: "Every read of a person record by a CAF or CIAV operator is audited." The audit is
kept in the station's own encrypted store (table ``audit_reads``, migration 5), outside the
change log: it is the station's register, not shared data. The table is append-only (SQLite
triggers refuse UPDATE and DELETE).

Screens call :func:`record_read` when a CAF/CIAV screen opens a person record; commands that
show persons call :func:`record_reads` once for all the persons they show. At other roles both
are no-ops, so callers need not check the role.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fieldkit.domain import validation
from fieldkit.domain.model import Role
from fieldkit.errors import ValidationError
from fieldkit.i18n import _
from fieldkit.store import queries
from fieldkit.store.store import Store

AUDITED_ROLES = frozenset({Role.CAF.value, Role.CIAV.value})
OPERATOR_MAX = 120
PURPOSE_MAX = 200
PERSON_ID_MAX = 100
LIST_LIMIT = 1000


@dataclass(frozen=True)
class Read:
    """One audited read."""

    id: int
    at: str
    operator: str
    station: str
    role: str
    person_id: str
    purpose: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "operator": self.operator,
            "station": self.station,
            "role": self.role,
            "person_id": self.person_id,
            "purpose": self.purpose,
        }


def is_audited(store: Store) -> bool:
    """Whether reads of person records are audited at this station (CAF and CIAV)."""
    return store.role in AUDITED_ROLES


def _operator(value: str) -> str:
    operator = validation.validate_name(value, "operator", max_len=OPERATOR_MAX)
    if operator is None:
        raise ValidationError(_("Name the operator who reads the record."), field="operator")
    return operator


def _person_id(value: str) -> str:
    text = validation.validate_text(value, "person_id", max_len=PERSON_ID_MAX, multiline=False)
    if not text:
        raise ValidationError(_("Give the identifier of the person read."), field="person_id")
    return text


def _purpose(value: str | None) -> str:
    text = validation.validate_text(value, "purpose", max_len=PURPOSE_MAX, multiline=False)
    return text or ""


def record_read(
    store: Store,
    operator: str,
    person_id: str,
    purpose: str | None = None,
    *,
    at: datetime | None = None,
) -> bool:
    """Record that ``operator`` read ``person_id`` (True), or do nothing outside CAF/CIAV (False)."""
    return record_reads(store, operator, [person_id], purpose, at=at) > 0


def record_reads(
    store: Store,
    operator: str,
    person_ids: Iterable[str],
    purpose: str | None = None,
    *,
    at: datetime | None = None,
) -> int:
    """Record one read per person id, in one transaction; returns how many were recorded."""
    if not is_audited(store):
        return 0
    who = _operator(operator)
    why = _purpose(purpose)
    ids = [_person_id(p) for p in person_ids]
    if not ids:
        return 0
    when = validation.utc_stamp((at or datetime.now(UTC)).astimezone(UTC))
    station = store.meta.get("station_name") or store.station_id
    with store.transaction():
        store.db.conn.executemany(
            "INSERT INTO audit_reads (at, operator, station, role, person_id, purpose)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(when, who, station, store.role, pid, why) for pid in ids],
        )
    return len(ids)


def record_export(store: Store, operator: str, purpose: str | None = None) -> int:
    """Record a read of every live person (an export of them all); returns how many."""
    if not is_audited(store):
        return 0
    who = _operator(operator)
    why = _purpose(purpose)
    when = validation.utc_stamp(datetime.now(UTC))
    station = store.meta.get("station_name") or store.station_id
    with store.transaction():
        cursor = store.db.conn.execute(
            "INSERT INTO audit_reads (at, operator, station, role, person_id, purpose)"
            f" SELECT ?, ?, ?, ?, id, ? FROM persons WHERE {queries.LIVE} ORDER BY created_hlc",
            [when, who, station, store.role, why],
        )
    return int(cursor.rowcount)


def list_reads(
    store: Store,
    *,
    person_id: str | None = None,
    operator: str | None = None,
    limit: int = LIST_LIMIT,
) -> list[Read]:
    """The audited reads, newest first (of one person, or by one operator, when given)."""
    where: list[str] = []
    params: list[Any] = []
    if person_id:
        where.append("person_id = ?")
        params.append(person_id)
    if operator:
        where.append("operator = ?")
        params.append(operator)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    params.append(max(1, min(int(limit), 100_000)))
    rows = store.db.conn.execute(
        "SELECT id, at, operator, station, role, person_id, purpose FROM audit_reads"
        f" {clause} ORDER BY id DESC LIMIT ?",
        params,
    )
    return [Read(*row) for row in rows]


def count_reads(store: Store, person_id: str | None = None) -> int:
    if person_id:
        row = store.db.conn.execute(
            "SELECT count(*) FROM audit_reads WHERE person_id = ?", [person_id]
        ).fetchone()
    else:
        row = store.db.conn.execute("SELECT count(*) FROM audit_reads").fetchone()
    return int(row[0])
