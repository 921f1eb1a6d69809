"""Validation of every value a person types, scans or imports: one clear sentence per refusal.

Each validator returns the clean value (``None`` for an empty one) or raises
:class:`~fieldkit.errors.ValidationError` with ``field`` set and a message translated when raised.
The victim-number rules live in :mod:`fieldkit.domain.nf399` and are re-exported here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from fieldkit.domain.nf399 import (
    DEFAULT_FORMAT,
    DEFAULT_PATTERN,
    BraceletRange,
    NumberFormat,
    normalize_scan,
    number_taken_error,
    parse_range,
    validate_nf399,
)
from fieldkit.domain.triage import LABELS, REFINEMENTS, Category, Refinement
from fieldkit.errors import ValidationError
from fieldkit.i18n import N_, _

__all__ = [
    "DEFAULT_FORMAT",
    "DEFAULT_PATTERN",
    "DESCRIPTION_KEYS",
    "FIELD_LABELS",
    "TEXT_LIMITS",
    "BraceletRange",
    "NumberFormat",
    "field_label",
    "normalize_scan",
    "number_taken_error",
    "parse_category",
    "parse_range",
    "parse_refinement",
    "validate_age",
    "validate_birth_date",
    "validate_description",
    "validate_event_time",
    "validate_identity",
    "validate_name",
    "validate_nf399",
    "validate_phone",
    "validate_sex",
    "utc_stamp",
    "validate_text",
]

NAME_MAX = 100
MAX_AGE = 120
PHONE_MAX = 32
MAX_AGO = timedelta(days=30)
NIGHT = timedelta(hours=12)  # how far back "HH:MM" may reach into yesterday

DESCRIPTION_KEYS = (
    "sex",
    "apparent_age",
    "build",
    "hair",
    "clothing",
    "jewellery",
    "tattoos",
    "scars",
    "belongings",
)

# The size limit, in characters, of each free-text field.
TEXT_LIMITS: dict[str, int] = {
    **dict.fromkeys(DESCRIPTION_KEYS, 500),
    "site": 80,
    "found_place": 200,
    "destination": 120,
    "vehicle": 60,
    "address": 300,
    "nationality": 60,
    "clinical_notes": 4000,
    "care_given": 2000,
    "orientation": 200,
    "notes": 2000,
    "text": 5000,  # a first declaration, in the person's own words
    "clinician": 120,
    "registration": 40,
    "where": 300,
    "saw": 500,
    "email": 254,
    "oriented_to": 200,
    "possible_identity": 200,
    "source": 300,
    "note": 2000,
    "enquirer_name": 200,
    "relation": 60,
    "language": 40,
    "staying_at": 300,
    "description": 1000,
    "clothing_sought": 500,
    "last_place": 300,
    "ante_mortem": 5000,
}

# The name of each field as the user sees it (translated when a message is produced).
FIELD_LABELS: dict[str, str] = {
    "officer": N_("Officer"),
    "stage": N_("Death stage"),
    "findings": N_("Findings"),
    "impact": N_("Psychological impact"),
    "place": N_("Place of the examination"),
    "examined_at": N_("Time of the examination"),
    "nf399": N_("Victim number"),
    "family_name": N_("Family name"),
    "given_names": N_("Given names"),
    "sex": N_("Sex"),
    "birth_date": N_("Birth date"),
    "apparent_age": N_("Apparent age"),
    "phone": N_("Phone"),
    "address": N_("Address"),
    "nationality": N_("Nationality"),
    "site": N_("Site"),
    "found_place": N_("Place found"),
    "destination": N_("Destination"),
    "vehicle": N_("Vehicle"),
    "departure_time": N_("Departure time"),
    "clinical_notes": N_("Clinical notes"),
    "build": N_("Build"),
    "hair": N_("Hair"),
    "clothing": N_("Clothing"),
    "jewellery": N_("Jewellery"),
    "tattoos": N_("Tattoos"),
    "scars": N_("Scars"),
    "belongings": N_("Belongings"),
    "station_name": N_("Station name"),
    "incident": N_("Incident"),
    "care_given": N_("Care given"),
    "orientation": N_("Orientation"),
    "notes": N_("Notes"),
    "note": N_("Note"),
    "text": N_("Declaration"),
    "clinician": N_("Clinician"),
    "registration": N_("Registration number"),
    "where": N_("Where they were"),
    "saw": N_("What they saw"),
    "email": N_("E-mail"),
    "oriented_to": N_("Oriented to"),
    "possible_identity": N_("Possible identity"),
    "source": N_("Source"),
    "enquirer_name": N_("Enquirer's name"),
    "relation": N_("Relation"),
    "language": N_("Language"),
    "staying_at": N_("Staying at"),
    "description": N_("Description"),
    "last_place": N_("Last known place"),
    "last_time": N_("Last known time"),
    "ante_mortem": N_("Ante-mortem details"),
    "category": N_("Triage category"),
    "refinement": N_("Refinement"),
    "event_time": N_("Time"),
    "at": N_("Time"),
}


def field_label(field: str) -> str:
    """The field's name in the user's language (its identifier when it has no label)."""
    return _(FIELD_LABELS[field]) if field in FIELD_LABELS else field


# --- characters ------------------------------------------------------------------------------

# Bidi embeddings/overrides (U+202A-202E) and isolates (U+2066-2069) can make text display in an
# order other than the one stored ("Trojan source"); nobody types them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_SEPARATORS = "\u2028\u2029"


def _check_characters(text: str, field: str, allowed: str = "") -> None:
    if text.isprintable():
        return  # no control, format (bidi), surrogate or separator character: the common case
    for ch in text:
        if ch in allowed:
            continue
        if ch in _BIDI_CONTROLS:
            raise ValidationError(
                _(
                    "{field} contains an invisible character that reverses the text direction: "
                    "retype it."
                ).format(field=field_label(field)),
                field=field,
            )
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in _LINE_SEPARATORS:
            raise ValidationError(
                _("{field} contains a control character: retype it.").format(
                    field=field_label(field)
                ),
                field=field,
            )


def _check_length(text: str, field: str, max_len: int) -> None:
    if len(text) > max_len:
        raise ValidationError(
            _("{field} is too long: {length} characters, at most {max}.").format(
                field=field_label(field), length=len(text), max=max_len
            ),
            field=field,
        )


def _require_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(
            _("{field} must be text.").format(field=field_label(field)), field=field
        )
    return value


def _fold(text: str) -> str:
    """Words of ``text`` without case or accents, separated by single spaces."""
    if text.isascii():
        bare = text.casefold()
    else:
        decomposed = unicodedata.normalize("NFD", text.casefold())
        bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(re.findall(r"\w+", bare))


# --- identity ---------------------------------------------------------------------------------


def validate_name(value: str | None, field: str, *, max_len: int = NAME_MAX) -> str | None:
    """A name in any script, as typed (NFC, trimmed); ``None`` when empty."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", _require_text(value, field)).strip()
    if not text:
        return None
    _check_characters(text, field)
    _check_length(text, field, max_len)
    return text


