"""Replicas converge: random edits, random partial deliveries with duplicates and reordering.

Each replica is a real SQLCipher store. The test keeps its own record of what each replica held
when it wrote, and from that alone computes which writes were parallel: the store must report a
conflict for exactly those pairs (with different values), on every replica, whatever the order.
"""

from __future__ import annotations

import os
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.domain.changes import Change
from fieldkit.domain.hlc import HybridClock
from fieldkit.domain.ids import new_id
from fieldkit.store.connection import connect
from fieldkit.store.store import Store

REPLICAS = ("A", "B", "C")
ENTITIES = ("p1", "p2")
FIELDS = ("family_name", "destination", "site")
VALUES = ("x", "y", "z")
TABLES = ("persons", "triage_events", "conflicts")


def open_replica(folder: Path, name: str, now_ms=None) -> Store:
    db = connect(folder / f"{name}.db", os.urandom(32), create=True)
    store = Store(db, HybridClock(now_ms=now_ms) if now_ms else None)
    store.set_meta(station_id=name, role="ciav", station_name=name, incident="T")
    return store


def snapshot(store: Store) -> dict[str, list[tuple]]:
    return {
        table: sorted(tuple(row) for row in store.db.execute(f"SELECT * FROM {table}").fetchall())
        for table in TABLES
    }


class Harness:
    """Replicas plus the test's own book of who held what when each write was made."""

    def __init__(self, folder: Path) -> None:
        self.stores = {name: open_replica(folder, name) for name in REPLICAS}
        self.held: dict[str, set[str]] = {name: set() for name in REPLICAS}
        self.changes: dict[str, Change] = {}
        self.seen_before: dict[str, set[str]] = {}  # write id -> writes of its field it had seen
        self.key_of: dict[str, tuple[str, str]] = {}  # write id -> (entity, field)

    def write(self, replica: str, entity: str, field: str, value: str) -> None:
        seen: set[str] = set()
        for cid in self.held[replica]:
            if self.key_of.get(cid) == (entity, field):
                seen |= {cid} | self.seen_before[cid]
        change = self.stores[replica].record("person", entity, {field: value}, f"op-{replica}")
        self._own(replica, change)
        self.seen_before[change.change_id] = seen
        self.key_of[change.change_id] = (entity, field)

    def triage(self, replica: str, entity: str, category: str) -> None:
        values = {"person_id": entity, "category": category}
        change = self.stores[replica].record("triage", new_id(), values, f"op-{replica}")
        self._own(replica, change)

    def _own(self, replica: str, change: Change) -> None:
        self.changes[change.change_id] = change
        self.held[replica].add(change.change_id)

    def deliver(self, target: str, change_ids: list[str]) -> None:
        self.stores[target].apply([self.changes[c] for c in change_ids])
        self.held[target] |= set(change_ids)

    def expected_conflicts(self) -> set[tuple[str, frozenset[str]]]:
        pairs = set()
        for a, b in combinations(sorted(self.key_of), 2):
            if self.key_of[a] != self.key_of[b]:
                continue
            field = self.key_of[a][1]
            if self.changes[a].values[field] == self.changes[b].values[field]:
                continue
            if a in self.seen_before[b] or b in self.seen_before[a]:
                continue
            pairs.add((field, frozenset((a, b))))
        return pairs


write_op = st.tuples(
    st.just("write"),
    st.sampled_from(REPLICAS),
    st.sampled_from(ENTITIES),
    st.sampled_from(FIELDS),
    st.sampled_from(VALUES),
)
triage_op = st.tuples(
    st.just("triage"),
    st.sampled_from(REPLICAS),
    st.sampled_from(ENTITIES),
    st.sampled_from(("UA", "UR")),
)
deliver_op = st.tuples(st.just("deliver"), st.sampled_from(REPLICAS), st.sampled_from(REPLICAS))


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=st.lists(st.one_of(write_op, write_op, triage_op, deliver_op), min_size=1, max_size=30),
    data=st.data(),
)
def test_replicas_converge_and_report_exactly_the_parallel_writes(tmp_path_factory, ops, data):
    harness = Harness(tmp_path_factory.mktemp("replicas"))
    try:
        for op in ops:
            if op[0] == "write":
                harness.write(*op[1:])
            elif op[0] == "triage":
                harness.triage(*op[1:])
            else:
                _, source, target = op
                held = sorted(harness.held[source])
                if not held:
                    continue
                # a partition lets only some changes through, in any order, some twice
                subset = data.draw(st.lists(st.sampled_from(held), max_size=len(held) + 3))
                harness.deliver(target, subset)
        everything = sorted(harness.changes)
        for target in REPLICAS:
            order = data.draw(st.permutations(everything))
            harness.deliver(target, list(order) + list(order[: len(order) // 3]))

        states = {name: snapshot(store) for name, store in harness.stores.items()}
        assert states["A"] == states["B"] == states["C"]
        reported = {
            (row[4], frozenset((row[5], row[6])))
            for row in harness.stores["A"].db.execute(
                "SELECT * FROM conflicts WHERE kind = 'field'"
            )
        }
        assert reported == harness.expected_conflicts()
        # rebuilding from the log gives the same state again
        harness.stores["B"].rebuild()
        assert snapshot(harness.stores["B"]) == states["A"]
    finally:
        for store in harness.stores.values():
            store.close()
