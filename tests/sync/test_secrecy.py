"""The role filter: for any change, no role ever receives a field its data class forbids."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fieldkit.domain.changes import DELETED, LIFECYCLE_FIELDS, REPLACED_BY, Change
from fieldkit.domain.model import ENTITIES, Role
from fieldkit.domain.secrecy import project

RECEIVER = "receiver00000001"
PERSON_TRIAGE = {"site", "found_place", "destination", "vehicle", "departure_time"}
CLINICAL = {("person", "clinical_notes")} | {("care", f) for f in ENTITIES["care"].fields}


def _all(entity: str) -> set[tuple[str, str]]:
    return {(entity, f) for f in ENTITIES[entity].fields}


# The secrecy table of DOMAIN.md written out by hand, independently of the code under test:
# which (entity, field) pairs each role may receive from another station.
# Station keys (the public half of a PUMP's certificate signing key) are not a person's data:
# every role receives them, so a certificate verifies offline anywhere (the CAF included).
EVERYTHING = {pair for entity in ENTITIES for pair in _all(entity)}
STATION_KEYS = _all("station_key")
ALLOWED: dict[Role, set[tuple[str, str]]] = {
    Role.PMA: {("person", f) for f in PERSON_TRIAGE} | _all("triage") | STATION_KEYS,
    Role.PUMP: {("triage", "person_id"), ("triage", "category"), ("triage", "at")}
    | _all("declaration")
    | _all("certificate")
    | STATION_KEYS,
    Role.POLICE: EVERYTHING - CLINICAL - _all("conflict_decision"),
    Role.CAF: _all("enquiry") | _all("enquiry_outcome") | STATION_KEYS,
    Role.CIAV: EVERYTHING - CLINICAL - {("declaration", "text")},
}
FORBIDDEN_CAF_ENTITIES = {
    "person",
    "triage",
    "care",
    "declaration",
    "certificate",
    "witness",
    "lead",
    "death_stage",
    "conflict_decision",
}


def may(role: Role, entity: str, field: str) -> bool:
    if field in LIFECYCLE_FIELDS:
        return any(e == entity for e, _ in ALLOWED[role])
    return (entity, field) in ALLOWED[role]


values_st = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=5),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)


@st.composite
def changes(draw: st.DrawFn) -> Change:
    entity = draw(st.sampled_from(sorted(ENTITIES)))
    names = sorted(ENTITIES[entity].fields) + [DELETED, REPLACED_BY]
    fields = draw(st.lists(st.sampled_from(names), min_size=1, max_size=6, unique=True))
    base_fields = draw(st.lists(st.sampled_from(names), max_size=4, unique=True))
    origin = draw(st.sampled_from([RECEIVER, "other0000000001", "other0000000002"]))
    return Change(
        origin,
        draw(st.integers(1, 10**6)),
        draw(st.integers(0, 2**62)),
        entity,
        draw(st.text(min_size=1, max_size=10)),
        {f: draw(values_st) for f in fields},
        "author",
        {f: [f"x:{i}"] for i, f in enumerate(base_fields)},
    )


@settings(max_examples=300, deadline=None)
@given(change=changes(), role=st.sampled_from(list(Role)))
def test_no_role_receives_a_forbidden_field(change: Change, role: Role) -> None:
    got = project(change, role, RECEIVER)
    readable = {f for f in change.values if may(role, change.entity, f)}
    if change.origin == RECEIVER or not readable:
        assert got is None
        return
    assert got is not None
    assert set(got.values) == readable  # everything allowed, nothing else
    assert all(got.values[f] == change.values[f] for f in readable)
    assert set(got.base) <= {f for f in change.base if may(role, change.entity, f)}
    assert (got.origin, got.seq, got.hlc, got.entity_id) == (
        change.origin,
        change.seq,
        change.hlc,
        change.entity_id,
    )
    if role is Role.CAF:  # enquiries, their outcome, and the stations' public keys only
        assert got.entity in ("enquiry", "enquiry_outcome", "station_key")


def test_examples() -> None:
    person = Change(
        "o1",
        1,
        5,
        "person",
        "nf-1",
        {"family_name": "Dupont", "destination": "HEGP", "clinical_notes": "x"},
        "a",
        {"family_name": ["o1:0"]},
    )
    assert project(person, "pma", "me") == Change(
        "o1", 1, 5, "person", "nf-1", {"destination": "HEGP"}, "a", {}
    )
    assert project(person, "police", "me").values == {
        "family_name": "Dupont",
        "destination": "HEGP",
    }  # type: ignore[union-attr]
    assert project(person, "caf", "me") is None
    assert project(person, "pump", "me") is None
    assert project(person, "ciav", "o1") is None  # never its own changes back
    triage = Change(
        "o1",
        2,
        6,
        "triage",
        "t1",
        {"person_id": "nf-1", "category": "DCD", "refinement": None},
        "a",
    )
    assert project(triage, "pump", "me").values == {"person_id": "nf-1", "category": "DCD"}  # type: ignore[union-attr]
    assert project(triage, "caf", "me") is None
    declaration = Change(
        "o1",
        3,
        7,
        "declaration",
        "d1",
        {"person_id": "p", "text": "I was at the bar", "clinician": "Dr X"},
        "a",
    )
    assert project(declaration, "ciav", "me").values == {"person_id": "p", "clinician": "Dr X"}  # type: ignore[union-attr]
    assert project(declaration, "pump", "me") == declaration
    assert project(declaration, "pma", "me") is None
    stage = Change("o1", 4, 8, "death_stage", "s1", {"person_id": "p", "stage": "announced"}, "a")
    assert project(stage, "caf", "me") is None
    assert project(stage, "police", "me") == stage
    enquiry = Change("o1", 5, 9, "enquiry", "e1", {"sought_family_name": "Dupont"}, "a")
    assert project(enquiry, "caf", "me") == enquiry
    delete = Change(
        "o1",
        6,
        10,
        "person",
        "nf-1",
        {DELETED: True},
        "a",
        {"family_name": ["o1:1"], "site": ["o1:1"]},
    )
    assert project(delete, "pma", "me") == Change(
        "o1", 6, 10, "person", "nf-1", {DELETED: True}, "a", {"site": ["o1:1"]}
    )
    assert project(delete, "caf", "me") is None
    for entity in FORBIDDEN_CAF_ENTITIES:
        field = next(iter(ENTITIES[entity].fields))
        assert project(Change("o1", 7, 11, entity, "x", {field: "v"}, "a"), "caf", "me") is None
