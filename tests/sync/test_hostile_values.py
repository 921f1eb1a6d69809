"""Values a field may not hold are refused on the wire, both ways: real stores, a real hub with
its matcher and real CURVE sockets on 127.0.0.1.

The values are those of a hostile-input audit, which an enrolled station pushed and the hub
acknowledged: then the bilan, the exports, the CIAV console and the matcher crashed on the hub
and on every station that pulled them.
"""

from __future__ import annotations

import io
import logging
import time
from typing import Any

import pytest
import zmq

from fieldkit.domain.changes import Change
from fieldkit.errors import SyncError
from fieldkit.services import caf
from fieldkit.services.exchange import export_csv
from fieldkit.services.matching import Matcher
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.services.pfif import export_pfif
from fieldkit.store import queries
from fieldkit.store.store import Store
from fieldkit.sync import wire
from fieldkit.sync.agent import Agent
from fieldkit.sync.enrol import client_socket, station_keypair
from fieldkit.sync.hub import Hub
from fieldkit.sync.state import SyncState
from tests.integration.test_bad_stored_values import hostile_changes
from tests.sync.conftest import enrol

GOOD = "FR075BSPP2026TR000555"

# Each: (entity, values) that the audit pushed and the hub acknowledged.
HOSTILE: list[tuple[str, dict[str, Any]]] = [
    ("person", {"family_name": "\x1b[2J\x1b]0;pwn\x07\u202eEVIL"}),
    ("person", {"given_names": "Anne\u202e"}),
    ("person", {"sex": 12345}),
    ("person", {"birth_date": "garbage"}),
    ("person", {"birth_date": "1999-99-99"}),
    ("person", {"apparent_age": "x" * 1000}),
    ("person", {"apparent_age": 999}),
    ("person", {"x_description": {"clothing": "\x1b[31mred"}}),
    ("person", {"x_description": {"weapon": "knife"}}),
    ("person", {"x_description": "red coat"}),
    ("person", {"site": 3.5}),
    ("person", {"destination": "=" + "A" * 60000}),
    ("person", {"family_name": 5}),
    ("person", {"given_names": 1.5}),
    ("person", {"destination": 7}),
    ("person", {"family_name": 6}),
    ("person", {"replaced_by": ""}),
    ("person", {"_deleted": 1}),
    ("triage", {"person_id": "nf-X", "category": "ZZZ"}),
    ("triage", {"person_id": "nf-X", "category": "UA", "at": 123}),
    ("triage", {"person_id": "nf-X", "category": "UA", "at": "tomorrow"}),
    ("triage", {"person_id": "", "category": "UA"}),
    ("triage", {"person_id": "nf-X", "category": "UA", "refinement": "U3"}),
    ("triage", {"person_id": "nf-X", "category": "UA", "refinement": "ZZ"}),
]


def _raw_client(store: Store, endpoint: str, server_key: str) -> zmq.Socket:
    public, secret = station_keypair(store)
    sock = client_socket(zmq.Context.instance(), server_key, public, secret)
    sock.connect(endpoint)
    return sock


def _ask(sock: zmq.Socket, frame: bytes) -> wire.ToStation:
    sock.send(frame)
    assert sock.poll(5000), "no answer from the hub"
    return wire.decode_for_station(sock.recv())


def _settle(hub: Hub) -> None:
    end = time.monotonic() + 10
    time.sleep(0.2)
    while hub.busy and time.monotonic() < end:
        time.sleep(0.05)


@pytest.fixture
def incident(make_station) -> Any:
    """A CIAV hub with its matcher, a PMA, and a CAF desk whose family seeks Camille Durand."""
    ciav = make_station("ciav", "CIAV")
    hub = Hub(ciav, "tcp://127.0.0.1:*", after_apply=Matcher(ciav).step)
    hub.start()
    pma = make_station("pma", "PMA-2")
    desk = make_station("caf", "CAF-1")
    enrol(ciav, hub.endpoint, pma)
    enrol(ciav, hub.endpoint, desk)
    enquiry = caf.record_enquiry(
        desk,
        "desk",
        enquirer_name="Famille Durand",
        phone="+33612345678",
        sought_family_name="Durand",
        sought_given_names="Camille",
        sought_sex="F",
    )
    Agent(desk).run_once(timeout=10)
    yield ciav, hub, pma, desk, enquiry
    hub.stop()


