"""Family reception (CAF): record an enquiry, read the outcome a family may be told.

The CAF never reads person records: the hub's matcher (:mod:`fieldkit.services.matching`) writes
one ``enquiry_outcome`` per enquiry, the only thing about the person sought that reaches a CAF
station ("found, cared for at <place>", "an officer will speak with you", "no information yet",
or, once an OPJ announced it in person, that the death was announced).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fieldkit.domain import validation
from fieldkit.domain.authority import writers
from fieldkit.domain.ids import new_id
from fieldkit.domain.matching import Outcome, outcome_text, parse_age
from fieldkit.domain.model import ENQUIRY
from fieldkit.errors import NotFound, PermissionDenied, ValidationError
from fieldkit.i18n import N_, _
from fieldkit.store.store import Store

RECORDING_ROLES = writers("enquiry")  # CAF; the CIAV call centre and police take enquiries too
READING_ROLES = {"caf", "ciav", "police"}
AGE_TEXT_MAX = 20
ANTE_MORTEM_MAX = 5000  # characters over all the ante-mortem details
ANTE_MORTEM_ITEMS = 40

ENQUIRY_LABELS: dict[str, str] = {
    "enquirer_name": N_("Enquirer's name"),
    "relation": N_("Relation"),
    "phone": N_("Phone"),
    "language": N_("Language"),
    "staying_at": N_("Staying at"),
    "sought_family_name": N_("Family name of the person sought"),
    "sought_given_names": N_("Given names of the person sought"),
    "sought_sex": N_("Sex of the person sought"),
    "sought_age": N_("Age of the person sought"),
    "description": N_("Description"),
    "clothing": N_("Clothing"),
    "sought_phone": N_("Phone of the person sought"),
    "last_place": N_("Last known place"),
    "last_time": N_("Last known time"),
    "ante_mortem": N_("Ante-mortem details"),
}
# Free-text fields and their size limits (characters).
_TEXT_LIMITS: dict[str, tuple[int, bool]] = {
    "relation": (60, False),
    "language": (40, False),
    "staying_at": (300, True),
    "description": (1000, True),
    "clothing": (500, True),
    "last_place": (300, False),
}


def _label(field: str) -> str:
    return _(ENQUIRY_LABELS[field]) if field in ENQUIRY_LABELS else field


def _as(field: str, check: Callable[[], Any]) -> Any:
    """Run a shared validator; its error is re-raised under the enquiry's own field name."""
    try:
        return check()
    except ValidationError as error:
        raise ValidationError(error.message, field=field) from None


def _text(
    field: str, value: Any, max_len: int, multiline: bool, alias: str | None = None
) -> str | None:
    """Free text within ``max_len``; errors name the field (``alias``: a shared field's label)."""
    if value is not None and not isinstance(value, str):
        raise ValidationError(_("{field} must be text.").format(field=_label(field)), field=field)
    shown = alias or field
    return _as(
        field, lambda: validation.validate_text(value, shown, max_len=max_len, multiline=multiline)
    )


