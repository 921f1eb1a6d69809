"""Use cases on persons: count, re-triage, identify, describe, evacuate, merge duplicates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fieldkit.domain import validation
from fieldkit.domain.authority import writers
from fieldkit.domain.changes import DELETED, REPLACED_BY
from fieldkit.domain.ids import new_id
from fieldkit.errors import NotFound, PermissionDenied, ValidationError
from fieldkit.i18n import N_, _
from fieldkit.services.station import bracelet_ranges, number_format
from fieldkit.store import queries
from fieldkit.store.store import Store, Write

# Which roles may record what (the UI and the CLI both go through these checks); from the
# domain's table of who may write what, which the hub applies to every push.
PERSON_WRITERS = writers("person")
COUNTING_ROLES = PERSON_WRITERS & writers("triage")


@dataclass(frozen=True)
class PersonInput:
    """What a rescuer may give when counting a person; every field but the category is optional."""

    nf399: str | None = None
    category: str | None = None
    refinement: str | None = None
    family_name: str | None = None
    given_names: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    apparent_age: int | str | None = None
    phone: str | None = None
    x_description: Mapping[str, str | None] | None = None
    site: str | None = None
    found_place: str | None = None
    destination: str | None = None
    vehicle: str | None = None
    departure_time: str | None = None
    at: str | None = None  # when the triage was made (default: now)


@dataclass(frozen=True)
class CountResult:
    person_id: str
    created: bool
    category: str | None


def validated_person(
    store: Store,
    data: PersonInput,
    *,
    confirmed_outside: bool = False,
    fmt: validation.NumberFormat | None = None,
    ranges: list[validation.BraceletRange] | None = None,
) -> tuple[str | None, dict[str, Any], tuple[str, str | None] | None]:
    """Validate every field; returns (number, person values, (category, refinement) or None).

    ``fmt`` and ``ranges`` default to the station's settings.
    """
    return person_values(
        data,
        fmt or number_format(store),
        bracelet_ranges(store) if ranges is None else ranges,
        confirmed_outside=confirmed_outside,
    )


def person_values(
    data: PersonInput,
    fmt: validation.NumberFormat,
    ranges: Sequence[validation.BraceletRange],
    *,
    confirmed_outside: bool = False,
) -> tuple[str | None, dict[str, Any], tuple[str, str | None] | None]:
    """:func:`validated_person` with the station's settings given (no store: bulk, processes)."""
    number = None
    if data.nf399:
        number = validation.validate_nf399(
            data.nf399, fmt, ranges, confirmed_outside=confirmed_outside
        )
    family, given = validation.validate_identity(data.family_name, data.given_names)
    values: dict[str, Any] = {
        "nf399": number,
        "family_name": family,
        "given_names": given,
        "sex": validation.validate_sex(data.sex),
        "birth_date": validation.validate_birth_date(data.birth_date),
        "apparent_age": validation.validate_age(data.apparent_age),
        "phone": validation.validate_phone(data.phone),
        "x_description": validation.validate_description(data.x_description)
        if data.x_description
        else None,
        "site": validation.validate_text(data.site, "site", max_len=80, multiline=False),
        "found_place": validation.validate_text(
            data.found_place, "found_place", max_len=200, multiline=False
        ),
        "destination": validation.validate_text(
            data.destination, "destination", max_len=120, multiline=False
        ),
        "vehicle": validation.validate_text(data.vehicle, "vehicle", max_len=60, multiline=False),
        "departure_time": validation.validate_event_time(data.departure_time),
    }
    values = {k: v for k, v in values.items() if v is not None}
    triage = None
    if data.category:
        category = validation.parse_category(data.category)
        refinement = validation.parse_refinement(data.refinement, category)
        triage = (category.value, refinement.value if refinement else None)
    elif data.refinement:
        raise ValidationError(_("A refinement needs a triage category."), field="refinement")
    return number, values, triage


def count_person(
    store: Store, author: str, data: PersonInput, *, confirmed_outside: bool = False
) -> CountResult:
    """Count a person (the PMA's main path): one record, one triage event, one transaction."""
    _require_counting(store)
    number, values, triage = validated_person(store, data, confirmed_outside=confirmed_outside)
    if triage is None:
        raise ValidationError(
            _("Choose a triage category: UA, UR, Impliqué or DCD."), field="category"
        )
    person_id = new_person_id(store, number)
    values.setdefault("site", store.meta.get("site"))
    at = validation.validate_event_time(data.at) if data.at else None
    writes = [
        Write("person", person_id, values),
        Write("triage", new_id(), _triage_values(person_id, triage, at)),
    ]
    store.record_many(writes, author)
    return CountResult(person_id, True, triage[0])


