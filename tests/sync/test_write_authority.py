"""The hub refuses what the sending station's role may not write (fieldkit/domain/authority.py),
and a relay serves only stations of its own role: real stores, real CURVE sockets on 127.0.0.1."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
import zmq

from fieldkit.domain.ids import new_id
from fieldkit.errors import SyncError, ValidationError
from fieldkit.services import caf, police, pump
from fieldkit.services.matching import Matcher
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.store.store import Store
from fieldkit.sync.agent import Agent
from fieldkit.sync.enrol import Invitation, create_invite, encode_token, join, station_keypair
from fieldkit.sync.hub import Hub
from fieldkit.sync.state import SyncState, Upstream
from tests.sync.conftest import enrol

NUMBER = "FR075BSPP2026TR000200"
OTHER = "FR075BSPP2026TR000300"


def _settle(hub: Hub) -> None:
    """Let the hub's matcher finish what the pushes gave it."""
    end = time.monotonic() + 10
    time.sleep(0.2)
    while hub.busy and time.monotonic() < end:
        time.sleep(0.05)


def _count(store: Store, sql: str, *params: Any) -> int:
    return int(store.db.execute(sql, list(params)).fetchone()[0])


@pytest.fixture
def incident(make_station, tmp_path) -> Any:
    """A CIAV hub with its matcher, and a CAF station whose family seeks Jean Dupont."""
    ciav = make_station("ciav", "CIAV")
    hub = Hub(ciav, "tcp://127.0.0.1:*", after_apply=Matcher(ciav).step)
    hub.start()
    desk = make_station("caf", "CAF-1")
    enrol(ciav, hub.endpoint, desk)
    enquiry = caf.record_enquiry(
        desk,
        "desk",
        enquirer_name="Dupont Marie",
        phone="+33612345678",
        sought_family_name="Dupont",
        sought_given_names="Jean",
        sought_sex="M",
        sought_age="45",
    )
    Agent(desk).run_once(timeout=10)
    yield ciav, hub, desk, enquiry
    hub.stop()


def _dead_person(store: Store) -> str:
    return count_person(
        store,
        "op",
        PersonInput(
            nf399=NUMBER,
            category="DCD",
            family_name="Dupont",
            given_names="Jean",
            sex="M",
            birth_date="1980-05-01",
        ),
    ).person_id


# What a PMA station records bypassing its services (a bug, an old version, a tampered store):
# written straight into its log, as a hostile station would.
FORBIDDEN: dict[str, Callable[[Store, str], None]] = {
    "death_stage": lambda s, pid: s.record(
        "death_stage",
        new_id(),
        {"person_id": pid, "stage": "announced", "officer": "nobody", "at": "2026-01-01T00:00:00Z"},
        "op",
    ),
    "lead": lambda s, pid: s.record(
        "lead", new_id(), {"person_id": pid, "possible_identity": "Dupont", "source": "x"}, "op"
    ),
    "witness": lambda s, pid: s.record(
        "witness", new_id(), {"family_name": "Témoin", "saw": "a car"}, "op"
    ),
    "enquiry": lambda s, pid: s.record(
        "enquiry", new_id(), {"enquirer_name": "Faux", "sought_family_name": "Dupont"}, "op"
    ),
}
TABLES = {
    "death_stage": "death_stages",
    "lead": "leads",
    "witness": "witnesses",
    "enquiry": "enquiries",
}


@pytest.mark.parametrize("entity", sorted(FORBIDDEN))
def test_a_pma_station_pushing_police_or_caf_records_is_refused(
    incident, make_station, entity: str, caplog
) -> None:
    ciav, hub, desk, enquiry = incident
    pma = make_station("pma", "PMA-1")
    enrol(ciav, hub.endpoint, pma)
    person_id = _dead_person(pma)  # legitimate: the count and its triage event
    before = _count(ciav, f"select count(*) from {TABLES[entity]}")
    FORBIDDEN[entity](pma, person_id)
    pma.record("person", person_id, {"found_place": "rue de Charonne"}, "op")  # after it

    with (
        caplog.at_level(logging.WARNING, logger="fieldkit.sync.hub"),
        pytest.raises(SyncError, match=entity),
    ):
        Agent(pma).run_once(timeout=10)
    assert hub.rejections["role"] == 1
    assert any(
        "rejected frame from PMA-1" in r.getMessage() and entity in r.getMessage()
        for r in caplog.records
    )
    # Nothing of the forbidden record reached the hub; what came before it in the batch did
    # (it was the PMA's to record), what came after it waits at the station.
    assert _count(ciav, f"select count(*) from {TABLES[entity]}") == before
    assert _count(ciav, "select count(*) from changes where origin = ?", pma.station_id) == 2
    assert _count(ciav, "select count(*) from persons where id = ? and category = 'DCD'", person_id)
    assert _count(ciav, "select count(*) from persons where found_place is not null") == 0

    # A second attempt is refused the same way (never stored), and the station says so; its
    # welcome told it what the hub holds: the refused change and the one after it wait.
    agent = Agent(pma)
    with pytest.raises(SyncError):
        agent.run_once(timeout=10)
    assert agent.status().error is not None
    assert hub.rejections["role"] == 2
    assert SyncState(pma).waiting() == 2

    _settle(hub)
    Agent(desk).run_once(timeout=10)
    told = caf.outcome_for(desk, enquiry)
    assert told.outcome != "announced"
    assert _count(desk, "select count(*) from enquiries") == 1  # the forged one never came


