"""The services record only what the station's role may write: what a hub would refuse in a push
(fieldkit/domain/authority.py) is refused before it is recorded, with one sentence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain.authority import write_refusal, writers
from fieldkit.domain.model import ENTITIES, HUB_WRITTEN, DataClass, Role
from fieldkit.errors import FieldkitError, PermissionDenied
from fieldkit.services import caf, exchange, persons, police, pump
from fieldkit.services.persons import PersonInput
from fieldkit.store.store import Store

DEAD = "FR075BSPP2026TR000001"
X = "FR075BSPP2026TR000002"
OTHER = "FR075BSPP2026TR000003"


def test_the_table_keeps_the_domain_rules() -> None:
    # A death stage is recorded by the police role only (an OPJ announces a death).
    assert writers("death_stage") == {"police"}
    # Witnesses and leads are police records (the CIAV only settles their conflicts).
    assert writers("witness") == writers("lead") == {"police", "ciav"}
    # The CAF records family enquiries and nothing else.
    assert {e for e in ENTITIES if "caf" in writers(e)} == {"enquiry"}
    # Clinical data is written where it is read: the PMA and the PUMP.
    for entity, spec in ENTITIES.items():
        for name, data_class in spec.fields.items():
            allowed = {r.value for r in Role if write_refusal(r, entity, [name]) is None}
            if data_class is DataClass.CLINICAL:
                assert allowed <= {"pma", "pump"}, (entity, name)
    # The first declaration and certificates are the PUMP's.
    assert writers("declaration") == writers("certificate") == writers("care") == {"pump"}
    # What the hub's matcher writes, no station's role may write.
    for entity in HUB_WRITTEN:
        assert writers(entity) == frozenset()
    assert writers("conflict_decision") == {"ciav"}
    # A certificate issuer's signing key is published by the PUMP (its own key only: the hub
    # checks the id against the origin, tests/sync/test_station_keys.py).
    assert writers("station_key") == {"pump"}


def _seeded(make_station: Callable[..., Any], role: str) -> Store:
    """A station of ``role`` holding three persons another station counted."""
    source = make_station("ciav", "SOURCE")
    for number, category, name in ((DEAD, "DCD", "Dupont"), (X, "UA", None), (OTHER, "UR", None)):
        persons.count_person(
            source, "op", PersonInput(nf399=number, category=category, family_name=name)
        )
    store = make_station(role, role.upper() + "-1")
    store.apply(source.all_changes())
    return store


def _every_use_case(store: Store, tmp_path: Path) -> list[str]:
    """Run each use case that writes; returns the names of those that refused the role."""
    refused: list[str] = []
    dead, x, other = (f"nf-{n}" for n in (DEAD, X, OTHER))
    jsonl = tmp_path / "import.jsonl"
    jsonl.write_text('{"type": "person", "nf399": "FR075BSPP2026TR000009", "category": "UR"}\n')
    cases: list[tuple[str, Callable[[], object]]] = [
        ("count", lambda: persons.count_person(store, "op", PersonInput(category="UA"))),
        ("retriage", lambda: persons.retriage(store, "op", other, "UA")),
        (
            "update",
            lambda: persons.update_person(
                store, "op", other, PersonInput(family_name="Martin", destination="HEGP")
            ),
        ),
        ("mark_x", lambda: persons.mark_x(store, "op", x, {"clothing": "jean"})),
        ("merge", lambda: persons.merge_duplicate(store, "op", other, dead)),
        ("undo_merge", lambda: persons.undo_merge(store, "op", other)),
        ("delete", lambda: persons.delete_person(store, "op", other)),
        ("import", lambda: exchange.import_jsonl(store, "op", jsonl)),
        ("register", lambda: pump.register_person(store, "psy", PersonInput(family_name="Ba"))),
        ("declaration", lambda: pump.record_declaration(store, "psy", dead, "Au bar.", "Dr A")),
        ("care", lambda: pump.record_care(store, "psy", dead, "defusing", notes="anxieux")),
        (
            "witness",
            lambda: police.add_witness(
                store,
                "opj",
                police.WitnessInput(family_name="Vu", phone="+33600000000", where="ici"),
            ),
        ),
        ("lead", lambda: police.add_lead(store, "opj", x, "Durand", "portefeuille")),
        ("stage", lambda: police.record_death_stage(store, "opj", dead, "identified", "OPJ B")),
        (
            "enquiry",
            lambda: caf.record_enquiry(
                store, "desk", enquirer_name="Roux", phone="+33611111111", sought_family_name="R"
            ),
        ),
    ]
    for name, case in cases:
        try:
            case()
        except PermissionDenied as exc:
            assert exc.message and "." in exc.message
            refused.append(name)
        except FieldkitError:
            pass  # refused for another reason: nothing recorded either
    return refused


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_no_use_case_records_what_a_hub_would_refuse_from_this_role(
    make_station, tmp_path: Path, role: str
) -> None:
    store = _seeded(make_station, role)
    refused = _every_use_case(store, tmp_path)
    own = [c for c in store.all_changes() if c.origin == store.station_id]
    assert own, "every role records something"
    for change in own:
        assert write_refusal(role, change.entity, change.values) is None, (
            change.entity,
            dict(change.values),
        )
    if role == "caf":
        assert {"update", "retriage", "mark_x", "merge", "delete", "import"} <= set(refused)