# A lone X (optionally numbered: "X", "x2", "X 12") or a word meaning "no name".
_PLACEHOLDER = re.compile(
    r"x|x ?\d+|inconnu|inconnue|inconnu e|unknown|anonyme|anonymous|nn|sans nom|no name"
    r"|non identifie|non identifiee|unidentified|not identified|xx+"
)
_X_FIRST = re.compile(r"x\d*")
_QUESTION_MARKS = "?¿؟？⸮"
# Words that make a name a guess, without case or accents ("peut-être" -> "peut etre").
_GUESS_WORDS = re.compile(
    r"\b(?:"
    r"pouvant etre|pourrait etre|peut etre|peutetre|probablement|probable|possiblement|"
    r"possible|sans doute|vraisemblablement|presume|presumee|presumement|suppose|supposee|"
    r"semble etre|ressemble a|alias|aka|a k a|possibly|probably|maybe|perhaps|presumably|"
    r"presumed|supposedly|might be|could be|may be|believed to be|thought to be|looks like|"
    r"inconnu|inconnue|unknown|non identifie|non identifiee|unidentified|"
    r"eventuellement|vraisemblable|incertain|incertaine|a confirmer|a verifier|non confirme|"
    r"non confirmee|non verifie|non verifiee|sous reserve|selon|"
    r"likely|unconfirmed|unverified|to be confirmed|to be verified|tbc|uncertain"
    r")\b"
)
_ALTERNATIVES = re.compile(r"\w\s*/\s*\w")
# Abbreviated hedges, read on the text itself (the dot is what makes them abbreviations).
_GUESS_ABBREVIATIONS = re.compile(r"(?:^|[\s(])(?:prob|poss|prés|pres|env)\.", re.IGNORECASE)


