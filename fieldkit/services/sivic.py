"""SI-VIC cross-check: hospital admission lists crossed with the persons counted in the field.

:func:`import_admissions` reads a CSV list exported from SI-VIC (or typed by a hospital) and
keeps each admission in the station's store (table ``hospital_admissions``, migration 5; local,
outside the change log). Accepted columns (see docs/sivic.md): the victim number, family name,
given names, birth date, sex, hospital, admission date, under French or English headers, in
any order; other columns are ignored. ``;``, ``,`` or tab separated; UTF-8 with or without BOM,
UTF-16 with BOM, else Windows-1252/Latin-1.

A bad row is refused with one sentence naming its line; the other rows are still imported, in
one transaction; nothing already saved is touched (re-importing the same list adds nothing:
each admission has a fingerprint). Files are bounded: size, line length, rows, columns.

:func:`cross_check` answers three questions for the CIAV:

- counted and admitted: persons counted in the field and found in an admission list, matched
  by victim number, else by family name + birth date (+ first given name when both have one);
- evacuated but not admitted: persons with an evacuation destination and no admission (persons
  triaged DCD are left out: they go to the forensic institute, not to a hospital);
- admitted without a field number: admissions that match no counted person (no number, or a
  number the field never counted, and no unique name + birth date match).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fieldkit.domain import validation
from fieldkit.domain.model import Role
from fieldkit.domain.triage import Category
from fieldkit.errors import FieldkitError, PermissionDenied, ValidationError
from fieldkit.i18n import _
from fieldkit.services.audit import record_reads
from fieldkit.services.station import number_format
from fieldkit.store import queries
from fieldkit.store.store import Store

IMPORTERS = frozenset({Role.CIAV.value})
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_LINE_CHARS = 4096
MAX_ROWS = 100_000
MAX_COLUMNS = 60
MAX_CELL = 200
MAX_REPORTED_ERRORS = 100
MAX_AHEAD = timedelta(hours=1)

COLUMNS: dict[str, tuple[str, ...]] = {
    "nf399": (
        "nf399", "numero", "numerovictime", "numerosinus", "sinus", "nsinus", "nosinus",
        "numsinus", "numerobracelet", "bracelet", "numeronf399", "victimnumber", "number",
        "braceletnumber", "fieldnumber",
    ),
    "family_name": (
        "nom", "nomdefamille", "nomdenaissance", "nomdusage", "nompatient", "familyname",
        "lastname", "surname",
    ),
    "given_names": ("prenom", "prenoms", "givenname", "givennames", "firstname", "firstnames"),
    "birth_date": (
        "datedenaissance", "datenaissance", "naissance", "ddn", "nele", "birthdate",
        "dateofbirth", "dob",
    ),
    "sex": ("sexe", "sex", "genre", "gender"),
    "hospital": (
        "etablissement", "etablissementdesante", "etablissementdaccueil", "hopital",
        "centrehospitalier", "hospital", "facility", "establishment",
    ),
    "admitted_at": (
        "datedadmission", "dateadmission", "admission", "dateetheuredadmission",
        "dateheureadmission", "dateentree", "datedentree", "admissiondate", "admittedat",
        "dateofadmission", "admissiontime", "admissiondatetime",
    ),
}  # fmt: skip
_HEADER_INDEX = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}
_PLACEHOLDER_NAMES = re.compile(r"x|x ?\d+|xx+|inconnu|inconnue|unknown|anonyme|nn|sans nom")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_FR_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_FR_DATETIME = re.compile(
    r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})[ T]+(\d{1,2})[:hH](\d{2})(?::(\d{2}))?"
)


@dataclass
class ImportResult:
    """What an import did: rows imported, already known, and refused (one sentence each)."""

    source: str
    imported: int = 0
    duplicates: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "refused": self.refused,
            "errors": self.errors,
            "ignored_columns": self.ignored_columns,
        }


# --- reading the file ----------------------------------------------------------------------------


def header_key(text: str) -> str:
    """A header as compared: no accents, no case, letters and digits only."""
    return name_key(text)


def name_key(text: str | None) -> str:
    """A name as compared across spellings: no accents, no case, no spaces or punctuation."""
    if not text:
        return ""
    if not isinstance(text, str):  # a number stored by a station before values were checked
        text = str(text)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and unicodedata.category(ch) != "Mn")


def decode(raw: bytes) -> str:
    """The file's text: UTF-8 (BOM or not), UTF-16 with BOM, else Windows-1252 or Latin-1."""
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(
                _("The file announces UTF-8 but is not valid UTF-8 text.")
            ) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ValidationError(
                _("The file announces UTF-16 but is not valid UTF-16 text.")
            ) from None
    if b"\x00" in raw:
        raise ValidationError(_("This file is not a CSV text file."))
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    best = max(counts.values())
    if best == 0:
        return ";"
    return next(d for d in (";", "\t", ",") if counts[d] == best)


