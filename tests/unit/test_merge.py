"""The merge rule and conflict detection, on changes alone (no store)."""

from __future__ import annotations

from fieldkit.domain.changes import DELETED, REPLACED_BY, Change
from fieldkit.domain.hlc import HybridClock, pack, unpack
from fieldkit.domain.merge import detect_conflicts, frontier, wins


def change(origin: str, seq: int, hlc: int, values: dict, base: dict | None = None) -> Change:
    return Change(origin, seq, hlc, "person", "p1", values, f"op-{origin}", base or {})


def test_last_writer_wins_by_hlc_then_origin():
    assert wins((2, "A"), (1, "Z"))
    assert wins((1, "B"), (1, "A"))
    assert not wins((1, "A"), (1, "B"))
    assert wins((1, "A"), None)


def test_parallel_writes_with_different_values_are_a_conflict():
    a = change("A", 1, 10, {"destination": "HEGP"})
    b = change("B", 1, 11, {"destination": "Pitié"})
    [item] = detect_conflicts([a, b])
    assert (item.kind, item.field) == ("field", "destination")
    assert (item.a.change_id, item.b.change_id) == ("A:1", "B:1")
    assert item.value(item.a) == "HEGP" and item.value(item.b) == "Pitié"


def test_parallel_writes_with_the_same_value_are_not_a_conflict():
    a = change("A", 1, 10, {"family_name": "Dupont"})
    b = change("B", 1, 11, {"family_name": "Dupont"})
    assert detect_conflicts([a, b]) == []


def test_a_write_that_saw_the_other_is_not_a_conflict():
    a = change("A", 1, 10, {"destination": "HEGP"})
    b = change("B", 1, 11, {"destination": "Pitié"}, {"destination": ["A:1"]})
    assert detect_conflicts([a, b]) == []


def test_a_write_that_saw_both_sides_of_a_conflict_adds_no_new_conflict():
    a = change("A", 1, 10, {"destination": "HEGP"})
    b = change("B", 1, 11, {"destination": "Pitié"})
    decision = change("C", 1, 12, {"destination": "HEGP"}, {"destination": ["A:1", "B:1"]})
    items = detect_conflicts([a, b, decision])
    assert [(i.a.change_id, i.b.change_id) for i in items] == [("A:1", "B:1")]


def test_ancestry_through_a_chain_of_bases():
    a = change("A", 1, 10, {"sex": "F"})
    b = change("B", 1, 11, {"sex": "M"}, {"sex": ["A:1"]})
    c = change("A", 2, 12, {"sex": "U"}, {"sex": ["B:1"]})
    assert detect_conflicts([c, a, b]) == []


def test_conflicts_do_not_depend_on_the_order_of_changes():
    a = change("A", 1, 10, {"destination": "HEGP", "vehicle": "VSAV 12"})
    b = change("B", 1, 11, {"destination": "Pitié"})
    c = change("C", 1, 9, {"vehicle": "SMUR 3"})
    first = detect_conflicts([a, b, c])
    assert first == detect_conflicts([c, b, a]) == detect_conflicts([b, c, a])
    assert {i.field for i in first} == {"destination", "vehicle"}


def test_a_missing_base_leaves_the_pair_parallel_until_it_arrives():
    a = change("A", 1, 10, {"site": "Voltaire"})
    b = change("B", 1, 11, {"site": "Bataclan"}, {"site": ["A:1"]})
    c = change("C", 1, 12, {"site": "Carillon"}, {"site": ["B:1"]})
    assert len(detect_conflicts([a, c])) == 1
    assert detect_conflicts([a, b, c]) == []


def test_delete_against_an_edit_it_had_not_seen_is_a_conflict():
    a = change("A", 1, 10, {"family_name": "Dupont"})
    edit = change("B", 1, 12, {"family_name": "Durand"}, {"family_name": ["A:1"]})
    delete = change("C", 1, 13, {DELETED: True}, {"family_name": ["A:1"]})
    items = detect_conflicts([a, edit, delete])
    assert [(i.kind, i.field) for i in items] == [("delete_edit", "family_name")]


def test_delete_after_seeing_every_edit_is_not_a_conflict():
    a = change("A", 1, 10, {"family_name": "Dupont"})
    delete = change("C", 1, 13, {DELETED: True}, {"family_name": ["A:1"]})
    assert detect_conflicts([a, delete]) == []


def test_merge_against_an_unseen_edit_is_a_conflict():
    a = change("A", 1, 10, {"destination": "HEGP"})
    merge = change("C", 1, 13, {REPLACED_BY: "p2"}, {})
    [item] = detect_conflicts([a, merge])
    assert item.kind == "merge_edit"


def test_frontier_lists_the_heads_of_a_field():
    a = change("A", 1, 10, {"site": "x"})
    b = change("B", 1, 11, {"site": "y"})
    c = change("C", 1, 12, {"site": "z"}, {"site": ["A:1"]})
    assert frontier([a, b, c], "site") == ["B:1", "C:1"]
    assert frontier([a, b, c], "sex") == []


def test_hlc_orders_causally_even_when_the_wall_clock_goes_back():
    now = [1_000_000]
    clock = HybridClock(now_ms=lambda: now[0])
    first = clock.tick()
    now[0] -= 60_000  # the laptop's clock is set back a minute
    second = clock.tick()
    assert second > first
    assert unpack(second) == (1_000_000, 1)


def test_hlc_receive_moves_past_a_clock_running_a_day_ahead():
    now = [1_000_000]
    clock = HybridClock(now_ms=lambda: now[0])
    remote = pack(1_000_000 + 86_400_000, 5)
    after = clock.receive(remote)
    assert after > remote
    assert clock.tick() > after


def test_hlc_counter_overflow_moves_to_the_next_millisecond():
    clock = HybridClock(pack(500, 0xFFFF), now_ms=lambda: 0)
    assert unpack(clock.tick()) == (501, 0)


def test_tick_many_gives_consecutive_fresh_stamps_and_the_clock_goes_on_after_them() -> None:
    now = [1_000]
    clock = HybridClock(0, lambda: now[0])
    before = clock.tick()
    stamps = list(clock.tick_many(70_000))  # more than one millisecond's counter
    assert stamps[0] > before and stamps == list(range(stamps[0], stamps[0] + 70_000))
    assert unpack(stamps[-1])[0] == 1_001  # carried into the next millisecond
    assert clock.tick() > stamps[-1]
    assert list(clock.tick_many(0)) == []
