"""Entities, their fields, the data class of each field and which role may read it.

Entities are either *mutable* (fields merged last-writer-wins, e.g. a person's identity) or
*append-only facts* (a triage event, a first declaration, a death stage: never overwritten).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fieldkit.domain.changes import DELETED, REPLACED_BY


class Role(StrEnum):
    PMA = "pma"
    PUMP = "pump"
    POLICE = "police"
    CAF = "caf"
    CIAV = "ciav"


class DataClass(StrEnum):
    """The rows of the secrecy table (DOMAIN.md)."""

    IDENTITY = "identity"  # identity, contact
    TRIAGE = "triage"  # triage category, evacuation destination
    CLINICAL = "clinical"  # clinical notes (medical, psychological)
    DECLARATION = "declaration"  # first declaration of location, certificates
    INVESTIGATION = "investigation"  # witness data, leads, death stages
    ENQUIRY = "enquiry"  # family enquiries, ante-mortem data
    INTERNAL = "internal"  # CIAV housekeeping (conflict decisions)
    STATION = "station"  # public facts about stations (certificate signing keys): every role


class Access(StrEnum):
    """How much of a data class a role may read."""

    NONE = "none"
    OWN = "own"  # only the persons recorded at this station
    FULL = "full"
    CATEGORY_ONLY = "category_only"  # PUMP: the triage category, not the destination
    PLACE_OF_CARE = "place_of_care"  # CAF: where cared for, never DCD
    MATCHED = "matched"  # CAF: its enquiries and the persons matched to them
    ANNOUNCED_ONLY = "announced_only"  # CAF: only the fact that a death was announced
    METADATA = "metadata"  # CIAV: certificate metadata, not the declaration's words


SECRECY: dict[DataClass, dict[Role, Access]] = {
    DataClass.IDENTITY: {
        Role.PMA: Access.OWN,
        Role.PUMP: Access.OWN,
        Role.POLICE: Access.FULL,
        Role.CAF: Access.MATCHED,
        Role.CIAV: Access.FULL,
    },
    DataClass.TRIAGE: {
        Role.PMA: Access.FULL,
        Role.PUMP: Access.CATEGORY_ONLY,
        Role.POLICE: Access.FULL,
        Role.CAF: Access.PLACE_OF_CARE,
        Role.CIAV: Access.FULL,
    },
    DataClass.CLINICAL: {
        Role.PMA: Access.OWN,
        Role.PUMP: Access.OWN,
        Role.POLICE: Access.NONE,
        Role.CAF: Access.NONE,
        Role.CIAV: Access.NONE,
    },
    DataClass.DECLARATION: {
        Role.PMA: Access.NONE,
        Role.PUMP: Access.FULL,
        Role.POLICE: Access.FULL,
        Role.CAF: Access.NONE,
        Role.CIAV: Access.METADATA,
    },
    DataClass.INVESTIGATION: {
        Role.PMA: Access.NONE,
        Role.PUMP: Access.NONE,
        Role.POLICE: Access.FULL,
        Role.CAF: Access.ANNOUNCED_ONLY,
        Role.CIAV: Access.FULL,
    },
    DataClass.ENQUIRY: {
        Role.PMA: Access.NONE,
        Role.PUMP: Access.NONE,
        Role.POLICE: Access.FULL,
        Role.CAF: Access.FULL,
        Role.CIAV: Access.FULL,
    },
    DataClass.INTERNAL: {
        Role.PMA: Access.NONE,
        Role.PUMP: Access.NONE,
        Role.POLICE: Access.NONE,
        Role.CAF: Access.NONE,
        Role.CIAV: Access.FULL,
    },
    # Not in DOMAIN.md's table: no person's data, only what a station prints on every certificate
    # it signs (its id and name) and the public half of its signing key, so that any station can
    # check a certificate offline. The CAF too: families and the victim-support associations
    # there bring the certificates the FGTI asks for, and checking one reveals nothing the
    # certificate in hand does not already say.
    DataClass.STATION: {
        Role.PMA: Access.FULL,
        Role.PUMP: Access.FULL,
        Role.POLICE: Access.FULL,
        Role.CAF: Access.FULL,
        Role.CIAV: Access.FULL,
    },
}


def access(role: Role | str, data_class: DataClass) -> Access:
    return SECRECY[data_class][Role(role)]


@dataclass(frozen=True)
class EntitySpec:
    """An entity: its name, whether it is append-only, and the data class of each field."""

    name: str
    append_only: bool
    fields: dict[str, DataClass]
    table: str

    def data_class(self, field_name: str) -> DataClass:
        if field_name in (DELETED, REPLACED_BY):
            return next(iter(self.fields.values()))
        return self.fields[field_name]


_I, _T, _C = DataClass.IDENTITY, DataClass.TRIAGE, DataClass.CLINICAL
_D, _V, _E = DataClass.DECLARATION, DataClass.INVESTIGATION, DataClass.ENQUIRY

PERSON = EntitySpec(
    "person",
    append_only=False,
    table="persons",
    fields={
        "nf399": _I,
        "family_name": _I,
        "given_names": _I,
        "sex": _I,
        "birth_date": _I,
        "apparent_age": _I,
        "phone": _I,
        "address": _I,
        "nationality": _I,
        "x_description": _I,  # physical description of an X person (dict)
        "site": _T,
        "found_place": _T,
        "destination": _T,
        "vehicle": _T,
        "departure_time": _T,
        "clinical_notes": _C,
    },
)
TRIAGE_EVENT = EntitySpec(
    "triage",
    append_only=True,
    table="triage_events",
    fields={"person_id": _T, "category": _T, "refinement": _T, "at": _T},
)
CARE = EntitySpec(
    "care",
    append_only=True,
    table="care_events",
    fields={"person_id": _C, "care_given": _C, "orientation": _C, "notes": _C},
)
DECLARATION = EntitySpec(
    "declaration",
    append_only=True,
    table="declarations",
    fields={"person_id": _D, "text": _D, "clinician": _D, "signed_at": _D, "signature": _D},
)
CERTIFICATE = EntitySpec(
    "certificate",
    append_only=True,
    table="certificates",
    fields={
        "person_id": _D,
        "kind": _D,
        "clinician": _D,
        "registration": _D,
        "issued_at": _D,
        "itt_days": _D,
        "declaration_hash": _D,
        "fingerprint": _D,
    },
)
WITNESS = EntitySpec(
    "witness",
    append_only=False,
    table="witnesses",
    fields={
        name: _V
        for name in (
            "family_name",
            "given_names",
            "phone",
            "email",
            "address",
            "where",
            "saw",
            "left_scene",
            "recontact",
            "oriented_to",
            "person_id",
            "recontacted_at",  # when an officer called the witness back (UTC stamp), else empty
        )
    },
)
LEAD = EntitySpec(
    "lead",
    append_only=False,
    table="leads",
    fields={name: _V for name in ("person_id", "possible_identity", "source", "note", "status")},
)
DEATH_STAGE = EntitySpec(
    "death_stage",
    append_only=True,
    table="death_stages",
    fields={"person_id": _V, "stage": _V, "officer": _V, "at": _V},
)
ENQUIRY = EntitySpec(
    "enquiry",
    append_only=False,
    table="enquiries",
    fields={
        name: _E
        for name in (
            "enquirer_name",
            "relation",
            "phone",
            "language",
            "staying_at",
            "sought_family_name",
            "sought_given_names",
            "sought_sex",
            "sought_age",
            "description",
            "clothing",
            "sought_phone",
            "last_place",
            "last_time",
            "ante_mortem",
            "status",
            "reference",  # what the family quotes: the desk's station name and its count
        )
    },
)
# What a family may be told about an enquiry (written by the hub's matcher; CAF, police, CIAV).
ENQUIRY_OUTCOME = EntitySpec(
    "enquiry_outcome",
    append_only=False,
    table="enquiry_outcomes",
    fields={"enquiry_id": _E, "outcome": _E, "place": _E},
)
# A person the matcher proposes for an enquiry, with its score and reasons (police and CIAV only:
# a candidate names a person and may point at a death the family has not been told of).
MATCH_CANDIDATE = EntitySpec(
    "match_candidate",
    append_only=False,
    table="match_candidates",
    fields={name: _V for name in ("enquiry_id", "person_id", "score", "reasons", "rank")},
)
# A PUMP station's certificate signing key (Ed25519 public key, 64 hex digits): one append-only
# fact per key, id ``<station id>:<first 32 hex digits of the key>`` (see ``station_key_id``), so
# a station whose key changes keeps its previous keys known and the certificates they signed still
# verify. Written only by the station the key belongs to (the hub checks id and origin).
STATION_KEY = EntitySpec(
    "station_key",
    append_only=True,
    table="station_keys",
    fields={
        name: DataClass.STATION
        for name in ("station_id", "public_key", "station_name", "role", "created_at")
    },
)


def station_key_id(station_id: str, public_key: str) -> str:
    """The id of the ``station_key`` fact of ``public_key`` (hex) for ``station_id``."""
    return f"{station_id}:{public_key[:32]}"


# Written only by the hub's matcher, with the hub's origin: a hub refuses them in any push, so
# no station can tell a family "found" in the matcher's name.
HUB_WRITTEN = frozenset({ENQUIRY_OUTCOME.name, MATCH_CANDIDATE.name})
CONFLICT_DECISION = EntitySpec(
    "conflict_decision",
    append_only=False,
    table="conflict_decisions",
    fields={"chosen_change": DataClass.INTERNAL, "note": DataClass.INTERNAL},
)

ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        PERSON,
        TRIAGE_EVENT,
        CARE,
        DECLARATION,
        CERTIFICATE,
        WITNESS,
        LEAD,
        DEATH_STAGE,
        ENQUIRY,
        ENQUIRY_OUTCOME,
        MATCH_CANDIDATE,
        CONFLICT_DECISION,
        STATION_KEY,
    )
}


class DeathStage(StrEnum):
    FIELD = "field"  # DCD triage on the field (implied by the triage event)
    IDENTIFIED = "identified"
    ANNOUNCED = "announced"
