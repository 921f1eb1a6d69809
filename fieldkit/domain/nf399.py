"""The victim number (NF 399 / SINUS): scans, shape, bracelet ranges.

Default shape (DOMAIN.md, one public source, configurable per incident): 21 characters,
checked on the normalised number (uppercase, no spaces or dashes)::

    FR   075   BSPP  2026  TR  000123
    |    |     |     |     |   serial: 6 digits (bracelets come on rings of 10 consecutive serials)
    |    |     |     |     TR (terrain, field) or HP (hospital)
    |    |     |     year: 2000-2099
    |    |     issuing entity: 4 letters or digits
    |    département: 3 digits (001-095 as 0NN, overseas 971-976, 987, 988...) or 02A / 02B (Corsica)
    country: 2 letters

No check digit is documented, so a mistyped number still has a valid shape: the registered bracelet
ranges of a station catch most typing slips (a number outside them needs a confirmation).

A number is split into a *prefix* and a *serial*: the serial is its trailing run of digits (the
6-digit serial in the default shape), which is what a range counts over.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from fieldkit.errors import NeedsConfirmation, ValidationError
from fieldkit.i18n import _

DEFAULT_PATTERN = r"[A-Z]{2}(?:[0-9]{3}|02[AB])[A-Z0-9]{4}20[0-9]{2}(?:TR|HP)[0-9]{6}"
DEFAULT_LENGTH = 21
MAX_RING = 10_000  # the largest count accepted in "FIRST+COUNT"


@dataclass(frozen=True)
class NumberFormat:
    """The shape of victim numbers for an incident: a regex on the normalised number."""

    pattern: str = DEFAULT_PATTERN
    example: str = "FR075BSPP2026TR000123"


DEFAULT_FORMAT = NumberFormat()

# AIM symbology identifier sent by many scanners before the data: "]" + code letter + modifier.
_AIM_ID = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
# Digits typed on a French AZERTY keyboard without Shift (or by a US-layout scanner) come out
# as the unshifted digit row: "&é\"'(-è_çà". These characters never occur in a number.
_AZERTY_DIGITS = str.maketrans("&é\"'(-è_çà", "1234567890")
_AZERTY_ONLY = set("&é\"'(è_çà")
_TRAILING_DIGITS = re.compile(r"(.*?)([0-9]+)")
_RANGE_SEPARATORS = re.compile(r"\s*(?:\.\.|[-\u2013\u2014]|\bto\b|\bà\b)\s*")


@lru_cache(maxsize=16)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)  # "\d" in a custom pattern means 0-9 only


_SPACES_AND_DASHES = re.compile("[\\s" + re.escape("".join(sorted(_DASHES))) + "]")


def normalize_scan(raw: str) -> str:
    """The number carried by a scan or a typed entry: unwrapped, uppercase, no spaces or dashes."""
    if raw.isascii() and raw.isalnum():
        return raw.upper()  # the common case: nothing to unwrap or normalise
    text = raw if raw.isprintable() else _control_to_space(raw)
    text = unicodedata.normalize("NFKC", text).strip()
    text = _AIM_ID.sub("", text)
    # "NF399:FR...", "https://host/v/FR...", "?n=FR...": the number follows the last separator.
    for separator in (":", "/", "="):
        text = text.rpartition(separator)[2]
    if any(ch in _AZERTY_ONLY for ch in text):
        text = text.translate(_AZERTY_DIGITS)
    return _SPACES_AND_DASHES.sub("", text).upper()


def _control_to_space(raw: str) -> str:
    return "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in raw)


def _shown(number: str) -> str:
    return number if len(number) <= 40 else number[:39] + "…"


def _shape_error(number: str, fmt: NumberFormat) -> ValidationError:
    shown = _shown(number)
    if fmt.pattern != DEFAULT_PATTERN:
        message = _("Victim number {number} does not have the expected shape, like {example}.")
    elif len(number) != DEFAULT_LENGTH:
        message = _(
            "Victim number {number} should be 21 characters long, not {length}, like {example}."
        )
    else:
        message = _(
            "Victim number {number} does not have the expected shape: country, département, "
            "issuing entity, year, TR or HP and a 6-digit serial, like {example}."
        )
    return ValidationError(
        message.format(number=shown, length=len(number), example=fmt.example), field="nf399"
    )


def _checked(raw: str, fmt: NumberFormat) -> str:
    number = normalize_scan(raw)
    if not number:
        raise ValidationError(
            _("The victim number is empty: scan the bracelet or type the number."), field="nf399"
        )
    if not _compiled(fmt.pattern).fullmatch(number):
        raise _shape_error(number, fmt)
    return number


def validate_nf399(
    raw: str,
    fmt: NumberFormat = DEFAULT_FORMAT,
    ranges: Sequence[BraceletRange] = (),
    *,
    confirmed_outside: bool = False,
) -> str:
    """Return the normalised number; refuse a wrong shape, question a number outside the ranges."""
    number = _checked(raw, fmt)
    if ranges and not confirmed_outside and not any(number in r for r in ranges):
        raise NeedsConfirmation(
            _(
                "Victim number {number} is outside the bracelet ranges registered on this "
                "station: check it, then confirm."
            ).format(number=number),
            field="nf399",
        )
    return number


def _split(number: str) -> tuple[str, str] | None:
    match = _TRAILING_DIGITS.fullmatch(number)
    return (match[1], match[2]) if match else None


@dataclass(frozen=True, order=True)
class BraceletRange:
    """Consecutive numbers sharing one prefix, ``first`` to ``last`` included."""

    first: str
    last: str

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, str):
            return False
        parts, low, high = _split(number), _split(self.first), _split(self.last)
        if parts is None or low is None or high is None:
            return False
        (prefix, serial) = parts
        return (
            prefix == low[0] == high[0]
            and len(serial) == len(low[1]) == len(high[1])
            and low[1] <= serial <= high[1]
        )

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


def _range_error(text: str, fmt: NumberFormat) -> ValidationError:
    return ValidationError(
        _(
            "Bracelet range {text} is not readable: write FIRST-LAST or FIRST+COUNT, "
            "like {example}+10."
        ).format(text=_shown(text.strip()), example=fmt.example),
        field="range",
    )


def _range_end(raw: str, fmt: NumberFormat) -> str:
    try:
        return _checked(raw, fmt)
    except ValidationError:
        raise ValidationError(
            _("Bracelet range end {number} is not a victim number like {example}.").format(
                number=_shown(normalize_scan(raw)), example=fmt.example
            ),
            field="range",
        ) from None


def _parse_count(text: str, fmt: NumberFormat) -> BraceletRange:
    start, _plus, count_text = text.rpartition("+")
    count_text = count_text.strip()
    if not (count_text.isascii() and count_text.isdigit()) or not start.strip():
        raise _range_error(text, fmt)
    count = int(count_text)
    if not 1 <= count <= MAX_RING:
        raise ValidationError(
            _("A bracelet range holds from 1 to {max} numbers.").format(max=MAX_RING),
            field="range",
        )
    first = _range_end(start, fmt)
    parts = _split(first)
    if parts is None:
        raise _range_error(text, fmt)
    prefix, serial = parts
    end = int(serial) + count - 1
    last = f"{prefix}{end:0{len(serial)}d}"
    if len(str(end)) > len(serial) or not _compiled(fmt.pattern).fullmatch(last):
        raise ValidationError(
            _("Bracelet range {first}+{count} runs past the last possible serial.").format(
                first=first, count=count
            ),
            field="range",
        )
    return BraceletRange(first, last)


def _parse_pair(text: str, fmt: NumberFormat) -> BraceletRange:
    # The ends may themselves be typed with dashes: take the first separator leaving two numbers.
    for match in _RANGE_SEPARATORS.finditer(text):
        left, right = text[: match.start()], text[match.end() :]
        try:
            return BraceletRange(_checked(left, fmt), _checked(right, fmt))
        except ValidationError:
            continue
    separators = list(_RANGE_SEPARATORS.finditer(text))
    if len(separators) != 1:
        raise _range_error(text, fmt)
    left, right = text[: separators[0].start()], text[separators[0].end() :]
    if not normalize_scan(left) or not normalize_scan(right):
        raise _range_error(text, fmt)
    return BraceletRange(_range_end(left, fmt), _range_end(right, fmt))


def parse_range(text: str, fmt: NumberFormat = DEFAULT_FORMAT) -> BraceletRange:
    """Read "FIRST-LAST" or "FIRST+COUNT" (a ring of COUNT numbers) into a checked range."""
    stripped = text.strip()
    if not stripped:
        raise _range_error(text, fmt)
    found = _parse_count(stripped, fmt) if "+" in stripped else _parse_pair(stripped, fmt)
    low, high = _split(found.first), _split(found.last)
    if low is None or high is None or low[0] != high[0] or len(low[1]) != len(high[1]):
        raise ValidationError(
            _(
                "The two ends of bracelet range {first}-{last} must differ only by their serial."
            ).format(first=found.first, last=found.last),
            field="range",
        )
    if found.first > found.last:
        raise ValidationError(
            _(
                "Bracelet range {first}-{last} is inverted: its first number comes after its last."
            ).format(first=found.first, last=found.last),
            field="range",
        )
    return found


def number_taken_error(number: str, other_label: str) -> ValidationError:
    """The error for a number already bound to another person (shown as ``other_label``)."""
    return ValidationError(
        _(
            "Victim number {number} is already bound to {other}: check the bracelet "
            "before going on."
        ).format(number=number, other=other_label),
        field="nf399",
    )
