"""A PUMP's certificate signing key travels with the change log: a certificate issued at a PUMP
verifies offline at every station once the keys have synced, with no manual trust; the hub takes
a key only from the station it belongs to. Real stores, real CURVE sockets on 127.0.0.1."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain.model import station_key_id
from fieldkit.errors import SyncError
from fieldkit.services import certificates as certs
from fieldkit.services import pump as pump_svc
from fieldkit.services.persons import PersonInput
from fieldkit.store.store import Store
from fieldkit.sync.agent import Agent
from fieldkit.sync.enrol import create_invite, join, revoke
from fieldkit.sync.hub import Hub
from tests.conftest import env_with_passphrase
from tests.sync.conftest import enrol

NUMBER = "FR075BSPP2026TR000123"
SECOND = "FR075BSPP2026TR000124"


@pytest.fixture
def hub(make_station: Callable[..., Any]) -> Iterator[tuple[Store, Hub]]:
    ciav = make_station("ciav", "CIAV")
    server = Hub(ciav, "tcp://127.0.0.1:*")
    server.start()
    yield ciav, server
    server.stop()


def _station(make_station: Callable[..., Any], hub: tuple[Store, Hub], role: str, name: str):  # noqa: ANN202
    ciav, server = hub
    store = make_station(role, name)
    assert server.endpoint is not None
    enrol(ciav, server.endpoint, store)
    return store


def _issue(store: Store, out: Path, number: str = NUMBER) -> tuple[certs.IssuedCertificate, bytes]:
    person_id = pump_svc.register_person(
        store, "dr", PersonInput(nf399=number, family_name="Benali")
    ).person_id
    pump_svc.record_declaration(store, "dr", person_id, "En terrasse, côté rue.", "Dr Martin")
    issued = certs.issue_certificate(
        store, "dr", person_id, "Dr Anne Martin", "10001234567", 2, out=out
    )
    return issued, out.read_bytes()


def _sync(*stores: Store) -> None:
    for store in stores:
        Agent(store).run_once(timeout=10)


def test_a_certificate_issued_at_a_pump_verifies_everywhere_after_sync(
    make_station: Callable[..., Any], hub: tuple[Store, Hub], tmp_path: Path
) -> None:
    ciav, _server = hub
    pump = _station(make_station, hub, "pump", "PUMP-1")
    police = _station(make_station, hub, "police", "POLICE-1")
    pma = _station(make_station, hub, "pma", "PMA-1")
    cert, data = _issue(pump, tmp_path / "certificat.pdf")
    key = certs.public_key_hex(pump)
    # Before any sync no other station knows the PUMP (the audit's finding).
    assert not certs.verify(data, certs.known_signers(police)).valid

    _sync(pump, police, pma)
    for store in (ciav, police, pma):
        signers = certs.known_signers(store)
        assert signers[pump.station_id] == (key,), store.role
        for target in (data, cert.payload):
            result = certs.verify(target, signers)
            assert result.valid, (store.role, result.reason)
            assert result.certificate_id == cert.certificate_id
    # The police read declarations: the PUMP's signature on it checks out too.
    declaration = next(iter(police.db["declarations"].rows))
    assert certs.verify_declaration(declaration, certs.known_signers(police)).valid
    # The synced key carries the station's name and role.
    synced = police.db.execute("SELECT station_name, role FROM station_keys").fetchall()
    assert synced == [("PUMP-1", "pump")]
    # Nothing was trusted by hand.
    assert certs.SIGNERS_META not in police.meta

    # The command line at the police station (the audit's exit 9): valid, exit 0.
    home = Path(police.db.conn.execute("PRAGMA database_list").fetchone()[2]).parent
    police.close()
    result = subprocess.run(
        [sys.executable, "-m", "fieldkit.cli_services", "certificate", "verify", "--home",
         str(home), str(cert.path)],
        capture_output=True, text=True, env=env_with_passphrase(), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Certificat {cert.certificate_id} valide")


def test_the_caf_verifies_a_certificate_a_family_brings_and_learns_nothing_else(
    make_station: Callable[..., Any], hub: tuple[Store, Hub], tmp_path: Path
) -> None:
    pump = _station(make_station, hub, "pump", "PUMP-1")
    caf = _station(make_station, hub, "caf", "CAF-1")
    cert, data = _issue(pump, tmp_path / "certificat.pdf")
    _sync(pump, caf)
    assert certs.verify(data, certs.known_signers(caf)).valid
    assert certs.verify(cert.payload, certs.known_signers(caf)).valid
    # The key, and nothing of the person, the declaration or the certificate.
    entities = {r[0] for r in caf.db.execute("SELECT DISTINCT entity FROM changes")}
    assert entities == {"station_key"}
    for table in ("persons", "declarations", "certificates", "triage_events"):
        assert caf.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def _forge(hostile: Store, victim_id: str, how: str) -> None:
    """``hostile`` records, bypassing its services, a key of its own under ``victim_id``."""
    key = certs.public_key_hex(hostile)
    values = {
        "station_id": victim_id,
        "public_key": key,
        "station_name": "PUMP-1",
        "role": "pump",
        "created_at": "2026-01-01T00:00:00Z",
    }
    entity_id = station_key_id(victim_id, key)
    if how == "own id, other station":
        entity_id = station_key_id(hostile.station_id, key)
    elif how == "other id, own station":
        values["station_id"] = hostile.station_id
    elif how == "id of another key":
        values["station_id"] = hostile.station_id
        entity_id = station_key_id(hostile.station_id, "ab" * 32)
    hostile.record("station_key", entity_id, values, "op")


@pytest.mark.parametrize(
    "how", ["other station", "own id, other station", "other id, own station", "id of another key"]
)
def test_a_station_key_under_another_station_is_refused_and_forges_nothing(
    make_station: Callable[..., Any], hub: tuple[Store, Hub], tmp_path: Path, how: str
) -> None:
    ciav, server = hub
    pump = _station(make_station, hub, "pump", "PUMP-1")
    hostile = _station(make_station, hub, "pump", "PUMP-2")
    police = _station(make_station, hub, "police", "POLICE-1")
    cert, data = _issue(pump, tmp_path / "certificat.pdf")
    _sync(pump)
    pump_svc.register_person(hostile, "op", PersonInput(nf399=SECOND))  # legitimate, before
    _forge(hostile, pump.station_id, how)  # after PUMP-2's own key, published when created
    with pytest.raises(SyncError, match="station_key"):
        Agent(hostile).run_once(timeout=10)
    assert server.rejections["role"] == 1
    # What came before the forgery reached the hub; the forgery did not.
    assert ciav.db.execute("SELECT count(*) FROM persons WHERE nf399 = ?", [SECOND]).fetchone()[0]
    keys = ciav.db.execute("SELECT station_id, public_key FROM station_keys").fetchall()
    assert sorted(keys) == sorted(
        [
            (pump.station_id, certs.public_key_hex(pump)),
            (hostile.station_id, certs.public_key_hex(hostile)),
        ]
    )

    _sync(police)
    signers = certs.known_signers(police)
    assert signers[pump.station_id] == (certs.public_key_hex(pump),)
    assert certs.verify(data, signers).valid
    # A certificate code PUMP-2 signs in PUMP-1's name does not verify anywhere.
    unsigned = certs.Payload("ab" * 16, pump.station_id, "2026-01-01T10:00:00Z", b"\0" * 32)
    forged = certs.Payload(
        unsigned.certificate_id,
        unsigned.station_id,
        unsigned.issued_at,
        unsigned.declaration_hash,
        certs.signing_key(hostile).sign(b"FKC1." + unsigned.signed_part()),
    ).encode()
    for store in (police, ciav):
        result = certs.verify(forged, certs.known_signers(store))
        assert not result.valid and "falsifié" in result.reason
    # So does a file PUMP-2 re-signs in PUMP-1's name.
    body = data[: data.rindex(b"%FIELDKIT-SIG")]
    refiled = (
        body
        + b"%FIELDKIT-SIG "
        + pump.station_id.encode()
        + b" "
        + base64.b64encode(certs.signing_key(hostile).sign(body))
        + b"\n"
    )
    assert not certs.verify(refiled, certs.known_signers(police)).valid


def test_a_pma_may_not_publish_a_key(
    make_station: Callable[..., Any], hub: tuple[Store, Hub]
) -> None:
    ciav, server = hub
    pma = _station(make_station, hub, "pma", "PMA-1")
    key = certs.public_key_hex(pma)  # any station has a key; only a PUMP publishes it
    assert pma.db.execute("SELECT count(*) FROM station_keys").fetchone()[0] == 0
    pma.record(
        "station_key",
        station_key_id(pma.station_id, key),
        {"station_id": pma.station_id, "public_key": key, "role": "pma"},
        "op",
    )
    with pytest.raises(SyncError, match="station_key"):
        Agent(pma).run_once(timeout=10)
    assert server.rejections["role"] == 1
    assert ciav.db.execute("SELECT count(*) FROM station_keys").fetchone()[0] == 0


def test_a_rotated_key_still_verifies_the_certificates_of_the_previous_one(
    make_station: Callable[..., Any], hub: tuple[Store, Hub], tmp_path: Path
) -> None:
    ciav, _server = hub
    pump = _station(make_station, hub, "pump", "PUMP-1")
    police = _station(make_station, hub, "police", "POLICE-1")
    old_cert, old_data = _issue(pump, tmp_path / "old.pdf")
    old_key = certs.public_key_hex(pump)
    _sync(pump, police)
    # The station's key changes (its secret replaced): the next signature publishes the new one.
    pump.set_secret(certs.SIGNING_SECRET, os.urandom(32))
    new_cert, new_data = _issue(pump, tmp_path / "new.pdf", SECOND)
    new_key = certs.public_key_hex(pump)
    assert new_key != old_key
    _sync(pump, police)
    for store in (pump, police, ciav):
        signers = certs.known_signers(store)
        assert set(signers[pump.station_id]) == {old_key, new_key}, store.role
        for data in (old_data, new_data, old_cert.payload, new_cert.payload):
            assert certs.verify(data, signers).valid, store.role
    assert certs.known_signers(pump)[pump.station_id][0] == new_key  # its current key first


def test_a_replaced_pump_laptop_leaves_the_old_certificates_valid(
    make_station: Callable[..., Any], hub: tuple[Store, Hub], tmp_path: Path
) -> None:
    ciav, server = hub
    old_laptop = _station(make_station, hub, "pump", "PUMP-1")
    police = _station(make_station, hub, "police", "POLICE-1")
    _old_cert, old_data = _issue(old_laptop, tmp_path / "old.pdf")
    _sync(old_laptop)
    revoke(ciav, "PUMP-1")  # the laptop is lost: a new one takes its place
    new_laptop = make_station("pump", "PUMP-1b")
    assert server.endpoint is not None
    enrol(ciav, server.endpoint, new_laptop)
    _new_cert, new_data = _issue(new_laptop, tmp_path / "new.pdf", SECOND)
    _sync(new_laptop, police)
    signers = certs.known_signers(police)
    assert certs.verify(old_data, signers).valid
    assert certs.verify(new_data, signers).valid


def test_a_pump_tablet_s_key_travels_through_its_relay_and_only_its_own(
    make_station: Callable[..., Any], hub: tuple[Store, Hub], tmp_path: Path
) -> None:
    ciav, server = hub
    assert server.endpoint is not None
    relay = make_station("pump", "PUMP-RELAY")
    join(relay, create_invite(ciav, "pump", "PUMP-RELAY", server.endpoint, relay=True), timeout=5)
    relay_hub = Hub(relay, "tcp://127.0.0.1:*")
    relay_hub.start()
    try:
        assert relay_hub.endpoint is not None
        tablet = make_station("pump", "PUMP-T1")
        join(tablet, create_invite(relay, "pump", "PUMP-T1", relay_hub.endpoint), timeout=5)
        hostile = make_station("pump", "PUMP-T2")
        join(hostile, create_invite(relay, "pump", "PUMP-T2", relay_hub.endpoint), timeout=5)
        police = _station(make_station, hub, "police", "POLICE-1")
        cert, data = _issue(tablet, tmp_path / "certificat.pdf")
        _sync(tablet)  # into the relay
        _forge(hostile, tablet.station_id, "other station")
        with pytest.raises(SyncError, match="station_key"):
            Agent(hostile).run_once(timeout=10)  # the relay checks as the hub does
        assert relay_hub.rejections["role"] == 1
        _sync(relay, police)  # the relay forwards the tablet's key upstream
        signers = certs.known_signers(police)
        assert signers[tablet.station_id] == (certs.public_key_hex(tablet),)
        assert certs.verify(data, signers).valid and certs.verify(cert.payload, signers).valid
    finally:
        relay_hub.stop()
