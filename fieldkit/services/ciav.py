"""The CIAV console's work: the conflict review queue, duplicate candidates, the station table.

A decision is itself a change: choosing one side of a conflict writes the chosen value again (as a
write that has seen both sides) and a ``conflict_decision`` record naming the chosen change, so
every node learns the decision and the queue empties everywhere. A merge of duplicates sets
``replaced_by`` and is undone by clearing it: nothing is ever destroyed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from rapidfuzz import fuzz

from fieldkit.domain.changes import DELETED, REPLACED_BY
from fieldkit.domain.hlc import wall_seconds
from fieldkit.domain.matching import latin, skeleton
from fieldkit.domain.model import DeathStage, Role
from fieldkit.domain.secrecy import readable_fields
from fieldkit.domain.triage import LABELS, Category
from fieldkit.errors import NeedsConfirmation, NotFound, PermissionDenied, ValidationError
from fieldkit.i18n import _
from fieldkit.services.persons import merge_duplicate, undo_merge
from fieldkit.store import queries
from fieldkit.store.materialise import fold_state, row_to_change
from fieldkit.store.store import Store, Write
from fieldkit.sync.state import SyncState

NOTE_MAX = 500
CLOSE_SPELLING = 80  # rapidfuzz ratio from which two names that sound alike are proposed
DUPLICATE_LIMIT = 500  # candidates shown at once (the strongest first)


def require_ciav(store: Store) -> None:
    if store.role != Role.CIAV:
        raise PermissionDenied(_("Only the CIAV settles conflicts and duplicates."))


# -- conflicts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """One conflict item as the review queue shows it: both values, both authors."""

    conflict_id: str
    kind: str  # field | delete_edit | merge_edit
    entity: str
    entity_id: str
    field: str
    label: str  # who or what the record is (identity, number)
    change_a: str
    change_b: str
    value_a: Any
    value_b: Any
    author_a: str
    author_b: str
    origin_a: str
    origin_b: str
    at_a: datetime
    at_b: datetime
    decided: str | None  # the chosen change, once decided
    lifecycle_side: str | None = None  # "a" or "b": the side that deleted or merged the record


def _at(hlc: int) -> datetime:
    return datetime.fromtimestamp(wall_seconds(hlc), UTC)


def _label(store: Store, entity: str, entity_id: str) -> str:
    if entity != "person":
        return f"{entity} {entity_id[:12]}"
    row = queries.person(store.db, entity_id)
    if row is None:
        return entity_id[:16]
    names = " ".join(
        part for part in (row.get("family_name"), row.get("given_names")) if part
    ).strip()
    number = row.get("nf399") or ""
    return " · ".join(part for part in (names or "X", number) if part)


def conflict_queue(store: Store, *, include_decided: bool = False) -> list[Conflict]:
    """Conflict items, the undecided first, newest first; only those on fields this station's
    role may read (two PMA writing a person's clinical notes in parallel is a conflict the CIAV
    may not see: the values are clinical)."""
    items = []
    for row in queries.conflicts(store.db):
        if row["decided"] and not include_decided:
            continue
        if row["field"] and row["field"] not in readable_fields(store.role, row["entity"]):
            continue
        lifecycle_side = None
        if row["kind"] != "field":
            lifecycle_side = "a" if _lifecycle_field(row["change_a"], store) else "b"
        items.append(
            Conflict(
                lifecycle_side=lifecycle_side,
                conflict_id=row["conflict_id"],
                kind=row["kind"],
                entity=row["entity"],
                entity_id=row["entity_id"],
                field=row["field"],
                label=_label(store, row["entity"], row["entity_id"]),
                change_a=row["change_a"],
                change_b=row["change_b"],
                value_a=_decode(row["value_a"]),
                value_b=_decode(row["value_b"]),
                author_a=row["author_a"],
                author_b=row["author_b"],
                origin_a=row["origin_a"],
                origin_b=row["origin_b"],
                at_a=_at(row["hlc_a"]),
                at_b=_at(row["hlc_b"]),
                decided=row["decided"],
            )
        )
    items.sort(key=lambda c: c.decided is not None)
    return items


def _decode(text: str | None) -> Any:
    return None if text is None else msgspec.json.decode(text)


def _lifecycle_field(change_id: str, store: Store) -> str | None:
    """DELETED or REPLACED_BY when ``change_id`` is the delete or merge of a lifecycle conflict."""
    origin, _sep, seq = change_id.rpartition(":")
    row = store.db.execute(
        "SELECT origin, seq, hlc, entity, entity_id, body, author FROM changes"
        " WHERE origin = ? AND seq = ?",
        [origin, int(seq) if seq.isdigit() else -1],
    ).fetchone()
    if row is None:
        return None
    values = row_to_change(row).values
    if values.get(DELETED) is True:
        return DELETED
    if values.get(REPLACED_BY):
        return REPLACED_BY
    return None


def decide_conflict(
    store: Store, author: str, conflict_id: str, choice: str, note: str | None = None
) -> str:
    """Keep side ``a`` or ``b`` of a conflict; returns the chosen change id."""
    require_ciav(store)
    if choice not in ("a", "b"):
        raise ValidationError(_("Choose side A or side B."), field="choice")
    if note is not None and len(note) > NOTE_MAX:
        raise ValidationError(
            _("The note is too long: at most {max} characters.").format(max=NOTE_MAX),
            field="note",
        )
    item = next(
        (c for c in conflict_queue(store, include_decided=True) if c.conflict_id == conflict_id),
        None,
    )
    if item is None:
        raise NotFound(_("This conflict is no longer in the queue."))
    chosen = item.change_a if choice == "a" else item.change_b
    value = item.value_a if choice == "a" else item.value_b
    values: dict[str, Any]
    if item.kind == "field":
        values = {item.field: value}
    else:
        lifecycle = _lifecycle_field(chosen, store)
        if lifecycle is not None:  # the delete or the merge stands
            values = {lifecycle: value}
        else:  # the edit stands: the record comes back with it
            undo = DELETED if item.kind == "delete_edit" else REPLACED_BY
            values = {item.field: value, undo: False if undo == DELETED else None}
    decision = {"chosen_change": chosen, "note": (note or "").strip() or None}
    store.record_many(
        [
            Write(item.entity, item.entity_id, values),
            Write("conflict_decision", conflict_id, decision),
        ],
        author,
    )
    return chosen


# -- duplicates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicatePair:
    """Two live person records that may be one person, with why."""

    first: dict[str, Any]  # kept when merged (it has the number, or was counted first)
    second: dict[str, Any]  # merged into ``first``
    score: int  # 0-100
    reason: str


def _latin_words(row: dict[str, Any]) -> list[str]:
    return latin(f"{row.get('family_name') or ''} {row.get('given_names') or ''}").lower().split()


def _name_key(row: dict[str, Any]) -> str:
    """What two names that may be one person share: the sound of each word, whatever the order,
    the script, the accents or the case ("DUPONT Jean", "jean dupond", "Мохамед" / "Mohamed")."""
    return " ".join(sorted(skeleton(word) for word in _latin_words(row)))


def _keep_first(a: dict[str, Any], b: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record to keep: the one with a victim number, else the one counted first."""
    if bool(a.get("nf399")) != bool(b.get("nf399")):
        return (a, b) if a.get("nf399") else (b, a)
    return (a, b) if (a["created_hlc"], a["id"]) <= (b["created_hlc"], b["id"]) else (b, a)


