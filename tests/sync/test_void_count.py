"""A count voided at a PMA travels like any change: the CIAV's count drops, the void shows who
made it, a restore at the CIAV comes back to the PMA, and a void against a parallel edit is a
conflict to settle (real hub, real sockets)."""

from __future__ import annotations

from fieldkit.domain.changes import DELETED
from fieldkit.services import persons
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.store import queries
from fieldkit.sync.agent import Agent
from tests.sync.conftest import enrol

N1 = "FR075BSPP2026TR000123"
N2 = "FR075BSPP2026TR000124"


def test_a_void_at_the_pma_lowers_the_ciav_count_and_a_restore_comes_back(
    make_station, start_hub
) -> None:
    ciav = make_station("ciav", "CIAV")
    hub = start_hub(ciav)
    pma = make_station("pma", "PMA-1")
    enrol(ciav, hub.endpoint, pma)
    count_person(pma, "Dr A", PersonInput(nf399=N1, category="UA"))
    phantom = count_person(pma, "Dr A", PersonInput(nf399=N2, category="UR"))
    Agent(pma).run_once(timeout=10)
    assert queries.bilan(ciav.db).total == 2
    persons.void_count(pma, "Dr A", phantom.person_id)
    Agent(pma).run_once(timeout=10)
    bilan = queries.bilan(ciav.db)
    assert bilan.total == 1 and bilan.by_category["UR"] == 0
    voided = queries.voided_persons(ciav.db)
    assert [(r["id"], r["voided_by"]) for r in voided] == [(phantom.person_id, "Dr A")]
    persons.restore_count(ciav, "Agent CIAV", phantom.person_id)
    assert queries.bilan(ciav.db).total == 2
    Agent(pma).run_once(timeout=10)
    assert queries.bilan(pma.db).total == 2
    restored = queries.lifecycle_change(pma.db, phantom.person_id, DELETED, False)
    assert restored is not None and restored[0] == "Agent CIAV"


def test_a_void_against_a_parallel_edit_is_a_conflict_at_the_ciav(make_station, start_hub) -> None:
    ciav = make_station("ciav", "CIAV")
    hub = start_hub(ciav)
    pma = make_station("pma", "PMA-1")
    enrol(ciav, hub.endpoint, pma)
    counted = count_person(pma, "Dr A", PersonInput(nf399=N1, category="UA"))
    Agent(pma).run_once(timeout=10)
    persons.update_person(ciav, "Agent CIAV", counted.person_id, PersonInput(destination="HEGP"))
    persons.void_count(pma, "Dr A", counted.person_id)  # offline: had not seen the edit
    Agent(pma).run_once(timeout=10)
    kinds = {c["kind"] for c in queries.conflicts(ciav.db, counted.person_id)}
    assert "delete_edit" in kinds
