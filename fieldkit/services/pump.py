"""The PUMP (psychological first aid): persons seen, first declarations, care given.

A person seen at the PUMP may wear a bracelet or not; either way they get a person record. The
first declaration of where they were at the time of the attack is recorded once, in their own
words, timestamped and signed by the station (the FGTI pays people who were in the danger zone);
it is never edited. Care given and orientation are append-only events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fieldkit.domain import validation
from fieldkit.domain.ids import new_id
from fieldkit.errors import PermissionDenied, ValidationError
from fieldkit.i18n import _
from fieldkit.services import certificates, persons
from fieldkit.services.persons import PersonInput, _triage_values, require_live_person
from fieldkit.store import queries
from fieldkit.store.store import Store, Write

PUMP = "pump"


def _require_pump(store: Store, message: str) -> None:
    if store.role != PUMP:
        raise PermissionDenied(message)


# --- persons seen ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterResult:
    person_id: str
    created: bool


def register_person(
    store: Store, author: str, data: PersonInput, *, confirmed_outside: bool = False
) -> RegisterResult:
    """Register a person seen at the PUMP, with or without a victim number.

    A number already known opens that person: what the typed record adds goes into the fields
    still empty (a person counted X at the PMA gives a name here), but a different identity is
    refused, naming the person who holds the bracelet: nothing is overwritten by a registration.
    No triage category is needed (the PUMP does not triage), but one given is recorded.
    """
    _require_pump(store, _("Only a PUMP station registers the persons it sees."))
    number, values, triage = persons.validated_person(
        store, data, confirmed_outside=confirmed_outside
    )
    if number is not None:
        existing = queries.person_by_number(store.db, number)
        if existing is not None:  # the number's live record: what it lacks goes to it
            _add_to_known(store, author, existing, values, triage)
            return RegisterResult(existing["id"], False)
    if triage is not None:
        result = persons.count_person(store, author, data, confirmed_outside=confirmed_outside)
        return RegisterResult(result.person_id, True)
    person_id = persons.new_person_id(store, number)  # refuses a number merged into a record
    values.setdefault("site", store.meta.get("site"))
    store.record_many([Write("person", person_id, values)], author)
    return RegisterResult(person_id, True)


IDENTITY_FIELDS = ("family_name", "given_names", "sex", "birth_date")


def _add_to_known(
    store: Store,
    author: str,
    existing: dict[str, Any],
    values: dict[str, Any],
    triage: tuple[str, str | None] | None,
) -> None:
    """Fill the empty fields of a person found by number; refuse another identity."""
    differing = [
        name
        for name in IDENTITY_FIELDS
        if values.get(name) is not None
        and existing.get(name) not in (None, "")
        and existing[name] != values[name]
    ]
    if differing:
        held = " ".join(
            part
            for part in (
                (existing.get("family_name") or "").upper(),
                existing.get("given_names") or "",
            )
            if part
        )
        raise ValidationError(
            _(
                "Victim number {number} is the bracelet of {person}, recorded with another"
                " identity: check the bracelet; to correct that person's identity, open their"
                " record."
            ).format(number=existing["nf399"], person=held or "X"),
            field=differing[0],
        )
    empty = {
        name: value
        for name, value in values.items()
        if name != "nf399" and existing.get(name) in (None, "")
    }
    writes = [Write("person", existing["id"], empty)] if empty else []
    if triage is not None and triage != (existing.get("category"), existing.get("refinement")):
        writes.append(Write("triage", new_id(), _triage_values(existing["id"], triage, None)))
    if writes:
        store.record_many(writes, author)


# --- the first declaration of location -------------------------------------------------------


@dataclass(frozen=True)
class DeclarationResult:
    declaration_id: str
    person_id: str
    signed_at: str
    signature: str
    declaration_hash: str


def record_declaration(
    store: Store,
    author: str,
    person_id: str,
    text: str,
    clinician: str,
    *,
    now: datetime | None = None,
) -> DeclarationResult:
    """Record, sign and timestamp the person's first declaration of where they were.

    Append-only: a person has one first declaration; a second one is refused.
    """
    _require_pump(store, _("Only a PUMP station records first declarations."))
    words = validation.validate_text(text, "text", max_len=5000)
    if words is None:
        raise ValidationError(
            _("Write the person's declaration of where they were, in their own words."),
            field="text",
        )
    clinician_name = validation.validate_name(clinician, "clinician", max_len=120)
    if clinician_name is None:
        raise ValidationError(
            _("Write the name of the clinician who takes the declaration."), field="clinician"
        )
    person = require_live_person(store, person_id)
    if certificates.first_declaration(store, person_id) is not None:
        raise ValidationError(
            _(
                "{person} already has a first declaration: it cannot be changed or replaced;"
                " write anything said later in the care notes."
            ).format(person=_shown(person)),
            field="text",
        )
    signed_at = validation.utc_stamp(now or datetime.now(UTC))
    signature = certificates.sign_declaration(store, person_id, words, clinician_name, signed_at)
    values = {
        "person_id": person_id,
        "text": words,
        "clinician": clinician_name,
        "signed_at": signed_at,
        "signature": signature,
    }
    declaration_id = new_id()
    store.record("declaration", declaration_id, values, author)
    return DeclarationResult(
        declaration_id,
        person_id,
        signed_at,
        signature,
        certificates.declaration_hash(values).hex(),
    )


def declarations(store: Store, person_id: str) -> list[dict[str, Any]]:
    """The person's declarations, first one first (more than one only after an offline race)."""
    if store.role not in ("pump", "police"):
        raise PermissionDenied(_("This station's role may not read first declarations."))
    return list(
        store.db.query(
            "SELECT * FROM declarations WHERE person_id = ? ORDER BY hlc, origin", [person_id]
        )
    )


# --- care --------------------------------------------------------------------------------------


def record_care(
    store: Store,
    author: str,
    person_id: str,
    care_given: str | None,
    orientation: str | None = None,
    notes: str | None = None,
) -> str:
    """Record care given to a person and where they were oriented; returns the event's id."""
    _require_pump(store, _("Only a PUMP station records psychological care."))
    values = {
        "care_given": validation.validate_text(care_given, "care_given", max_len=2000),
        "orientation": validation.validate_text(
            orientation, "orientation", max_len=200, multiline=False
        ),
        "notes": validation.validate_text(notes, "notes", max_len=2000),
    }
    if values["care_given"] is None and values["orientation"] is None:
        raise ValidationError(
            _("Write the care given or where the person was oriented."), field="care_given"
        )
    require_live_person(store, person_id)
    care_id = new_id()
    store.record(
        "care",
        care_id,
        {"person_id": person_id, **{k: v for k, v in values.items() if v is not None}},
        author,
    )
    return care_id


def care_history(store: Store, person_id: str) -> list[dict[str, Any]]:
    """Care events of a person, oldest first."""
    _require_pump(store, _("Only a PUMP station reads psychological care."))
    return list(
        store.db.query(
            "SELECT * FROM care_events WHERE person_id = ? ORDER BY hlc, origin", [person_id]
        )
    )


def _shown(person: dict[str, Any]) -> str:
    name = " ".join(p for p in (person.get("family_name"), person.get("given_names")) if p)
    label = name or "X"
    number = person.get("nf399")
    return f"{label} ({number})" if number else label
