"""Import and export: JSON Lines for machines, CSV for people's spreadsheets."""

from __future__ import annotations

import csv
import gc
import io
import json
import logging
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import msgspec

from fieldkit.domain import validation
from fieldkit.domain.hlc import wall_seconds
from fieldkit.domain.ids import new_id, person_id_for_number
from fieldkit.domain.triage import Category, international
from fieldkit.errors import FieldkitError, PermissionDenied, ValidationError
from fieldkit.i18n import _, current_language
from fieldkit.services.files import open_regular, unreadable
from fieldkit.services.persons import (
    COUNTING_ROLES,
    PersonInput,
    _triage_values,
    person_values,
    shown,
)
from fieldkit.services.station import bracelet_ranges, number_format
from fieldkit.store import materialise, queries
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


log = logging.getLogger("fieldkit.services.exchange")
_CATEGORIES = frozenset(c.value for c in Category)


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
        # str(): a number stored as a name or a site by a station before the hub checked values
        # is exported as it is, never a crash.
        names = " ".join(
            str(part) for part in (record.get("family_name"), record.get("given_names")) if part
        )
        description = record.get("x_description") or {}
        if not isinstance(description, dict):
            description = {"?": description}
        row = dict(record)
        row["identity"] = names or "X"
        row["description"] = "; ".join(
            f"{k}: {v}" for k, v in sorted(description.items(), key=lambda kv: str(kv[0]))
        )
        category = record.get("category")
        if category and category not in _CATEGORIES:
            log.warning("CSV export: %s has the unknown category %r", record["id"], category)
        row["international"] = international(category, record.get("refinement")) if category else ""
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


_decode_json = msgspec.json.Decoder().decode
_decode_frame = msgspec.msgpack.Decoder().decode
_IMPORT_FIELDS = frozenset(PERSON_FIELDS) | {
    "category",
    "refinement",
    "type",
    "id",
    "death_stage",
    "created_at",
    "created_by",
}
_NOT_TEXT_FIELDS = frozenset({"x_description", "apparent_age"})


def _person_input(record: dict[str, Any]) -> PersonInput:
    if not record.keys() <= _IMPORT_FIELDS:
        unknown = sorted(record.keys() - _IMPORT_FIELDS)[0]
        raise ValidationError(_("Unknown field {field}.").format(field=unknown), field=unknown)
    for name, value in record.items():
        if value is not None and not isinstance(value, str) and name not in _NOT_TEXT_FIELDS:
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
    number = 0
    while raw := source.readline(MAX_LINE_BYTES + 1):  # a line without end is not read whole
        number += 1
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
    """Import person records in the export's JSONL shape: all of them, or none with the reason.

    Large files are validated in a second process while this one writes (one transaction:
    an error on any line rolls back every line before it).
    """
    if store.role not in COUNTING_ROLES:  # a CAF never holds persons, even from a file
        raise PermissionDenied(_("This station's role may not import persons."))
    fmt, ranges = number_format(store), bracelet_ranges(store)
    site = store.meta.get("site")
    with open_regular(path) as handle:  # a FIFO or a device is refused, not read forever
        parallel = os.fstat(handle.fileno()).st_size >= PARALLEL_IMPORT_BYTES
    worker = _WorkerBatches(path, fmt, ranges, site) if parallel else None
    count = 0
    seen_numbers: dict[str, int] = {}
    # Hundreds of thousands of short-lived, acyclic objects: the cyclic garbage collector would
    # scan every live object of the process over and over for nothing (a third of the time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        with store.transaction():
            batches = worker if worker is not None else _validated_batches(path, fmt, ranges, site)
            for batch in batches:
                _write_batch(store, author, batch, seen_numbers)
                count += len(batch)
    except OSError as exc:
        raise unreadable(path, exc) from None
    finally:
        if collecting:
            gc.enable()
        if worker is not None:
            worker.close()
    return count


PARALLEL_IMPORT_BYTES = 1 << 20  # from about 8,000 persons up, validate in a second process
IMPORT_BATCH = 4000  # validated lines per batch (written together)
_CHILD_MODULE = "fieldkit.services.import_child"
# (line, victim number, person id, values (the station's site when the line gives none), whether
# that site is the station's, triage, id of its triage event): ids are drawn where the line is
# validated, in the child process for a large file. Tuples arrive as lists through its pipe.
_Validated = tuple[
    int, str | None, str, dict[str, Any], bool, tuple[str, str | None] | None, str | None
]


