"""Acceptance (issue 5, matching) on real sockets: a DCD person counted at a PMA, an enquiry for
that person at a CAF under another spelling; the CAF learns only "an officer will speak with you"
until an OPJ records the announcement; the police station receives the candidate with reasons.

Every frame the hub sends to the CAF station is captured with the hub's tap and inspected."""

from __future__ import annotations

import time
from datetime import date

from fieldkit.services import caf as caf_service
from fieldkit.services.matching import Matcher, candidates_for
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.services.police import record_death_stage
from fieldkit.sync import wire
from fieldkit.sync.agent import Agent
from fieldkit.sync.hub import Hub
from fieldkit.sync.state import Peer
from tests.sync.conftest import enrol

DEAD_NUMBER = "FR075BSPP2026TR000123"
ALIVE_NUMBER = "FR075BSPP2026TR000124"
# What the CAF must never see about the dead person before the announcement (and after it, no
# identity either): the name as recorded, the number, the record id, the category, candidates.
NEVER_TO_CAF = (
    "Lefèvre".encode(),
    "Hélène".encode(),
    DEAD_NUMBER.encode(),
    b"nf-",
    b"DCD",
    b"match_candidate",
    b"reasons",
    b"name_swapped",
    b"identified",
    b"IML",
)


def _wait_matched(hub: Hub, timeout: float = 20.0) -> None:
    """Wait until the hub's matcher has absorbed everything applied so far."""
    deadline = time.monotonic() + timeout
    time.sleep(0.05)
    while hub.busy:
        assert time.monotonic() < deadline, "the matcher did not finish"
        time.sleep(0.02)


def test_caf_learns_only_what_it_may_while_police_gets_the_candidate(make_station) -> None:
    ciav = make_station("ciav", "CIAV")
    pma = make_station("pma", "PMA-1", site="PMA Bataclan")
    caf = make_station("caf", "CAF-1")
    police = make_station("police", "POL-1")
    frames_to_caf: list[bytes] = []

    def tap(peer: Peer | None, frame: bytes) -> None:
        if peer is not None and peer.role == "caf":
            frames_to_caf.append(frame)

    matcher = Matcher(ciav)
    hub = Hub(ciav, "tcp://127.0.0.1:*", tap=tap, after_apply=matcher.step)
    endpoint = hub.start()
    try:
        for station in (pma, caf, police):
            enrol(ciav, endpoint, station)

        # The PMA counts a dead person, identified by papers, and a living one evacuated.
        dead = count_person(
            pma,
            "rescuer",
            PersonInput(
                nf399=DEAD_NUMBER,
                category="DCD",
                family_name="Lefèvre",
                given_names="Hélène",
                sex="F",
                birth_date="1990-05-04",
                destination="IML",
            ),
        )
        count_person(
            pma,
            "rescuer",
            PersonInput(
                nf399=ALIVE_NUMBER,
                category="UR",
                family_name="Nguyễn",
                given_names="Văn Minh",
                sex="M",
                birth_date="1984-02-01",
                destination="HEGP",
            ),
        )
        assert Agent(pma).run_once(timeout=10).pushed == 4

        # The family asks at the CAF: another spelling, no accents, given and family swapped.
        sought = caf_service.record_enquiry(
            caf,
            "caf-op",
            enquirer_name="Paul Lefebvre",
            relation="brother",
            phone="+33 6 11 22 33 44",
            sought_family_name="Helene",
            sought_given_names="LEFEBVRE",
            sought_sex="F",
            sought_age=str(date.today().year - 1990),
        )
        other = caf_service.record_enquiry(
            caf,
            "caf-op",
            enquirer_name="Lan Nguyen",
            relation="wife",
            phone="+33 6 55 66 77 88",
            sought_family_name="Nguyen",
            sought_given_names="Van Minh",
            sought_sex="M",
            sought_age=date.today().year - 1984,
        )
        assert caf_service.outcome_for(caf, sought).outcome == "none"  # nothing matched yet
        Agent(caf).run_once(timeout=10)
        _wait_matched(hub)
        Agent(caf).run_once(timeout=10)
        Agent(police).run_once(timeout=10)

        # The CAF: "an officer will speak with you", and where the living one is cared for.
        told = caf_service.outcome_for(caf, sought)
        assert (told.outcome, told.place) == ("officer", None)
        assert told.text == "Un officier de police va vous parler."
        found = caf_service.outcome_for(caf, other)
        assert (found.outcome, found.place) == ("found", "HEGP")
        assert "HEGP" in found.text
        for table in ("persons", "triage_events", "death_stages", "leads", "match_candidates"):
            assert caf.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
        _check_frames(frames_to_caf, caf.station_id, expect_outcomes=2)

        # The police station receives the candidates, with their reasons.
        candidates = candidates_for(police, sought)
        assert [c.person_id for c in candidates][:1] == [dead.person_id]
        best = candidates[0]
        assert best.rank == 1 and best.score >= 88
        assert best.family_name == "Lefèvre"
        assert any("inversés" in reason for reason in best.reasons)  # family/given swapped
        assert any("même sexe" in reason for reason in best.reasons)

        # The identification commission, then an OPJ who announces the death in person.
        record_death_stage(police, "opj", dead.person_id, "identified", officer="OPJ Martin")
        Agent(police).run_once(timeout=10)
        _wait_matched(hub)
        Agent(caf).run_once(timeout=10)
        assert caf_service.outcome_for(caf, sought).outcome == "officer"  # identified: unchanged
        before = len(frames_to_caf)
        record_death_stage(police, "opj", dead.person_id, "announced", officer="OPJ Martin")
        Agent(police).run_once(timeout=10)
        _wait_matched(hub)
        Agent(caf).run_once(timeout=10)
        told = caf_service.outcome_for(caf, sought)
        assert (told.outcome, told.place) == ("announced", None)
        assert "décès a été annoncé" in told.text and "officier" in told.text
        assert caf_service.outcome_for(caf, other).outcome == "found"
        _check_frames(frames_to_caf, caf.station_id, expect_outcomes=3)
        assert any(b"announced" in frame for frame in frames_to_caf[before:])
        for table in ("persons", "death_stages", "match_candidates"):
            assert caf.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    finally:
        hub.stop()