def _compatible(a: dict[str, Any], b: dict[str, Any]) -> bool:
    for field in ("sex", "birth_date"):
        if a.get(field) and b.get(field) and a[field] != b[field]:
            return False
    return not (a.get("nf399") and b.get("nf399") and a["nf399"] != b["nf399"])


def duplicate_candidates(store: Store, limit: int = DUPLICATE_LIMIT) -> list[DuplicatePair]:
    """Pairs of live persons sharing a victim number, or whose names match whatever the order,
    case and accents, with nothing (sex, birth date, number) telling them apart."""
    rows = list(
        store.db.query(
            "SELECT id, nf399, family_name, given_names, sex, birth_date, apparent_age,"
            " category, death_stage, site, created_hlc, created_by FROM persons"
            f" WHERE {queries.LIVE} AND (nf399 IS NOT NULL OR family_name IS NOT NULL"
            " OR given_names IS NOT NULL)"
        )
    )
    pairs: dict[tuple[str, str], DuplicatePair] = {}
    by_number: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.get("nf399"):
            by_number[row["nf399"]].append(row)
        key = _name_key(row)
        if key and (row.get("family_name") and row.get("given_names")):
            by_name[key].append(row)
    for number, group in by_number.items():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                first, second = _keep_first(a, b)
                pairs[(first["id"], second["id"])] = DuplicatePair(
                    first, second, 100, _("same victim number {number}").format(number=number)
                )
    for group in by_name.values():
        if len(group) > 20:  # a very common name: not a duplicate signal on its own
            continue
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if not _compatible(a, b):
                    continue
                first, second = _keep_first(a, b)
                if (first["id"], second["id"]) in pairs:
                    continue
                words_a, words_b = _latin_words(a), _latin_words(b)
                if words_a == words_b:
                    score, reason = 96, _("same name")
                elif sorted(words_a) == sorted(words_b):
                    score, reason = 94, _("same name, other order, script or accents")
                else:  # words that sound alike: a spelling away ("Dupont" / "Dupond")
                    ratio = int(fuzz.token_sort_ratio(" ".join(words_a), " ".join(words_b)))
                    if ratio < CLOSE_SPELLING:
                        continue
                    score, reason = ratio - 8, _("close spelling")
                if a.get("birth_date") and a.get("birth_date") == b.get("birth_date"):
                    score, reason = min(100, score + 4), reason + " · " + _("same birth date")
                pairs[(first["id"], second["id"])] = DuplicatePair(first, second, score, reason)
    dismissed = {
        row[0]
        for row in store.db.execute(
            "SELECT id FROM conflict_decisions WHERE id LIKE 'dup:%' AND deleted = 0"
        ).fetchall()
    }
    ranked = sorted(
        (p for p in pairs.values() if _pair_key(p) not in dismissed),
        key=lambda p: (-p.score, p.first["id"], p.second["id"]),
    )
    return ranked[:limit]