def _validated_batches(
    path: Path,
    fmt: validation.NumberFormat,
    ranges: list[validation.BraceletRange],
    site: str | None,
    size: int | None = None,
) -> Iterator[list[_Validated]]:
    """The file's records, validated, in batches; the first invalid line raises its error."""
    size = size or IMPORT_BATCH
    batch: list[_Validated] = []
    with path.open("rb") as source:
        for line, text in _lines(source):
            batch.append(_validated_line(line, text, fmt, ranges, site))
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def _validated_line(
    line: int,
    text: str,
    fmt: validation.NumberFormat,
    ranges: list[validation.BraceletRange],
    site: str | None,
) -> _Validated:
    try:
        record = _decode_json(text)
        if not isinstance(record, dict):
            raise ValidationError(_("Each line must be one JSON object."))
        kind = record.get("type", "person")
        if kind != "person":
            raise ValidationError(
                _("Unsupported record type {kind}.").format(kind=kind), field="type"
            )
        number, values, triage = person_values(
            _person_input(record), fmt, ranges, confirmed_outside=True
        )
    except (msgspec.DecodeError, RecursionError):  # RecursionError: nested beyond reason
        raise ValidationError(_("Line {line} is not valid JSON.").format(line=line)) from None
    except ValidationError as exc:
        raise ValidationError(
            _("Line {line}: {message}").format(line=line, message=exc.message),
            field=exc.field,
        ) from None
    person_id = person_id_for_number(number) if number else new_id()
    site_defaulted = "site" not in values
    if site_defaulted:
        values["site"] = site
    return (line, number, person_id, values, site_defaulted, triage, new_id() if triage else None)


class _WorkerBatches:
    """Batches validated by a child process (``fieldkit.services.import_child``) as they come."""

    def __init__(
        self,
        path: Path,
        fmt: validation.NumberFormat,
        ranges: list[validation.BraceletRange],
        site: str | None,
    ) -> None:
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), package_root]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", _CHILD_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        header = {
            "path": str(path),
            "pattern": fmt.pattern,
            "example": fmt.example,
            "ranges": [[r.first, r.last] for r in ranges],
            "site": site,
            "language": current_language(),
            "batch": IMPORT_BATCH,
        }
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(header).encode() + b"\n")
        self.process.stdin.close()
        self.stdout = self.process.stdout

    def _frame(self) -> list[Any]:
        head = self.stdout.read(4)
        if len(head) < 4:
            raise FieldkitError(_("The import stopped unexpectedly: nothing was imported."))
        (size,) = struct.unpack(">I", head)
        body = self.stdout.read(size)
        if len(body) < size:
            raise FieldkitError(_("The import stopped unexpectedly: nothing was imported."))
        message: list[Any] = _decode_frame(body)
        return message

    def __iter__(self) -> Iterator[list[_Validated]]:
        while True:
            message = self._frame()
            kind = message[0]
            if kind == "batch":
                yield message[1]
            elif kind == "done":
                return
            elif kind == "invalid":
                raise ValidationError(message[1], field=message[2])
            elif kind == "oserror":
                raise OSError(message[1])
            else:
                raise FieldkitError(
                    _("The import stopped unexpectedly: nothing was imported.") + f" ({message[1]})"
                )

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.stdout.close()


