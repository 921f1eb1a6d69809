"""The change log on a real encrypted store: idempotence, acks, rebuild, clock skew."""

from __future__ import annotations

import os
import random
from pathlib import Path

from fieldkit.domain.changes import REPLACED_BY
from fieldkit.domain.hlc import HybridClock, unpack
from fieldkit.domain.ids import new_id
from fieldkit.store import queries
from fieldkit.store.connection import connect
from fieldkit.store.store import Store

DAY_MS = 86_400_000


def replica(folder: Path, name: str, offset_ms: int = 0) -> Store:
    clock = HybridClock(now_ms=lambda: _now_ms() + offset_ms)
    store = Store(connect(folder / f"{name}.db", os.urandom(32), create=True), clock)
    store.set_meta(station_id=name, role="ciav", station_name=name, incident="T", site=name)
    return store


def _now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


def test_applying_a_change_twice_is_a_no_op(tmp_path: Path):
    a, b = replica(tmp_path, "A"), replica(tmp_path, "B")
    a.record("person", "p1", {"family_name": "Dupont"}, "op")
    first = b.apply(a.all_changes())
    second = b.apply(a.all_changes() + a.all_changes())
    assert (first.applied, second.applied, second.duplicates) == (1, 0, 2)
    assert b.db.execute("SELECT count(*) FROM changes").fetchone()[0] == 1


def test_high_water_is_the_contiguous_prefix_per_origin(tmp_path: Path):
    a, b = replica(tmp_path, "A"), replica(tmp_path, "B")
    for i in range(5):
        a.record("person", f"p{i}", {"family_name": f"N{i}"}, "op")
    changes = a.all_changes()
    b.apply([changes[0], changes[1], changes[3]])
    assert b.high_water() == {"A": 2}
    b.apply([changes[4], changes[2]])
    assert b.high_water() == {"A": 5}
    assert a.changes_after("A", 3) == changes[3:]


def test_local_seq_has_no_gap_and_survives_reopen(tmp_path: Path):
    key = os.urandom(32)
    store = Store(connect(tmp_path / "s.db", key, create=True))
    store.set_meta(station_id="S", role="pma", station_name="S", incident="T")
    store.record("person", "p1", {"sex": "F"}, "op")
    store.close()
    store = Store(connect(tmp_path / "s.db", key))
    change = store.record("person", "p1", {"sex": "M"}, "op")
    assert change.seq == 2
    assert change.base == {"sex": ["S:1"]}
    assert store.high_water() == {"S": 2}


def test_clock_a_day_ahead_and_two_hours_behind_merge_deterministically(tmp_path: Path):
    ahead = replica(tmp_path, "AHEAD", offset_ms=DAY_MS)
    behind = replica(tmp_path, "BEHIND", offset_ms=-2 * 3_600_000)
    normal = replica(tmp_path, "NORMAL")
    ahead.record("person", "p1", {"destination": "HEGP"}, "op-ahead")
    behind.record("person", "p1", {"destination": "Pitié"}, "op-behind")
    # the station behind hears from the one ahead, then writes: its write must win after that
    behind.apply(ahead.all_changes())
    later = behind.record("person", "p1", {"destination": "Lariboisière"}, "op-behind")
    assert later.hlc > ahead.all_changes()[0].hlc
    everything = ahead.all_changes() + behind.all_changes()
    for store in (ahead, behind, normal):
        shuffled = everything[:]
        random.Random(store.station_id).shuffle(shuffled)
        result = store.apply(shuffled)
        assert result.applied + result.duplicates == len(shuffled)  # nothing refused
    rows = [queries.person(s.db, "p1") for s in (ahead, behind, normal)]
    assert {r["destination"] for r in rows} == {"Lariboisière"}
    assert rows[0] == rows[1] == rows[2]
    # the station behind keeps counting after meeting the clock a day ahead: never stuck
    before = behind.clock.last
    for _ in range(3):
        behind.record("triage", new_id(), {"person_id": "p1", "category": "UR"}, "op-behind")
    assert behind.clock.last > before
    assert unpack(behind.clock.last)[0] >= unpack(ahead.all_changes()[0].hlc)[0]


def test_rebuild_from_the_log_gives_the_same_tables(tmp_path: Path):
    a, b = replica(tmp_path, "A"), replica(tmp_path, "B")
    a.record("person", "p1", {"family_name": "Dupont", "destination": "HEGP"}, "op")
    b.record("person", "p1", {"destination": "Pitié"}, "op")
    a.record("triage", new_id(), {"person_id": "p1", "category": "UA"}, "op")
    a.apply(b.all_changes())
    a.record("person", "p2", {REPLACED_BY: "p1"}, "op")
    before = {
        t: sorted(a.db.execute(f"SELECT * FROM {t}").fetchall())
        for t in ("persons", "triage_events", "conflicts")
    }
    a.rebuild()
    after = {
        t: sorted(a.db.execute(f"SELECT * FROM {t}").fetchall())
        for t in ("persons", "triage_events", "conflicts")
    }
    assert before == after
    assert len(before["conflicts"]) == 1


def test_triage_history_is_kept_and_the_latest_wins(tmp_path: Path):
    a = replica(tmp_path, "A")
    a.record("person", "p1", {"sex": "F"}, "op")
    for category in ("UR", "UA", "DCD"):
        a.record("triage", new_id(), {"person_id": "p1", "category": category}, "op")
    assert queries.person(a.db, "p1")["category"] == "DCD"
    assert [e["category"] for e in queries.triage_history(a.db, "p1")] == ["UR", "UA", "DCD"]


def test_unknown_entities_and_fields_from_a_newer_version_are_kept_in_the_log(tmp_path: Path):
    from fieldkit.domain.changes import Change

    a = replica(tmp_path, "A")
    future = [
        Change("Z", 1, 10 << 16, "drone_sighting", "d1", {"x": 1}, "op", {}),
        Change(
            "Z", 2, 11 << 16, "person", "p9", {"family_name": "Ba", "hair_colour": "red"}, "op", {}
        ),
    ]
    assert a.apply(future).applied == 2
    assert queries.person(a.db, "p9")["family_name"] == "Ba"
    assert a.high_water()["Z"] == 2
