"""The change: the unit of every write, of the log, of the merge and of sync."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Reserved field names carried by changes besides an entity's own fields.
DELETED = "_deleted"  # True: tombstone; False: undo of a delete
REPLACED_BY = "replaced_by"  # id of the record that absorbed this one (duplicate merge), or None
LIFECYCLE_FIELDS = frozenset({DELETED, REPLACED_BY})


def change_id(origin: str, seq: int) -> str:
    return f"{origin}:{seq}"


@dataclass(frozen=True, slots=True)
class Change:
    """One write made at one station: several fields of one entity, set together.

    ``origin`` is the writing station's id and ``seq`` counts its changes from 1 with no gap, so
    ``change_id`` is unique everywhere and applying a change twice is a no-op. ``hlc`` is the hybrid
    logical clock value; the merge compares ``(hlc, origin)`` per field. ``base`` maps a field to the
    change ids the writer had seen last for it: the heads of that field's history in its store (one
    id normally, several when it had seen a conflict; absent: it had seen no value). This tells
    parallel writes (a conflict to review) from successive ones. For a delete or a duplicate merge,
    ``base`` holds the heads of every field of the record.
    """

    origin: str
    seq: int
    hlc: int
    entity: str
    entity_id: str
    values: Mapping[str, Any]
    author: str
    base: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def change_id(self) -> str:
        return change_id(self.origin, self.seq)

    @property
    def order_key(self) -> tuple[int, str]:
        """Last writer wins by this key: deterministic whatever the arrival order."""
        return (self.hlc, self.origin)
