"""Materialised tables derived from changes, inside the transaction that stores them.

Mutable entities keep, per row, a ``clock`` JSON map ``field -> [hlc, origin, change_id]`` of the
write that currently wins; a change sets a field only when its ``(hlc, origin)`` is larger, so the
result does not depend on arrival order. When one write holds every field (a record created by a
single change, the common case) the clock is stored compact: ``{"@": stamp, "=": [fields]}``.
Append-only facts are inserted once by id.

A person's derived columns (category, refinement, death stage) fold the triage events and death
stages of the person *and of every record merged into it* (``replaced_by``, transitively; not
those deleted): a duplicate merge never hides what the absorbed record knew (a DCD triage, a death
identified), and undoing the merge gives each record back its own. The fold is recomputed from the
tables for every record whose group changed, so it depends only on the set of changes held.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import msgspec
import sqlite_utils

from fieldkit.domain.changes import DELETED, REPLACED_BY, Change
from fieldkit.domain.merge import detect_conflicts, wins
from fieldkit.domain.model import ENTITIES, EntitySpec

_CHUNK = 500
_encode = msgspec.json.Encoder(order="sorted").encode
_decode = msgspec.json.decode


def dumps(value: Any) -> str:
    """Compact, deterministic JSON (sorted keys, UTF-8 kept) as text."""
    return _encode(value).decode()


STAGE_RANK = {"identified": 1, "announced": 2}
# A death the police recorded (identified by the commission, announced by an OPJ) is not revised by
# a triage: the person counts as DCD whatever triage came later, on this record or on a duplicate
# merged into it.
DEAD = "DCD"


_JSON_TYPES = (dict, list)


def column_value(value: Any) -> Any:
    """A field's value as its column holds it (JSON text for a map or a list)."""
    if isinstance(value, _JSON_TYPES):
        return dumps(value)
    return value


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def encode_clock(clock: dict[str, list[Any]]) -> str:
    """The clock as stored: compact when a single write holds every field."""
    if len(clock) > 1:
        stamps = iter(clock.values())
        first = next(stamps)
        if all(stamp == first for stamp in stamps):
            return dumps({"@": first, "=": sorted(clock)})
    return dumps(clock)


def decode_clock(text: str | bytes) -> dict[str, list[Any]]:
    """The clock map ``field -> stamp`` from its stored form (either form)."""
    clock: dict[str, Any] = _decode(text)
    if "@" in clock:
        stamp = clock["@"]
        return {name: stamp for name in clock["="]}
    return clock


