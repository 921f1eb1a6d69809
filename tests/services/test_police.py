"""Police services: witnesses, recontact list, leads (the X rule), death stages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fieldkit.domain.model import DeathStage
from fieldkit.errors import NotFound, PermissionDenied, ValidationError
from fieldkit.i18n import set_language
from fieldkit.services import police as svc
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.store import queries
from fieldkit.store.store import Store

NUMBER = "FR075BSPP2026TR000123"


def _dead(store: Store, number: str = NUMBER, **identity: str) -> str:
    return count_person(
        store, "officer-1", PersonInput(nf399=number, category="DCD", **identity)
    ).person_id


# --- witnesses ---------------------------------------------------------------------------------


def test_witness_is_recorded_with_every_field(police: Store):
    witness_id = svc.add_witness(
        police,
        "officer-1",
        svc.WitnessInput(
            family_name="Nguyễn",
            given_names="Thị Lan",
            phone="+33 6 12 34 56 78",
            email="lan@example.org",
            where="Terrasse du café, côté rue",
            saw="Un véhicule blanc qui roulait vite",
            left_scene=True,
            recontact=True,
            oriented_to="PUMP-1",
        ),
    )
    [row] = svc.witnesses(police)
    assert row["id"] == witness_id
    assert (row["family_name"], row["given_names"]) == ("Nguyễn", "Thị Lan")
    assert row["where"] == "Terrasse du café, côté rue"
    assert row["left_scene"] == 1 and row["recontact"] == 1
    assert row["oriented_to"] == "PUMP-1"
    assert row["created_by"] == "officer-1"


def test_recontact_list_holds_those_who_left_or_asked(police: Store):
    stay = svc.WitnessInput(family_name="Stay", where="Bar")
    left = svc.WitnessInput(family_name="Left", where="Bar", left_scene=True, phone="0612345678")
    asked = svc.WitnessInput(family_name="Asked", where="Bar", recontact=True, email="a@b.fr")
    for data in (stay, left, asked):
        svc.add_witness(police, "officer-1", data)
    assert [w["family_name"] for w in svc.recontact_list(police)] == ["Left", "Asked"]
    assert len(svc.witnesses(police)) == 3


def test_markup_in_a_witness_name_is_kept_as_typed(police: Store):
    svc.add_witness(
        police,
        "o",
        svc.WitnessInput(family_name="[b]x[/b]", given_names="[red]Anna[/red]", where="[@click]"),
    )
    [row] = svc.witnesses(police)
    assert row["family_name"] == "[b]x[/b]" and row["given_names"] == "[red]Anna[/red]"
    assert row["where"] == "[@click]"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            svc.WitnessInput(family_name="Du\x07pont", where="Rue"),
            "family_name",
            "caractère de contrôle",
        ),
        (svc.WitnessInput(family_name="Dupont\u202e", where="Rue"), "family_name", "invisible"),
        (
            svc.WitnessInput(family_name="X pouvant être Dupont", where="Rue"),
            "family_name",
            "piste",
        ),
        (svc.WitnessInput(family_name="Dupont ?", where="Rue"), "family_name", "piste"),
        (svc.WitnessInput(family_name="X", where="Rue"), "family_name", "n'est pas un nom"),
        (svc.WitnessInput(where="Rue"), "family_name", "Un témoin doit avoir un nom"),
        (svc.WitnessInput(family_name="Dupont"), "where", "où se trouvait le témoin"),
        (svc.WitnessInput(family_name="Dupont", where="Rue", saw="a\nb"), "saw", "contrôle"),
        (svc.WitnessInput(family_name="Dupont", where="Rue", phone="06 abc"), "phone", "chiffres"),
        (
            svc.WitnessInput(family_name="Dupont", where="Rue", email="nope"),
            "email",
            "n'est pas valide",
        ),
        (
            svc.WitnessInput(family_name="Dupont", where="Rue", recontact=True),
            "phone",
            "recontacter",
        ),
        (svc.WitnessInput(family_name="Dupont", where="Rue", left_scene=True), "phone", "quitté"),
        (svc.WitnessInput(family_name="D" * 101, where="Rue"), "family_name", "trop long"),
    ],
)
def test_bad_witnesses_are_refused_with_one_sentence(
    police: Store, data: svc.WitnessInput, field: str, message: str
):
    with pytest.raises(ValidationError) as err:
        svc.add_witness(police, "o", data)
    assert err.value.field == field
    assert message.lower() in err.value.message.lower(), err.value.message
    assert svc.witnesses(police) == []


def test_witness_messages_in_english(police: Store):
    set_language("en")
    with pytest.raises(ValidationError, match="A witness needs a name"):
        svc.add_witness(police, "o", svc.WitnessInput(where="Rue"))


@pytest.mark.parametrize("role", ["pma", "pump", "caf", "ciav"])
def test_only_police_records_witnesses(make_station: Callable[..., Any], role: str):
    store = make_station(role=role, name=f"{role}-1")
    with pytest.raises(PermissionDenied, match="Seul un poste de police"):
        svc.add_witness(store, "o", svc.WitnessInput(family_name="Dupont", where="Rue"))


@pytest.mark.parametrize("role", ["pma", "pump", "caf"])
def test_witness_register_is_not_readable_by_other_roles(
    make_station: Callable[..., Any], role: str
):
    store = make_station(role=role, name=f"{role}-1")
    with pytest.raises(PermissionDenied):
        svc.recontact_list(store)


def test_witness_linked_to_an_unknown_person_is_refused(police: Store):
    with pytest.raises(NotFound):
        svc.add_witness(
            police, "o", svc.WitnessInput(family_name="Dupont", where="Rue", person_id="nf-none")
        )


# --- leads -------------------------------------------------------------------------------------


def test_lead_on_an_x_person_never_touches_the_identity(police: Store):
    person_id = _dead(police)
    lead_id = svc.add_lead(
        police, "officer-2", person_id, "X pouvant être Dupont Jean", "Sa sœur, au CAF", "Tatouage"
    )
    [lead] = svc.leads(police, person_id)
    assert lead["id"] == lead_id
    assert lead["possible_identity"] == "X pouvant être Dupont Jean"
    assert lead["source"] == "Sa sœur, au CAF" and lead["status"] == "open"
    assert lead["created_by"] == "officer-2"
    person = queries.person(police.db, person_id)
    assert person is not None
    assert person["family_name"] is None and person["given_names"] is None
    svc.set_lead_status(police, "officer-2", lead_id, "confirmed")
    assert svc.leads(police)[0]["status"] == "confirmed"
    person = queries.person(police.db, person_id)
    assert person is not None and person["family_name"] is None


def test_lead_refusals(police: Store, make_station: Callable[..., Any]):
    named = _dead(police, family_name="Martin")
    x_id = _dead(police, number="FR075BSPP2026TR000124")
    with pytest.raises(ValidationError, match="déjà une identité"):
        svc.add_lead(police, "o", named, "Dupont", "témoin")
    with pytest.raises(ValidationError, match="source"):
        svc.add_lead(police, "o", x_id, "Dupont", "  ")
    with pytest.raises(ValidationError, match="identité possible"):
        svc.add_lead(police, "o", x_id, "", "témoin")
    with pytest.raises(ValidationError, match="contrôle"):
        svc.add_lead(police, "o", x_id, "Dupont\x1b[31m", "témoin")
    with pytest.raises(NotFound):
        svc.add_lead(police, "o", "nf-nobody", "Dupont", "témoin")
    with pytest.raises(ValidationError, match="Statut de piste inconnu"):
        svc.set_lead_status(police, "o", "whatever", "maybe")
    with pytest.raises(NotFound):
        svc.set_lead_status(police, "o", "whatever", "dismissed")
    assert svc.leads(police) == []
    pma = make_station(role="pma", name="PMA-9")
    with pytest.raises(PermissionDenied, match="pistes"):
        svc.add_lead(pma, "o", x_id, "Dupont", "témoin")


# --- death stages ------------------------------------------------------------------------------


def test_death_stages_in_order(police: Store):
    person_id = _dead(police, family_name="Martin", given_names="Paul")
    first = svc.record_death_stage(police, "officer-1", person_id, "identified", "Cdt Durand")
    assert first.stage == "identified" and first.officer == "Cdt Durand"
    assert queries.person(police.db, person_id)["death_stage"] == "identified"  # type: ignore[index]
    second = svc.record_death_stage(police, "officer-1", person_id, "annoncé", "OPJ Leroy")
    assert second.stage == "announced"
    stages = svc.death_stages(police, person_id)
    assert [(s["stage"], s["officer"]) for s in stages] == [
        ("identified", "Cdt Durand"),
        ("announced", "OPJ Leroy"),
    ]
    assert queries.person(police.db, person_id)["death_stage"] == "announced"  # type: ignore[index]


def test_announcing_before_identification_is_refused(police: Store):
    person_id = _dead(police, family_name="Martin")
    with pytest.raises(ValidationError, match="avant que la commission d'identification"):
        svc.record_death_stage(police, "o", person_id, "announced", "OPJ Leroy")
    assert svc.death_stages(police, person_id) == []


def test_stages_are_recorded_once(police: Store):
    person_id = _dead(police, family_name="Martin")
    svc.record_death_stage(police, "o", person_id, "identified", "Cdt Durand")
    with pytest.raises(ValidationError, match="déjà enregistré comme identifié"):
        svc.record_death_stage(police, "o", person_id, "identified", "Cdt Durand")
    svc.record_death_stage(police, "o", person_id, "announced", "OPJ Leroy")
    with pytest.raises(ValidationError, match="déjà enregistré comme annoncé"):
        svc.record_death_stage(police, "o", person_id, "announced", "OPJ Leroy")


def test_stages_refused_for_a_person_not_dcd_or_without_identity(police: Store):
    alive = count_person(
        police, "o", PersonInput(nf399=NUMBER, category="UR", family_name="Martin")
    ).person_id
    with pytest.raises(ValidationError, match="n'est pas enregistré DCD"):
        svc.record_death_stage(police, "o", alive, "identified", "Cdt Durand")
    x_dead = _dead(police, number="FR075BSPP2026TR000124")
    with pytest.raises(ValidationError, match=r"X \(FR075BSPP2026TR000124\) n'a pas d'identité"):
        svc.record_death_stage(police, "o", x_dead, "identified", "Cdt Durand")
    assert svc.death_stages(police, alive) == svc.death_stages(police, x_dead) == []


def test_stage_input_refusals(police: Store):
    person_id = _dead(police, family_name="Martin")
    with pytest.raises(ValidationError, match="Étape de décès inconnue"):
        svc.record_death_stage(police, "o", person_id, "buried", "Cdt Durand")
    with pytest.raises(ValidationError, match="nom de l'officier"):
        svc.record_death_stage(police, "o", person_id, "identified", " ")
    with pytest.raises(ValidationError, match="contrôle"):
        svc.record_death_stage(police, "o", person_id, "identified", "Cdt\x00Durand")
    with pytest.raises(NotFound):
        svc.record_death_stage(police, "o", "nf-nobody", "identified", "Cdt Durand")


@pytest.mark.parametrize("role", ["pma", "pump", "caf", "ciav"])
def test_death_stages_are_police_only(make_station: Callable[..., Any], role: str):
    store = make_station(role=role, name=f"{role}-1")
    with pytest.raises(PermissionDenied, match="Seul un poste de police"):
        svc.record_death_stage(store, "o", "nf-any", "identified", "Cdt Durand")


def test_a_witness_is_corrected_field_by_field_and_validated_again(police: Store):
    witness_id = svc.add_witness(
        police,
        "officer-1",
        svc.WitnessInput(family_name="Leroy", where="Bar", left_scene=True, phone="0612345678"),
    )
    with pytest.raises(ValidationError):  # left the scene: a contact is still needed
        svc.update_witness(
            police,
            "officer-2",
            witness_id,
            svc.WitnessInput(family_name="Leroy", where="Bar", left_scene=True),
        )
    changed = svc.update_witness(
        police,
        "officer-2",
        witness_id,
        svc.WitnessInput(family_name="Leroy", where="Bar", left_scene=True, email="l@x.fr"),
    )
    assert changed == ["email", "phone"]
    [row] = svc.witnesses(police)
    assert row["email"] == "l@x.fr" and row["phone"] is None and row["left_scene"] == 1
    with pytest.raises(NotFound):
        svc.update_witness(police, "o", "nope", svc.WitnessInput(family_name="A", where="B"))


def test_a_recontacted_witness_leaves_the_recontact_list(police: Store):
    witness_id = svc.add_witness(
        police,
        "officer-1",
        svc.WitnessInput(family_name="Left", where="Bar", left_scene=True, phone="0612345678"),
    )
    stamp = svc.mark_recontacted(police, "officer-2", witness_id)
    assert stamp and stamp.endswith("Z")
    assert svc.recontact_list(police) == []
    assert svc.witnesses(police)[0]["recontacted_at"] == stamp
    svc.mark_recontacted(police, "officer-2", witness_id, done=False)
    assert [w["id"] for w in svc.recontact_list(police)] == [witness_id]


def test_stage_refusal_says_why_before_anything_is_asked(police: Store):
    x_person = _dead(police)
    named = _dead(police, "FR075BSPP2026TR000124", family_name="Martin")
    assert "identité" in (svc.stage_refusal(police, x_person, DeathStage.IDENTIFIED) or "")
    assert "commission" in (svc.stage_refusal(police, named, DeathStage.ANNOUNCED) or "")
    assert svc.stage_refusal(police, named, DeathStage.IDENTIFIED) is None
    svc.record_death_stage(police, "o", named, "identified", "Lt A")
    assert svc.stage_refusal(police, named, DeathStage.ANNOUNCED) is None
    assert "déjà" in (svc.stage_refusal(police, named, DeathStage.IDENTIFIED) or "")


def test_migration_9_adds_recontacted_at_to_a_store_at_version_8(tmp_path):
    from fieldkit.store import keys
    from fieldkit.store.connection import connect
    from fieldkit.store.migrations import migrate

    key = keys.create_keyfile(tmp_path / "s.keys", "correct horse battery")
    db = connect(tmp_path / "s.db", key, create=True)
    migrate(db, target=8)
    assert "recontacted_at" not in {c.name for c in db["witnesses"].columns}
    migrate(db)
    assert "recontacted_at" in {c.name for c in db["witnesses"].columns}