def _write_batch(
    store: Store, author: str, batch: list[_Validated], seen_numbers: dict[str, int]
) -> None:
    """Write one validated batch; a number seen on an earlier line is refused.

    A number is looked up by the records that carry it, whatever their ids (the rules of
    :func:`queries.number_binding`, in bulk): its live record gets the fields that differ
    (:meth:`Store.record_many`); a number merged into another record is refused (the bracelet is
    the kept record's: the line would renumber it). Else the line is a new person under the
    number's free id: one the store has never seen goes in directly (:meth:`Store.record_fresh`);
    the row a triage event made before its person, or an id other records were merged into,
    gets the line's fields. A record deleted, or
    renumbered, under the number's own id is never written into: the new person takes the next
    generation of that id. The log keeps the lines' order either way.
    """
    numbers = []
    for line, number, *_rest in batch:
        if number is None:
            continue
        first = seen_numbers.setdefault(number, line)
        if first != line:
            raise ValidationError(
                _("Line {line}: victim number {number} already appears on line {first}.").format(
                    line=line, number=number, first=first
                ),
                field="nf399",
            )
        numbers.append(number)
    existing, kept = _existing_by_number(store, numbers)
    held = _held_rows(
        store,
        [person_id for _l, number, person_id, *_r in batch if number and number not in existing],
    )
    fresh_run: list[materialise.FreshPerson] = []
    writes: list[Write] = []
    for line, number, person_id, values, site_defaulted, triage, triage_id in batch:
        current = existing.get(number) if number else None
        fresh = current is None  # without a number: a random id, never seen
        if fresh and number is not None:
            if number in kept:
                raise ValidationError(
                    _("Line {line}: {message}").format(
                        line=line, message=_merged_number(number, kept[number])
                    ),
                    field="nf399",
                )
            row = held.get(person_id)
            if row is not None and not _awaiting_person(row):
                person_id = queries.free_person_id(store.db, number)
                row = queries.person(store.db, person_id)
            fresh = row is None
        if fresh:
            if writes:
                store.record_many(writes, author)
                writes = []
            fresh_run.append(
                (
                    person_id,
                    values,
                    triage_id,
                    None if triage is None else _triage_values(person_id, triage, None),
                )
            )
            continue
        if fresh_run:
            store.record_fresh(fresh_run, author)
            fresh_run = []
        writes.extend(_update_writes(current, person_id, values, site_defaulted, triage, triage_id))
    if fresh_run:
        store.record_fresh(fresh_run, author)
    if writes:
        store.record_many(writes, author)


def _update_writes(
    current: dict[str, Any] | None,
    person_id: str,
    values: dict[str, Any],
    site_defaulted: bool,
    triage: tuple[str, str | None] | None,
    triage_id: str | None,
) -> list[Write]:
    """The writes of a line for a person the store holds (``current``: its live row by number)."""
    if current is None:
        changed = values
    else:
        person_id = current["id"]
        if site_defaulted:
            del values["site"]
        changed = {k: v for k, v in values.items() if current.get(k) != materialise.column_value(v)}
    writes = [Write("person", person_id, changed)] if changed else []
    if triage is not None:
        triage = (triage[0], triage[1])
        if current is None or (current.get("category"), current.get("refinement")) != triage:
            assert triage_id is not None
            writes.append(Write("triage", triage_id, _triage_values(person_id, triage, None)))
    return writes


def _held_rows(store: Store, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The rows these person ids have, live or not (what tells whose they are); an id that only
    other records were merged into counts as a row awaiting its person (their events fold into
    it: not a person the store has never seen)."""
    held: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in store.db.query(
            f"SELECT id, nf399, deleted, replaced_by FROM persons WHERE id IN ({marks})", chunk
        ):
            held[row["id"]] = row
        for (target,) in store.db.conn.execute(
            f"SELECT DISTINCT replaced_by FROM persons WHERE replaced_by IN ({marks})", chunk
        ):
            held.setdefault(
                target, {"id": target, "nf399": None, "deleted": 0, "replaced_by": None}
            )
    return held


def _awaiting_person(row: dict[str, Any]) -> bool:
    """A live row under a number's id that carries no number: made by a triage event that came
    before its person, it is that number's record (see :func:`queries.free_person_id`)."""
    return row["nf399"] is None and not row["deleted"] and row["replaced_by"] is None


def _existing_by_number(
    store: Store, numbers: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The live record carrying each number; and for a number no live record carries but one
    a merge absorbed does, the live record it was merged into (:class:`queries.NumberBinding`)."""
    found: dict[str, dict[str, Any]] = {}
    merged: set[str] = set()
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in store.db.query(
            f"SELECT * FROM persons WHERE nf399 IN ({marks}) AND deleted = 0", chunk
        ):
            if row["replaced_by"] is None:
                found[row["nf399"]] = row
            else:
                merged.add(row["nf399"])
    kept: dict[str, dict[str, Any]] = {}
    for number in merged - found.keys():
        binding = queries.number_binding(store.db, number)  # rare: the rules kept in one place
        if binding.kept is not None:
            kept[number] = binding.kept
    return found, kept


def _merged_number(number: str, kept: dict[str, Any]) -> str:
    return _(
        "Victim number {number} belongs to {person}, the record it was merged into:"
        " check the number."
    ).format(number=number, person=shown(kept))


def export_text(store: Store, fmt: str) -> str:
    """The whole export as one string (tests and small stations)."""
    buffer = io.StringIO()
    if fmt == "csv":
        export_csv(store, buffer)
    else:
        export_jsonl(store, buffer)
    return buffer.getvalue()
