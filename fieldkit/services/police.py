"""Police on scene: the witness register, the recontact list, leads for X persons, death stages.

Only a police station records these (DOMAIN.md): witnesses are identified on the scene and
recontacted later; a possible identity of an X person is a *lead*, never written into the
person's identity; a death moves from DCD on the field to *identified* (identification
commission) and then *announced* to the family in person by an OPJ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fieldkit.domain import validation
from fieldkit.domain.ids import new_id
from fieldkit.domain.model import WITNESS, DeathStage
from fieldkit.domain.triage import Category
from fieldkit.errors import NotFound, PermissionDenied, ValidationError
from fieldkit.i18n import _
from fieldkit.services.persons import require_live_person
from fieldkit.store import queries
from fieldkit.store.store import Store

POLICE = "police"
READERS = {"police", "ciav"}  # who may read witnesses, leads and death stages
LEAD_STATUSES = ("open", "confirmed", "dismissed")

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _require_police(store: Store, message: str) -> None:
    if store.role != POLICE:
        raise PermissionDenied(message)


def _require_reader(store: Store) -> None:
    if store.role not in READERS:
        raise PermissionDenied(_("This station's role may not read the police records."))


# --- witnesses -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WitnessInput:
    """What an officer writes down about a witness on the scene."""

    family_name: str | None = None
    given_names: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    where: str | None = None  # where they were
    saw: str | None = None  # what they saw, in a line
    left_scene: bool = False
    recontact: bool = False  # they wish to be recontacted
    oriented_to: str | None = None
    person_id: str | None = None  # the person record, when the witness is also a victim


def validate_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    text = validation.validate_text(value, "email", max_len=254, multiline=False)
    if text is None or not _EMAIL.fullmatch(text):
        raise ValidationError(
            _("E-mail address {value} is not valid.").format(value=value.strip()), field="email"
        )
    return text


def validated_witness(data: WitnessInput) -> dict[str, Any]:
    """The witness's values, validated; raises ValidationError with one sentence."""
    family, given = validation.validate_identity(data.family_name, data.given_names)
    if family is None and given is None:
        raise ValidationError(
            _("A witness needs a name: write the family name or the given names."),
            field="family_name",
        )
    values: dict[str, Any] = {
        "family_name": family,
        "given_names": given,
        "phone": validation.validate_phone(data.phone),
        "email": validate_email(data.email),
        "address": validation.validate_text(data.address, "address", max_len=300),
        "where": validation.validate_text(data.where, "where", max_len=300, multiline=False),
        "saw": validation.validate_text(data.saw, "saw", max_len=500, multiline=False),
        "oriented_to": validation.validate_text(
            data.oriented_to, "oriented_to", max_len=200, multiline=False
        ),
        "left_scene": bool(data.left_scene),
        "recontact": bool(data.recontact),
    }
    if values["where"] is None:
        raise ValidationError(
            _("Write where the witness was at the time of the attack."), field="where"
        )
    if (data.recontact or data.left_scene) and not (
        values["phone"] or values["email"] or values["address"]
    ):
        raise ValidationError(
            _(
                "A witness who left the scene or wishes to be recontacted needs a phone number,"
                " an e-mail or an address."
            ),
            field="phone",
        )
    return {k: v for k, v in values.items() if v is not None}


def add_witness(store: Store, author: str, data: WitnessInput) -> str:
    """Record a witness; returns the witness's id."""
    _require_police(store, _("Only a police station may record witnesses."))
    values = validated_witness(data)
    if data.person_id:
        require_live_person(store, data.person_id)
        values["person_id"] = data.person_id
    witness_id = new_id()
    store.record("witness", witness_id, values, author)
    return witness_id


def _require_witness(store: Store, witness_id: str) -> dict[str, Any]:
    rows = list(
        store.db.query(
            "SELECT * FROM witnesses WHERE id = ? AND deleted = 0 AND replaced_by IS NULL",
            [witness_id],
        )
    )
    if not rows:
        raise NotFound(_("No witness with this identifier in this station's store."))
    return rows[0]


# What a witness form sets (the person link and the call-back time are set by their own acts).
WITNESS_FIELDS = tuple(n for n in WITNESS.fields if n not in ("person_id", "recontacted_at"))


