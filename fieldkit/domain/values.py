"""What a change may hold, field by field: the check of values received from another station.

The services validate what a person types (:mod:`fieldkit.domain.validation`, one translated
sentence per refusal); this module checks what arrives by sync, where a buggy or hostile station
(or hub) could send anything the wire format allows: a number for a name, an unknown triage
category, a map for a site, escape sequences for a terminal. Each field of each entity has one
check, built once; :func:`values_problem` returns a short English reason (for the logs and the
``error(invalid)`` frame) or ``None``. The checks are the limits of
:mod:`fieldkit.domain.validation` (types, sizes, characters, enums), not its full parsing: a value
a service could have written must pass, whatever version wrote it.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from fieldkit.domain.changes import DELETED, REPLACED_BY
from fieldkit.domain.model import ENTITIES, DeathStage
from fieldkit.domain.triage import REFINEMENTS, Category, Refinement
from fieldkit.domain.validation import (
    _BIDI_CONTROLS,
    DESCRIPTION_KEYS,
    MAX_AGE,
    NAME_MAX,
    PHONE_MAX,
    TEXT_LIMITS,
)

__all__ = ["ID_MAX", "values_problem", "value_problem"]

Check = Callable[[Any], str | None]

ID_MAX = 128  # a record id (the wire's entity_id bound)
SHORT = 80  # codes, statuses, kinds
LONG = 5000  # free text with no limit of its own in validation.TEXT_LIMITS
TIME_MAX = 40  # characters of an ISO-8601 time
AGE_TEXT_MAX = 20  # an age typed as text ("about 40")
MAX_NUMBER = 1e12  # scores and counts
ANTE_MORTEM_ITEMS = 64

_ALLOWED_CONTROLS = frozenset("\n\t\r")
_CATEGORIES = frozenset(c.value for c in Category)
_REFINEMENTS = frozenset(r.value for r in Refinement)
_STAGES = frozenset(s.value for s in DeathStage)
_DESCRIPTION_KEYS = frozenset(DESCRIPTION_KEYS)


def _bad_characters(text: str, multiline: bool) -> str | None:
    if text.isprintable():
        return None  # the common case: no control, format, surrogate or separator character
    for ch in text:
        if multiline and ch in _ALLOWED_CONTROLS:
            continue
        if ch in _BIDI_CONTROLS:
            return "a text-direction control character"
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in "\u2028\u2029":
            return "a control character"
    return None


def _text(max_len: int, multiline: bool = True) -> Check:
    """Text (or None) of at most ``max_len`` characters, with no control character (but line
    breaks and tabs in ``multiline`` text)."""

    def check(value: Any) -> str | None:
        if value is None:
            return None
        if type(value) is not str:
            return f"is {type(value).__name__}, not text"
        if len(value) > max_len:
            return f"is too long ({len(value)} characters > {max_len})"
        bad = _bad_characters(value, multiline)
        return None if bad is None else f"holds {bad}"

    return check


def _id(optional: bool) -> Check:
    """A record id: non-empty text of at most ``ID_MAX`` characters (or None if optional)."""
    text = _text(ID_MAX, multiline=False)

    def check(value: Any) -> str | None:
        if value is None:
            return None if optional else "is missing"
        if type(value) is str and not value.strip():
            return "is empty"
        return text(value)

    return check


def _enum(allowed: frozenset[str], optional: bool = True) -> Check:
    def check(value: Any) -> str | None:
        if value is None:
            return None if optional else "is missing"
        if type(value) is not str or value not in allowed:
            return f"is not one of {', '.join(sorted(allowed))}"
        return None

    return check


def _time(value: Any) -> str | None:
    """An ISO-8601 time or date (``YYYY-MM-DDThh:mm:ssZ`` as the services write), or None."""
    if value is None:
        return None
    if type(value) is not str:
        return f"is {type(value).__name__}, not an ISO-8601 time"
    if not value:
        return None
    if len(value) > TIME_MAX or not value[:4].isdigit():
        return "is not an ISO-8601 time"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return "is not an ISO-8601 time"
    if not 1900 <= moment.year <= 2200:
        return "is a time out of range"
    return None


def _bool(value: Any) -> str | None:
    return None if value is None or type(value) is bool else "is not a boolean"


def _number(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return None if -MAX_NUMBER <= value <= MAX_NUMBER else "is a number out of range"
    return "is not a number"


def _age(value: Any) -> str | None:
    """Whole years 0 to 120, or a short text ("about 40")."""
    if type(value) is int:
        return None if 0 <= value <= MAX_AGE else "is an age out of range"
    return _AGE_TEXT(value)


_AGE_TEXT = _text(AGE_TEXT_MAX, multiline=False)


def _int_or_text(max_len: int) -> Check:
    text = _text(max_len)

    def check(value: Any) -> str | None:
        if type(value) is int:
            return None if -MAX_NUMBER <= value <= MAX_NUMBER else "is a number out of range"
        return text(value)

    return check


_DESCRIPTION_TEXT = {key: _text(TEXT_LIMITS[key]) for key in DESCRIPTION_KEYS}


def _description(value: Any) -> str | None:
    """The physical description of an X person: a map of known keys to short text."""
    if value is None:
        return None
    if type(value) is not dict:
        return "is not a map"
    for key, item in value.items():
        if key not in _DESCRIPTION_KEYS:
            return f"has the unknown key {str(key)[:32]!r}"
        problem = _age(item) if key == "apparent_age" else _DESCRIPTION_TEXT[key](item)
        if problem is not None:
            return f"{key} {problem}"
    return None


_AM_TEXT = _text(TEXT_LIMITS["ante_mortem"])
_AM_KEY = _text(60, multiline=False)


def _ante_mortem(value: Any) -> str | None:
    """Text, or a map of short keys (or a list) of text."""
    if type(value) is dict:
        if len(value) > ANTE_MORTEM_ITEMS:
            return "has too many items"
        for key, item in value.items():
            problem = _AM_KEY(key) or _AM_TEXT(item)
            if problem is not None:
                return problem
        return None
    if type(value) is list:
        if len(value) > ANTE_MORTEM_ITEMS:
            return "has too many items"
        for item in value:
            problem = _AM_TEXT(item)
            if problem is not None:
                return problem
        return None
    return _AM_TEXT(value)


def _field_check(entity: str, name: str) -> Check:
    """The check of one field of one entity."""
    if name == DELETED:
        return lambda value: None if type(value) is bool else "is not a boolean"
    if name == REPLACED_BY:
        return _id(optional=True)
    if name in ("person_id", "enquiry_id"):
        return _id(optional=False)
    if name == "x_description":
        return _description
    if name == "ante_mortem":
        return _ante_mortem
    if name in ("apparent_age", "sought_age"):
        return _age
    if name == "category":
        return _enum(_CATEGORIES, optional=False)
    if name == "refinement":
        return _enum(_REFINEMENTS)
    if name == "stage" and entity == "death_stage":
        return _enum(_STAGES, optional=False)
    if name in ("at", "signed_at", "issued_at", "departure_time", "last_time", "recontacted_at"):
        return _time
    if name in ("birth_date",):
        return _time
    if name in ("left_scene", "recontact"):
        return _bool
    if name in ("score", "rank"):
        return _number
    if name == "itt_days":
        return _int_or_text(SHORT)
    if name in ("family_name", "given_names", "sought_family_name", "sought_given_names"):
        return _text(NAME_MAX, multiline=False)
    if name in ("phone", "sought_phone"):
        return _text(PHONE_MAX, multiline=False)
    if name in TEXT_LIMITS:
        return _text(TEXT_LIMITS[name])
    if name in ("nf399", "sex", "sought_sex", "status", "kind", "outcome", "chosen_change"):
        return _text(ID_MAX, multiline=False)
    # Other text (reference, place, reasons, signature, fingerprint, hashes, officer ...).
    return _text(LONG)


_CHECKS: dict[tuple[str, str], Check] = {
    (spec.name, name): _field_check(spec.name, name)
    for spec in ENTITIES.values()
    for name in (*spec.fields, DELETED, REPLACED_BY)
}


def value_problem(entity: str, name: str, value: Any) -> str | None:
    """Why ``value`` cannot be the field ``name`` of ``entity``, or None (unknown field: None)."""
    check = _CHECKS.get((entity, name))
    return None if check is None else check(value)


def values_problem(entity: str, values: Mapping[str, Any]) -> str | None:
    """Why the values of one change of ``entity`` cannot be stored, or None.

    Fields the entity does not have are the caller's to refuse (``wire.invalid_reason``).
    """
    checks = _CHECKS
    for name, value in values.items():
        check = checks.get((entity, name))
        if check is not None:
            problem = check(value)
            if problem is not None:
                return f"{entity}.{name[:64]} {problem}"
    if entity == "triage":
        category, refinement = values.get("category"), values.get("refinement")
        if (
            category is not None
            and refinement is not None
            and Refinement(refinement) not in REFINEMENTS[Category(category)]
        ):
            return f"triage.refinement {refinement} does not refine {category}"
    return None
