"""The matcher on a real store: outcomes and candidates, incremental updates, writes only on change."""

from __future__ import annotations

from datetime import date

import pytest

from fieldkit.domain.changes import DELETED
from fieldkit.domain.ids import new_id
from fieldkit.domain.secrecy import project
from fieldkit.errors import NotFound, PermissionDenied, ValidationError
from fieldkit.services import caf
from fieldkit.services.matching import Matcher, candidate_id, candidates_for, outcome_id
from fieldkit.services.persons import PersonInput, count_person

AGE_1980 = date.today().year - 1980  # the age of someone born in 1980, as a family gives it


def _count(store, name: str, **extra) -> str:
    values = {"category": "UR", "sex": "M", "birth_date": "1980-03-03", "destination": "HEGP"}
    values.update(extra)
    return count_person(store, "op", PersonInput(**values, family_name=name)).person_id


def _enquire(store, family: str, given: str | None = "Karim", **extra) -> str:
    return caf.record_enquiry(
        store,
        "caf-op",
        enquirer_name="Famille",
        phone="+33 6 00 00 00 00",
        sought_family_name=family,
        sought_given_names=given,
        sought_sex="M",
        sought_age=extra.pop("sought_age", AGE_1980),
        **extra,
    )


def _outcome(store, enquiry_id: str) -> tuple[str, str | None]:
    told = caf.outcome_for(store, enquiry_id)
    return told.outcome, told.place


def test_outcomes_follow_triage_death_stages_and_edits(make_station) -> None:
    hub = make_station("ciav", "CIAV", site="PMA Nord")
    alive = count_person(
        hub,
        "op",
        PersonInput(
            nf399="FR075BSPP2026TR000001",
            category="UR",
            family_name="Benali",
            given_names="Karim",
            sex="M",
            birth_date="1980-03-03",
        ),
    ).person_id
    enquiry = _enquire(hub, "Ben Ali", "Kareem")
    nobody = _enquire(hub, "Tchaikovsky", "Piotr")
    matcher = Matcher(hub)
    matcher.run_until_idle()
    # No destination yet: found at the station's site.
    assert _outcome(hub, enquiry) == ("found", "PMA Nord")
    assert _outcome(hub, nobody) == ("none", None)
    assert [c.person_id for c in candidates_for(hub, enquiry)] == [alive]

    written = matcher.written
    matcher.run_until_idle()
    assert matcher.written == written  # nothing changed, nothing written

    hub.record("person", alive, {"destination": "Hôpital Lariboisière"}, "op")
    matcher.run_until_idle()
    assert _outcome(hub, enquiry) == ("found", "Hôpital Lariboisière")

    hub.record("triage", new_id(), {"person_id": alive, "category": "DCD"}, "op")
    matcher.run_until_idle()
    assert _outcome(hub, enquiry) == ("officer", None)  # never "found" once DCD, never "dead"

    hub.record("death_stage", new_id(), {"person_id": alive, "stage": "announced"}, "opj")
    matcher.run_until_idle()
    assert _outcome(hub, enquiry) == ("announced", None)

    # A closed enquiry is left as it is.
    scored = [c.score for c in candidates_for(hub, enquiry)]
    caf.update_enquiry(hub, "op", enquiry, status="closed")
    hub.record("person", alive, {"given_names": "Karim Abdelkader"}, "op")
    matcher.run_until_idle()
    assert _outcome(hub, enquiry) == ("announced", None)
    assert [c.score for c in candidates_for(hub, enquiry)] == scored
    caf.update_enquiry(hub, "op", enquiry, status="open")

    # The record is deleted (a duplicate, say): the candidate goes, the outcome with it.
    hub.record("person", alive, {DELETED: True}, "op")
    matcher.run_until_idle()
    assert candidates_for(hub, enquiry) == []
    assert _outcome(hub, enquiry) == ("none", None)
    row = hub.db.execute(
        "SELECT deleted FROM match_candidates WHERE id = ?", [candidate_id(enquiry, alive)]
    ).fetchone()
    assert row == (1,)


def test_a_person_counted_later_reaches_an_earlier_enquiry(make_station) -> None:
    hub = make_station("ciav", "CIAV")
    low = date.today().year - 1986
    enquiry = _enquire(hub, "Kouznetsov", "Dmitri", sought_age=f"{low}-{low + 5}")
    matcher = Matcher(hub)
    matcher.run_until_idle()
    assert _outcome(hub, enquiry) == ("none", None)
    # Namesakes and strangers first: none of them may be taken for him.
    _count(hub, "Kuznetsov", given_names="Dmitry", birth_date="1950-01-01")
    _count(hub, "Dupont", given_names="Jean")
    matcher.run_until_idle()
    assert _outcome(hub, enquiry)[0] == "none"
    him = _count(hub, "Кузнецов", given_names="Дмитрий", birth_date="1983-06-01")
    matcher.run_until_idle()
    assert _outcome(hub, enquiry) == ("found", "HEGP")
    assert candidates_for(hub, enquiry)[0].person_id == him