def update_witness(store: Store, author: str, witness_id: str, data: WitnessInput) -> list[str]:
    """Correct a witness: the whole record as it should read (an empty field clears it),
    validated as a new witness would be; only the fields that change are written. Returns them."""
    _require_police(store, _("Only a police station may record witnesses."))
    current = _require_witness(store, witness_id)
    values = validated_witness(data)
    changes: dict[str, Any] = {}
    for name in WITNESS_FIELDS:
        value = values.get(name)
        held = current.get(name)
        if name in ("left_scene", "recontact"):
            held = bool(held)
        if value != held:
            changes[name] = value
    if changes:
        store.record("witness", witness_id, changes, author)
    return sorted(changes)


def mark_recontacted(
    store: Store, author: str, witness_id: str, done: bool = True, at: datetime | None = None
) -> str | None:
    """Record that an officer called the witness back (``done=False``: still to call); a
    recontacted witness leaves the recontact list. Returns the time recorded."""
    _require_police(store, _("Only a police station may record witnesses."))
    _require_witness(store, witness_id)
    stamp = validation.utc_stamp(at or datetime.now(UTC)) if done else None
    store.record("witness", witness_id, {"recontacted_at": stamp}, author)
    return stamp


def witnesses(store: Store) -> list[dict[str, Any]]:
    """Every witness recorded, oldest first."""
    _require_reader(store)
    return list(
        store.db.query(
            "SELECT * FROM witnesses WHERE deleted = 0 AND replaced_by IS NULL"
            " ORDER BY created_hlc, id"
        )
    )


def recontact_list(store: Store) -> list[dict[str, Any]]:
    """Witnesses still to call back: those who left the scene or wish to be recontacted, and
    whom no officer has recontacted yet."""
    _require_reader(store)
    return list(
        store.db.query(
            "SELECT * FROM witnesses WHERE deleted = 0 AND replaced_by IS NULL"
            " AND (left_scene = 1 OR recontact = 1) AND recontacted_at IS NULL"
            " ORDER BY created_hlc, id"
        )
    )


# --- leads -----------------------------------------------------------------------------------


def add_lead(
    store: Store,
    author: str,
    person_id: str,
    possible_identity: str,
    source: str,
    note: str | None = None,
) -> str:
    """Record a possible identity of an X person; the person's identity fields stay empty."""
    _require_police(store, _("Only a police station may record leads."))
    person = require_live_person(store, person_id)
    if person.get("family_name") or person.get("given_names"):
        raise ValidationError(
            _("This person already has an identity: leads are for X persons."),
            field="person_id",
        )
    identity = validation.validate_text(
        possible_identity, "possible_identity", max_len=200, multiline=False
    )
    if identity is None:
        raise ValidationError(_("Write the possible identity."), field="possible_identity")
    source_text = validation.validate_text(source, "source", max_len=300, multiline=False)
    if source_text is None:
        raise ValidationError(
            _("Write the source of the lead: who or what suggests this identity."),
            field="source",
        )
    values: dict[str, Any] = {
        "person_id": person_id,
        "possible_identity": identity,
        "source": source_text,
        "status": "open",
    }
    note_text = validation.validate_text(note, "note", max_len=2000)
    if note_text is not None:
        values["note"] = note_text
    lead_id = new_id()
    store.record("lead", lead_id, values, author)
    return lead_id


def set_lead_status(store: Store, author: str, lead_id: str, status: str) -> None:
    """Mark a lead open, confirmed or dismissed (confirming never fills the identity)."""
    _require_police(store, _("Only a police station may record leads."))
    if status not in LEAD_STATUSES:
        raise ValidationError(
            _("Unknown lead status {status}: use open, confirmed or dismissed.").format(
                status=status
            ),
            field="status",
        )
    if store.db.execute("SELECT 1 FROM leads WHERE id = ?", [lead_id]).fetchone() is None:
        raise NotFound(_("No lead with this identifier in this station's store."))
    store.record("lead", lead_id, {"status": status}, author)


def leads(store: Store, person_id: str | None = None) -> list[dict[str, Any]]:
    """Leads (of one person, or all), oldest first, with author and time of creation."""
    _require_reader(store)
    where = "deleted = 0 AND replaced_by IS NULL" + (" AND person_id = ?" if person_id else "")
    return list(
        store.db.query(
            f"SELECT * FROM leads WHERE {where} ORDER BY created_hlc, id",
            [person_id] if person_id else [],
        )
    )


# --- death stages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StageResult:
    stage_id: str
    person_id: str
    stage: str
    officer: str
    at: str


