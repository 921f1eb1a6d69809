"""PFIF 1.4 export (People Finder Interchange Format, http://zesty.ca/pfif/1.4).

What this station may read, as ``pfif:person`` records, each with its ``pfif:note`` records:

- ``person_record_id`` / ``note_record_id`` are ``domain/unique_string``; the domain is the
  ``--pfif-domain`` given, else the station's ``pfif_domain`` setting, else
  ``<incident>.fieldkit.invalid`` (``.invalid``: a reserved name saying "set the real one").
  The unique string is derived from the person's id (a hash: a bracelet's id contains the
  victim number, which stays inside the response), and the person's id is the same at every
  station, so two stations exporting the same person give the same record id.
- Dates are UTC ``YYYY-MM-DDThh:mm:ssZ``. Required fields are always written: person
  ``person_record_id``, ``source_date``, ``full_name`` (``X`` for an unidentified person);
  note ``note_record_id``, ``person_record_id``, ``author_name``, ``source_date``, ``text``.
- Status values only among PFIF's five. The law of DOMAIN.md on deaths: ``believed_dead`` only
  once the police recorded the death *announced* to the family. A person triaged DCD, or with a
  death stage (on its record or a duplicate merged into it), whose death is not announced is
  **left out of the export entirely** (a note saying nothing, or no
  note, would still set the record apart from the living and so imply the death). Persons
  triaged UA, UR or Impliqué get ``believed_alive`` with their place of care
  (``last_known_location``: the evacuation destination, else the site). Persons without a
  category get a note without status.
- Never exported: the triage category, clinical notes, the victim number, contact details.
- Duplicates merged into a record (``replaced_by``) are exported with a note whose
  ``linked_person_record_id`` points at the record kept, and the kept record gets the
  symmetric note (PFIF 1.4, duplicates).
- The XML is written by hand, streamed, every text escaped; characters XML 1.0 cannot carry
  (control characters that validation refuses but an old record might hold) become U+FFFD.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any
from xml.sax.saxutils import escape

from fieldkit.domain import validation
from fieldkit.domain.model import DeathStage
from fieldkit.domain.triage import Category
from fieldkit.errors import ValidationError
from fieldkit.i18n import _
from fieldkit.services.audit import is_audited, record_reads
from fieldkit.services.exchange import iso_from_hlc
from fieldkit.store import queries
from fieldkit.store.store import Store

NAMESPACE = "http://zesty.ca/pfif/1.4"
STATUSES = (
    "information_sought",
    "is_note_author",
    "believed_alive",
    "believed_missing",
    "believed_dead",
)
DOMAIN_META = "pfif_domain"
ALIVE = frozenset({Category.UA.value, Category.UR.value, Category.IMPLIQUE.value})
log = logging.getLogger("fieldkit.services.pfif")

PERSON_FIELDS = (
    "person_record_id", "entry_date", "expiry_date", "author_name", "author_email",
    "author_phone", "source_name", "source_date", "source_url", "full_name", "given_name",
    "family_name", "alternate_names", "description", "sex", "date_of_birth", "age",
    "home_street", "home_neighborhood", "home_city", "home_state", "home_postal_code",
    "home_country", "photo_url", "profile_urls",
)  # fmt: skip
NOTE_FIELDS = (
    "note_record_id", "person_record_id", "linked_person_record_id", "entry_date",
    "author_name", "author_email", "author_phone", "source_date", "author_made_contact",
    "status", "email_of_found_person", "phone_of_found_person", "last_known_location", "text",
    "photo_url",
)  # fmt: skip
REQUIRED_PERSON = ("person_record_id", "source_date", "full_name")
REQUIRED_NOTE = ("note_record_id", "person_record_id", "author_name", "source_date", "text")

_DOMAIN = re.compile(
    r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
)
_AGE = re.compile(r"\d{1,3}(?:-\d{1,3})?")
_SEX = {"F": "female", "M": "male"}
# Characters XML 1.0 cannot carry: C0 controls but tab/newline/CR, surrogates, U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def validate_domain(value: str) -> str:
    """A domain name for record ids (lower case, dot-separated labels)."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not _DOMAIN.fullmatch(text):
        raise ValidationError(
            _("{value} is not a domain name: write it like example.org.").format(value=value),
            field="pfif_domain",
        )
    return text