def _is_guess(text: str, words: str) -> bool:
    if any(mark in text for mark in _QUESTION_MARKS) or "=" in text:
        return True  # "Dupont ?", "X = Dupont"
    if _ALTERNATIVES.search(text):
        return True  # "Dupont/Durand", "Dupont / Durand"
    if _GUESS_ABBREVIATIONS.search(text):
        return True  # "prob. Dupont", "poss. Dupont"
    tokens = words.split()
    if len(tokens) > 1 and _X_FIRST.fullmatch(tokens[0]):
        return True  # "X Dupont", "X (Dupont)", "X dit Dupont", "X ou Dupont"
    return _GUESS_WORDS.search(words) is not None


def validate_identity(
    family_name: str | None, given_names: str | None
) -> tuple[str | None, str | None]:
    """Apply the X rule: an identity is known or left empty, never guessed."""
    result: list[str | None] = []
    for field, value in (("family_name", family_name), ("given_names", given_names)):
        name = validate_name(value, field)
        if name is not None:
            words = _fold(name)
            if not words or _PLACEHOLDER.fullmatch(words):
                raise ValidationError(
                    _(
                        '"{value}" is not a name: leave the name fields empty and the screen '
                        "will show X."
                    ).format(value=name),
                    field=field,
                )
            if _is_guess(name, words):
                raise ValidationError(
                    _(
                        "{field} holds a guess ({value}): leave it empty so the person stays X, "
                        "and have the police record the possible identity as a lead."
                    ).format(field=field_label(field), value=name),
                    field=field,
                )
        result.append(name)
    return result[0], result[1]


# --- free text --------------------------------------------------------------------------------


def validate_text(
    value: str | None, field: str, *, max_len: int = 2000, multiline: bool = True
) -> str | None:
    """Free text kept as typed (markup included), trimmed, within ``max_len`` characters."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", _require_text(value, field)).strip()
    if multiline:
        text = re.sub(r"\r\n?|[\u2028\u2029]", "\n", text)
    if not text:
        return None
    _check_characters(text, field, "\n\t" if multiline else "")
    _check_length(text, field, max_len)
    return text


def validate_description(fields: Mapping[str, str | None]) -> dict[str, str]:
    """The physical description of an X person: known keys only, each a short text."""
    if not isinstance(fields, Mapping):
        raise ValidationError(
            _("The physical description is not in the expected form."), field="x_description"
        )
    described: dict[str, str] = {}
    for key, value in fields.items():
        if key not in DESCRIPTION_KEYS:
            raise ValidationError(
                _('Unknown description field "{key}": the fields are {keys}.').format(
                    key=key, keys=", ".join(DESCRIPTION_KEYS)
                ),
                field="x_description",
            )
        text = validate_text(value, key, max_len=TEXT_LIMITS[key])
        if text is not None:
            described[key] = text
    return {key: described[key] for key in DESCRIPTION_KEYS if key in described}


# --- sex, dates, age --------------------------------------------------------------------------

_SEXES = {
    "f": "F",
    "femme": "F",
    "female": "F",
    "woman": "F",
    "m": "M",
    "h": "M",
    "homme": "M",
    "male": "M",
    "man": "M",
    "u": "U",
    "x": "U",
    "inconnu": "U",
    "unknown": "U",
    "indetermine": "U",
}


def validate_sex(value: str | None) -> str | None:
    """F, M or U (unknown); also takes lowercase, H (homme), femme/homme, female/male."""
    if value is None or not _require_text(value, "sex").strip():
        return None
    sex = _SEXES.get(_fold(value))
    if sex is None:
        raise ValidationError(
            _(
                'Sex "{value}" is not understood: type F (woman), M or H (man), or U (unknown).'
            ).format(value=value.strip()),
            field="sex",
        )
    return sex


_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_FRENCH_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


def validate_birth_date(value: str | date | None, *, today: date | None = None) -> str | None:
    """An ISO date YYYY-MM-DD (DD/MM/YYYY accepted), not in the future, at most 120 years ago."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        born, shown = value, value.isoformat()
    else:
        shown = _require_text(value, "birth_date").strip()
        if not shown:
            return None
        born = _parse_date(shown)
    today = today or date.today()
    if born > today:
        raise ValidationError(
            _("Birth date {date} is in the future: check the year.").format(date=shown),
            field="birth_date",
        )
    if _years_between(born, today) > MAX_AGE:
        raise ValidationError(
            _("Birth date {date} gives an age over 120 years: check the year.").format(date=shown),
            field="birth_date",
        )
    return born.isoformat()