def parse_stage(value: str) -> DeathStage:
    text = validation.validate_text(value, "stage", max_len=20, multiline=False) or ""
    aliases = {
        "identified": DeathStage.IDENTIFIED,
        "identifie": DeathStage.IDENTIFIED,
        "identifié": DeathStage.IDENTIFIED,
        "announced": DeathStage.ANNOUNCED,
        "annonce": DeathStage.ANNOUNCED,
        "annoncé": DeathStage.ANNOUNCED,
    }
    stage = aliases.get(text.casefold())
    if stage is None:
        raise ValidationError(
            _("Unknown death stage {stage}: use identified or announced.").format(stage=value),
            field="stage",
        )
    return stage


def death_stages(store: Store, person_id: str) -> list[dict[str, Any]]:
    """The death stages recorded for a person, in order (with those of the duplicates merged
    into its record: a merge never hides a death stage)."""
    _require_reader(store)
    return queries.death_stages(store.db, person_id)


def record_death_stage(
    store: Store,
    author: str,
    person_id: str,
    stage: str | DeathStage,
    officer: str,
    at: str | None = None,
) -> StageResult:
    """Record that a dead person was identified, or that the death was announced to the family.

    Doctrine (DOMAIN.md): the identification commission identifies, then an OPJ announces in
    person; so *announced* needs an earlier *identified* stage, each is recorded once, and only
    for a person whose triage category is DCD. Police stations only.
    """
    _require_police(
        store, _("Only a police station may record that a death was identified or announced.")
    )
    parsed = stage if isinstance(stage, DeathStage) else parse_stage(stage)
    if parsed not in (DeathStage.IDENTIFIED, DeathStage.ANNOUNCED):
        raise ValidationError(
            _("Unknown death stage {stage}: use identified or announced.").format(
                stage=parsed.value
            ),
            field="stage",
        )
    officer_name = validation.validate_name(officer, "officer", max_len=120)
    if officer_name is None:
        raise ValidationError(
            _("Write the name of the officer who records this stage."), field="officer"
        )
    when = (validation.validate_event_time(at, field="at") if at else None) or validation.utc_stamp(
        datetime.now(UTC)
    )
    person = require_live_person(store, person_id)
    refusal = _stage_refusal(store, person, parsed)
    if refusal is not None:
        raise ValidationError(refusal, field="stage")
    stage_id = new_id()
    store.record(
        "death_stage",
        stage_id,
        {"person_id": person_id, "stage": parsed.value, "officer": officer_name, "at": when},
        author,
    )
    return StageResult(stage_id, person_id, parsed.value, officer_name, when)


def stage_refusal(
    store: Store, person_id: str, stage: DeathStage, shown: str | None = None
) -> str | None:
    """Why ``stage`` cannot be recorded for this person now (one sentence naming the person as
    ``shown``), or None: what a screen checks before it asks an officer to confirm."""
    _require_reader(store)
    return _stage_refusal(store, require_live_person(store, person_id), stage, shown)


def _stage_refusal(
    store: Store, person: dict[str, Any], stage: DeathStage, shown: str | None = None
) -> str | None:
    shown = shown or _shown(person)
    if person.get("category") != Category.DCD.value:
        return _("{person} is not recorded as DCD: a death stage needs the DCD category.").format(
            person=shown
        )
    held = {row["stage"] for row in death_stages(store, person["id"])}
    if stage.value in held:
        message = (
            _("The death of {person} is already recorded as identified.")
            if stage is DeathStage.IDENTIFIED
            else _("The death of {person} is already recorded as announced.")
        )
        return message.format(person=shown)
    if stage is DeathStage.IDENTIFIED and not (
        person.get("family_name") or person.get("given_names")
    ):
        return _(
            "{person} has no identity: record the identity established by the identification"
            " commission before marking the death identified."
        ).format(person=shown)
    if stage is DeathStage.ANNOUNCED and DeathStage.IDENTIFIED.value not in held:
        return _(
            "The death of {person} cannot be announced before the identification commission"
            " has identified the person."
        ).format(person=shown)
    return None


def _shown(person: dict[str, Any]) -> str:
    """How a person is named in a message: number and name, or X."""
    name = " ".join(p for p in (person.get("family_name"), person.get("given_names")) if p)
    label = name or "X"
    number = person.get("nf399")
    return f"{label} ({number})" if number else label