def default_domain(store: Store) -> str:
    configured = store.meta.get(DOMAIN_META)
    if configured:
        return validate_domain(configured)
    slug = re.sub(r"[^a-z0-9]+", "-", store.meta.get("incident", "").lower()).strip("-")[:60]
    return f"{slug or 'incident'}.fieldkit.invalid"


def _xml_text(value: Any) -> str:
    return escape(_NOT_XML.sub("\ufffd", str(value)))


def _element(name: str, value: Any, indent: str) -> str:
    return f"{indent}<pfif:{name}>{_xml_text(value)}</pfif:{name}>\n"


def _full_name(row: dict[str, Any]) -> str:
    parts = [row.get("given_names"), row.get("family_name")]
    # str(): a number stored as a name by a station before the hub checked values
    return " ".join(str(p) for p in parts if p) or "X"


def _description(row: dict[str, Any]) -> str | None:
    raw = row.get("x_description")
    if not raw:
        return None
    try:
        described = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    if not isinstance(described, dict):
        return None
    return "; ".join(f"{k}: {v}" for k, v in described.items() if v) or None


def _age(row: dict[str, Any]) -> str | None:
    value = row.get("apparent_age")
    if value is None:
        return None
    text = str(value).strip().replace(" ", "")
    return text if _AGE.fullmatch(text) else None


def _person_fields(
    row: dict[str, Any], own_id: str, station: str, source: str, entry_date: str
) -> dict[str, Any]:
    created = iso_from_hlc(row.get("created_hlc")) or entry_date
    return {
        "person_record_id": own_id,
        "entry_date": entry_date,
        "author_name": station,
        "source_name": source,
        "source_date": created,
        "full_name": _full_name(row),
        "given_name": row.get("given_names"),
        "family_name": row.get("family_name"),
        "description": _description(row),
        "sex": _SEX.get(str(row.get("sex") or "")),
        "date_of_birth": row.get("birth_date"),
        "age": _age(row),
    }


