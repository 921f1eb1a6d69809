"""The merge rule and conflict detection: pure functions over changes.

Per field, the last writer wins by ``(hlc, origin)``. Two writes to a field are *parallel* when
neither lies on the other's chain of bases; parallel writes with different values become a conflict
item for review. Everything here depends only on the set of changes, never on their arrival order,
so every node holding the same changes computes the same state and the same conflict items.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fieldkit.domain.changes import DELETED, LIFECYCLE_FIELDS, REPLACED_BY, Change


def wins(candidate: tuple[int, str], current: tuple[int, str] | None) -> bool:
    """True when a write ordered by ``candidate`` replaces the one ordered by ``current``."""
    return current is None or candidate > current


@dataclass(frozen=True, slots=True)
class ConflictItem:
    """Two parallel writes that the review queue shows side by side."""

    conflict_id: str
    kind: str  # "field" | "delete_edit" | "merge_edit"
    entity: str
    entity_id: str
    field: str
    a: Change
    b: Change

    def value(self, change: Change) -> Any:
        if self.kind == "field":
            return change.values.get(self.field)
        lifecycle = DELETED if DELETED in change.values else REPLACED_BY
        return change.values.get(self.field, change.values.get(lifecycle))


def conflict_id(field: str, first: str, second: str) -> str:
    low, high = sorted((first, second))
    return hashlib.blake2b(f"{field}\x00{low}\x00{high}".encode(), digest_size=12).hexdigest()


def _ancestors(start: Iterable[str], field: str, by_id: dict[str, Change]) -> set[str]:
    """Every change id reachable from ``start`` through the bases of ``field`` (inclusive).

    A base not held yet (it may arrive later) ends that path; the result then grows when it comes.
    """
    seen: set[str] = set()
    stack = list(start)
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        parent = by_id.get(current)
        if parent is not None:
            stack.extend(parent.base.get(field, ()))
    return seen


def frontier(changes: Iterable[Change], field: str) -> list[str]:
    """The heads of one field's history: writes to it that no other held write had seen."""
    writers = [c for c in changes if field in c.values]
    if not writers:
        return []
    by_id = {c.change_id: c for c in writers}
    covered: set[str] = set()
    for change in writers:
        covered |= _ancestors(change.base.get(field, ()), field, by_id)
    return sorted(c.change_id for c in writers if c.change_id not in covered)


def detect_conflicts(changes: Iterable[Change]) -> list[ConflictItem]:
    """Conflict items among the changes of ONE entity, sorted by conflict id."""
    ordered = sorted(changes, key=lambda c: c.change_id)
    if len(ordered) < 2:
        return []
    by_id = {c.change_id: c for c in ordered}
    writers: dict[str, list[Change]] = {}
    for change in ordered:
        for name in change.values:
            if name not in LIFECYCLE_FIELDS:
                writers.setdefault(name, []).append(change)
    items: list[ConflictItem] = []
    for name, group in writers.items():
        items.extend(_field_conflicts(name, group, by_id))
    for change in ordered:
        items.extend(_lifecycle_conflicts(change, writers, by_id))
    items.sort(key=lambda item: item.conflict_id)
    return items


def _field_conflicts(
    name: str, group: Sequence[Change], by_id: dict[str, Change]
) -> list[ConflictItem]:
    items: list[ConflictItem] = []
    if len(group) < 2:
        return items
    chains = {c.change_id: _ancestors([c.change_id], name, by_id) for c in group}
    for i, a in enumerate(group):
        for b in group[i + 1 :]:
            if a.values[name] == b.values[name]:
                continue
            if a.change_id in chains[b.change_id] or b.change_id in chains[a.change_id]:
                continue
            first, second = sorted((a, b), key=lambda c: c.order_key)
            items.append(
                ConflictItem(
                    conflict_id(name, a.change_id, b.change_id),
                    "field",
                    a.entity,
                    a.entity_id,
                    name,
                    first,
                    second,
                )
            )
    return items


def _lifecycle_conflicts(
    change: Change, writers: dict[str, list[Change]], by_id: dict[str, Change]
) -> list[ConflictItem]:
    """A delete or a duplicate merge against every edit its writer had not seen."""
    if change.values.get(DELETED) is True:
        kind = "delete_edit"
    elif change.values.get(REPLACED_BY):
        kind = "merge_edit"
    else:
        return []
    items = []
    for name, group in writers.items():
        seen = _ancestors(change.base.get(name, ()), name, by_id)
        for edit in group:
            if edit.change_id == change.change_id or edit.change_id in seen:
                continue
            first, second = sorted((change, edit), key=lambda c: c.order_key)
            items.append(
                ConflictItem(
                    conflict_id(f"{kind}:{name}", change.change_id, edit.change_id),
                    kind,
                    change.entity,
                    change.entity_id,
                    name,
                    first,
                    second,
                )
            )
    return items
