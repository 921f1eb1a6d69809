"""Creating and opening a station: its encrypted store, its identity, its settings."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from fieldkit.domain import validation
from fieldkit.domain.ids import new_id
from fieldkit.domain.model import Role
from fieldkit.errors import FieldkitError, StoreDamaged, StoreMissing, ValidationError
from fieldkit.i18n import _
from fieldkit.store import connection, keys
from fieldkit.store.store import Store

DB_NAME = "station.db"
KEYS_NAME = "station.keys"


@dataclass(frozen=True)
class StationPaths:
    home: Path

    @property
    def db(self) -> Path:
        return self.home / DB_NAME

    @property
    def keys(self) -> Path:
        return self.home / KEYS_NAME

    def exists(self) -> bool:
        return self.db.exists() or self.keys.exists()


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise ValidationError(
            _("Unknown role {role}: choose one of pma, pump, police, caf, ciav.").format(
                role=value
            ),
            field="role",
        ) from None


def _check_pattern(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error:
        raise ValidationError(
            _("The victim number pattern is not a valid regular expression."),
            field="number_pattern",
        ) from None


def init_station(
    home: Path,
    passphrase: str,
    *,
    role: str,
    station_name: str,
    incident: str,
    site: str | None = None,
    number_pattern: str | None = None,
    ranges: list[str] | None = None,
) -> Store:
    """Create the encrypted store of a new station in ``home``; refuses to overwrite one."""
    paths = StationPaths(home)
    parsed_role = parse_role(role)
    name = validation.validate_name(station_name, "station_name", max_len=40)
    if not name:
        raise ValidationError(_("The station needs a name."), field="station_name")
    incident_id = validation.validate_name(incident, "incident", max_len=80)
    if not incident_id:
        raise ValidationError(_("The station needs an incident identifier."), field="incident")
    site_name = validation.validate_name(site, "site", max_len=80) if site else None
    fmt = validation.NumberFormat(pattern=number_pattern) if number_pattern else None
    if fmt is not None:
        _check_pattern(fmt.pattern)
    parsed_ranges = [
        validation.parse_range(r, fmt or validation.DEFAULT_FORMAT) for r in ranges or []
    ]
    keys.validate_new_passphrase(passphrase)
    if paths.exists():
        raise FieldkitError(
            _("A station already exists in {home}; open it or choose another folder.").format(
                home=home
            )
        )
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    data_key = keys.create_keyfile(paths.keys, passphrase)
    db = connection.connect(paths.db, data_key, create=True)
    store = Store(db)
    store.set_meta(
        station_id=new_id()[-16:],
        station_name=name,
        role=parsed_role.value,
        incident=incident_id,
        site=site_name or name,
        number_pattern=(fmt or validation.DEFAULT_FORMAT).pattern,
        ranges=json.dumps([[r.first, r.last] for r in parsed_ranges]),
    )
    return store


def open_station(home: Path, passphrase: str) -> Store:
    """Unlock and open the station in ``home``."""
    paths = StationPaths(home)
    if not paths.db.exists() or not paths.keys.exists():
        if paths.db.exists() or paths.keys.exists():
            raise StoreDamaged(
                _("The station in {home} is incomplete (store or key file missing).").format(
                    home=home
                )
            )
        raise StoreMissing(
            _("No station in {home}: create one with 'fieldkit init'.").format(home=home)
        )
    data_key = keys.unlock_keyfile(paths.keys, passphrase)
    db = connection.connect(paths.db, data_key)
    try:
        store = Store(db)
    except Exception as exc:
        if connection.is_store_damage(exc):
            raise StoreDamaged(_("The store file is damaged and cannot be read.")) from exc
        raise
    if "station_id" not in store.meta:
        raise StoreDamaged(_("The store file is damaged and cannot be read."))
    from fieldkit.services.certificates import publish_key

    publish_key(store)  # a PUMP whose key predates its publication publishes it now (once)
    return store


def number_format(store: Store) -> validation.NumberFormat:
    pattern = store.meta.get("number_pattern")
    return validation.NumberFormat(pattern=pattern) if pattern else validation.DEFAULT_FORMAT


def bracelet_ranges(store: Store) -> list[validation.BraceletRange]:
    return [validation.BraceletRange(a, b) for a, b in json.loads(store.meta.get("ranges") or "[]")]