def test_an_x_person_with_a_lead_gets_an_officer(make_station) -> None:
    hub = make_station("ciav", "CIAV")
    x = count_person(
        hub, "op", PersonInput(category="UA", sex="F", x_description={"clothing": "red coat"})
    ).person_id
    enquiry = caf.record_enquiry(
        hub,
        "caf-op",
        enquirer_name="Famille",
        phone="0600000000",
        sought_family_name="Morel",
        sought_given_names="Agnès",
        sought_sex="F",
        sought_age=30,
        clothing="a red coat",
    )
    matcher = Matcher(hub)
    matcher.run_until_idle()
    assert _outcome(hub, enquiry) == ("none", None)
    hub.record(
        "lead",
        new_id(),
        {"person_id": x, "possible_identity": "Agnès Morel", "source": "bag", "status": "open"},
        "opj",
    )
    matcher.run_until_idle()
    assert _outcome(hub, enquiry) == ("officer", None)
    best = candidates_for(hub, enquiry)[0]
    assert best.person_id == x
    assert any("piste" in reason for reason in best.reasons)


def test_close_namesakes_are_left_to_an_officer(make_station) -> None:
    hub = make_station("ciav", "CIAV")
    _count(hub, "Martin", given_names="Jean", birth_date="1980-01-01")
    _count(hub, "Martin", given_names="Jean", birth_date="1981-01-01")
    enquiry = _enquire(hub, "Martin", "Jean", sought_age=AGE_1980)
    Matcher(hub).run_until_idle()
    assert _outcome(hub, enquiry) == ("officer", None)


def test_the_caf_may_read_outcomes_and_nothing_new_else() -> None:
    from fieldkit.domain.changes import Change

    outcome = Change("hub", 1, 5, "enquiry_outcome", "eo-1", {"outcome": "officer"}, "matcher")
    candidate = Change(
        "hub", 2, 6, "match_candidate", "mc-1", {"person_id": "nf-1", "score": 99.0}, "matcher"
    )
    assert project(outcome, "caf", "caf1") == outcome
    for role in ("police", "ciav"):
        assert project(outcome, role, "x") == outcome
        assert project(candidate, role, "x") == candidate
    for role in ("caf", "pma", "pump"):
        assert project(candidate, role, "x") is None
    for role in ("pma", "pump"):
        assert project(outcome, role, "x") is None
    assert outcome_id("e1") == "eo-e1"


def test_record_enquiry_validates_with_clear_errors(make_station) -> None:
    station = make_station("caf", "CAF-1")
    good = {"enquirer_name": "Famille", "phone": "0600000000", "sought_family_name": "Durand"}
    enquiry = caf.record_enquiry(station, "op", **good)
    assert caf.outcome_for(station, enquiry).text == "Pas encore d'information."
    listed = caf.enquiries(station)
    assert [(e["id"], e["outcome"]) for e in listed] == [(enquiry, "none")]
    bad_cases = [
        ({**good, "colour": "x"}, "colour"),
        ({**good, "enquirer_name": None}, "enquirer_name"),
        ({"enquirer_name": "F", "sought_family_name": "D"}, "phone"),
        ({"enquirer_name": "F", "phone": "0600000000"}, "sought_family_name"),
        ({**good, "sought_family_name": "D" * 101}, "sought_family_name"),
        ({**good, "description": "x" * 1001}, "description"),
        ({**good, "sought_age": "old"}, "sought_age"),
        ({**good, "sought_age": 130}, "sought_age"),
        ({**good, "sought_sex": "Z"}, "sought_sex"),
        ({**good, "phone": "call me"}, "phone"),
        ({**good, "sought_given_names": "Jean\u202eX"}, "sought_given_names"),
        ({**good, "ante_mortem": {"tattoos": "x" * 5001}}, "ante_mortem"),
        ({**good, "ante_mortem": ["a list"]}, "ante_mortem"),
        ({**good, "last_time": "2999-01-01 10:00"}, "last_time"),
        ({**good, "relation": 3}, "relation"),
    ]
    for fields, field in bad_cases:
        with pytest.raises(ValidationError) as caught:
            caf.record_enquiry(station, "op", **fields)
        assert caught.value.field == field, fields
        assert caught.value.message.endswith("."), caught.value.message
    kept = caf.record_enquiry(
        station,
        "op",
        **good,
        sought_age="30-35",
        ante_mortem={"tattoos": "rose, left arm", "dentist": "Dr Roy"},
        last_time="10:00",
    )
    row = station.db.execute("SELECT sought_age, ante_mortem FROM enquiries WHERE id = ?", [kept])
    age, details = row.fetchone()
    assert age == "30-35" and "rose" in details
    assert len(caf.enquiries(station)) == 2


