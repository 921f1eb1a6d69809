"""Voiding a count made by mistake and restoring it: what each station may void itself, and what
it must leave to the CIAV (real encrypted stores)."""

from __future__ import annotations

import pytest

from fieldkit.errors import NotFound, PermissionDenied, ValidationError
from fieldkit.services import persons, police, pump
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.store import queries
from tests.conftest import exchange_all

N1 = "FR075BSPP2026TR000123"
N2 = "FR075BSPP2026TR000124"


def test_a_count_only_this_station_wrote_is_voided_then_restored(make_station) -> None:
    pma = make_station("pma", "PMA-1")
    counted = count_person(pma, "Dr A", PersonInput(nf399=N1, category="UA", destination="HEGP"))
    assert persons.void_refusal(pma, counted.person_id) is None
    persons.void_count(pma, "Dr B", counted.person_id)
    assert queries.bilan(pma.db).total == 0
    assert queries.count_persons(pma.db) == 0
    assert persons.void_refusal(pma, counted.person_id) is not None  # already voided
    with pytest.raises(ValidationError):
        persons.void_count(pma, "Dr B", counted.person_id)
    persons.restore_count(pma, "Dr C", counted.person_id)
    assert queries.bilan(pma.db).total == 1
    with pytest.raises(ValidationError):
        persons.restore_count(pma, "Dr C", counted.person_id)  # not voided


def test_a_record_with_a_declaration_is_left_to_the_ciav(make_station) -> None:
    station = make_station("pump", "PUMP-1")
    seen = pump.register_person(station, "Dr P", PersonInput(nf399=N1, family_name="Martin"))
    pump.record_declaration(station, "Dr P", seen.person_id, "J'étais en terrasse.", "Dr P")
    refusal = persons.void_refusal(station, seen.person_id)
    assert refusal is not None and "déclaration" in refusal and "CIAV" in refusal
    with pytest.raises(ValidationError):
        persons.void_count(station, "Dr P", seen.person_id)
    assert not queries.person(station.db, seen.person_id)["deleted"]


def test_a_record_with_a_lead_or_a_merged_duplicate_is_left_to_the_ciav(make_station) -> None:
    station = make_station("police", "POL-1")
    ciav = make_station("ciav", "CIAV")
    pma = make_station("pma", "PMA-1")
    x = count_person(pma, "Dr A", PersonInput(nf399=N1, category="DCD"))
    exchange_all(pma, station, ciav)
    police.add_lead(station, "OPJ", x.person_id, "Dupont Jean", "wallet")
    assert "piste" in (persons.void_refusal(station, x.person_id) or "")
    dup = count_person(pma, "Dr A", PersonInput(nf399=N2, category="DCD"))
    exchange_all(pma, ciav)
    persons.merge_duplicate(ciav, "Agent", dup.person_id, x.person_id)
    exchange_all(pma, ciav)
    assert "doublon" in (persons.void_refusal(pma, x.person_id) or "")
    assert "fusionnée" in (persons.void_refusal(pma, dup.person_id) or "")
    assert persons.void_refusal(ciav, x.person_id) is None  # the CIAV is the one asked


def test_another_stations_writes_are_left_to_the_ciav(make_station) -> None:
    pma1 = make_station("pma", "PMA-1")
    pma2 = make_station("pma", "PMA-2")
    counted = count_person(pma1, "Dr A", PersonInput(nf399=N1, category="UA"))
    exchange_all(pma1, pma2)
    assert persons.void_refusal(pma1, counted.person_id) is None
    refusal = persons.void_refusal(pma2, counted.person_id)  # PMA-2 did not count them
    assert refusal is not None and "autre poste" in refusal


def test_restore_refused_when_the_number_is_counted_again(make_station) -> None:
    pma = make_station("pma", "PMA-1")
    first = count_person(pma, "Dr A", PersonInput(nf399=N1, category="UA"))
    persons.void_count(pma, "Dr A", first.person_id)
    count_person(pma, "Dr A", PersonInput(nf399=N1, category="UR"))
    with pytest.raises(ValidationError, match=N1):
        persons.restore_count(pma, "Dr A", first.person_id)
    assert queries.bilan(pma.db).total == 1


def test_roles_and_lookups(make_station) -> None:
    caf = make_station("caf", "CAF-1")
    with pytest.raises(PermissionDenied):
        persons.void_refusal(caf, "anything")
    pma = make_station("pma", "PMA-1")
    counted = count_person(pma, "Dr A", PersonInput(nf399=N1, category="UA"))
    assert persons.find_person(pma, N1)["id"] == counted.person_id
    assert persons.find_person(pma, counted.person_id)["id"] == counted.person_id
    with pytest.raises(NotFound):
        persons.find_person(pma, "nobody")