def test_each_hostile_value_is_refused_and_the_hub_keeps_working(incident, caplog) -> None:
    caplog.set_level(logging.WARNING)
    ciav, hub, pma, desk, enquiry = incident
    sock = _raw_client(pma, hub.endpoint, station_keypair(ciav)[0])
    welcome = _ask(sock, wire.encode(wire.Hello(1, pma.station_id, "INC-TEST")))
    assert isinstance(welcome, wire.Welcome)
    seq = welcome.heads.get(pma.station_id, 0) + 1
    before = ciav.db.execute("SELECT count(*) FROM changes").fetchone()[0]
    hlc = (time.time_ns() // 1_000_000) << 16
    for n, (entity, values) in enumerate(HOSTILE, 1):
        change = Change(pma.station_id, seq, hlc + n, entity, f"e-{n}", values, "a")
        answer = _ask(sock, wire.encode_push(n, [wire.encode_change(change)]))
        assert isinstance(answer, wire.Error), (values, answer)
        assert (answer.code, answer.n) == ("invalid", n), (values, answer)
    # the audit's t11: a good person and its triage, then a bad one: the whole batch refused
    good = f"nf-{GOOD}"
    batch = [
        Change(
            pma.station_id,
            seq,
            hlc + 100,
            "person",
            good,
            {"family_name": "Durand", "given_names": "Camille", "nf399": GOOD, "sex": "F"},
            "Dr A",
        ),
        Change(
            pma.station_id,
            seq + 1,
            hlc + 101,
            "triage",
            "t-555",
            {"person_id": good, "category": "UA"},
            "Dr A",
        ),
        Change(pma.station_id, seq + 2, hlc + 102, "person", "nf-BAD2", {"family_name": 6}, "a"),
    ]
    answer = _ask(sock, wire.encode_push(99, [wire.encode_change(c) for c in batch]))
    assert isinstance(answer, wire.Error) and (answer.code, answer.n) == ("invalid", 99)
    assert "family_name" in answer.detail
    sock.close()
    assert ciav.db.execute("SELECT count(*) FROM changes").fetchone()[0] == before
    assert hub.rejections["invalid"] == len(HOSTILE) + 1
    assert sum("rejected frame from PMA-2" in r.getMessage() for r in caplog.records) >= len(
        HOSTILE
    )

    # the station's own, valid work still goes through, and the hub's readers all work
    count_person(
        pma,
        "Dr A",
        PersonInput(
            nf399=GOOD, category="UA", family_name="Durand", given_names="Camille", sex="F"
        ),
    )
    Agent(pma).run_once(timeout=10)
    _settle(hub)
    bilan = queries.bilan(ciav.db)
    assert bilan.by_category["UA"] == 1 and bilan.total == 1
    assert export_csv(ciav, io.StringIO()) == 1
    assert export_pfif(ciav, io.StringIO(), operator="op") == 1
    Agent(desk).run_once(timeout=10)
    told = caf.outcome_for(desk, enquiry)
    assert told.outcome != "none", told


def test_a_station_whose_store_holds_a_bad_value_is_refused_and_keeps_it(incident) -> None:
    """What docs/sync-protocol.md says: the station shows the sentence, loses nothing."""
    ciav, hub, pma, _desk, _enquiry = incident
    count_person(pma, "Dr A", PersonInput(nf399=GOOD, category="UA"))
    pma.record("person", "nf-BAD", {"site": 3.5}, "a")  # a bug or a tampered store
    with pytest.raises(SyncError, match="invalid") as refused:
        Agent(pma).run_once(timeout=10)
    assert "person.site is float, not text" in str(refused.value)  # what to report
    assert SyncState(pma).waiting() == 3  # the person, its triage and the bad change
    assert ciav.high_water().get(pma.station_id) is None


def test_a_station_skips_bad_values_from_its_hub_and_reads_the_rest(
    incident, make_station, caplog
) -> None:
    """A hub that stored bad values before this check (or a compromised one) serves them: the
    station logs and skips them, stores the rest and moves its cursor on."""
    caplog.set_level(logging.WARNING)
    ciav, hub, _pma, _desk, _enquiry = incident
    ciav.apply(hostile_changes("PMA-OLD"))
    count_person(
        ciav, "CIAV op", PersonInput(family_name="Durand", given_names="Camille", category="UR")
    )
    console = make_station("ciav", "CIAV-2")
    enrol(ciav, hub.endpoint, console)
    Agent(console).run_once(timeout=10)
    refused = [
        r.getMessage() for r in caplog.records if "refused change from the hub" in r.getMessage()
    ]
    assert len(refused) == 7, refused  # of PMA-OLD's nine, its valid person and triage pass
    assert SyncState(console).cursor(ciav.station_id) == SyncState(ciav).top()
    names = {r["family_name"] for r in console.db.query("SELECT family_name FROM persons")}
    assert {"Durand", "Zed"} <= names
    assert console.high_water().get("PMA-OLD") is not None
    bilan = queries.bilan(console.db)
    assert bilan.total == sum(bilan.by_category.values()) == 2
    assert export_csv(console, io.StringIO()) >= 2