def _digest(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def record_id(domain: str, incident: str, person_id: str) -> str:
    """The PFIF id of a person: stable, the same at every station, without the victim number."""
    return f"{domain}/p{_digest('fieldkit-person', incident, person_id)[:24]}"


def _note_id(person_record_id: str, *parts: Any) -> str:
    return f"{person_record_id}.{_digest(*parts)[:16]}"


def _announced_at(store: Store, person_id: str) -> str | None:
    """When the death was announced (on this record or a duplicate merged into it)."""
    for stage in queries.death_stages(store.db, person_id):
        if stage["stage"] == DeathStage.ANNOUNCED.value:
            return str(stage["at"] or iso_from_hlc(stage["hlc"]))
    return None


def status_of(row: dict[str, Any]) -> str | None:
    """The PFIF status of a live person, or ``withheld`` when the record must not be exported.

    believed_dead only after the announcement; DCD, or a death stage short of the announcement,
    before it: withheld. (The row's columns fold the duplicates merged into it.)
    """
    if row.get("death_stage") == DeathStage.ANNOUNCED.value:
        return "believed_dead"
    category = row.get("category")
    if category == Category.DCD.value or row.get("death_stage"):
        return "withheld"
    if category in ALIVE:
        return "believed_alive"
    return None


def _status_note(
    store: Store,
    row: dict[str, Any],
    status: str | None,
    own_id: str,
    station: str,
    entry_date: str,
) -> dict[str, Any]:
    person_id = str(row["id"])
    location: str | None = None
    contact: str | None = None
    if status == "believed_dead":
        source_date = _announced_at(store, person_id) or entry_date
        text = _("The police announced the death to the family.")
    elif status == "believed_alive":
        source_date = iso_from_hlc(row.get("triage_hlc")) or entry_date
        location = row.get("destination") or row.get("site")
        contact = "true"
        text = (
            _("Seen by the emergency services; cared for at {place}.").format(place=location)
            if location
            else _("Seen by the emergency services.")
        )
    else:
        source_date = iso_from_hlc(row.get("created_hlc")) or entry_date
        text = _("Recorded by station {station}.").format(station=station)
    return {
        "note_record_id": _note_id(own_id, status, location),
        "person_record_id": own_id,
        "entry_date": entry_date,
        "author_name": station,
        "source_date": source_date,
        "author_made_contact": contact,
        "status": status,
        "last_known_location": location,
        "text": text,
    }


def _link_note(own_id: str, other_id: str, station: str, entry_date: str) -> dict[str, Any]:
    return {
        "note_record_id": _note_id(own_id, "duplicate", other_id),
        "person_record_id": own_id,
        "linked_person_record_id": other_id,
        "entry_date": entry_date,
        "author_name": station,
        "source_date": entry_date,
        "text": _("Duplicate records of the same person, merged by station {station}.").format(
            station=station
        ),
    }


def _write_person(out: IO[str], person: dict[str, Any], notes: list[dict[str, Any]]) -> None:
    parts = ["  <pfif:person>\n"]
    for name in PERSON_FIELDS:
        if person.get(name) not in (None, ""):
            parts.append(_element(name, person[name], "    "))
    for note in notes:
        parts.append("    <pfif:note>\n")
        for name in NOTE_FIELDS:
            if note.get(name) not in (None, ""):
                parts.append(_element(name, note[name], "      "))
        parts.append("    </pfif:note>\n")
    parts.append("  </pfif:person>\n")
    out.write("".join(parts))


def _rows(store: Store, where: str) -> Iterator[dict[str, Any]]:
    cursor = store.db.conn.execute(f"SELECT * FROM persons WHERE {where} ORDER BY created_hlc")
    names = [d[0] for d in cursor.description]
    for values in cursor:
        yield dict(zip(names, values, strict=True))


def export_pfif(
    store: Store,
    out: IO[str],
    *,
    domain: str | None = None,
    now: datetime | None = None,
    operator: str | None = None,
) -> int:
    """Write the PFIF 1.4 document to ``out``; returns the number of person records written.

    At a CAF or CIAV station, every exported person is recorded in the audit of reads
    (``operator``, purpose "PFIF export").
    """
    record_domain = validate_domain(domain) if domain else default_domain(store)
    incident = store.meta.get("incident", "")
    entry_date = validation.utc_stamp((now or datetime.now(UTC)).astimezone(UTC))
    station = store.meta.get("station_name") or store.station_id
    source = f"fieldkit {station} ({incident})"

    def rid(person_id: str) -> str:
        return record_id(record_domain, incident, person_id)

    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f'<pfif:pfif xmlns:pfif="{NAMESPACE}">\n')
    exported: list[str] = []
    kept: set[str] = set()
    merged = list(_rows(store, "deleted = 0 AND replaced_by IS NOT NULL"))
    losers: dict[str, list[str]] = {}
    for row in merged:
        losers.setdefault(str(row["replaced_by"]), []).append(str(row["id"]))
    for row in _rows(store, queries.LIVE):
        status = status_of(row)
        if status == "withheld":
            continue
        person_id = str(row["id"])
        if not person_id.strip() or not person_id.isprintable():
            # an id no station writes (stored before the hub checked values): not exported
            log.warning("PFIF export: a person with the id %r left out", person_id)
            continue
        own = rid(person_id)
        notes = [_status_note(store, row, status, own, station, entry_date)]
        for loser in sorted(losers.get(person_id, ())):
            notes.append(_link_note(own, rid(loser), station, entry_date))
        _write_person(out, _person_fields(row, own, station, source, entry_date), notes)
        exported.append(person_id)
        kept.add(person_id)
    # Records merged into an exported one: their own record, linked back to the one kept.
    for row in merged:
        winner = str(row["replaced_by"])
        if winner not in kept:
            continue
        own = rid(str(row["id"]))
        note = _link_note(own, rid(winner), station, entry_date)
        _write_person(out, _person_fields(row, own, station, source, entry_date), [note])
        exported.append(str(row["id"]))
    out.write("</pfif:pfif>\n")
    if is_audited(store) and exported:
        record_reads(store, operator or "?", exported, _("PFIF export"))
    return len(exported)
