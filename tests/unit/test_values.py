"""The check of received values (fieldkit/domain/values.py): what the services write passes,
what a hostile-input audit pushed does not."""

from __future__ import annotations

from typing import Any

import pytest

from fieldkit.domain.changes import Change
from fieldkit.domain.values import value_problem, values_problem
from fieldkit.sync import wire

# Values the services and the drill write (see the tests of services, sync and the scenario).
VALID: list[tuple[str, dict[str, Any]]] = [
    (
        "person",
        {
            "nf399": "FR075BSPP2026TR000555",
            "family_name": "Durand",
            "given_names": "Camille",
            "sex": "F",
            "birth_date": "1980-03-03",
            "apparent_age": 34,
            "phone": "+33 6 12 34 56 78",
            "address": "12 rue de la Paix\n75002 Paris",
            "nationality": "française",
            "site": "PMA Nord",
            "found_place": "Terrasse du café",
            "destination": "Pitié-Salpêtrière",
            "vehicle": "VSAV 12",
            "departure_time": "2026-12-02T18:05:00Z",
            "clinical_notes": "Plaie\tavant-bras.\r\nSuturée.",
        },
    ),
    ("person", {"family_name": "[b]x[/b]", "given_names": "[@click=app.quit]"}),  # as typed
    ("person", {"family_name": "张", "given_names": "伟", "apparent_age": "environ 40"}),
    ("person", {"family_name": None, "destination": None, "site": ""}),
    ("person", {"x_description": {"sex": "M", "apparent_age": "30-40", "clothing": "veste"}}),
    ("person", {"x_description": {"apparent_age": 35}}),
    ("person", {"_deleted": True}),
    ("person", {"_deleted": False, "replaced_by": None}),
    ("person", {"replaced_by": "nf-FR075BSPP2026TR000556"}),
    ("triage", {"person_id": "nf-1", "category": "UA", "refinement": "EU"}),
    ("triage", {"person_id": "nf-1", "category": "UR", "refinement": "U3"}),
    ("triage", {"person_id": "nf-1", "category": "IMPLIQUE", "at": "2026-12-02T18:00:00Z"}),
    ("triage", {"person_id": "nf-1", "category": "DCD", "at": "2026-12-02T19:00:00+01:00"}),
    ("triage", {"person_id": "nf-1", "refinement": "U2"}),  # projected: no category
    ("witness", {"family_name": "Martin", "left_scene": True, "recontact": False}),
    ("witness", {"recontacted_at": "2026-12-02T20:00:00Z", "person_id": "nf-1"}),
    ("death_stage", {"person_id": "nf-1", "stage": "identified", "officer": "OPJ A"}),
    ("enquiry", {"sought_age": 45, "ante_mortem": {"dents": "couronne"}, "status": "open"}),
    ("enquiry", {"sought_age": "45", "ante_mortem": ["cicatrice"], "last_time": None}),
    ("enquiry", {"ante_mortem": "tatouage à l'épaule", "reference": "CAF-1 12"}),
    ("match_candidate", {"enquiry_id": "e1", "person_id": "p1", "score": 87.5, "rank": 1}),
    ("enquiry_outcome", {"enquiry_id": "e1", "outcome": "found", "place": "HEGP"}),
    ("certificate", {"person_id": "p1", "itt_days": 3, "issued_at": "2026-12-02T18:00:00Z"}),
    ("conflict_decision", {"chosen_change": "separate", "note": None}),
]

# What the audit pushed (and a few more of the same kinds): each must be refused.
HOSTILE: list[tuple[str, dict[str, Any]]] = [
    ("person", {"family_name": "\x1b[2J\x1b]0;pwn\x07EVIL"}),
    ("person", {"family_name": "EVIL\u202e"}),
    ("person", {"family_name": "Durand\nDROP"}),
    ("person", {"nf399": "FR075\tBSPP"}),
    ("person", {"sex": 12345}),
    ("person", {"birth_date": "garbage"}),
    ("person", {"birth_date": "1999-99-99"}),
    ("person", {"apparent_age": "x" * 1000}),
    ("person", {"apparent_age": -1}),
    ("person", {"apparent_age": True}),
    ("person", {"x_description": {"clothing": "\x1b[31mred"}}),
    ("person", {"x_description": {"weapon": "knife"}}),
    ("person", {"x_description": ["red"]}),
    ("person", {"site": 3.5}),
    ("person", {"site": [1]}),
    ("person", {"destination": "=" + "A" * 60000}),
    ("person", {"family_name": 5}),
    ("person", {"family_name": "A" * 101}),
    ("person", {"given_names": 1.5}),
    ("person", {"destination": 7}),
    ("person", {"_deleted": 1}),
    ("person", {"_deleted": None}),
    ("person", {"replaced_by": ""}),
    ("person", {"replaced_by": 7}),
    ("triage", {"person_id": "nf-X", "category": "ZZZ"}),
    ("triage", {"person_id": "nf-X", "category": None}),
    ("triage", {"person_id": "nf-X", "category": "UA", "at": 123}),
    ("triage", {"person_id": "nf-X", "category": "UA", "at": "12:00"}),
    ("triage", {"person_id": "nf-X", "category": "UA", "at": "0001-01-01T00:00:00"}),
    ("triage", {"person_id": "", "category": "UA"}),
    ("triage", {"person_id": "   ", "category": "UA"}),
    ("triage", {"person_id": 3, "category": "UA"}),
    ("triage", {"person_id": "p" * 129, "category": "UA"}),
    ("triage", {"person_id": "nf-X", "category": "UA", "refinement": "U3"}),
    ("triage", {"person_id": "nf-X", "category": "DCD", "refinement": "EU"}),
    ("triage", {"person_id": "nf-X", "category": "UA", "refinement": 9}),
    ("witness", {"left_scene": "yes"}),
    ("death_stage", {"person_id": "nf-X", "stage": "buried"}),
    ("match_candidate", {"score": float("nan")}),
    ("enquiry", {"ante_mortem": {"k": "\x00"}}),
]


@pytest.mark.parametrize(("entity", "values"), VALID)
def test_what_the_services_write_passes(entity: str, values: dict[str, Any]) -> None:
    assert values_problem(entity, values) is None
    assert wire.invalid_reason(Change("o", 1, 1, entity, "id-1", values, "a")) is None


@pytest.mark.parametrize(("entity", "values"), HOSTILE)
def test_what_the_audit_pushed_is_refused(entity: str, values: dict[str, Any]) -> None:
    reason = values_problem(entity, values)
    assert reason is not None and reason.startswith(f"{entity}.")
    assert wire.invalid_reason(Change("o", 1, 1, entity, "id-1", values, "a")) == reason
    assert len(reason) < 200 and reason.isprintable()  # a short line for the log and the frame


def test_an_unknown_field_is_left_to_the_name_check() -> None:
    assert value_problem("person", "gun", 3) is None
    assert "unknown field" in (
        wire.invalid_reason(Change("o", 1, 1, "person", "p", {"gun": 1}, "x")) or ""
    )