def test_a_running_agent_refused_says_so_pushes_no_more_and_keeps_pulling(
    incident, make_station
) -> None:
    ciav, hub, _desk, _enquiry = incident
    pma = make_station("pma", "PMA-1")
    enrol(ciav, hub.endpoint, pma)
    FORBIDDEN["death_stage"](pma, _dead_person(pma))
    agent = Agent(pma)
    agent.start()
    try:
        end = time.monotonic() + 10
        while agent.status().error is None and time.monotonic() < end:
            time.sleep(0.05)
        assert "death_stage" in (agent.status().error or "")
        # What the PMA may read still comes down (within one session, no reconnection).
        other = count_person(ciav, "agent", PersonInput(nf399=OTHER, category="UR")).person_id
        end = time.monotonic() + 5
        while time.monotonic() < end and not _count(
            pma, "select count(*) from triage_events where person_id = ?", other
        ):
            time.sleep(0.05)
        assert _count(pma, "select count(*) from triage_events where person_id = ?", other) == 1
        time.sleep(1.5)  # heartbeats go on; the refused change is not sent again
        assert hub.rejections["role"] == 1
        assert agent.status().error is not None
        assert agent.sessions == 1
    finally:
        agent.stop()


def test_the_police_role_writes_its_records_and_the_family_is_told_after_the_announcement(
    incident, make_station
) -> None:
    ciav, hub, desk, enquiry = incident
    pol = make_station("police", "POL-1")
    enrol(ciav, hub.endpoint, pol)
    person_id = _dead_person(pol)
    police.record_death_stage(pol, "opj", person_id, "identified", "OPJ Martin")
    police.add_witness(
        pol,
        "opj",
        police.WitnessInput(
            family_name="Témoin", given_names="Paul", phone="+33633333333", where="terrasse"
        ),
    )
    x_person = count_person(pol, "opj", PersonInput(category="UR")).person_id
    police.add_lead(pol, "opj", x_person, "Durand Luc", "carte dans la poche")
    caf.record_enquiry(
        pol, "opj", enquirer_name="Durand", phone="+33611111111", sought_family_name="Durand"
    )
    Agent(pol).run_once(timeout=10)
    _settle(hub)
    Agent(desk).run_once(timeout=10)
    assert caf.outcome_for(desk, enquiry).outcome != "announced"  # identified is not announced

    police.record_death_stage(pol, "opj", person_id, "announced", "OPJ Martin")
    Agent(pol).run_once(timeout=10)
    _settle(hub)
    Agent(desk).run_once(timeout=10)

    assert hub.rejections["role"] == 0
    assert _count(ciav, "select count(*) from death_stages") == 2
    assert _count(ciav, "select count(*) from witnesses") == 1
    assert _count(ciav, "select count(*) from leads") == 1
    assert _count(ciav, "select count(*) from enquiries") == 2
    assert caf.outcome_for(desk, enquiry).outcome == "announced"
    assert SyncState(pol).waiting() == 0


def test_a_field_the_role_may_not_write_is_refused(incident, make_station) -> None:
    """Police may write a person, not its clinical notes (medical secrecy)."""
    ciav, hub, _desk, _enquiry = incident
    pol = make_station("police", "POL-1")
    enrol(ciav, hub.endpoint, pol)
    person_id = _dead_person(pol)
    pol.record("person", person_id, {"clinical_notes": "plaie thoracique"}, "opj")
    with pytest.raises(SyncError, match="clinical_notes"):
        Agent(pol).run_once(timeout=10)
    assert hub.rejections["role"] == 1
    assert _count(ciav, "select count(*) from persons where clinical_notes is not null") == 0


def test_pump_pma_and_caf_legitimate_writes_pass(incident, make_station) -> None:
    ciav, hub, desk, _enquiry = incident
    pma = make_station("pma", "PMA-1")
    pump_store = make_station("pump", "PUMP-1")
    for store in (pma, pump_store):
        enrol(ciav, hub.endpoint, store)
    person_id = _dead_person(pma)
    pma.record("person", person_id, {"clinical_notes": "arrêt cardiaque"}, "doc")
    seen = pump.register_person(
        pump_store, "psy", PersonInput(family_name="Benali", given_names="Samira")
    ).person_id
    pump.record_declaration(pump_store, "psy", seen, "J'étais en terrasse.", "Dr Moreau")
    pump.record_care(pump_store, "psy", seen, care_given="defusing", notes="anxieuse")
    caf.record_enquiry(
        desk, "desk", enquirer_name="Roux", phone="+33622222222", sought_family_name="Roux"
    )
    for store in (pma, pump_store, desk):
        Agent(store).run_once(timeout=10)
        assert SyncState(store).waiting() == 0
    assert hub.rejections["role"] == 0
    assert _count(ciav, "select count(*) from declarations") == 1
    assert _count(ciav, "select count(*) from care_events") == 1
    assert _count(ciav, "select count(*) from enquiries") == 2