def fetch_clocks(
    db: sqlite_utils.Database, table: str, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The ``clock`` map of each existing row among ``ids``."""
    return {row_id: row["clock"] for row_id, row in _fetch_existing(db, table, ids).items()}


def _fetch_existing(
    db: sqlite_utils.Database, table: str, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        cursor = db.conn.execute(f"SELECT id, clock FROM {table} WHERE id IN ({marks})", chunk)
        for row_id, clock in cursor.fetchall():
            found[row_id] = {"clock": decode_clock(clock)}
    return found


def apply_to_tables(db: sqlite_utils.Database, changes: Sequence[Change]) -> set[str]:
    """Materialise ``changes`` (already stored in the log); returns ids needing a conflict check."""
    by_entity: dict[str, dict[str, list[Change]]] = defaultdict(lambda: defaultdict(list))
    for change in changes:
        if change.entity in ENTITIES:
            by_entity[change.entity][change.entity_id].append(change)
    events: dict[str, list[Change]] = defaultdict(list)  # person id -> triage/death events
    for entity, groups in by_entity.items():
        spec = ENTITIES[entity]
        if spec.append_only:
            _insert_facts(db, spec, groups, events)
    person_groups = by_entity.get("person", {})
    touched = set(events) | set(person_groups)
    old_targets = _merge_targets_before(db, person_groups)
    recheck: set[str] = set()
    for entity, groups in by_entity.items():
        spec = ENTITIES[entity]
        if not spec.append_only:
            recheck |= _merge_mutable(db, spec, groups, events if entity == "person" else None)
    if events:
        _refresh_person_derived(db, events)
    if touched:
        refresh_merge_groups(db, touched, old_targets)
    return recheck


def _derived(events: Sequence[Change], current: tuple[Any, ...] = (None, None, None)) -> dict:
    """Person columns derived from its events: latest triage category (DCD once a death stage
    is recorded), furthest death stage."""
    triage_hlc, triage_origin, stage = current
    best = (triage_hlc, triage_origin) if triage_hlc is not None else None
    update: dict[str, Any] = {}
    for change in events:
        if change.entity == "triage" and wins(change.order_key, best):
            best = change.order_key
            update.update(
                category=change.values.get("category"),
                refinement=change.values.get("refinement"),
                triage_hlc=change.hlc,
                triage_origin=change.origin,
            )
        elif change.entity == "death_stage":
            new_stage = change.values.get("stage")
            if STAGE_RANK.get(str(new_stage), 0) > STAGE_RANK.get(str(stage), 0):
                stage = new_stage
                update["death_stage"] = new_stage
    if STAGE_RANK.get(str(stage), 0) and ("death_stage" in update or "category" in update):
        update.update(category=DEAD, refinement=None)
    return update


def dead_category(
    category: str | None, refinement: str | None, stage: str | None
) -> tuple[str | None, str | None]:
    """The category and refinement a person shows: DCD once the police recorded a death stage."""
    if STAGE_RANK.get(str(stage), 0):
        return DEAD, None
    return category, refinement


# -- merged records: a person's columns fold the records merged into it ----------------------


def _merge_targets_before(
    db: sqlite_utils.Database, person_groups: Mapping[str, Sequence[Change]]
) -> set[str]:
    """The records that ``person_groups`` were merged into before these changes apply, for
    those whose merge these changes may set, move or undo (their old group loses them)."""
    moving = [
        person_id
        for person_id, group in person_groups.items()
        if any(REPLACED_BY in change.values for change in group)
    ]
    found: set[str] = set()
    for start in range(0, len(moving), _CHUNK):
        chunk = moving[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(
            row[0]
            for row in db.conn.execute(
                f"SELECT replaced_by FROM persons WHERE id IN ({marks})"
                " AND replaced_by IS NOT NULL",
                chunk,
            )
        )
    return found


def _merged_into(db: sqlite_utils.Database, person_id: str) -> str | None:
    row = db.conn.execute("SELECT replaced_by FROM persons WHERE id = ?", [person_id]).fetchone()
    return row[0] if row else None


def merge_group(db: sqlite_utils.Database, person_id: str) -> list[str]:
    """``person_id`` and every record merged into it, directly or through another merged record
    (deleted ones left out), in a stable order: the person first."""
    group = [person_id]
    seen = {person_id}
    frontier_ids = [person_id]
    while frontier_ids:
        marks = ",".join("?" * len(frontier_ids))
        children = sorted(
            row[0]
            for row in db.conn.execute(
                f"SELECT id FROM persons WHERE replaced_by IN ({marks})"
                " AND replaced_by IS NOT NULL AND deleted = 0",
                frontier_ids,
            )
            if row[0] not in seen
        )
        seen.update(children)
        group.extend(children)
        frontier_ids = children
    return group


def refresh_merge_groups(
    db: sqlite_utils.Database, touched: Iterable[str], old_targets: Iterable[str] = ()
) -> None:
    """Fold again the columns of every record whose group of merged records changed: the
    records among ``touched`` (persons written, or named by a triage event or a death stage) that
    take part in a merge, the records they are merged into up the chain, and ``old_targets``
    (records a merge just moved away from or was undone from) with theirs."""
    starts = set(old_targets)
    ids = sorted(touched)
    if not starts:
        has_merges = db.conn.execute(
            "SELECT 1 FROM persons WHERE replaced_by IS NOT NULL LIMIT 1"
        ).fetchone()
        if has_merges is None:
            return  # no merge anywhere: the events were folded row by row already
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        starts.update(
            row[0]
            for row in db.conn.execute(
                f"SELECT id FROM persons WHERE id IN ({marks}) AND replaced_by IS NOT NULL",
                chunk,
            )
        )
        starts.update(
            row[0]
            for row in db.conn.execute(
                f"SELECT DISTINCT replaced_by FROM persons WHERE replaced_by IN ({marks})"
                " AND replaced_by IS NOT NULL",
                chunk,
            )
        )
    nodes: set[str] = set()
    for person_id in sorted(starts):
        current: str | None = person_id
        while current is not None and current not in nodes:
            nodes.add(current)
            current = _merged_into(db, current)
    for person_id in sorted(nodes):
        _fold_group(db, person_id)


def fold_state(db: sqlite_utils.Database, person_ids: Sequence[str]) -> dict[str, Any]:
    """The derived columns of one person made of the records ``person_ids``: the latest triage
    event among them by ``(hlc, origin)``, the furthest death stage, DCD once there is one."""
    marks = ",".join("?" * len(person_ids))
    triage = db.conn.execute(
        "SELECT category, refinement, hlc, origin FROM triage_events"
        f" WHERE person_id IN ({marks}) ORDER BY hlc DESC, origin DESC LIMIT 1",
        list(person_ids),
    ).fetchone()
    stage = None
    for (held,) in db.conn.execute(
        f"SELECT DISTINCT stage FROM death_stages WHERE person_id IN ({marks})", list(person_ids)
    ):
        if STAGE_RANK.get(str(held), 0) > STAGE_RANK.get(str(stage), 0):
            stage = held
    category, refinement, triage_hlc, triage_origin = triage or (None, None, None, None)
    category, refinement = dead_category(category, refinement, stage)
    return {
        "category": category,
        "refinement": refinement,
        "triage_hlc": triage_hlc,
        "triage_origin": triage_origin,
        "death_stage": stage,
    }


def _fold_group(db: sqlite_utils.Database, person_id: str) -> None:
    """Set a person's derived columns from the events of its whole group of merged records."""
    state = fold_state(db, merge_group(db, person_id))
    sets = ", ".join(f"{name} = ?" for name in state)
    db.conn.execute(f"UPDATE persons SET {sets} WHERE id = ?", [*state.values(), person_id])


def _merge_mutable(
    db: sqlite_utils.Database,
    spec: EntitySpec,
    groups: dict[str, list[Change]],
    events: dict[str, list[Change]] | None,
) -> set[str]:
    existing = _fetch_existing(db, spec.table, list(groups))
    recheck: set[str] = set()
    inserts: list[dict[str, Any]] = []
    for entity_id, group in groups.items():
        row = existing.get(entity_id)
        if row is None and len(group) == 1:
            inserts.append(_new_row(spec, group[0], events))
            continue
        recheck.add(entity_id)
        clock: dict[str, list[Any]] = row["clock"] if row else {}
        updates: dict[str, Any] = {}
        for change in group:
            key = change.order_key
            for name, value in change.values.items():
                if name not in spec.fields and name not in (DELETED, REPLACED_BY):
                    continue  # a field this version does not know: kept in the log only
                held = clock.get(name)
                if wins(key, (held[0], held[1]) if held else None):
                    clock[name] = [change.hlc, change.origin, change.change_id]
                    column = "deleted" if name == DELETED else name
                    updates[column] = (
                        (1 if value else 0) if name == DELETED else column_value(value)
                    )
        newest = max(c.hlc for c in group)
        if row is None:
            person_events = events.pop(entity_id, []) if events is not None else []
            first = min([*group, *person_events], key=lambda c: c.order_key)
            updates.update(_derived(person_events))
            updates.update(
                id=entity_id,
                created_hlc=first.hlc,
                created_origin=first.origin,
                created_by=first.author,
                updated_hlc=max(c.hlc for c in [*group, *person_events]),
                clock=encode_clock(clock),
            )
            inserts.append(updates)
        else:
            updates["clock"] = encode_clock(clock)
            sets = ", ".join(f"{_q(k)} = ?" for k in updates)
            db.conn.execute(
                f"UPDATE {spec.table} SET {sets}, updated_hlc = max(updated_hlc, ?) WHERE id = ?",
                [*updates.values(), newest, entity_id],
            )
            _lower_created(db, spec.table, entity_id, group)
    if inserts:
        _insert_rows(db, spec.table, inserts)
    return recheck


def fresh_columns(spec: EntitySpec, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The columns a record created by a single change takes from its values (only those that
    hold a value), and the fields its clock names, sorted.

    Only the columns that hold a value: binding a NULL costs the SQLite driver an adaptation
    lookup per value, which made a 30-column insert of mostly NULLs four times slower.
    """
    fields = spec.fields
    row: dict[str, Any] = {}
    written: list[str] = []
    for name, value in values.items():
        if name in fields:
            if value is not None:
                row[name] = dumps(value) if isinstance(value, _JSON_TYPES) else value
        elif name == DELETED:
            row["deleted"] = 1 if value else 0
        elif name == REPLACED_BY:
            if value is not None:
                row[name] = value
        else:
            continue
        written.append(name)
    written.sort()
    return row, written


def clock_head(written: Sequence[str]) -> str:
    """The stored clock of a record written by one change, up to the stamp (see
    :func:`encode_clock`): :func:`clock_text` completes it."""
    if len(written) > 1:
        return '{"=":' + dumps(written) + ',"@":['
    if written:
        return "{" + dumps(written[0]) + ":["
    return ""


def clock_text(head: str, hlc: int, origin_json: str, change_id_json: str) -> str:
    """:func:`clock_head` completed with the stamp ``[hlc, origin, change_id]`` (JSON texts)."""
    if not head:
        return "{}"
    return f"{head}{hlc},{origin_json},{change_id_json}]}}"


def _new_row(
    spec: EntitySpec, change: Change, events: dict[str, list[Change]] | None
) -> dict[str, Any]:
    """The row of a record created by a single change (most records a sync brings: kept lean)."""
    row, written = fresh_columns(spec, change.values)
    first_hlc, first_origin, first_author = change.hlc, change.origin, change.author
    newest = first_hlc
    person_events = events.pop(change.entity_id, None) if events is not None else None
    if person_events:
        for name, value in _derived(person_events).items():
            if value is not None:
                row[name] = value
        for event in person_events:
            if (event.hlc, event.origin) < (first_hlc, first_origin):
                first_hlc, first_origin, first_author = event.hlc, event.origin, event.author
            if event.hlc > newest:
                newest = event.hlc
    row["id"] = change.entity_id
    row["created_hlc"] = first_hlc
    row["created_origin"] = first_origin
    row["created_by"] = first_author
    row["updated_hlc"] = newest
    row["clock"] = clock_text(
        clock_head(written), change.hlc, dumps(change.origin), dumps(change.change_id)
    )
    return row


def _lower_created(
    db: sqlite_utils.Database, table: str, row_id: str, group: Sequence[Change]
) -> None:
    """Keep ``created_*`` on the earliest change by (hlc, origin), whatever arrived first."""
    first = min(group, key=lambda c: c.order_key)
    db.conn.execute(
        f"UPDATE {table} SET created_hlc = ?, created_origin = ?, created_by = ?"
        " WHERE id = ? AND (created_hlc > ? OR (created_hlc = ? AND created_origin > ?))",
        [first.hlc, first.origin, first.author, row_id, first.hlc, first.hlc, first.origin],
    )


def _insert_rows(db: sqlite_utils.Database, table: str, rows: list[dict[str, Any]]) -> None:
    by_columns: dict[tuple[str, ...], list[list[Any]]] = defaultdict(list)
    for row in rows:
        by_columns[tuple(row)].append(list(row.values()))
    for columns, values in by_columns.items():
        cols = ", ".join(_q(c) for c in columns)
        marks = ", ".join("?" * len(columns))
        db.conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)


def fact_columns(
    fields: Mapping[str, Any], values: Mapping[str, Any]
) -> tuple[tuple[str, ...], list[Any]]:
    """The columns of a fact that hold a value (see :func:`fresh_columns`), and their values."""
    held = tuple(k for k, v in values.items() if v is not None and k in fields)
    return held, [
        dumps(value) if isinstance(value, _JSON_TYPES) else value
        for value in map(values.__getitem__, held)
    ]


def _insert_facts(
    db: sqlite_utils.Database,
    spec: EntitySpec,
    groups: dict[str, list[Change]],
    events: dict[str, list[Change]],
) -> None:
    fields = spec.fields
    # rows grouped by the fields they hold: no NULL is bound (see _new_row)
    by_fields: dict[tuple[str, ...], list[list[Any]]] = defaultdict(list)
    tracked = spec.name in ("triage", "death_stage")
    for entity_id, group in groups.items():
        # a fact is written once; should two claim one id, the first by (hlc, origin) stands
        change = group[0] if len(group) == 1 else min(group, key=lambda c: c.order_key)
        values = change.values
        held, held_values = fact_columns(fields, values)
        by_fields[held].append(
            [entity_id, *held_values, change.hlc, change.origin, change.author, change.change_id]
        )
        person_id = values.get("person_id")
        if tracked and isinstance(person_id, str):
            events[person_id].append(change)
    for held, rows in by_fields.items():
        cols = "".join(f"{_q(c)}, " for c in held)
        marks = ", ".join("?" * (len(held) + 5))
        db.conn.executemany(
            f"INSERT OR IGNORE INTO {spec.table} (id, {cols}hlc, origin, author, change_id)"
            f" VALUES ({marks})",
            rows,
        )


def _refresh_person_derived(db: sqlite_utils.Database, events: dict[str, list[Change]]) -> None:
    """Fold events into person rows that already exist; a stub row for an unknown person."""
    ids = list(events)
    current: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for row in db.conn.execute(
            f"SELECT id, triage_hlc, triage_origin, death_stage FROM persons WHERE id IN ({marks})",
            chunk,
        ).fetchall():
            current[row[0]] = row[1:]
    stubs = []
    for person_id, person_events in events.items():
        if person_id not in current:
            first = min(person_events, key=lambda c: c.order_key)
            stub = _derived(person_events)
            stub.update(
                id=person_id,
                created_hlc=first.hlc,
                created_origin=first.origin,
                created_by=first.author,
                updated_hlc=max(c.hlc for c in person_events),
                clock="{}",
            )
            stubs.append(stub)
            continue
        update = _derived(person_events, current[person_id])
        db.conn.execute(
            "UPDATE persons SET updated_hlc = max(updated_hlc, ?) WHERE id = ?",
            [max(c.hlc for c in person_events), person_id],
        )
        if update:
            sets = ", ".join(f"{_q(k)} = ?" for k in update)
            db.conn.execute(
                f"UPDATE persons SET {sets} WHERE id = ?", [*update.values(), person_id]
            )
        _lower_created(db, "persons", person_id, person_events)
    if stubs:
        _insert_rows(db, "persons", stubs)


def load_changes_of(
    db: sqlite_utils.Database, entity_ids: Sequence[str]
) -> dict[str, list[Change]]:
    """The logged changes of each of ``entity_ids`` that has any."""
    found: dict[str, list[Change]] = defaultdict(list)
    for start in range(0, len(entity_ids), _CHUNK):
        chunk = list(entity_ids[start : start + _CHUNK])
        marks = ",".join("?" * len(chunk))
        for row in db.conn.execute(
            "SELECT origin, seq, hlc, entity, entity_id, body, author FROM changes"
            f" WHERE entity_id IN ({marks})",
            chunk,
        ):
            found[row[4]].append(row_to_change(row))
    return dict(found)


def load_entity_changes(db: sqlite_utils.Database, entity_id: str) -> list[Change]:
    return [
        row_to_change(row)
        for row in db.execute(
            "SELECT origin, seq, hlc, entity, entity_id, body, author FROM changes"
            " WHERE entity_id = ?",
            [entity_id],
        ).fetchall()
    ]


def row_to_change(row: Sequence[Any]) -> Change:
    origin, seq, hlc, entity, entity_id, body, author = row
    data = _decode(body)
    return Change(origin, seq, hlc, entity, entity_id, data["v"], author, data.get("b") or {})


def change_body(change: Change) -> str:
    return body_text(change.values, change.base)


def body_text(values: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> str:
    """A change's values and base as the log stores them."""
    body: dict[str, Any] = {"v": values if type(values) is dict else dict(values)}
    if base:
        body["b"] = dict(base)
    return dumps(body)


def refresh_conflicts(db: sqlite_utils.Database, entity_ids: Iterable[str]) -> None:
    """Recompute the conflict items of these entities from their whole history in the log."""
    for entity_id in entity_ids:
        items = detect_conflicts(load_entity_changes(db, entity_id))
        db.execute("DELETE FROM conflicts WHERE entity_id = ?", [entity_id])
        if not items:
            continue
        db.conn.executemany(
            "INSERT INTO conflicts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    item.conflict_id,
                    item.kind,
                    item.entity,
                    item.entity_id,
                    item.field,
                    item.a.change_id,
                    item.b.change_id,
                    dumps(item.value(item.a)),
                    dumps(item.value(item.b)),
                    item.a.author,
                    item.b.author,
                    item.a.origin,
                    item.b.origin,
                    item.a.hlc,
                    item.b.hlc,
                )
                for item in items
            ],
        )