def _check_frames(frames: list[bytes], caf_id: str, *, expect_outcomes: int) -> None:
    assert frames
    outcomes = 0
    for frame in frames:
        for word in NEVER_TO_CAF:
            assert word not in frame, word
        message = wire.decode_for_station(frame)
        if isinstance(message, wire.Changes):
            for change in message.changes:
                assert change.entity in ("enquiry", "enquiry_outcome"), change.entity
                assert change.origin != caf_id
                outcomes += change.entity == "enquiry_outcome"
    assert outcomes == expect_outcomes


def test_no_station_may_push_an_outcome_or_a_candidate(make_station, start_hub) -> None:
    import pytest

    from fieldkit.errors import SyncError

    ciav = make_station("ciav", "CIAV")
    hub = start_hub(ciav)
    caf = make_station("caf", "CAF-1")
    enrol(ciav, hub.endpoint, caf)
    sought = caf_service.record_enquiry(
        caf, "op", enquirer_name="F", phone="0600000000", sought_family_name="Durand"
    )
    caf.record(
        "enquiry_outcome",
        "eo-" + sought,
        {"enquiry_id": sought, "outcome": "found", "place": "a lie"},
        "op",
    )
    with pytest.raises(SyncError):
        Agent(caf).run_once(timeout=5)
    assert ciav.db.execute("SELECT count(*) FROM enquiry_outcomes").fetchone()[0] == 0
    assert hub.rejections["invalid"] >= 1


def test_an_enquiry_recorded_on_the_hub_itself_is_matched(make_station) -> None:
    ciav = make_station("ciav", "CIAV", site="CIAV")
    count_person(
        ciav,
        "agent",
        PersonInput(category="UR", family_name="Roussel", given_names="Anaïs", destination="HEGP"),
    )
    matcher = Matcher(ciav)
    hub = Hub(ciav, "tcp://127.0.0.1:*", after_apply=matcher.step)
    hub.start()
    try:
        _wait_matched(hub)
        sought = caf_service.record_enquiry(
            ciav,
            "call-centre",
            enquirer_name="Famille",
            phone="0600000000",
            sought_family_name="ROUSSEL",
            sought_given_names="Anais",
        )
        deadline = time.monotonic() + 10
        while caf_service.outcome_for(ciav, sought).outcome == "none":
            assert time.monotonic() < deadline, "the hub never matched its own enquiry"
            time.sleep(0.1)
    finally:
        hub.stop()
    # No age was given: not enough to tell a family "found"; an officer looks at the candidate.
    assert caf_service.outcome_for(ciav, sought).outcome == "officer"
