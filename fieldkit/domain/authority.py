"""Who may write what: the entities, and where it matters the fields, each role may record.

The secrecy table (:mod:`fieldkit.domain.secrecy`) says what a role may *read*; this one says what
it may *write*, from DOMAIN.md ("what each place records") and the role checks of the services:

| entity | PMA | PUMP | police | CAF | CIAV |
|---|---|---|---|---|---|
| person | yes | yes | no clinical notes | no | no clinical notes |
| triage | yes | yes | yes | no | yes |
| care, declaration, certificate | no | yes | no | no | no |
| witness, lead | no | no | yes | no | yes (settling a conflict) |
| death_stage | no | no | yes | no | no |
| enquiry | no | no | yes | yes | yes |
| conflict_decision | no | no | no | no | yes |
| station_key (its own only) | no | yes | no | no | no |
| enquiry_outcome, match_candidate | the hub's matcher only (``HUB_WRITTEN``) |

- a death stage is recorded by the police role only: an OPJ announces a death, nobody else;
- clinical notes are written where they are read: at the PMA and the PUMP that cared for the person;
- the CIAV settles conflicts, and a decision writes the chosen value again: it may write the
  mutable records it may read (persons but their clinical notes, witnesses, leads, enquiries);
- the lifecycle fields (delete, duplicate merge) go with the entity;
- a ``station_key`` is the public half of a certificate issuer's signing key: only the PUMP
  issues certificates, and a station publishes only its *own* key (:func:`station_key_refusal`,
  checked by the hub on every push), so an enrolled station cannot put its key under another
  station's name and make forged certificates verify.

A hub refuses a push holding a change its sending station's role may not write
(``docs/sync-protocol.md``); the services refuse such a write before it is recorded. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from fieldkit.domain.changes import LIFECYCLE_FIELDS
from fieldkit.domain.model import (
    CARE,
    CERTIFICATE,
    CONFLICT_DECISION,
    DEATH_STAGE,
    DECLARATION,
    ENQUIRY,
    LEAD,
    PERSON,
    STATION_KEY,
    TRIAGE_EVENT,
    WITNESS,
    DataClass,
    EntitySpec,
    Role,
    station_key_id,
)


def _all(spec: EntitySpec) -> tuple[str, frozenset[str]]:
    return spec.name, frozenset(spec.fields)


def _but(spec: EntitySpec, data_class: DataClass) -> tuple[str, frozenset[str]]:
    return spec.name, frozenset(n for n, c in spec.fields.items() if c is not data_class)


# role -> entity -> the fields it may write (the lifecycle fields are added below).
WRITABLE: Mapping[Role, Mapping[str, frozenset[str]]] = {
    Role.PMA: dict([_all(PERSON), _all(TRIAGE_EVENT)]),
    Role.PUMP: dict(
        [
            _all(PERSON),
            _all(TRIAGE_EVENT),
            _all(CARE),
            _all(DECLARATION),
            _all(CERTIFICATE),
            _all(STATION_KEY),
        ]
    ),
    Role.POLICE: dict(
        [
            _but(PERSON, DataClass.CLINICAL),
            _all(TRIAGE_EVENT),
            _all(WITNESS),
            _all(LEAD),
            _all(DEATH_STAGE),
            _all(ENQUIRY),
        ]
    ),
    Role.CAF: dict([_all(ENQUIRY)]),
    Role.CIAV: dict(
        [
            _but(PERSON, DataClass.CLINICAL),
            _all(TRIAGE_EVENT),
            _all(WITNESS),
            _all(LEAD),
            _all(ENQUIRY),
            _all(CONFLICT_DECISION),
        ]
    ),
}


@cache
def writable_fields(role: Role | str, entity: str) -> frozenset[str]:
    """The fields of ``entity`` a station of ``role`` may write (with lifecycle), or none."""
    fields = WRITABLE[Role(role)].get(entity, frozenset())
    return fields | LIFECYCLE_FIELDS if fields else frozenset()


@cache
def writable_by_entity(role: Role | str) -> Mapping[str, frozenset[str]]:
    """:func:`writable_fields` of every entity ``role`` may write (one lookup per change)."""
    parsed = Role(role)
    return {entity: writable_fields(parsed, entity) for entity in WRITABLE[parsed]}


def writers(entity: str) -> frozenset[str]:
    """The roles that may write some field of ``entity``."""
    return frozenset(role.value for role in Role if writable_fields(role, entity))


def write_refusal(role: Role | str, entity: str, fields: Iterable[str]) -> str | None:
    """Why ``role`` may not write these ``fields`` of ``entity`` (English, for logs), or None."""
    allowed = writable_fields(role, entity)
    if not allowed:
        return f"a {Role(role).value} station may not write {entity[:32]} records"
    refused = sorted(set(fields) - allowed)
    if refused:
        return f"a {Role(role).value} station may not write {entity[:32]}.{refused[0][:64]}"
    return None


_KEY_HEX = re.compile(r"[0-9a-f]{64}")


def station_key_refusal(origin: str, entity_id: str, values: Mapping[str, Any]) -> str | None:
    """Why a ``station_key`` change of ``origin`` is not that station publishing its own key
    (English, for logs), or None: its ``station_id`` must be ``origin``, its ``public_key`` 64
    lowercase hex digits and its id :func:`~fieldkit.domain.model.station_key_id` of the two."""
    key = values.get("public_key")
    if (
        values.get("station_id") != origin
        or not isinstance(key, str)
        or not _KEY_HEX.fullmatch(key)
        or entity_id != station_key_id(origin, key)
    ):
        return f"station {origin[:64]} may publish only its own key (station_key {entity_id[:64]})"
    return None