def _pair_key(pair: DuplicatePair) -> str:
    return f"dup:{pair.first['id']}|{pair.second['id']}"


def dismiss_pair(store: Store, author: str, pair: DuplicatePair) -> None:
    """Record that two candidate records are two different persons (the pair stops showing)."""
    require_ciav(store)
    store.record(
        "conflict_decision",
        _pair_key(pair),
        # DELETED False: a pair dismissed again after an undo is dismissed again
        {"chosen_change": "separate", "note": None, DELETED: False},
        author,
    )


def dismissed_pairs(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """Pairs recorded as two different persons, the latest first (what an undo can bring back):
    ``key``, ``updated_hlc``, and the two person rows ``first`` and ``second`` (None when gone)."""
    rows = store.db.execute(
        "SELECT id, updated_hlc FROM conflict_decisions"
        " WHERE id LIKE 'dup:%' AND deleted = 0 ORDER BY updated_hlc DESC LIMIT ?",
        [limit],
    ).fetchall()
    pairs = []
    for key, updated in rows:
        first, _sep, second = key[len("dup:") :].partition("|")
        pairs.append(
            {
                "key": key,
                "updated_hlc": updated,
                "first": queries.person(store.db, first),
                "second": queries.person(store.db, second),
            }
        )
    return pairs


def undo_dismiss(store: Store, author: str, key: str) -> None:
    """Take back a "not the same person" decision: the pair is proposed again as a duplicate.
    The decision is marked deleted, like every undo here: nothing is destroyed."""
    require_ciav(store)
    row = store.db.execute(
        "SELECT 1 FROM conflict_decisions WHERE id = ? AND id LIKE 'dup:%' AND deleted = 0",
        [key],
    ).fetchone()
    if row is None:
        raise NotFound(_("This pair is not recorded as two different persons."))
    store.record("conflict_decision", key, {DELETED: True}, author)


def _is_dead(row: dict[str, Any]) -> bool:
    return row.get("category") == Category.DCD.value or bool(row.get("death_stage"))


def _state_text(category: str | None, stage: str | None) -> str:
    try:
        shown = _(LABELS[Category(category or "")])
    except ValueError:
        shown = category or _("no category")
    if stage == DeathStage.ANNOUNCED.value:
        return _("{category}, death announced").format(category=shown)
    if stage == DeathStage.IDENTIFIED.value:
        return _("{category}, death identified").format(category=shown)
    return shown


def life_death_conflict(store: Store, pair: DuplicatePair) -> str | None:
    """The sentence naming it when one record of the pair is dead (DCD, or a death stage) and
    the other is not, with what the merged record will show; None when they agree."""
    first = queries.person(store.db, pair.first["id"])
    second = queries.person(store.db, pair.second["id"])
    if first is None or second is None or _is_dead(first) == _is_dead(second):
        return None
    alive, dead = (second, first) if _is_dead(first) else (first, second)
    group = queries.merged_group(store.db, first["id"]) + queries.merged_group(
        store.db, second["id"]
    )
    merged = fold_state(store.db, group)
    return _(
        "{alive} is recorded alive ({alive_state}) but {dead} is recorded dead ({dead_state}):"
        " merge them only if you are sure they are one person; the merged record will show"
        " {merged_state}."
    ).format(
        alive=_label(store, "person", alive["id"]),
        alive_state=_state_text(alive.get("category"), alive.get("death_stage")),
        dead=_label(store, "person", dead["id"]),
        dead_state=_state_text(dead.get("category"), dead.get("death_stage")),
        merged_state=_state_text(merged["category"], merged["death_stage"]),
    )


def merge_pair(
    store: Store, author: str, pair: DuplicatePair, *, confirmed_conflict: str | None = None
) -> None:
    """Merge the second record of a candidate pair into the first.

    The record kept then shows what both knew: its category is the latest triage of either, DCD
    once either holds a death stage, and every death stage stays (``fieldkit.store.materialise``).
    When one record is dead and the other alive, the merge is recorded only if
    ``confirmed_conflict`` is the very sentence :func:`life_death_conflict` gives now (the
    operator read it and confirmed); otherwise :class:`NeedsConfirmation` carries it and nothing
    is recorded.
    """
    require_ciav(store)
    conflict = life_death_conflict(store, pair)
    if conflict is not None and conflict != confirmed_conflict:
        raise NeedsConfirmation(conflict)
    merge_duplicate(store, author, pair.second["id"], pair.first["id"])


def merged_records(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """Records merged into another, the latest first (what an undo can bring back)."""
    return list(
        store.db.query(
            "SELECT p.id, p.nf399, p.family_name, p.given_names, p.replaced_by,"
            " p.updated_hlc, w.family_name AS into_family_name,"
            " w.given_names AS into_given_names, w.nf399 AS into_nf399"
            " FROM persons p LEFT JOIN persons w ON w.id = p.replaced_by"
            " WHERE p.replaced_by IS NOT NULL AND p.deleted = 0"
            " ORDER BY p.updated_hlc DESC LIMIT ?",
            [limit],
        )
    )


def undo_pair_merge(store: Store, author: str, person_id: str) -> None:
    """Bring a merged record back as a person of its own."""
    require_ciav(store)
    row = queries.person(store.db, person_id)
    if row is None or not row.get("replaced_by"):
        raise NotFound(_("This record is not merged into another."))
    undo_merge(store, author, person_id)


# -- stations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StationRow:
    """One enrolled station as the hub knows it."""

    station_id: str
    name: str
    role: str
    relay: bool
    revoked: bool
    last_seen: datetime | None
    held: int  # its changes held here (every one up to this seq)
    to_pull: int | None  # changes of the hub's log it has not pulled yet (before role filtering)
    version: int | None  # protocol version it last said hello with


def _parse_stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def station_table(store: Store) -> list[StationRow]:
    """Every station enrolled with this hub: last heard, what it sent, what it has to pull."""
    state = SyncState(store)
    status = state.peer_status()
    heads = state.heads()
    top = state.top()
    rows = []
    for station_id, name, role, relay, revoked_at, last_seen in store.db.execute(
        "SELECT station_id, name, role, relay, revoked_at, last_seen FROM sync_peers ORDER BY name"
    ).fetchall():
        seen = status.get(station_id, {})
        cursor = seen.get("cursor")
        rows.append(
            StationRow(
                station_id=station_id,
                name=name,
                role=role,
                relay=bool(relay),
                revoked=revoked_at is not None,
                last_seen=_parse_stamp(last_seen),
                held=heads.get(station_id, 0),
                to_pull=max(0, top - cursor) if cursor is not None else None,
                version=seen.get("v"),
            )
        )
    return rows


def station_names(store: Store) -> dict[str, str]:
    """Station id -> name for the console: enrolled stations by name, and the stations behind a
    relay as "via <relay>" (the hub knows them only through the relay that pushed their changes)."""
    names = {store.station_id: store.meta.get("station_name", "CIAV")}
    peers = dict(store.db.execute("SELECT station_id, name FROM sync_peers").fetchall())
    names.update(peers)
    for origin, peer in store.db.execute("SELECT origin, peer FROM sync_sources").fetchall():
        if origin not in names and peer in peers:
            names[origin] = _("via {relay}").format(relay=peers[peer])
    return names