def _parse_date(text: str) -> date:
    iso, french = _ISO_DATE.fullmatch(text), _FRENCH_DATE.fullmatch(text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if french:
            return date(int(french[3]), int(french[2]), int(french[1]))
    except ValueError:
        pass
    raise ValidationError(
        _("Birth date {date} is not a valid date: write it as DD/MM/YYYY or YYYY-MM-DD.").format(
            date=text
        ),
        field="birth_date",
    )


def _years_between(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def validate_age(value: int | str | None) -> int | None:
    """An age in whole years, 0 to 120."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        age = int(text) if text.isascii() and text.isdigit() else -1
    elif isinstance(value, int) and not isinstance(value, bool):
        age = value
    else:
        age = -1
    if not 0 <= age <= MAX_AGE:
        raise ValidationError(
            _("Age must be a whole number of years between 0 and 120."), field="apparent_age"
        )
    return age


# --- times ------------------------------------------------------------------------------------

_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2})(?::(\d{2}))?|[hH](\d{2})?)")
_FRENCH_DATETIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})[ T]+(\d{1,2})[:hH](\d{2})")


def _localise(naive: datetime, tz: tzinfo | None) -> datetime:
    # tz None: the system's local time zone, with its own daylight-saving rules for that date.
    return naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()


def validate_event_time(
    value: str | datetime | None,
    *,
    now: datetime | None = None,
    max_ahead: timedelta = timedelta(hours=1),
    field: str = "event_time",
) -> str | None:
    """A time as UTC ``YYYY-MM-DDThh:mm:ssZ``; HH:MM alone means the last such time, local.

    Times without a zone are local: in the zone of ``now`` when it is aware, else the system's.
    HH:MM (or 14h30) is today, or yesterday when today's would be more than ``max_ahead`` ahead
    and yesterday's at most 12 hours ago (typed after midnight for an event of the evening before).
    """
    if value is None:
        return None
    local_tz: tzinfo | None
    if now is None or now.tzinfo is None:
        local_tz, now = None, (now or datetime.now()).astimezone()
    else:
        local_tz = now.tzinfo
    if isinstance(value, datetime):
        shown = value.isoformat(sep=" ")
        moment = value if value.tzinfo is not None else _localise(value, local_tz)
    else:
        shown = _require_text(value, field).strip()
        if not shown:
            return None
        moment = _parse_time(shown, now, local_tz, max_ahead, field)
    if moment > now + max_ahead:
        raise ValidationError(
            _("Time {value} is in the future: check the time and the station's clock.").format(
                value=shown
            ),
            field=field,
        )
    if moment < now - MAX_AGO:
        raise ValidationError(
            _("Time {value} is more than 30 days ago: check the date.").format(value=shown),
            field=field,
        )
    return utc_stamp(moment)


def utc_stamp(moment: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ssZ``: how every time is stored (a naive time is taken as local)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(
    text: str, now: datetime, local_tz: tzinfo | None, max_ahead: timedelta, field: str
) -> datetime:
    try:
        clock = _CLOCK.fullmatch(text)
        if clock:
            hour, minute = int(clock[1]), int(clock[2] or clock[4] or 0)
            at = time(hour, minute, int(clock[3] or 0))
            today = now.date()  # ``now`` is in the local zone
            moment = _localise(datetime.combine(today, at), local_tz)
            yesterday = _localise(datetime.combine(today - timedelta(days=1), at), local_tz)
            if moment > now + max_ahead and now - yesterday <= NIGHT:
                moment = yesterday
            return moment
        french = _FRENCH_DATETIME.fullmatch(text)
        if french:
            day, month, year, hour, minute = (int(part) for part in french.groups())
            return _localise(datetime(year, month, day, hour, minute), local_tz)
        if ":" in text:
            parsed = datetime.fromisoformat(text)
            return parsed if parsed.tzinfo is not None else _localise(parsed, local_tz)
    except (ValueError, OverflowError):
        pass
    raise ValidationError(
        _("Time {value} is not understood: write HH:MM or YYYY-MM-DD HH:MM.").format(value=text),
        field=field,
    )


# --- phone ------------------------------------------------------------------------------------

_PHONE_CHARACTERS = frozenset("0123456789 +()-.")


def validate_phone(value: str | None) -> str | None:
    """A phone number as typed: digits, spaces, + ( ) - . and at most 32 characters."""
    if value is None:
        return None
    text = _require_text(value, "phone").strip()
    if not text:
        return None
    # Digits of other scripts (Arabic-Indic...) become ASCII; any space becomes a plain one.
    text = "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() else " " if ch.isspace() else ch
        for ch in text
    )
    if len(text) > PHONE_MAX:
        raise ValidationError(_("A phone number has at most 32 characters."), field="phone")
    if not set(text) <= _PHONE_CHARACTERS:
        raise ValidationError(
            _("Phone number {value} may only hold digits, spaces, +, (, ), - and dots.").format(
                value=text
            ),
            field="phone",
        )
    if sum(ch.isdigit() for ch in text) < 3:
        raise ValidationError(
            _("Phone number {value} has too few digits.").format(value=text), field="phone"
        )
    return text


# --- triage -----------------------------------------------------------------------------------

_CATEGORIES: dict[str, Category] = {
    "ua": Category.UA,
    "1": Category.UA,
    "ur": Category.UR,
    "2": Category.UR,
    "3": Category.IMPLIQUE,
    "involved": Category.IMPLIQUE,
    "dcd": Category.DCD,
    "4": Category.DCD,
    "decede": Category.DCD,
    "deceased": Category.DCD,
    "dead": Category.DCD,
}


def parse_category(value: str) -> Category:
    """UA, UR, Impliqué or DCD from its name, a prefix of "impliqué" or the key 1-4."""
    if isinstance(value, str) and value.isascii():
        known = _CATEGORIES.get(value.strip().lower())
        if known is not None:
            return known
    words = _fold(_require_text(value, "category")).replace(" ", "")
    if len(words) >= 3 and "implique".startswith(words):
        return Category.IMPLIQUE
    if words in _CATEGORIES:
        return _CATEGORIES[words]
    if not words:
        raise ValidationError(
            _("Choose a triage category: UA, UR, Impliqué or DCD (keys 1 to 4)."),
            field="category",
        )
    raise ValidationError(
        _(
            'Unknown triage category "{value}": choose UA, UR, Impliqué or DCD (keys 1 to 4).'
        ).format(value=value.strip()),
        field="category",
    )


def parse_refinement(value: str | None, category: Category) -> Refinement | None:
    """EU or U1 refine UA, U2 or U3 refine UR; the other categories have none."""
    if value is None or not _require_text(value, "refinement").strip():
        return None
    text = value.strip().upper()
    if text not in Refinement.__members__:
        raise ValidationError(
            _('Unknown refinement "{value}": use EU or U1 for UA, U2 or U3 for UR.').format(
                value=value.strip()
            ),
            field="refinement",
        )
    refinement = Refinement(text)
    allowed = REFINEMENTS[category]
    if refinement in allowed:
        return refinement
    label = _(LABELS[category])
    if not allowed:
        raise ValidationError(
            _("{category} has no refinement: leave it empty.").format(category=label),
            field="refinement",
        )
    raise ValidationError(
        _("Refinement {refinement} does not belong to {category}: use {first} or {second}.").format(
            refinement=refinement.value, category=label, first=allowed[0], second=allowed[1]
        ),
        field="refinement",
    )