def new_person_id(store: Store, number: str | None) -> str:
    """The id of a new person wearing ``number`` (a random one without a number).

    A number bound to a person is refused: counted (a live record carries it), or merged into
    another record (the bracelet is the kept record's). A number carried only by deleted records
    is free: a deletion says the record was a mistake, so the new person gets a record of their
    own (the next generation of the number's id: never written into the deleted one), and so does
    a number whose own id a renumbered record holds (:func:`queries.free_person_id`).
    """
    if number is None:
        return new_id()
    binding = queries.number_binding(store.db, number)
    if binding.live is not None:
        raise ValidationError(
            _("Victim number {number} is already counted: open that person instead.").format(
                number=number
            ),
            field="nf399",
        )
    if binding.kept is not None:
        raise ValidationError(
            _(
                "Victim number {number} belongs to {person}, the record it was merged into:"
                " open that record; if this is someone else, put a new bracelet on them."
            ).format(number=number, person=shown(binding.kept)),
            field="nf399",
        )
    assert binding.free_id is not None
    return binding.free_id


def shown(person: Mapping[str, Any]) -> str:
    """A person as a message names them: name (or X) and number."""
    name = " ".join(p for p in (person.get("family_name"), person.get("given_names")) if p)
    number = person.get("nf399")
    return f"{name or 'X'} ({number})" if number else name or "X"


def _triage_values(
    person_id: str, triage: tuple[str, str | None], at: str | None
) -> dict[str, Any]:
    values: dict[str, Any] = {"person_id": person_id, "category": triage[0]}
    if triage[1]:
        values["refinement"] = triage[1]
    if at:
        values["at"] = at
    return values


def retriage(
    store: Store, author: str, person_id: str, category: str, refinement: str | None = None
) -> None:
    """Record a new triage category; the earlier ones stay in the history."""
    _require_counting(store)
    _require_person(store, person_id)
    parsed = validation.parse_category(category)
    refined = validation.parse_refinement(refinement, parsed)
    triage = (parsed.value, refined.value if refined else None)
    store.record("triage", new_id(), _triage_values(person_id, triage, None), author)


def update_person(
    store: Store, author: str, person_id: str, data: PersonInput, *, confirmed_outside: bool = False
) -> None:
    """Set identity, description or evacuation fields of an existing person."""
    _require_writer(store)
    current = _require_person(store, person_id)
    number, values, triage = validated_person(store, data, confirmed_outside=confirmed_outside)
    if number is not None and number != current.get("nf399"):
        _check_number_free_for(store, number, person_id)
    changed = {k: v for k, v in values.items() if current.get(k) != v}
    writes = [Write("person", person_id, changed)] if changed else []
    if triage is not None and (triage[0], triage[1]) != (
        current.get("category"),
        current.get("refinement"),
    ):
        writes.append(Write("triage", new_id(), _triage_values(person_id, triage, None)))
    if writes:
        store.record_many(writes, author)


def _check_number_free_for(store: Store, number: str, person_id: str) -> None:
    """Refuse to give ``number`` to ``person_id`` when it is bound to another record, live or
    merged into another (a deleted record binds nothing: see :func:`new_person_id`).

    The record keeps its id: lookups by number go through the number it carries, and the number it
    gave up is free for a new person under another id (:func:`queries.free_person_id`).
    """
    binding = queries.number_binding(store.db, number)
    if binding.live is not None and binding.live["id"] != person_id:
        raise ValidationError(
            _("Victim number {number} is already bound to another person.").format(number=number),
            field="nf399",
        )
    if binding.kept is not None and binding.kept["id"] != person_id:
        raise ValidationError(
            _(
                "Victim number {number} belongs to {person}, the record it was merged into:"
                " check the number."
            ).format(number=number, person=shown(binding.kept)),
            field="nf399",
        )


def mark_x(
    store: Store, author: str, person_id: str, description: Mapping[str, str | None]
) -> None:
    """Record a person as X: identity fields emptied, a physical description instead."""
    _require_writer(store)
    _require_person(store, person_id)
    described = validation.validate_description(description)
    store.record(
        "person",
        person_id,
        {"family_name": None, "given_names": None, "x_description": described},
        author,
    )


def merge_duplicate(store: Store, author: str, loser_id: str, winner_id: str) -> None:
    """Mark ``loser_id`` as replaced by ``winner_id``; nothing is destroyed and it can be undone."""
    _require_writer(store)
    if loser_id == winner_id:
        raise ValidationError(_("A record cannot be merged into itself."))
    _require_person(store, loser_id)
    _require_person(store, winner_id)
    store.record("person", loser_id, {REPLACED_BY: winner_id}, author)


def undo_merge(store: Store, author: str, person_id: str) -> None:
    _require_writer(store)
    store.record("person", person_id, {REPLACED_BY: None}, author)


def delete_person(store: Store, author: str, person_id: str, *, undo: bool = False) -> None:
    """Tombstone a record created by mistake (or bring it back with ``undo``)."""
    _require_writer(store)
    _require_person(store, person_id)
    store.record("person", person_id, {DELETED: not undo}, author)