def _cells(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def _columns(cells: list[str]) -> tuple[dict[str, int], list[str]]:
    found: dict[str, int] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells[:MAX_COLUMNS]):
        name = _HEADER_INDEX.get(header_key(cell))
        if name is not None and name not in found:
            found[name] = index
        elif cell.strip():
            ignored.append(cell.strip()[:MAX_CELL])
    if "nf399" not in found and "family_name" not in found:
        raise ValidationError(
            _(
                "The first line must name the columns, with at least the victim number (nf399 or"
                " numero) or the family name (nom): see docs/sivic.md."
            )
        )
    return found, ignored


# --- one row -------------------------------------------------------------------------------------


def _admission_time(text: str, now: datetime) -> str:
    """A date (YYYY-MM-DD) or a UTC time; local when no zone is given; never in the future."""
    moment: datetime | None = None
    day: date | None = None
    try:
        if match := _ISO_DATE.fullmatch(text):
            day = date(int(match[1]), int(match[2]), int(match[3]))
        elif match := _FR_DATE.fullmatch(text):
            day = date(int(match[3]), int(match[2]), int(match[1]))
        elif match := _FR_DATETIME.fullmatch(text):
            d, m, y, hh, mm = (int(match[i]) for i in range(1, 6))
            moment = datetime(y, m, d, hh, mm, int(match[6] or 0)).astimezone()
        else:
            parsed = datetime.fromisoformat(text.replace(" ", "T", 1))
            moment = parsed if parsed.tzinfo else parsed.astimezone()
    except (ValueError, OverflowError):
        pass
    if day is None and moment is None:
        raise ValidationError(
            _(
                "Admission date {value} is not understood: write DD/MM/YYYY HH:MM or"
                " YYYY-MM-DD HH:MM."
            ).format(value=text),
            field="admitted_at",
        )
    if (day is not None and day > (now + MAX_AHEAD).date()) or (
        moment is not None and moment > now + MAX_AHEAD
    ):
        raise ValidationError(
            _("Admission date {value} is in the future.").format(value=text), field="admitted_at"
        )
    try:
        return day.isoformat() if day is not None else validation.utc_stamp(moment)  # type: ignore[arg-type]
    except OverflowError:  # "0001-01-01T00:00:00+05:00" is before the first UTC time
        raise ValidationError(
            _(
                "Admission date {value} is not understood: write DD/MM/YYYY HH:MM or"
                " YYYY-MM-DD HH:MM."
            ).format(value=text),
            field="admitted_at",
        ) from None


def _name(value: str, column: str) -> str | None:
    name = validation.validate_name(value, column)
    if name is None or _PLACEHOLDER_NAMES.fullmatch(" ".join(name.casefold().split())):
        return None  # an unidentified patient ("X", "inconnu"): no name to match on
    return name


def _row(
    cells: list[str], columns: dict[str, int], fmt: validation.NumberFormat, now: datetime
) -> dict[str, Any]:
    if len(cells) > MAX_COLUMNS:
        raise ValidationError(_("It has more than {max} columns.").format(max=MAX_COLUMNS))

    def cell(name: str) -> str:
        index = columns.get(name)
        value = cells[index].strip() if index is not None and index < len(cells) else ""
        if len(value) > MAX_CELL:
            raise ValidationError(
                _("A value is longer than {max} characters.").format(max=MAX_CELL)
            )
        return value

    number = cell("nf399")
    values: dict[str, Any] = {
        "nf399": (
            validation.validate_nf399(number, fmt, confirmed_outside=True) if number else None
        ),
        "family_name": _name(cell("family_name"), "family_name"),
        "given_names": _name(cell("given_names"), "given_names"),
        "birth_date": validation.validate_birth_date(cell("birth_date") or None),
        "sex": validation.validate_sex(cell("sex") or None),
        "hospital": validation.validate_text(
            cell("hospital") or None, "hospital", max_len=MAX_CELL, multiline=False
        ),
        "admitted_at": _admission_time(cell("admitted_at"), now) if cell("admitted_at") else None,
    }
    if not any(values[k] for k in ("nf399", "family_name", "given_names", "hospital")):
        raise ValidationError(_("It has neither a victim number, nor a name, nor a hospital."))
    values["name_key"] = name_key(values["family_name"]) or None
    return values


