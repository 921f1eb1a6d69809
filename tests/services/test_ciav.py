"""The CIAV console's services: conflict decisions, duplicate candidates and merges, stations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fieldkit.domain.changes import DELETED
from fieldkit.errors import NotFound, PermissionDenied, ValidationError
from fieldkit.services import ciav
from fieldkit.services.persons import PersonInput, count_person, update_person
from fieldkit.store import queries
from fieldkit.store.store import Store
from tests.conftest import exchange_all

NUMBER = "FR075BSPP2026TR000123"


@pytest.fixture
def three(make_station: Callable[..., Any]) -> tuple[Store, Store, Store]:
    return (
        make_station(role="pma", name="PMA-1"),
        make_station(role="pma", name="PMA-2"),
        make_station(role="ciav", name="CIAV"),
    )


def _person(store: Store, family: str = "Dupont", given: str = "Jean", **more: Any) -> str:
    return count_person(
        store,
        "Dr Martin",
        PersonInput(
            nf399=more.pop("nf399", None),
            category="UR",
            family_name=family,
            given_names=given,
            **more,
        ),
    ).person_id


def test_parallel_edits_appear_with_both_values_and_authors_and_a_decision_settles_them(
    three: tuple[Store, Store, Store],
) -> None:
    pma1, pma2, hub = three
    person_id = _person(pma1, nf399=NUMBER)
    exchange_all(pma1, pma2, hub)
    update_person(pma1, "Inf. Leroy", person_id, PersonInput(given_names="Jean-Pierre"))
    update_person(pma2, "Dr Haddad", person_id, PersonInput(given_names="Jean-Paul"))
    exchange_all(pma1, pma2, hub)
    queue = ciav.conflict_queue(hub)
    assert len(queue) == 1
    item = queue[0]
    assert item.field == "given_names" and item.decided is None
    assert {item.value_a, item.value_b} == {"Jean-Pierre", "Jean-Paul"}
    assert {item.author_a, item.author_b} == {"Inf. Leroy", "Dr Haddad"}
    assert "Dupont" in item.label and NUMBER in item.label
    choice = "a" if item.value_a == "Jean-Paul" else "b"

    ciav.decide_conflict(hub, "Agent CIAV", item.conflict_id, choice, "confirmé par la famille")

    assert queries.person(hub.db, person_id)["given_names"] == "Jean-Paul"
    assert ciav.conflict_queue(hub) == []
    decided = ciav.conflict_queue(hub, include_decided=True)
    assert decided[0].decided == (item.change_a if choice == "a" else item.change_b)
    # the decision is a change like any other: the stations converge on it
    exchange_all(pma1, pma2, hub)
    for store in (pma1, pma2):
        assert queries.person(store.db, person_id)["given_names"] == "Jean-Paul"
        assert all(row["decided"] for row in queries.conflicts(store.db))


def test_the_ciav_is_not_shown_a_conflict_on_clinical_notes(
    three: tuple[Store, Store, Store],
) -> None:
    pma1, pma2, hub = three
    person_id = _person(pma1, nf399=NUMBER)
    exchange_all(pma1, pma2, hub)
    pma1.record("person", person_id, {"clinical_notes": "plaie thoracique"}, "Dr A")
    pma2.record("person", person_id, {"clinical_notes": "pneumothorax"}, "Dr B")
    update_person(pma1, "Inf. Leroy", person_id, PersonInput(given_names="Jean-Pierre"))
    update_person(pma2, "Dr Haddad", person_id, PersonInput(given_names="Jean-Paul"))
    exchange_all(pma1, pma2, hub)
    held = {row["field"] for row in queries.conflicts(hub.db)}
    assert held == {"clinical_notes", "given_names"}  # the hub holds both items...
    queue = ciav.conflict_queue(hub)  # ... and shows only the one it may read
    assert [item.field for item in queue] == ["given_names"]
    assert all("plaie" not in str(item) and "pneumo" not in str(item) for item in queue)
    hidden = next(
        r["conflict_id"] for r in queries.conflicts(hub.db) if r["field"] != "given_names"
    )
    with pytest.raises(NotFound):
        ciav.decide_conflict(hub, "Agent CIAV", hidden, "a")


def test_a_delete_against_an_edit_can_be_settled_for_the_edit(
    three: tuple[Store, Store, Store],
) -> None:
    pma1, pma2, hub = three
    person_id = _person(pma1)
    exchange_all(pma1, pma2, hub)
    pma1.record("person", person_id, {DELETED: True}, "Inf. Leroy")
    update_person(pma2, "Dr Haddad", person_id, PersonInput(destination="HEGP"))
    exchange_all(pma1, pma2, hub)
    queue = ciav.conflict_queue(hub)
    assert queue and queue[0].kind == "delete_edit"
    item = queue[0]
    edit_side = "a" if item.author_a == "Dr Haddad" else "b"
    ciav.decide_conflict(hub, "Agent CIAV", item.conflict_id, edit_side)
    row = queries.person(hub.db, person_id)
    assert row["deleted"] == 0 and row["destination"] == "HEGP"


def test_deciding_is_for_the_ciav_only_and_checks_its_input(
    three: tuple[Store, Store, Store],
) -> None:
    pma1, pma2, hub = three
    person_id = _person(pma1)
    exchange_all(pma1, pma2, hub)
    update_person(pma1, "A", person_id, PersonInput(given_names="Luc"))
    update_person(pma2, "B", person_id, PersonInput(given_names="Lucas"))
    exchange_all(pma1, pma2, hub)
    conflict_id = ciav.conflict_queue(hub)[0].conflict_id
    with pytest.raises(PermissionDenied):
        ciav.decide_conflict(pma1, "A", conflict_id, "a")
    with pytest.raises(ValidationError):
        ciav.decide_conflict(hub, "C", conflict_id, "c")
    with pytest.raises(ValidationError):
        ciav.decide_conflict(hub, "C", conflict_id, "a", "x" * (ciav.NOTE_MAX + 1))
    with pytest.raises(NotFound):
        ciav.decide_conflict(hub, "C", "0" * 24, "a")
    assert ciav.conflict_queue(hub)[0].decided is None  # nothing was recorded


def test_duplicates_by_name_whatever_the_order_accents_and_case(
    make_station: Callable[..., Any],
) -> None:
    hub = make_station(role="ciav", name="CIAV")
    first = _person(hub, "Benoît", "Hélène", nf399=NUMBER)
    second = _person(hub, "HELENE", "BENOIT")
    _person(hub, "Benoit", "Helene", birth_date="1980-01-01", sex="F")  # told apart? no: compatible
    _person(hub, "Martin", "Paul", sex="M")
    _person(hub, "Martin", "Paul", sex="F")  # another person: sexes differ
    pairs = ciav.duplicate_candidates(hub)
    ids = {(p.first["id"], p.second["id"]) for p in pairs}
    assert (first, second) in ids  # the one with the number is kept
    assert not any(p.first["family_name"] == "Martin" for p in pairs)
    assert all(p.reason for p in pairs)


def test_a_number_given_later_to_an_x_person_makes_a_certain_duplicate_and_merge_is_undone(
    three: tuple[Store, Store, Store],
) -> None:
    pma1, pma2, hub = three
    counted = _person(pma1, "Durand", "Marie", nf399=NUMBER)
    x_person = count_person(pma2, "Dr Martin", PersonInput(category="UA")).person_id
    update_person(pma2, "Dr Martin", x_person, PersonInput(nf399=NUMBER))
    exchange_all(pma1, pma2, hub)
    pairs = [p for p in ciav.duplicate_candidates(hub) if p.score == 100]
    assert len(pairs) == 1
    pair = pairs[0]
    assert (pair.first["id"], pair.second["id"]) in ((counted, x_person), (x_person, counted))

    ciav.merge_pair(hub, "Agent CIAV", pair)
    assert queries.bilan(hub.db).total == 1
    assert ciav.duplicate_candidates(hub) == []
    merged = ciav.merged_records(hub)
    assert [m["id"] for m in merged] == [pair.second["id"]]

    ciav.undo_pair_merge(hub, "Agent CIAV", pair.second["id"])
    assert queries.bilan(hub.db).total == 2
    assert ciav.merged_records(hub) == []
    with pytest.raises(NotFound):
        ciav.undo_pair_merge(hub, "Agent CIAV", pair.second["id"])


def test_station_names_name_relayed_stations_by_their_relay(make_station) -> None:
    from fieldkit.sync.state import SyncState

    hub = make_station(role="ciav", name="CIAV")
    state = SyncState(hub)
    invite = state.add_invite("k" * 40, "RELAIS-B", "pma", relay=True)
    state.enrol(invite, "relay-id", "RELAIS-B", "pma", "k" * 40)
    with hub.transaction():
        state.add_sources(["pma2-id", "relay-id"], "relay-id")
    names = ciav.station_names(hub)
    assert names["relay-id"] == "RELAIS-B"
    assert names["pma2-id"] == "via RELAIS-B"
    assert names[hub.station_id] == "CIAV"


def test_duplicates_with_a_close_spelling_or_another_script(make_station) -> None:
    hub = make_station(role="ciav", name="CIAV")
    dupont = _person(hub, "Dupont", "Jean")
    dupond = _person(hub, "DUPOND", "jean")
    cyrillic = _person(hub, "Петров", "Иван")
    latin_name = _person(hub, "Petrov", "Ivan")
    _person(hub, "Durand", "Paul")  # sounds like none of them
    pairs = {frozenset((p.first["id"], p.second["id"])): p for p in ciav.duplicate_candidates(hub)}
    assert frozenset((dupont, dupond)) in pairs
    assert pairs[frozenset((dupont, dupond))].reason == "orthographe proche"
    assert frozenset((cyrillic, latin_name)) in pairs
    assert len(pairs) == 2


def test_not_the_same_is_undone_and_can_be_decided_again(make_station: Callable[..., Any]):
    hub = make_station(role="ciav", name="CIAV")
    for given, family in (("Claire", "MARTIN"), ("martin", "claire")):
        count_person(hub, "Dr A", PersonInput(category="UR", family_name=family, given_names=given))
    [pair] = ciav.duplicate_candidates(hub)
    assert ciav.dismissed_pairs(hub) == []
    ciav.dismiss_pair(hub, "Agent 1", pair)
    assert ciav.duplicate_candidates(hub) == []
    [decision] = ciav.dismissed_pairs(hub)
    assert decision["first"]["id"] == pair.first["id"]
    assert decision["second"]["id"] == pair.second["id"]
    ciav.undo_dismiss(hub, "Agent 2", decision["key"])
    assert [p.second["id"] for p in ciav.duplicate_candidates(hub)] == [pair.second["id"]]
    assert ciav.dismissed_pairs(hub) == []
    with pytest.raises(NotFound):  # nothing left to undo
        ciav.undo_dismiss(hub, "Agent 2", decision["key"])
    ciav.dismiss_pair(hub, "Agent 3", pair)  # decided again after the undo
    assert ciav.duplicate_candidates(hub) == []
    pma = make_station(role="pma", name="PMA-1")
    with pytest.raises(PermissionDenied):
        ciav.undo_dismiss(pma, "x", decision["key"])