HOLDING_LABELS = {
    "declaration": N_("a first declaration"),
    "certificate": N_("a certificate"),
    "death stage": N_("a death stage"),
    "lead": N_("a lead"),
    "witness": N_("a witness"),
    "care": N_("care given"),
    "merged": N_("a duplicate merged into it"),
}


def void_refusal(store: Store, person_id: str) -> str | None:
    """Why this station may not void the count of ``person_id`` (one sentence), or None.

    A count is voided where it was made, and only when the record is nothing but that count: a
    record that holds more (a declaration, a certificate, a death stage, a lead, a witness, care,
    a duplicate merged into it), or that another station also wrote (counted, re-triaged,
    evacuated, or a CIAV decision), is voided by the CIAV, which sees all of it. The CIAV itself
    may void any record (it is the one asked)."""
    _require_writer(store)
    row = _require_person(store, person_id)
    shown_as = shown(row)
    if row.get("deleted"):
        return _("The count of {person} is already voided.").format(person=shown_as)
    if row.get("replaced_by"):
        return _(
            "{person} was merged into another record at the CIAV: ask the CIAV to void it."
        ).format(person=shown_as)
    if store.role == "ciav":
        return None
    held = queries.person_holdings(store.db, person_id)
    if held:
        return _(
            "{person} holds more than a count ({what}): ask the CIAV to void this record."
        ).format(person=shown_as, what=", ".join(_(HOLDING_LABELS[h]) for h in held))
    if queries.other_origins(store.db, person_id, store.station_id):
        return _(
            "{person} was also recorded at another station: ask the CIAV to void this record."
        ).format(person=shown_as)
    return None


def void_count(store: Store, author: str, person_id: str) -> dict[str, Any]:
    """Void a count made by mistake (a mistyped number, a spare bracelet scanned): the record
    leaves the counts and the lists, nothing is destroyed, :func:`restore_count` brings it back.
    Refused with :func:`void_refusal`'s sentence. Returns the record as it was."""
    refusal = void_refusal(store, person_id)
    if refusal is not None:
        raise ValidationError(refusal)
    row = _require_person(store, person_id)
    store.record("person", person_id, {DELETED: True}, author)
    return row


def restore_count(store: Store, author: str, person_id: str) -> dict[str, Any]:
    """Bring a voided record back into the counts and the lists. Refused when the record is not
    voided, or when its number is now counted on another record (a person counted after the
    void with the same bracelet): two live records would carry one number."""
    _require_writer(store)
    row = _require_person(store, person_id)
    if not row.get("deleted"):
        raise ValidationError(
            _("The count of {person} is not voided: there is nothing to restore.").format(
                person=shown(row)
            )
        )
    number = row.get("nf399")
    if number:
        binding = queries.number_binding(store.db, number)
        other = binding.person
        if other is not None and other["id"] != person_id:
            raise ValidationError(
                _(
                    "Victim number {number} is now counted on another record ({person}):"
                    " void that one first if it is the mistake."
                ).format(number=number, person=shown(other))
            )
    store.record("person", person_id, {DELETED: False}, author)
    return row


def find_person(store: Store, given: str) -> dict[str, Any]:
    """The record named by a person id, else by a victim number (its live record, else the
    latest voided one): what the command line takes as ``ID``."""
    row = queries.person(store.db, given)
    if row is not None:
        return row
    rows = list(
        store.db.query(
            "SELECT * FROM persons WHERE nf399 = ? ORDER BY deleted, updated_hlc DESC LIMIT 1",
            [given.strip()],
        )
    )
    if rows:
        return rows[0]
    raise NotFound(_("No person with this identifier in this station's store."))


def require_live_person(store: Store, person_id: str) -> dict[str, Any]:
    """The person's row, unless unknown, deleted or merged into another record."""
    row = queries.person(store.db, person_id)
    if row is None or row.get("deleted") or row.get("replaced_by"):
        raise NotFound(_("No person with this identifier in this station's store."))
    return row


def _require_person(store: Store, person_id: str) -> dict[str, Any]:
    """The person's row, live or not (merges and deletions are undone through it)."""
    row = queries.person(store.db, person_id)
    if row is None:
        raise NotFound(_("No person with this identifier in this station's store."))
    return row


def _require_counting(store: Store) -> None:
    """Counting and triage: the roles that may write persons and triage events."""
    if store.role not in COUNTING_ROLES:
        raise PermissionDenied(_("This station's role may not count persons."))


def require_writer(store: Store) -> None:
    """Refuse (PermissionDenied) unless this station's role may write person records."""
    _require_writer(store)


def _require_writer(store: Store) -> None:
    """Identity, description, evacuation, merges: the roles that may write person records."""
    if store.role not in PERSON_WRITERS:
        raise PermissionDenied(_("This station's role may not change person records."))