# -- relays ------------------------------------------------------------------------------------


def _relay(make_station, start_hub, role: str = "pma") -> tuple[Store, Hub, Store, Hub]:
    ciav = make_station("ciav", "CIAV")
    top = start_hub(ciav)
    relay = make_station(role, "RELAY-A")
    join(relay, create_invite(ciav, role, "RELAY-A", top.endpoint, relay=True), timeout=5)
    return ciav, top, relay, start_hub(relay)


def test_a_relay_invites_only_stations_of_its_own_role(make_station, start_hub) -> None:
    ciav, top, relay, relay_hub = _relay(make_station, start_hub)
    for role in ("pump", "police", "caf", "ciav"):
        with pytest.raises(ValidationError, match="CIAV"):
            create_invite(relay, role, f"{role.upper()}-1", relay_hub.endpoint)
    child = make_station("pma", "PMA-2")
    enrol(relay, relay_hub.endpoint, child)
    count_person(child, "op", PersonInput(nf399=NUMBER, category="UA"))
    Agent(child).run_once(timeout=10)
    assert _count(relay, "select count(*) from persons") == 1
    # The central hub (a CIAV station enrolled with no hub) still enrols every role.
    create_invite(ciav, "pump", "PUMP-1", top.endpoint)


def test_a_hub_of_another_role_than_the_ciav_invites_only_its_own_role(make_station) -> None:
    pma = make_station("pma", "PMA-HUB")  # not enrolled anywhere yet: it would become a relay
    with pytest.raises(ValidationError):
        create_invite(pma, "pump", "PUMP-1", "tcp://127.0.0.1:7700")
    create_invite(pma, "pma", "PMA-2", "tcp://127.0.0.1:7700")


def test_a_relay_refuses_a_child_of_another_role_at_join_and_at_push(
    make_station, start_hub
) -> None:
    _ciav, _top, relay, relay_hub = _relay(make_station, start_hub)
    child = make_station("pump", "PUMP-1")
    # An invite recorded before relays checked the role (or written around create_invite).
    public, secret = zmq.curve_keypair()
    SyncState(relay).add_invite(public.decode(), "PUMP-1", "pump", False)
    token = encode_token(
        Invitation(
            relay_hub.endpoint,
            station_keypair(relay)[0],
            secret.decode(),
            "pump",
            "PUMP-1",
            relay.meta["incident"],
        )
    )
    with pytest.raises(SyncError, match="CIAV"):
        join(child, token, timeout=5)
    assert relay_hub.rejections["relay"] == 1
    assert SyncState(relay).peer_by_name("PUMP-1") is None

    # A child enrolled before the fix: its pushes are refused, the relay holds none of it.
    invite = SyncState(relay).add_invite("k" * 40, "PUMP-1", "pump", False)
    SyncState(relay).enrol(invite, child.station_id, "PUMP-1", "pump", station_keypair(child)[0])
    SyncState(child).set_upstream(
        Upstream(relay_hub.endpoint, station_keypair(relay)[0], relay.station_id, "RELAY-A")
    )
    seen = pump.register_person(child, "psy", PersonInput(family_name="Benali")).person_id
    pump.record_declaration(child, "psy", seen, "J'étais en terrasse du Carillon.", "Dr Moreau")
    pump.record_care(child, "psy", seen, care_given="defusing", notes="idées noires")
    with pytest.raises(SyncError, match="CIAV"):
        Agent(child).run_once(timeout=10)
    assert relay_hub.rejections["relay"] == 2
    assert _count(relay, "select count(*) from declarations") == 0
    assert _count(relay, "select count(*) from care_events") == 0
    assert _count(relay, "select count(*) from changes where origin = ?", child.station_id) == 0


def test_a_hub_serving_other_roles_may_not_become_a_relay(make_station, start_hub) -> None:
    ciav = make_station("ciav", "CIAV")
    top = start_hub(ciav)
    local = make_station("ciav", "CIAV-2")
    local_hub = start_hub(local)
    enrol(local, local_hub.endpoint, make_station("pump", "PUMP-1"))
    with pytest.raises(ValidationError, match="pump"):
        join(local, create_invite(ciav, "ciav", "CIAV-2", top.endpoint, relay=True), timeout=5)
    assert SyncState(local).upstream() is None


def test_a_station_name_too_long_or_unprintable_is_said_so(make_station) -> None:
    hub = make_station("ciav", "CIAV")
    for name in ("P" * 41, "PMA\x1b[2J"):
        with pytest.raises(ValidationError) as refused:
            create_invite(hub, "pma", name, "tcp://127.0.0.1:7700")
        assert refused.value.message == (
            "Un nom de poste compte au plus 40 caractères imprimables, comme PMA-2."
        )
    with pytest.raises(ValidationError, match="doit avoir un nom"):
        create_invite(hub, "pma", "  ", "tcp://127.0.0.1:7700")