def _name(field: str, value: Any, alias: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(_("{field} must be text.").format(field=_label(field)), field=field)
    return _as(field, lambda: validation.validate_name(value, alias))


def _age(value: Any) -> int | str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return _as("sought_age", lambda: validation.validate_age(value))
    if not isinstance(value, str) or len(value.strip()) > AGE_TEXT_MAX:
        raise ValidationError(
            _("Write the age of the person sought as a number of years, or a range such as 30-35."),
            field="sought_age",
        )
    text = value.strip()
    if text.isascii() and text.isdigit():
        return _as("sought_age", lambda: validation.validate_age(text))
    age, _span = parse_age(text)
    if age is None:
        raise ValidationError(
            _("Write the age of the person sought as a number of years, or a range such as 30-35."),
            field="sought_age",
        )
    return _text("sought_age", text, AGE_TEXT_MAX, False, alias="apparent_age")


def _ante_mortem(value: Any) -> Any:
    """Ante-mortem details: a text, or a map of short texts (INTERPOL yellow form headings)."""
    if value is None or value == {} or value == "":
        return None
    if isinstance(value, str):
        return _text("ante_mortem", value, ANTE_MORTEM_MAX, True)
    if not isinstance(value, Mapping) or len(value) > ANTE_MORTEM_ITEMS:
        raise ValidationError(
            _("The ante-mortem details must be a text or a list of headings with a text each."),
            field="ante_mortem",
        )
    details: dict[str, str] = {}
    total = 0
    for key, item in value.items():
        heading = (
            _text("ante_mortem", key, 60, False, alias="ante_mortem")
            if isinstance(key, str)
            else None
        )
        if heading is None:
            raise ValidationError(
                _("The ante-mortem details must be a text or a list of headings with a text each."),
                field="ante_mortem",
            )
        text = _text("ante_mortem", item, ANTE_MORTEM_MAX, True)
        if text is not None:
            details[heading] = text
            total += len(heading) + len(text)
    if total > ANTE_MORTEM_MAX:
        raise ValidationError(
            _("{field} is too long: {length} characters, at most {max}.").format(
                field=_label("ante_mortem"), length=total, max=ANTE_MORTEM_MAX
            ),
            field="ante_mortem",
        )
    return details or None


def validated_enquiry(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The enquiry's values, validated; raises ValidationError with one sentence."""
    for name in fields:
        if name not in ENQUIRY_LABELS:
            raise ValidationError(
                _("Unknown enquiry field {field}.").format(field=str(name)[:60]), field=str(name)
            )
    values: dict[str, Any] = {
        "enquirer_name": _name("enquirer_name", fields.get("enquirer_name"), "enquirer_name"),
        "phone": _as("phone", lambda: validation.validate_phone(fields.get("phone"))),
        "sought_family_name": _name(
            "sought_family_name", fields.get("sought_family_name"), "family_name"
        ),
        "sought_given_names": _name(
            "sought_given_names", fields.get("sought_given_names"), "given_names"
        ),
        "sought_sex": _as("sought_sex", lambda: validation.validate_sex(fields.get("sought_sex"))),
        "sought_age": _age(fields.get("sought_age")),
        "sought_phone": _as(
            "sought_phone", lambda: validation.validate_phone(fields.get("sought_phone"))
        ),
        "last_time": _as(
            "last_time",
            lambda: validation.validate_event_time(fields.get("last_time"), field="last_time"),
        ),
        "ante_mortem": _ante_mortem(fields.get("ante_mortem")),
    }
    for name, (limit, multiline) in _TEXT_LIMITS.items():
        values[name] = _text(name, fields.get(name), limit, multiline)
    if values["enquirer_name"] is None:
        raise ValidationError(_("Write the name of the person who asks."), field="enquirer_name")
    if values["phone"] is None and values["staying_at"] is None:
        raise ValidationError(
            _(
                "Write a phone number or where the family is staying, so that they can be called back."
            ),
            field="phone",
        )
    if not (
        values["sought_family_name"]
        or values["sought_given_names"]
        or values["description"]
        or values["ante_mortem"]
    ):
        raise ValidationError(
            _("Write the name of the person sought, or describe them."),
            field="sought_family_name",
        )
    return {k: v for k, v in values.items() if v is not None}


def record_enquiry(store: Store, author: str, **fields: Any) -> str:
    """Record a family's enquiry; returns its id. The hub's matcher gives it an outcome."""
    if store.role not in RECORDING_ROLES:
        raise PermissionDenied(_("This station's role may not record family enquiries."))
    values = validated_enquiry(fields)
    values["status"] = "open"
    enquiry_id = new_id()
    with store.transaction():
        values["reference"] = _next_reference(store)
        assert set(values) <= set(ENQUIRY.fields)
        store.record("enquiry", enquiry_id, values, author)
    return enquiry_id


def _next_reference(store: Store) -> str:
    """The reference of the next enquiry taken here: this desk's name and its count, fixed once
    given, so that a family quoting it always reaches its own enquiry."""
    name = store.meta.get("station_name") or store.station_id[:8]
    (taken,) = store.db.execute(
        "SELECT count(*) FROM enquiries WHERE created_origin = ?", [store.station_id]
    ).fetchone()
    return f"{name}-{int(taken) + 1:04d}"


def enquiry_reference(row: Mapping[str, Any]) -> str:
    """What the family quotes for an enquiry (from its id for one taken before references)."""
    return str(row.get("reference") or "E-" + str(row["id"])[-6:].upper())


ENQUIRY_STATUSES = ("open", "closed")


def update_enquiry(store: Store, author: str, enquiry_id: str, **fields: Any) -> list[str]:
    """Change some fields of an enquiry (``None`` clears one; ``status``: open or closed).

    The enquiry is validated again as it would be after the change; only the fields whose value
    changes are written. Returns their names.
    """
    if store.role not in RECORDING_ROLES:
        raise PermissionDenied(_("This station's role may not record family enquiries."))
    rows = list(
        store.db.query("SELECT * FROM enquiries WHERE id = ? AND deleted = 0", [enquiry_id])
    )
    if not rows:
        raise NotFound(_("No enquiry with this identifier in this station's store."))
    status = fields.pop("status", None)
    if status is not None and status not in ENQUIRY_STATUSES:
        raise ValidationError(
            _("Unknown enquiry status {status}: use open or closed.").format(
                status=str(status)[:20]
            ),
            field="status",
        )
    stored = {name: _stored(rows[0].get(name)) for name in ENQUIRY_LABELS}
    merged = {name: value for name, value in stored.items() if value is not None}
    merged.update(fields)
    values = validated_enquiry(merged)
    changes = {name: values.get(name) for name in fields if values.get(name) != stored.get(name)}
    if status is not None and status != rows[0].get("status"):
        changes["status"] = status
    if changes:
        store.record("enquiry", enquiry_id, changes, author)
    return sorted(changes)


def _stored(value: Any) -> Any:
    """A column as it was given (maps such as the ante-mortem details are stored as JSON)."""
    if isinstance(value, str) and value[:1] == "{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass(frozen=True)
class EnquiryOutcome:
    enquiry_id: str
    outcome: str  # found, officer, announced, none
    place: str | None
    text: str  # the sentence read to the family, in the user's language


def _require_reader(store: Store) -> None:
    if store.role not in READING_ROLES:
        raise PermissionDenied(_("This station's role may not read family enquiries."))


def outcome_for(store: Store, enquiry_id: str) -> EnquiryOutcome:
    """What the family may be told about the person they seek (no information until matched)."""
    _require_reader(store)
    found = store.db.execute(
        "SELECT 1 FROM enquiries WHERE id = ? AND deleted = 0", [enquiry_id]
    ).fetchone()
    if found is None:
        raise NotFound(_("No enquiry with this identifier in this station's store."))
    row = store.db.execute(
        "SELECT outcome, place FROM enquiry_outcomes WHERE enquiry_id = ? AND deleted = 0"
        " ORDER BY updated_hlc DESC LIMIT 1",
        [enquiry_id],
    ).fetchone()
    code, place = (row[0], row[1]) if row else (Outcome.NONE.value, None)
    if code not in {o.value for o in Outcome}:
        code, place = Outcome.NONE.value, None
    if code != Outcome.FOUND.value:
        place = None
    return EnquiryOutcome(enquiry_id, code, place, outcome_text(code, place))


def enquiries_fingerprint(store: Store) -> tuple[Any, ...]:
    """What changes whenever the list of enquiries or an outcome changes: counts and latest
    change times (two index-free aggregates, far cheaper than reading the enquiries)."""
    _require_reader(store)
    enquiry = store.db.execute("SELECT count(*), max(updated_hlc) FROM enquiries").fetchone()
    outcome = store.db.execute("SELECT count(*), max(updated_hlc) FROM enquiry_outcomes").fetchone()
    return (*enquiry, *outcome)


def enquiries(store: Store, enquiry_id: str | None = None) -> list[dict[str, Any]]:
    """Every live enquiry (or only ``enquiry_id``), oldest first, with its outcome code and
    sentence."""
    _require_reader(store)
    one = " AND e.id = ?" if enquiry_id is not None else ""
    rows = list(
        store.db.query(
            "SELECT e.*, o.outcome AS outcome, o.place AS outcome_place FROM enquiries e"
            " LEFT JOIN enquiry_outcomes o ON o.enquiry_id = e.id AND o.deleted = 0"
            f" WHERE e.deleted = 0 AND e.replaced_by IS NULL{one} ORDER BY e.created_hlc, e.id",
            [enquiry_id] if enquiry_id is not None else [],
        )
    )
    for row in rows:
        code = row.get("outcome") or Outcome.NONE.value
        place = row.get("outcome_place") if code == Outcome.FOUND.value else None
        row["outcome"] = code
        row["outcome_place"] = place
        row["outcome_text"] = outcome_text(code, place)
    return rows
