"""A CIAV duplicate merge never makes a dead person look alive, nor tells a death too early.

The record kept folds what the absorbed record knew (its triage events and death stages): the
CAF outcome, the PFIF status, the bilan, the police and CIAV views all read the true state, on
every node, whatever order the changes arrive in; undoing the merge gives each record its own.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain.changes import REPLACED_BY
from fieldkit.domain.secrecy import project
from fieldkit.errors import NeedsConfirmation
from fieldkit.services import caf, ciav, police
from fieldkit.services.matching import Matcher
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.services.pfif import export_pfif
from fieldkit.store import queries
from fieldkit.store.store import Store
from tests.conftest import exchange_all

NUMBER = "FR075BSPP2026TR000300"
DERIVED = "id, category, refinement, death_stage, triage_hlc, triage_origin, replaced_by"


def _to_hub(hub: Store, *stations: Store) -> None:
    hub.apply([c for s in stations for c in s.all_changes()])


def _from_hub(hub: Store, station: Store) -> None:
    """What the hub sends down to ``station``: only what its role may read."""
    projected = (project(c, station.role, station.station_id) for c in hub.all_changes())
    station.apply([c for c in projected if c is not None])


def _alive_at_hegp(pma: Store, nf399: str | None = NUMBER) -> str:
    return count_person(
        pma,
        "Dr Martin",
        PersonInput(
            nf399=nf399,
            category="UA",
            family_name="Dupont",
            given_names="Jean",
            sex="M",
            birth_date="1980-05-01",
            destination="HEGP",
        ),
    ).person_id


def _dead(station: Store, stage: str | None = "identified", nf399: str | None = None) -> str:
    person_id = count_person(
        station,
        "Brigadier Roux",
        PersonInput(
            nf399=nf399,
            category="DCD",
            family_name="Dupont",
            given_names="Jean",
            sex="M",
            birth_date="1980-05-01",
        ),
    ).person_id
    if stage is not None:
        police.record_death_stage(station, "OPJ Leroy", person_id, "identified", "OPJ Leroy")
    return person_id


def _enquire(desk: Store) -> str:
    return caf.record_enquiry(
        desk,
        "Accueil CAF",
        enquirer_name="Dupont Marie",
        phone="+33612345678",
        sought_family_name="Dupont",
        sought_given_names="Jean",
        sought_sex="M",
        sought_age="45",
    )


def _pfif(store: Store) -> str:
    out = io.StringIO()
    export_pfif(store, out, operator="Agent CIAV")
    return out.getvalue()


def _state(store: Store) -> list[tuple[Any, ...]]:
    return store.db.execute(f"SELECT {DERIVED} FROM persons ORDER BY id").fetchall()


def _merge(hub: Store, pair: ciav.DuplicatePair) -> None:
    conflict = ciav.life_death_conflict(hub, pair)
    ciav.merge_pair(hub, "Agent CIAV", pair, confirmed_conflict=conflict)


@pytest.fixture
def stations(make_station: Callable[..., Any]) -> dict[str, Store]:
    return {
        "pma": make_station(role="pma", name="PMA-1"),
        "police": make_station(role="police", name="POLICE-1"),
        "hub": make_station(role="ciav", name="CIAV"),
        "caf": make_station(role="caf", name="CAF-1"),
    }


def test_the_audit_case_the_family_is_never_told_found_about_a_dead_person(
    stations: dict[str, Store],
) -> None:
    pma, pol, hub, desk = stations["pma"], stations["police"], stations["hub"], stations["caf"]
    kept = _alive_at_hegp(pma)  # bracelet, UA, evacuated to HEGP
    absorbed = _dead(pol)  # the police's record of the same man: DCD, identified
    exchange_all(pma, pol, hub)
    [pair] = ciav.duplicate_candidates(hub)
    assert (pair.first["id"], pair.second["id"]) == (kept, absorbed)  # the number is kept

    # The merge names the conflict and records nothing until the operator confirmed it.
    conflict = ciav.life_death_conflict(hub, pair)
    assert conflict is not None
    assert "UA" in conflict and "DCD" in conflict and "décès identifié" in conflict
    with pytest.raises(NeedsConfirmation) as refused:
        ciav.merge_pair(hub, "Agent CIAV", pair)
    assert refused.value.message == conflict
    assert not [c for c in hub.all_changes() if REPLACED_BY in c.values]
    ciav.merge_pair(hub, "Agent CIAV", pair, confirmed_conflict=conflict)

    enquiry = _enquire(desk)
    _to_hub(hub, desk)
    Matcher(hub).run_until_idle()
    _from_hub(hub, desk)
    told = caf.outcome_for(desk, enquiry)
    assert (told.outcome, told.place) == ("officer", None)  # identified, not announced
    assert told.text == "Un officier de police va vous parler."
    assert "HEGP" not in told.text

    assert "believed_alive" not in _pfif(hub)
    assert "<pfif:person>" not in _pfif(hub)  # a death not announced: left out entirely
    bilan = queries.bilan(hub.db)
    assert bilan.total == 1 and bilan.by_category["DCD"] == 1 and bilan.by_category["UA"] == 0

    # The police see the death stage on the record kept, and announce it there.
    exchange_all(pma, pol, hub)
    row = queries.person(pol.db, kept)
    assert (row["category"], row["death_stage"]) == ("DCD", "identified")
    assert [s["stage"] for s in police.death_stages(pol, kept)] == ["identified"]
    # both records' events, in (hlc, origin) order: two stations' clocks may read the same ms
    assert sorted(e["category"] for e in queries.triage_history(pol.db, kept)) == ["DCD", "UA"]
    police.record_death_stage(pol, "OPJ Leroy", kept, "announced", "OPJ Leroy")
    exchange_all(pol, hub)
    Matcher(hub).run_until_idle()
    _from_hub(hub, desk)
    assert caf.outcome_for(desk, enquiry).outcome == "announced"
    document = _pfif(hub)
    assert "<pfif:status>believed_dead</pfif:status>" in document
    assert "believed_alive" not in document
    assert queries.bilan(pol.db).by_category["DCD"] == 1
    assert _state(pol) == _state(hub)


def test_an_enquiry_made_before_the_merge_is_not_turned_into_found(
    stations: dict[str, Store],
) -> None:
    pma, pol, hub = stations["pma"], stations["police"], stations["hub"]
    kept = _alive_at_hegp(pma)
    _dead(pol)
    exchange_all(pma, pol, hub)
    enquiry = _enquire(hub)
    matcher = Matcher(hub)  # the hub's matcher, following the log as the merge happens
    matcher.run_until_idle()
    assert caf.outcome_for(hub, enquiry).outcome == "officer"  # two namesakes: an officer
    _merge(hub, ciav.duplicate_candidates(hub)[0])
    matcher.run_until_idle()
    assert queries.person(hub.db, kept)["category"] == "DCD"
    assert caf.outcome_for(hub, enquiry).outcome == "officer"


def test_merged_the_other_way_the_dead_record_kept_and_a_later_living_one_absorbed(
    stations: dict[str, Store],
) -> None:
    pma, pol, hub = stations["pma"], stations["police"], stations["hub"]
    # The police found the body with its bracelet, the commission identified it; the PMA had
    # counted "Dupont Jean" without a number, UA, evacuated to HEGP, and its triage came later.
    kept = _dead(pol, nf399=NUMBER)
    exchange_all(pol, pma)  # the PMA's clock is past the police's: its triage comes later
    absorbed = _alive_at_hegp(pma, nf399=None)
    exchange_all(pma, pol, hub)
    [pair] = ciav.duplicate_candidates(hub)
    assert (pair.first["id"], pair.second["id"]) == (kept, absorbed)
    assert ciav.life_death_conflict(hub, pair) is not None
    _merge(hub, pair)
    enquiry = _enquire(hub)
    matcher = Matcher(hub)
    matcher.run_until_idle()
    # The latest triage (UA) does not revise a death the commission identified.
    assert [e["category"] for e in queries.triage_history(hub.db, kept)] == ["DCD", "UA"]
    row = queries.person(hub.db, kept)
    assert (row["category"], row["death_stage"]) == ("DCD", "identified")
    assert caf.outcome_for(hub, enquiry).outcome == "officer"
    assert "<pfif:person>" not in _pfif(hub)
    assert queries.bilan(hub.db).by_category == {"UA": 0, "UR": 0, "IMPLIQUE": 0, "DCD": 1}

    # Undone: each record is its own again (and two namesakes: an officer still speaks).
    ciav.undo_pair_merge(hub, "Agent CIAV", absorbed)
    matcher.run_until_idle()
    assert queries.person(hub.db, kept)["death_stage"] == "identified"
    assert queries.person(hub.db, absorbed)["category"] == "UA"
    assert queries.person(hub.db, absorbed)["death_stage"] is None
    assert queries.bilan(hub.db).by_category["UA"] == 1
    assert caf.outcome_for(hub, enquiry).outcome == "officer"


def test_undoing_the_merge_gives_the_kept_record_its_own_state_back(
    stations: dict[str, Store],
) -> None:
    pma, pol, hub = stations["pma"], stations["police"], stations["hub"]
    kept = _alive_at_hegp(pma)
    absorbed = _dead(pol)
    exchange_all(pma, pol, hub)
    _merge(hub, ciav.duplicate_candidates(hub)[0])
    ciav.undo_pair_merge(hub, "Agent CIAV", absorbed)
    exchange_all(pma, pol, hub)
    for store in (hub, pol):
        assert queries.person(store.db, kept)["category"] == "UA"
        assert queries.person(store.db, kept)["death_stage"] is None
        assert queries.person(store.db, absorbed)["death_stage"] == "identified"
        assert police.death_stages(store, kept) == []
        assert queries.bilan(store.db).by_category["DCD"] == 1
        assert queries.bilan(store.db).by_category["UA"] == 1


def test_a_death_stage_recorded_on_the_absorbed_record_after_the_merge_reaches_the_kept_one(
    stations: dict[str, Store],
) -> None:
    pma, pol, hub = stations["pma"], stations["police"], stations["hub"]
    kept = _alive_at_hegp(pma)
    absorbed = _dead(pol, stage=None)  # DCD on the field, not identified yet
    exchange_all(pma, pol, hub)
    _merge(hub, ciav.duplicate_candidates(hub)[0])  # the police station has not heard of it
    police.record_death_stage(pol, "OPJ Leroy", absorbed, "identified", "OPJ Leroy")
    exchange_all(pma, pol, hub)
    for store in (hub, pol):
        row = queries.person(store.db, kept)
        assert (row["category"], row["death_stage"]) == ("DCD", "identified")
    assert _state(hub) == _state(pol)


def test_every_node_holds_the_same_state_whatever_the_arrival_order(
    stations: dict[str, Store], make_station: Callable[..., Any]
) -> None:
    pma, pol, hub = stations["pma"], stations["police"], stations["hub"]
    kept = _alive_at_hegp(pma)
    absorbed = _dead(pol, stage=None)
    exchange_all(pma, pol, hub)
    _merge(hub, ciav.duplicate_candidates(hub)[0])
    police.record_death_stage(pol, "OPJ Leroy", absorbed, "identified", "OPJ Leroy")
    exchange_all(pma, pol, hub)
    ciav.undo_pair_merge(hub, "Agent CIAV", absorbed)
    pair = next(p for p in ciav.duplicate_candidates(hub) if p.second["id"] == absorbed)
    _merge(hub, pair)
    police.record_death_stage(pol, "OPJ Leroy", kept, "announced", "OPJ Leroy")
    exchange_all(pma, pol, hub)
    expected = _state(hub)
    assert dict((r[0], r[1:4]) for r in expected)[kept] == ("DCD", None, "announced")
    assert _state(pol) == expected
    changes = hub.all_changes()
    for seed in range(4):
        other = make_station(role="ciav", name=f"CIAV-{seed}")
        shuffled = changes[:]
        random.Random(seed).shuffle(shuffled)
        for start in range(0, len(shuffled), 3):  # in small batches, as sync brings them
            other.apply(shuffled[start : start + 3])
        assert _state(other) == expected, seed
    hub.rebuild()
    assert _state(hub) == expected


def test_a_field_dcd_followed_by_a_later_living_triage_needs_confirmation_and_shows_the_latest(
    stations: dict[str, Store],
) -> None:
    pma, pol, hub = stations["pma"], stations["police"], stations["hub"]
    kept = _dead(pol, stage=None, nf399=NUMBER)  # DCD on the field, no death stage
    exchange_all(pol, pma)
    _alive_at_hegp(pma, nf399=None)  # seen alive later: the latest triage stands
    exchange_all(pma, pol, hub)
    [pair] = ciav.duplicate_candidates(hub)
    conflict = ciav.life_death_conflict(hub, pair)
    assert conflict is not None and conflict.endswith("la fiche fusionnée indiquera UA.")
    with pytest.raises(NeedsConfirmation):
        ciav.merge_pair(hub, "Agent CIAV", pair, confirmed_conflict="something else")
    ciav.merge_pair(hub, "Agent CIAV", pair, confirmed_conflict=conflict)
    assert queries.person(hub.db, kept)["category"] == "UA"


def test_records_that_agree_merge_without_a_question(stations: dict[str, Store]) -> None:
    pma, hub = stations["pma"], stations["hub"]
    _alive_at_hegp(pma)
    _alive_at_hegp(pma, nf399=None)
    exchange_all(pma, hub)
    [pair] = ciav.duplicate_candidates(hub)
    assert ciav.life_death_conflict(hub, pair) is None
    ciav.merge_pair(hub, "Agent CIAV", pair)
    assert queries.bilan(hub.db).by_category["UA"] == 1


def test_a_store_merged_under_the_old_rule_is_folded_when_opened(
    tmp_path: Path, stations: dict[str, Store]
) -> None:
    from fieldkit.services.station import open_station
    from tests.conftest import PASSPHRASE

    pma, pol, hub = stations["pma"], stations["police"], stations["hub"]
    kept = _alive_at_hegp(pma)
    _dead(pol)
    exchange_all(pma, pol, hub)
    _merge(hub, ciav.duplicate_candidates(hub)[0])
    # What version 7 left: the record kept read its own events only, and no index of merges.
    with hub.transaction():
        hub.db.execute(
            "UPDATE persons SET category = 'UA', death_stage = NULL WHERE id = ?", [kept]
        )
        hub.db.execute("DROP INDEX persons_by_merge")
        hub.db.execute("ALTER TABLE witnesses DROP COLUMN recontacted_at")  # added by 9
        hub.db.execute("DROP TABLE station_keys")  # added by 10
        hub.db.execute("PRAGMA user_version = 7")
    hub.close()
    reopened = open_station(tmp_path / "CIAV", PASSPHRASE)
    try:
        row = queries.person(reopened.db, kept)
        assert (row["category"], row["death_stage"]) == ("DCD", "identified")
    finally:
        reopened.close()


def test_an_import_of_a_record_others_were_merged_into_folds_them(
    tmp_path: Path, stations: dict[str, Store], make_station: Callable[..., Any]
) -> None:
    import json

    from fieldkit.services import exchange

    pma, pol, hub = stations["pma"], stations["police"], stations["hub"]
    kept = _alive_at_hegp(pma)
    absorbed = _dead(pol)
    exchange_all(pma, pol, hub)
    _merge(hub, ciav.duplicate_candidates(hub)[0])
    # A station that holds the merge and the absorbed record, not yet the record kept...
    other = make_station(role="ciav", name="CIAV-2")
    other.apply(
        [c for c in hub.all_changes() if c.entity_id != kept and c.values.get("person_id") != kept]
    )
    assert queries.person(other.db, absorbed)["replaced_by"] == kept
    # ... then imports it: not a person it has never seen, its row folds the absorbed one.
    line = {
        "nf399": NUMBER,
        "category": "UA",
        "family_name": "Dupont",
        "given_names": "Jean",
        "destination": "HEGP",
    }
    source = tmp_path / "kept.jsonl"
    source.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert exchange.import_jsonl(other, "import", source) == 1
    row = queries.person(other.db, kept)
    assert (row["category"], row["death_stage"]) == ("DCD", "identified")


def test_a_dcd_triage_on_the_absorbed_record_after_the_merge_changes_the_familys_answer(
    stations: dict[str, Store], make_station: Callable[..., Any]
) -> None:
    from fieldkit.services.persons import retriage

    pma, hub = stations["pma"], stations["hub"]
    pma2 = make_station(role="pma", name="PMA-2")
    kept = _alive_at_hegp(pma)
    absorbed = _alive_at_hegp(pma2, nf399=None)  # the same man, counted again, alive: no question
    exchange_all(pma, pma2, hub)
    ciav.merge_pair(hub, "Agent CIAV", ciav.duplicate_candidates(hub)[0])
    enquiry = _enquire(hub)
    matcher = Matcher(hub)
    matcher.run_until_idle()
    assert (caf.outcome_for(hub, enquiry).outcome, caf.outcome_for(hub, enquiry).place) == (
        "found",
        "HEGP",
    )
    retriage(pma2, "Dr Petit", absorbed, "DCD")  # PMA-2 has not heard of the merge
    exchange_all(pma, pma2, hub)
    matcher.run_until_idle()
    assert queries.person(hub.db, kept)["category"] == "DCD"
    assert caf.outcome_for(hub, enquiry).outcome == "officer"
    assert "<pfif:person>" not in _pfif(hub)


def test_a_triage_after_a_death_stage_does_not_make_the_person_look_alive(
    stations: dict[str, Store], make_station: Callable[..., Any]
) -> None:
    from fieldkit.services.persons import retriage

    pol, hub = stations["police"], stations["hub"]
    dead = _dead(pol, nf399=NUMBER)
    retriage(pol, "Brigadier Roux", dead, "UA")  # a slip of the key on the identified body
    exchange_all(pol, hub)
    for store in (pol, hub):
        row = queries.person(store.db, dead)
        assert (row["category"], row["refinement"], row["death_stage"]) == (
            "DCD",
            None,
            "identified",
        )
        assert [e["category"] for e in queries.triage_history(store.db, dead)] == ["DCD", "UA"]
    assert "<pfif:person>" not in _pfif(hub)
    # The stage arriving before the triage events (another order): the same state.
    later = make_station(role="ciav", name="CIAV-2")
    for change in reversed(hub.all_changes()):
        later.apply([change])
    assert _state(later) == _state(hub)