def test_roles_that_may_not_touch_enquiries(make_station) -> None:
    pma = make_station("pma", "PMA-1")
    with pytest.raises(PermissionDenied):
        caf.record_enquiry(pma, "op", enquirer_name="F", phone="0600000000")
    with pytest.raises(PermissionDenied):
        caf.outcome_for(pma, "e1")
    station = make_station("caf", "CAF-1")
    with pytest.raises(NotFound):
        caf.outcome_for(station, "missing")
    with pytest.raises(PermissionDenied):
        candidates_for(station, "e1")


def test_a_failed_write_makes_the_matcher_read_the_store_again(make_station, monkeypatch) -> None:
    hub = make_station("ciav", "CIAV")
    _count(hub, "Petit", given_names="Karim")
    enquiry = _enquire(hub, "Petit", "Karim")
    matcher = Matcher(hub)
    real = hub.record_many
    calls = {"n": 0}

    def failing_once(writes, author):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk full")
        return real(writes, author)

    monkeypatch.setattr(hub, "record_many", failing_once)
    with pytest.raises(OSError):
        matcher.run_until_idle()
    assert not matcher.ready
    matcher.run_until_idle()
    assert _outcome(hub, enquiry) == ("found", "HEGP")


def test_update_enquiry_writes_only_what_changes(make_station) -> None:
    station = make_station("caf", "CAF-1")
    enquiry = caf.record_enquiry(
        station,
        "op",
        enquirer_name="Famille",
        phone="0600000000",
        sought_family_name="Durand",
        ante_mortem={"tattoos": "rose"},
    )
    before = station.local_change_count()
    assert caf.update_enquiry(station, "op", enquiry, sought_family_name="Durand") == []
    assert caf.update_enquiry(station, "op", enquiry, ante_mortem={"tattoos": "rose"}) == []
    assert station.local_change_count() == before
    changed = caf.update_enquiry(
        station, "op", enquiry, sought_given_names="Léa", sought_age="20-25", status="closed"
    )
    assert changed == ["sought_age", "sought_given_names", "status"]
    row = station.db.execute(
        "SELECT sought_given_names, status FROM enquiries WHERE id = ?", [enquiry]
    ).fetchone()
    assert row == ("Léa", "closed")
    with pytest.raises(ValidationError) as caught:
        caf.update_enquiry(station, "op", enquiry, phone=None)  # no way to call them back
    assert caught.value.field == "phone"
    with pytest.raises(ValidationError):
        caf.update_enquiry(station, "op", enquiry, status="lost")
    with pytest.raises(NotFound):
        caf.update_enquiry(station, "op", "missing", relation="son")


def test_a_better_candidate_arriving_does_not_rewrite_the_others(make_station) -> None:
    hub = make_station("ciav", "CIAV")
    weaker = _count(hub, "Benalli")  # a spelling away from the name sought
    enquiry = _enquire(hub, "Benali")
    matcher = Matcher(hub)
    matcher.run_until_idle()
    first = candidates_for(hub, enquiry)
    assert [c.person_id for c in first] == [weaker] and first[0].rank == 1

    def writes_of(person_id: str) -> int:
        key = candidate_id(enquiry, person_id)
        return sum(1 for c in hub.all_changes() if c.entity_id == key)

    before = writes_of(weaker)
    better = _count(hub, "Benali")  # the exact name: goes first, pushing the other down
    matcher.run_until_idle()
    ranked = candidates_for(hub, enquiry)
    assert [c.person_id for c in ranked[:2]] == [better, weaker]
    assert [c.rank for c in ranked[:2]] == [1, 2]  # ranked by score when read
    assert writes_of(weaker) == before  # its score did not change: nothing sent again


def test_a_status_change_decides_the_outcome_again_without_a_search(make_station) -> None:
    hub = make_station("ciav", "CIAV", site="PMA Nord")
    person = _count(hub, "Benali", given_names="Karim", destination=None)
    enquiry = _enquire(hub, "Benali")
    matcher = Matcher(hub)
    matcher.run_until_idle()
    assert _outcome(hub, enquiry) == ("found", "PMA Nord")
    searched = matcher.rematched

    # An evacuation and a re-triage: the candidates stand, only the outcome moves.
    hub.record("person", person, {"destination": "HEGP", "vehicle": "VSAV 12"}, "op")
    matcher.run_until_idle()
    assert _outcome(hub, enquiry) == ("found", "HEGP")
    hub.record("triage", new_id(), {"person_id": person, "category": "DCD"}, "op")
    matcher.run_until_idle()
    assert _outcome(hub, enquiry) == ("officer", None)
    assert matcher.rematched == searched  # no search for either
    assert matcher.rechecked >= 2

    # A change to what a search looks at (the name) does search again.
    hub.record("person", person, {"given_names": "Karima"}, "op")
    matcher.run_until_idle()
    assert matcher.rematched > searched
    assert [c.person_id for c in candidates_for(hub, enquiry)] == [person]


