"""Import and export: JSON Lines for machines, CSV for people's spreadsheets."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from fieldkit.domain import validation
from fieldkit.domain.hlc import wall_seconds
from fieldkit.domain.ids import new_id, person_id_for_number
from fieldkit.domain.triage import international
from fieldkit.errors import FieldkitError, ValidationError
from fieldkit.i18n import _
from fieldkit.services.persons import PersonInput, _triage_values, validated_person
from fieldkit.services.station import bracelet_ranges, number_format
from fieldkit.store import queries
from fieldkit.store.store import Store, Write

MAX_LINE_BYTES = 64 * 1024
PERSON_FIELDS = (
    "nf399", "family_name", "given_names", "sex", "birth_date", "apparent_age", "phone",
    "x_description", "site", "found_place", "destination", "vehicle", "departure_time",
)  # fmt: skip
CSV_COLUMNS = (
    "id", "nf399", "category", "refinement", "international", "identity", "family_name",
    "given_names", "sex", "birth_date", "apparent_age", "description", "site", "found_place",
    "destination", "vehicle", "departure_time", "death_stage", "created_at", "created_by",
)  # fmt: skip


def iso_from_hlc(hlc: int | None) -> str | None:
    if not hlc:
        return None
    return validation.utc_stamp(datetime.fromtimestamp(wall_seconds(hlc), UTC))


def person_records(store: Store) -> Iterator[dict[str, Any]]:
    """Every live person as a plain record (the JSONL shape)."""
    cursor = store.db.conn.execute(
        f"SELECT * FROM persons WHERE {queries.LIVE} ORDER BY created_hlc"
    )
    names = [d[0] for d in cursor.description]
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        record: dict[str, Any] = {"type": "person", "id": row["id"]}
        for name in PERSON_FIELDS:
            value = row.get(name)
            if name == "x_description" and value:
                value = json.loads(value)
            if value is not None:
                record[name] = value
        for name in ("category", "refinement", "death_stage"):
            if row.get(name):
                record[name] = row[name]
        record["created_at"] = iso_from_hlc(row["created_hlc"])
        record["created_by"] = row["created_by"]
        yield record


def export_jsonl(store: Store, out: IO[str]) -> int:
    count = 0
    for record in person_records(store):
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count


def export_csv(store: Store, out: IO[str]) -> int:
    """CSV for French spreadsheets: UTF-8 with BOM, ';' separator."""
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for record in person_records(store):
        names = " ".join(
            part for part in (record.get("family_name"), record.get("given_names")) if part
        )
        description = record.get("x_description") or {}
        row = dict(record)
        row["identity"] = names or "X"
        row["description"] = "; ".join(f"{k}: {v}" for k, v in sorted(description.items()))
        row["international"] = (
            international(record["category"], record.get("refinement"))
            if record.get("category")
            else ""
        )
        writer.writerow([_csv_cell(row.get(c)) for c in CSV_COLUMNS])
        count += 1
    return count


def _csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: formulas are neutralised (CSV injection)."""
    if value is None:
        return ""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _person_input(record: dict[str, Any]) -> PersonInput:
    allowed = set(PERSON_FIELDS) | {"category", "refinement", "type", "id", "death_stage"}
    allowed |= {"created_at", "created_by"}
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise ValidationError(
            _("Unknown field {field}.").format(field=unknown[0]), field=unknown[0]
        )
    for name, value in record.items():
        exempt = name in ("x_description", "apparent_age")
        if not exempt and value is not None and not isinstance(value, str):
            raise ValidationError(_("Field {field} must be text.").format(field=name), field=name)
    return PersonInput(
        nf399=record.get("nf399"),
        category=record.get("category"),
        refinement=record.get("refinement"),
        family_name=record.get("family_name"),
        given_names=record.get("given_names"),
        sex=record.get("sex"),
        birth_date=record.get("birth_date"),
        apparent_age=record.get("apparent_age"),
        phone=record.get("phone"),
        x_description=record.get("x_description"),
        site=record.get("site"),
        found_place=record.get("found_place"),
        destination=record.get("destination"),
        vehicle=record.get("vehicle"),
        departure_time=record.get("departure_time"),
    )


def _lines(source: IO[bytes]) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(source, start=1):
        if len(raw) > MAX_LINE_BYTES:
            raise ValidationError(
                _("Line {line} is longer than {limit} bytes.").format(
                    line=number, limit=MAX_LINE_BYTES
                )
            )
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError:
            raise ValidationError(
                _("Line {line} is not valid UTF-8 text.").format(line=number)
            ) from None
        if text:
            yield number, text


def import_jsonl(store: Store, author: str, path: Path) -> int:
    """Import person records in the export's JSONL shape: all of them, or none with the reason."""
    try:
        with path.open("rb") as source:
            writes, count = _import_writes(store, _lines(source))
    except OSError as exc:
        raise FieldkitError(
            _("Cannot read {path}: {reason}.").format(path=path, reason=exc.strerror)
        ) from None
    if writes:
        store.record_many(writes, author)
    return count


def _import_writes(store: Store, lines: Iterable[tuple[int, str]]) -> tuple[list[Write], int]:
    writes: list[Write] = []
    seen_numbers: dict[str, int] = {}
    count = 0
    batch: list[tuple[int, str | None, dict[str, Any], tuple[str, str | None] | None]] = []
    fmt, ranges = number_format(store), bracelet_ranges(store)
    for line, text in lines:
        try:
            record = json.loads(text)
            if not isinstance(record, dict):
                raise ValidationError(_("Each line must be one JSON object."))
            kind = record.get("type", "person")
            if kind != "person":
                raise ValidationError(
                    _("Unsupported record type {kind}.").format(kind=kind), field="type"
                )
            number, values, triage = validated_person(
                store, _person_input(record), confirmed_outside=True, fmt=fmt, ranges=ranges
            )
        except json.JSONDecodeError:
            raise ValidationError(_("Line {line} is not valid JSON.").format(line=line)) from None
        except ValidationError as exc:
            raise ValidationError(
                _("Line {line}: {message}").format(line=line, message=exc.message),
                field=exc.field,
            ) from None
        if number is not None:
            if number in seen_numbers:
                raise ValidationError(
                    _(
                        "Line {line}: victim number {number} already appears on line {first}."
                    ).format(line=line, number=number, first=seen_numbers[number]),
                    field="nf399",
                )
            seen_numbers[number] = line
        batch.append((line, number, values, triage))
        count += 1
    existing = _existing_by_number(store, list(seen_numbers))
    for _line, number, values, triage in batch:
        current = existing.get(number) if number else None
        person_id = (
            current["id"] if current else person_id_for_number(number) if number else new_id()
        )
        if current is None:
            values.setdefault("site", store.meta.get("site"))
            changed = values
        else:
            changed = {k: v for k, v in values.items() if current.get(k) != v}
        if changed:
            writes.append(Write("person", person_id, changed))
        if triage is not None and (
            current is None or (current.get("category"), current.get("refinement")) != triage
        ):
            writes.append(Write("triage", new_id(), _triage_values(person_id, triage, None)))
    return writes, count


def _existing_by_number(store: Store, numbers: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in store.db.query(
            f"SELECT * FROM persons WHERE nf399 IN ({marks}) AND {queries.LIVE}", chunk
        ):
            found[row["nf399"]] = row
    return found


def export_text(store: Store, fmt: str) -> str:
    """The whole export as one string (tests and small stations)."""
    buffer = io.StringIO()
    if fmt == "csv":
        export_csv(store, buffer)
    else:
        export_jsonl(store, buffer)
    return buffer.getvalue()