# -- fresh persons: the bulk-import path ----------------------------------------------------
# Persons the store has never seen, each with at most one triage event: rows go in directly,
# without the merge's lookups and without a Change object per write. The log and the tables end
# byte for byte as ``Store.record_many`` would leave them (tests/integration/test_import.py).

FreshPerson = tuple[str, Mapping[str, Any], str | None, Mapping[str, Any] | None]
"""A person never seen: its id, its values, the id and the values of its triage event (or None)."""

_PERSON_TAIL = ("id", "created_hlc", "created_origin", "created_by", "updated_hlc", "clock")
_TRIAGE_TAIL = ("triage_hlc", "triage_origin")


def write_fresh(
    db: sqlite_utils.Database,
    persons: Sequence[FreshPerson],
    origin: str,
    seq: int,
    stamps: Iterator[int],
    author: str,
) -> int:
    """Log and materialise fresh persons written at ``origin`` after ``seq``: one change per
    person, then one per triage event, in order, each with the next stamp; returns the last seq."""
    person_spec, triage_spec = ENTITIES["person"], ENTITIES["triage"]
    origin_json = dumps(origin)
    change_id_head = origin_json[:-1] + ":"
    heads: dict[tuple[str, ...], str] = {}
    changes: list[tuple[Any, ...]] = []
    rows: dict[tuple[tuple[str, ...], bool], list[list[Any]]] = defaultdict(list)
    facts: dict[tuple[str, ...], list[list[Any]]] = defaultdict(list)
    for person_id, values, triage_id, triage_values in persons:
        seq += 1
        hlc = next(stamps)
        changes.append((origin, seq, hlc, "person", person_id, body_text(values), author))
        row, written = fresh_columns(person_spec, values)
        shape = tuple(written)
        head = heads.get(shape)
        if head is None:
            head = heads[shape] = clock_head(written)
        clock = clock_text(head, hlc, origin_json, f'{change_id_head}{seq}"')
        if triage_values is None:
            rows[(tuple(row), False)].append(
                [*row.values(), person_id, hlc, origin, author, hlc, clock]
            )
            continue
        assert triage_id is not None
        seq += 1
        triage_hlc = next(stamps)
        changes.append(
            (origin, seq, triage_hlc, "triage", triage_id, body_text(triage_values), author)
        )
        held, held_values = fact_columns(triage_spec.fields, triage_values)
        facts[held].append([triage_id, *held_values, triage_hlc, origin, author, f"{origin}:{seq}"])
        for name in ("category", "refinement"):  # what _derived takes from a single event
            if triage_values.get(name) is not None:
                row[name] = triage_values[name]
        rows[(tuple(row), True)].append(
            [*row.values(), person_id, hlc, origin, author, triage_hlc, clock, triage_hlc, origin]
        )
    db.conn.executemany(
        "INSERT INTO changes (origin, seq, hlc, entity, entity_id, body, author)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        changes,
    )
    for held, values_rows in facts.items():
        cols = "".join(f"{_q(c)}, " for c in held)
        marks = ", ".join("?" * (len(held) + 5))
        db.conn.executemany(
            f"INSERT OR IGNORE INTO {triage_spec.table} (id, {cols}hlc, origin, author, change_id)"
            f" VALUES ({marks})",
            values_rows,
        )
    for (columns, triaged), values_rows in rows.items():
        names = (*columns, *_PERSON_TAIL, *(_TRIAGE_TAIL if triaged else ()))
        cols = ", ".join(_q(c) for c in names)
        marks = ", ".join("?" * len(names))
        db.conn.executemany(f"INSERT INTO persons ({cols}) VALUES ({marks})", values_rows)
    return seq
