"""What a role may receive from elsewhere, field by field (the secrecy table of DOMAIN.md).

The hub runs every change through :func:`project` before it goes on the wire to a station, so a
station only ever holds what its role may read. Pure: no I/O.

Rules beyond the table itself:
- a station never receives its own origin's changes back;
- ``own`` access (PMA/PUMP identity, clinical data) means *only what this station recorded*: it
  receives none of it from others;
- the CAF receives family enquiries and their outcomes (``enquiry_outcome``: the neutral sentence
  the matcher chose, "found, cared for at <place>", "an officer will speak with you", "no
  information yet", or, only once an OPJ announced it, that the death was announced), the
  stations' public signing keys (below), and nothing else: no identity, no triage or place of
  care, no match candidate, witness, lead or death stage, nothing that could hint at a death;
- every role receives the ``station_key`` facts (data class ``station``): a PUMP's public
  signing key, its station id, name and role, no person's data, so a certificate a person
  shows verifies offline at any station;
- the PUMP receives triage events with the category only (no refinement, no destination);
- the CIAV receives declaration and certificate *metadata*: never the words of a declaration;
- the lifecycle fields (delete, duplicate merge) go with an entity to whoever may read part of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from fieldkit.domain.changes import LIFECYCLE_FIELDS, Change
from fieldkit.domain.model import ENTITIES, Access, DataClass, Role, access

# Under "metadata" access, the fields of each entity that are metadata (not the person's words).
METADATA_FIELDS: Mapping[str, frozenset[str]] = {
    "declaration": frozenset({"person_id", "clinician", "signed_at", "signature"}),
    "certificate": frozenset(
        {
            "person_id",
            "kind",
            "clinician",
            "registration",
            "issued_at",
            "itt_days",
            "declaration_hash",
            "fingerprint",
        }
    ),
}
# Under "category only" access: the triage event's category, never the rest of the triage class.
CATEGORY_FIELDS: Mapping[str, frozenset[str]] = {
    "triage": frozenset({"person_id", "category", "at"}),
}


def _field_allowed(role: Role, entity: str, field: str, data_class: DataClass) -> bool:
    level = access(role, data_class)
    if level is Access.FULL:
        return True
    if level is Access.METADATA:
        return field in METADATA_FIELDS.get(entity, frozenset())
    if level is Access.CATEGORY_ONLY:
        return field in CATEGORY_FIELDS.get(entity, frozenset())
    # NONE; OWN (only the station's own records, never sent to it); and the CAF's MATCHED,
    # PLACE_OF_CARE and ANNOUNCED_ONLY: the CAF learns those only through the outcome of its
    # enquiries (entity ``enquiry_outcome``, ENQUIRY class), which the hub's matcher writes
    # after applying these rules itself; the records behind it never go to the CAF.
    return False


@cache
def readable_fields(role: Role | str, entity: str) -> frozenset[str]:
    """The fields of ``entity`` a station of ``role`` may receive from others (with lifecycle)."""
    spec = ENTITIES.get(entity)
    if spec is None:
        return frozenset()
    parsed = Role(role)
    fields = {
        name
        for name, data_class in spec.fields.items()
        if _field_allowed(parsed, entity, name, data_class)
    }
    if fields:
        fields |= LIFECYCLE_FIELDS
    return frozenset(fields)


def project(change: Change, receiver_role: Role | str, receiver_station_id: str) -> Change | None:
    """The part of ``change`` a station of ``receiver_role`` may receive, or None for nothing."""
    if change.origin == receiver_station_id:
        return None
    allowed = readable_fields(receiver_role, change.entity)
    if not allowed:
        return None
    values = change.values
    if values.keys() <= allowed and change.base.keys() <= allowed:
        return change
    kept_values = {k: v for k, v in values.items() if k in allowed}
    if not kept_values:
        return None
    base = {k: v for k, v in change.base.items() if k in allowed}
    return Change(
        change.origin,
        change.seq,
        change.hlc,
        change.entity,
        change.entity_id,
        kept_values,
        change.author,
        base,
    )