def _fingerprint(values: dict[str, Any]) -> str:
    keys = ("nf399", "family_name", "given_names", "birth_date", "hospital", "admitted_at")
    text = "\x1f".join(str(values.get(k) or "") for k in keys)
    return hashlib.sha256(text.casefold().encode("utf-8")).hexdigest()


# --- import --------------------------------------------------------------------------------------


def _require_importer(store: Store) -> None:
    if store.role not in IMPORTERS:
        raise PermissionDenied(_("Only the CIAV imports and crosses SI-VIC hospital lists."))


def import_admissions(
    store: Store, author: str, path: Path, *, now: datetime | None = None
) -> ImportResult:
    """Import a SI-VIC admissions CSV: good rows saved, bad rows refused with their line."""
    _require_importer(store)
    try:
        if not path.is_file():
            raise ValidationError(_("{path} is not a file.").format(path=path))
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValidationError(
                _("{path} is larger than {limit} MB: split it.").format(
                    path=path.name, limit=MAX_FILE_BYTES // (1024 * 1024)
                )
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise FieldkitError(
            _("Cannot read {path}: {reason}.").format(path=path, reason=exc.strerror)
        ) from None
    return import_text(store, author, decode(raw), source=path.name, now=now)


def import_text(
    store: Store, author: str, text: str, *, source: str, now: datetime | None = None
) -> ImportResult:
    _require_importer(store)
    moment = (now or datetime.now(UTC)).astimezone()
    result = ImportResult(source=source[:MAX_CELL])
    lines = re.split(r"\r\n|\r|\n", text)  # not str.splitlines: U+2028 is no row end
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_at is None:
        raise ValidationError(_("The file is empty."))
    if len(lines[header_at]) > MAX_LINE_CHARS:
        raise ValidationError(_("The first line is too long to be a header."))
    delimiter = _delimiter(lines[header_at])
    fmt = number_format(store)
    columns, result.ignored_columns = _columns(_cells(lines[header_at], delimiter))
    rows: list[tuple[Any, ...]] = []
    stamp = validation.utc_stamp(moment)
    data_lines = 0
    for index in range(header_at + 1, len(lines)):
        line_number, line = index + 1, lines[index]
        if not line.strip():
            continue
        data_lines += 1
        if data_lines > MAX_ROWS:
            _refuse(
                result,
                _("Line {line}: the file has more than {max} rows; the rest was not read.").format(
                    line=line_number, max=MAX_ROWS
                ),
            )
            break
        try:
            if len(line) > MAX_LINE_CHARS:
                raise ValidationError(
                    _("It is longer than {max} characters.").format(max=MAX_LINE_CHARS)
                )
            cells = _cells(line, delimiter)
            if not any(c.strip() for c in cells):
                continue
            values = _row(cells, columns, fmt, moment)
        except ValidationError as exc:
            _refuse(
                result, _("Line {line}: {message}").format(line=line_number, message=exc.message)
            )
            continue
        rows.append(
            (
                _fingerprint(values), values["nf399"], values["family_name"],
                values["given_names"], values["name_key"], values["birth_date"], values["sex"],
                values["hospital"], values["admitted_at"], result.source, line_number, stamp,
                author,
            )
        )  # fmt: skip
    if rows:
        with store.transaction():
            before = store.db.conn.total_changes
            store.db.conn.executemany(
                "INSERT OR IGNORE INTO hospital_admissions (fingerprint, nf399, family_name,"
                " given_names, name_key, birth_date, sex, hospital, admitted_at, source, line,"
                " imported_at, imported_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            result.imported = store.db.conn.total_changes - before
        result.duplicates = len(rows) - result.imported
    return result


def _refuse(result: ImportResult, message: str) -> None:
    result.refused += 1
    if len(result.errors) < MAX_REPORTED_ERRORS:
        result.errors.append(message)


def admissions(store: Store) -> list[dict[str, Any]]:
    return list(store.db.query("SELECT * FROM hospital_admissions ORDER BY id"))


# --- cross-check ---------------------------------------------------------------------------------


@dataclass
class CrossCheck:
    """The three lists of the SI-VIC cross-check."""

    counted_and_admitted: list[dict[str, Any]] = field(default_factory=list)
    evacuated_not_admitted: list[dict[str, Any]] = field(default_factory=list)
    admitted_without_field_number: list[dict[str, Any]] = field(default_factory=list)
    admissions: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "admissions": self.admissions,
            "counted_and_admitted": self.counted_and_admitted,
            "evacuated_not_admitted": self.evacuated_not_admitted,
            "admitted_without_field_number": self.admitted_without_field_number,
        }

    def person_ids(self) -> list[str]:
        return [
            str(row["person_id"])
            for row in (*self.counted_and_admitted, *self.evacuated_not_admitted)
        ]


def _first_given(value: str | None) -> str:
    return name_key(str(value or "").split(" ")[0].split("-")[0])


def _admission_view(adm: dict[str, Any]) -> dict[str, Any]:
    return {
        "nf399": adm["nf399"],
        "family_name": adm["family_name"],
        "given_names": adm["given_names"],
        "birth_date": adm["birth_date"],
        "hospital": adm["hospital"],
        "admitted_at": adm["admitted_at"],
        "source": adm["source"],
        "line": adm["line"],
    }


def cross_check(store: Store, operator: str) -> CrossCheck:
    """Cross the admissions with the live persons (see the module's doc for the three lists).

    Every person listed is recorded in the audit of reads, as read by ``operator``.
    """
    _require_importer(store)
    persons = list(
        store.db.query(
            "SELECT id, nf399, family_name, given_names, birth_date, category, destination"
            f" FROM persons WHERE {queries.LIVE}"
        )
    )
    by_number = {p["nf399"]: p for p in persons if p["nf399"]}
    by_name: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in persons:
        key = name_key(row["family_name"])
        if key and row["birth_date"]:
            by_name[(key, row["birth_date"])].append(row)
    result = CrossCheck()
    matched: dict[str, tuple[dict[str, Any], list[dict[str, Any]], str]] = {}
    for adm in store.db.query("SELECT * FROM hospital_admissions ORDER BY admitted_at, id"):
        result.admissions += 1
        person: dict[str, Any] | None = None
        how = ""
        if adm["nf399"] and adm["nf399"] in by_number:
            person, how = by_number[adm["nf399"]], "nf399"
        elif adm["name_key"] and adm["birth_date"]:
            candidates = by_name.get((adm["name_key"], adm["birth_date"]), [])
            given = _first_given(adm["given_names"])
            if given:
                candidates = [
                    c for c in candidates if _first_given(c["given_names"]) in ("", given)
                ]
            if len(candidates) == 1:
                person, how = candidates[0], "name_birth_date"
        if person is None:
            result.admitted_without_field_number.append(_admission_view(adm))
            continue
        entry = matched.setdefault(person["id"], (person, [], how))
        entry[1].append(adm)
    for person_id, (person, adms, how) in matched.items():
        last = adms[-1]
        result.counted_and_admitted.append(
            {
                "person_id": person_id,
                "nf399": person["nf399"],
                "family_name": person["family_name"],
                "given_names": person["given_names"],
                "destination": person["destination"],
                "hospital": last["hospital"],
                "admitted_at": last["admitted_at"],
                "matched_by": how,
                "admissions": len(adms),
            }
        )
    for person in persons:
        if (
            person["destination"]
            and person["id"] not in matched
            and person["category"] != Category.DCD.value
        ):
            result.evacuated_not_admitted.append(
                {
                    "person_id": person["id"],
                    "nf399": person["nf399"],
                    "family_name": person["family_name"],
                    "given_names": person["given_names"],
                    "destination": person["destination"],
                }
            )
    record_reads(store, operator, result.person_ids(), _("SI-VIC cross-check"))
    return result
