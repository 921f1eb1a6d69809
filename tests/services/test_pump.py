"""PUMP services: persons seen with or without a number, signed first declarations, care."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from fieldkit.errors import NotFound, PermissionDenied, ValidationError
from fieldkit.i18n import set_language
from fieldkit.services import certificates
from fieldkit.services import pump as svc
from fieldkit.services.persons import PersonInput
from fieldkit.store import queries
from fieldkit.store.store import Store

NUMBER = "FR075BSPP2026TR000123"


def test_register_without_a_number(pump: Store):
    result = pump_register(pump, family_name="Benali", given_names="Yasmine")
    assert result.created and not result.person_id.startswith("nf-")
    row = queries.person(pump.db, result.person_id)
    assert row is not None
    assert (row["family_name"], row["nf399"], row["site"]) == ("Benali", None, "PUMP-1")
    assert row["category"] is None  # the PUMP does not triage


def test_register_with_a_number_twice_opens_the_same_person(pump: Store):
    first = pump_register(pump, nf399=NUMBER)
    again = pump_register(pump, nf399=f"  {NUMBER}\n", family_name="Martin")
    assert first.person_id == again.person_id == f"nf-{NUMBER}"
    assert first.created and not again.created
    row = queries.person(pump.db, first.person_id)
    assert row is not None and row["family_name"] == "Martin"
    assert queries.count_persons(pump.db) == 1


def test_registering_a_known_bracelet_never_overwrites_another_identity(pump: Store):
    first = pump_register(pump, nf399=NUMBER, family_name="Martin", given_names="Claire", sex="F")
    with pytest.raises(ValidationError) as refused:
        pump_register(pump, nf399=NUMBER, family_name="Dupont", given_names="Jean", sex="M")
    assert refused.value.message == (
        f"Le numéro de victime {NUMBER} est le bracelet de MARTIN Claire, enregistré sous une autre"
        " identité : vérifiez le bracelet ; pour corriger l'identité de cette personne, ouvrez sa"
        " fiche."
    )
    assert refused.value.field == "family_name"
    row = queries.person(pump.db, first.person_id)
    assert row is not None
    assert (row["family_name"], row["given_names"], row["sex"]) == ("Martin", "Claire", "F")
    # the same identity, with what was still missing: added, nothing else touched
    again = pump_register(pump, nf399=NUMBER, family_name="Martin", phone="+33 6 12 34 56 78")
    assert again.person_id == first.person_id and not again.created
    row = queries.person(pump.db, first.person_id)
    assert row is not None and (row["given_names"], row["phone"]) == ("Claire", "+33 6 12 34 56 78")


def test_register_with_a_category_records_the_triage(pump: Store):
    result = pump_register(pump, nf399=NUMBER, category="impliqué")
    assert queries.triage_history(pump.db, result.person_id)[0]["category"] == "IMPLIQUE"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"family_name": "X pouvant être Dupont"}, "supposition"),
        ({"given_names": "Jean\x1b[2J"}, "contrôle"),
        ({"nf399": "FR075"}, "numéro"),
        ({"birth_date": "2999-01-01"}, "futur"),
    ],
)
def test_register_refusals(pump: Store, fields: dict[str, str], message: str):
    with pytest.raises(ValidationError) as err:
        pump_register(pump, **fields)
    assert message in err.value.message.lower()
    assert queries.count_persons(pump.db) == 0


@pytest.mark.parametrize("role", ["pma", "police", "caf", "ciav"])
def test_only_the_pump_registers_declares_and_cares(make_station: Callable[..., Any], role: str):
    store = make_station(role=role, name=f"{role}-1")
    with pytest.raises(PermissionDenied, match="Seul un poste PUMP"):
        pump_register(store, family_name="Martin")
    with pytest.raises(PermissionDenied, match="Seul un poste PUMP"):
        svc.record_declaration(store, "dr", "nf-x", "Terrasse", "Dr Martin")
    with pytest.raises(PermissionDenied, match="Seul un poste PUMP"):
        svc.record_care(store, "dr", "nf-x", "Écoute")


def pump_register(store: Store, **fields: Any) -> svc.RegisterResult:
    return svc.register_person(store, "dr-martin", PersonInput(**fields))


# --- first declaration -------------------------------------------------------------------------


def test_declaration_is_signed_timestamped_and_verifies(pump: Store):
    person_id = pump_register(pump, nf399=NUMBER).person_id
    words = "J'étais en terrasse, à 5 m de l'entrée. [b]Le bruit[/b]\nPuis j'ai couru."
    at = datetime(2026, 7, 14, 22, 41, 5, tzinfo=UTC)
    result = svc.record_declaration(pump, "dr-martin", person_id, words, "Dr Martin", now=at)
    assert result.signed_at == "2026-07-14T22:41:05Z"
    [row] = svc.declarations(pump, person_id)
    assert row["text"] == words and row["clinician"] == "Dr Martin"
    assert row["signature"] == result.signature
    assert row["signature"].startswith(pump.station_id + ":")
    assert certificates.verify_declaration(row, certificates.known_signers(pump)).valid
    assert certificates.declaration_hash(row).hex() == result.declaration_hash


def test_a_second_declaration_is_refused_and_the_first_stays(pump: Store):
    person_id = pump_register(pump, family_name="Martin").person_id
    svc.record_declaration(pump, "dr", person_id, "Terrasse du café", "Dr Martin")
    with pytest.raises(ValidationError, match="a déjà une première déclaration"):
        svc.record_declaration(pump, "dr", person_id, "Dans la salle", "Dr Martin")
    assert [r["text"] for r in svc.declarations(pump, person_id)] == ["Terrasse du café"]


def test_an_altered_declaration_no_longer_verifies(pump: Store, make_station: Callable[..., Any]):
    person_id = pump_register(pump, nf399=NUMBER).person_id
    svc.record_declaration(pump, "dr", person_id, "Sur le trottoir d'en face", "Dr Martin")
    [row] = svc.declarations(pump, person_id)
    signers = certificates.known_signers(pump)
    forged = {**row, "text": "Devant l'entrée"}
    check = certificates.verify_declaration(forged, signers)
    assert not check.valid and "modifiée" in check.reason
    other = make_station(role="pump", name="PUMP-2")
    unknown = certificates.verify_declaration(row, certificates.known_signers(other))
    assert not unknown.valid and pump.station_id in unknown.reason
    assert not certificates.verify_declaration({**row, "signature": None}, signers).valid


@pytest.mark.parametrize(
    ("text", "clinician", "message"),
    [
        ("  ", "Dr Martin", "Écrivez la déclaration"),
        ("Terrasse", " ", "nom du soignant"),
        ("Terr\x00asse", "Dr Martin", "contrôle"),
        ("x" * 5001, "Dr Martin", "trop long"),
        ("Terrasse\u202e", "Dr Martin", "invisible"),
    ],
)
def test_declaration_refusals(pump: Store, text: str, clinician: str, message: str):
    person_id = pump_register(pump, nf399=NUMBER).person_id
    with pytest.raises(ValidationError, match=message):
        svc.record_declaration(pump, "dr", person_id, text, clinician)
    assert svc.declarations(pump, person_id) == []


def test_declaration_for_an_unknown_person(pump: Store):
    with pytest.raises(NotFound):
        svc.record_declaration(pump, "dr", "nf-nobody", "Terrasse", "Dr Martin")


def test_declaration_message_in_english(pump: Store):
    set_language("en")
    person_id = pump_register(pump, nf399=NUMBER).person_id
    with pytest.raises(ValidationError, match="in their own words"):
        svc.record_declaration(pump, "dr", person_id, "", "Dr Martin")


# --- care --------------------------------------------------------------------------------------


def test_care_events_are_kept_in_order(pump: Store):
    person_id = pump_register(pump, nf399=NUMBER).person_id
    svc.record_care(pump, "dr", person_id, "Écoute, mise à l'abri", None)
    svc.record_care(pump, "ide", person_id, None, "CMP de secteur", notes="Revoir J+2")
    rows = svc.care_history(pump, person_id)
    assert [(r["care_given"], r["orientation"], r["author"]) for r in rows] == [
        ("Écoute, mise à l'abri", None, "dr"),
        (None, "CMP de secteur", "ide"),
    ]
    assert rows[1]["notes"] == "Revoir J+2"


def test_care_refusals(pump: Store):
    person_id = pump_register(pump, nf399=NUMBER).person_id
    with pytest.raises(ValidationError, match="soins apportés ou l'orientation"):
        svc.record_care(pump, "dr", person_id, " ", "")
    with pytest.raises(ValidationError, match="contrôle"):
        svc.record_care(pump, "dr", person_id, "ok", "CMP\nville")
    with pytest.raises(NotFound):
        svc.record_care(pump, "dr", "nf-nobody", "Écoute")
    assert svc.care_history(pump, person_id) == []