def test_a_newcomer_is_merged_into_the_candidates_without_a_search(make_station) -> None:
    hub = make_station("ciav", "CIAV")
    enquiry = _enquire(hub, "Benali")
    weak = _count(hub, "Benalli")
    matcher = Matcher(hub)
    matcher.run_until_idle()
    searched = matcher.rematched
    strong = _count(hub, "Benali", given_names="Karim")
    matcher.run_until_idle()
    assert matcher.rematched == searched and matcher.merged == 1
    assert [c.person_id for c in candidates_for(hub, enquiry)] == [strong, weak]
    assert _outcome(hub, enquiry) == ("found", "HEGP")
    # The same store read by a new matcher, which searches everything once, agrees.
    fresh = Matcher(hub)
    fresh.run_until_idle()
    assert [c.person_id for c in fresh.candidates(enquiry)] == [strong, weak]


def test_an_enquiry_closed_and_reopened_is_searched_only_on_reopening(make_station) -> None:
    hub = make_station("ciav", "CIAV")
    enquiry = _enquire(hub, "Benali")
    _count(hub, "Benali", given_names="Karim")
    matcher = Matcher(hub)
    matcher.run_until_idle()
    searched = matcher.rematched
    caf.update_enquiry(hub, "op", enquiry, phone="+33 6 11 11 11 11")  # nothing a search reads
    matcher.run_until_idle()
    assert matcher.rematched == searched
    caf.update_enquiry(hub, "op", enquiry, status="closed")
    matcher.run_until_idle()
    assert matcher.rematched == searched
    caf.update_enquiry(hub, "op", enquiry, status="open")
    matcher.run_until_idle()
    assert matcher.rematched == searched + 1
    caf.update_enquiry(hub, "op", enquiry, sought_given_names="Karima")  # this one is read
    matcher.run_until_idle()
    assert matcher.rematched == searched + 2


def test_an_offer_is_taken_only_while_the_person_is_as_it_was_scored() -> None:
    from fieldkit.domain.matching import Candidate, name_profile, person_facts
    from fieldkit.services.matching import _merged

    held = [Candidate("p1", 80.0, (), rank=1), Candidate("p2", 70.0, (), rank=2)]
    kept = person_facts("p3", {"family_name": "Benali"})
    gone = person_facts("p4", {"family_name": "Benali"})
    edited = person_facts("p5", {"family_name": "Benali"})
    persons = {"p3": kept, "p5": person_facts("p5", {"family_name": "Dupont"})}
    offers = [
        (kept, Candidate("p3", 75.0, ())),
        (gone, Candidate("p4", 90.0, ())),  # deleted since: not in the index
        (edited, Candidate("p5", 95.0, ())),  # renamed since: scored on old facts
    ]
    merged = _merged(held, offers, persons)
    assert [(c.person_id, c.rank) for c in merged] == [("p1", 1), ("p3", 2), ("p2", 3)]
    assert name_profile("Benali", None) == kept.name


def test_a_step_works_off_what_waits_before_reading_the_whole_log(make_station) -> None:
    hub = make_station("ciav", "CIAV")
    enquiries = [_enquire(hub, name) for name in ("Benali", "Martin", "Petit")]
    matcher = Matcher(hub)
    while not matcher.ready:
        matcher.step()
    for i in range(400):  # more log than one step reads
        _count(hub, ("Benali", "Martin", "Petit")[i % 3], given_names=f"Karim{i}")
    written = matcher.written
    matcher.step(budget=0.0)  # the smallest step: one slice of log, one piece of work
    assert matcher.written > written
    assert (
        matcher.pending
        or matcher.cursor < hub.db.execute("SELECT max(id) FROM changes").fetchone()[0]
    )
    matcher.run_until_idle()
    assert all(candidates_for(hub, e) for e in enquiries)


def test_a_hub_matcher_hands_what_it_loaded_to_the_permanent_generation(make_station) -> None:
    import gc

    hub = make_station("ciav", "CIAV")
    _count(hub, "Benali")
    gc.unfreeze()
    matcher = Matcher(hub, freeze_when_loaded=True)
    try:
        while not matcher.ready:
            assert gc.get_freeze_count() == 0  # not before every person is in
            matcher.step()
        assert gc.get_freeze_count() > 0
        assert len(matcher.index) == 1
    finally:
        gc.unfreeze()
