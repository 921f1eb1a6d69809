"""Acceptance 2: station -> relay -> hub; every change arrives once, even when the relay is
killed with SIGKILL in the middle of a push and restarted."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fieldkit.domain.ids import new_id
from fieldkit.errors import SyncError
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.store.store import Write
from fieldkit.sync.agent import Agent
from fieldkit.sync.enrol import create_invite, join
from fieldkit.sync.state import SyncState


def _wait(predicate, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _bulk_persons(store, first: int, count: int) -> None:
    writes = []
    for i in range(first, first + count):
        pid = f"nf-FR075BSPP2026TR{i:06d}"
        writes.append(Write("person", pid, {"nf399": f"FR075BSPP2026TR{i:06d}", "site": "A"}))
        writes.append(Write("triage", new_id(), {"person_id": pid, "category": "UR"}))
    store.record_many(writes, "op")


def test_relay_killed_mid_push_loses_nothing_and_doubles_nothing(
    make_station, start_hub, hub_process, tmp_path: Path
) -> None:
    ciav = make_station("ciav", "CIAV")
    hub = start_hub(ciav)
    relay = make_station("pma", "RELAY-A")
    join(relay, create_invite(ciav, "pma", "RELAY-A", hub.endpoint, relay=True), timeout=5)
    count_person(relay, "op", PersonInput(nf399="FR075BSPP2026TR900000", category="UA"))
    relay_proc = hub_process(tmp_path / "RELAY-A")
    child = make_station("pma", "PMA-2")
    join(child, create_invite(relay, "pma", "PMA-2", relay_proc.endpoint), timeout=5)
    _bulk_persons(child, 0, 4000)  # 8,000 changes
    count_person(
        ciav,
        "agent",
        PersonInput(nf399="FR075BSPP2026TR800000", category="UR", family_name="Secret"),
    )

    # Push into the relay; kill the relay with SIGKILL once some batches are acknowledged.
    errors: list[Exception] = []

    def push() -> None:
        try:
            Agent(child, offline_after=1.0, backoff=(0.1, 0.3)).run_once(timeout=4)
        except SyncError as exc:
            errors.append(exc)

    pusher = threading.Thread(target=push)
    pusher.start()
    _wait(lambda: SyncState(child).acks().get(child.station_id, 0) >= 1000, 20)
    relay_proc.kill()
    acked_before_kill = SyncState(child).acks()[child.station_id]
    pusher.join(10)
    assert errors, "the push should have been interrupted"
    assert acked_before_kill < 8000
    # Nothing the relay acknowledged is lost: it is in the relay's store.
    assert relay.high_water()[child.station_id] >= acked_before_kill

    relay_proc = hub_process(tmp_path / "RELAY-A", relay_proc.endpoint)
    Agent(child).run_once(timeout=30)
    _wait(lambda: ciav.high_water().get(child.station_id) == 8000, 30)
    _wait(lambda: ciav.high_water().get(relay.station_id) == 2, 10)

    rows = ciav.db.execute(
        "select count(*), count(distinct origin || ':' || seq) from changes where origin = ?",
        [child.station_id],
    ).fetchone()
    assert tuple(rows) == (8000, 8000)
    assert ciav.db.execute("select count(*) from persons where site = 'A'").fetchone()[0] == 4000
    assert ciav.db.execute("select count(*) from triage_events").fetchone()[0] == 4000 + 2

    # Downstream through the relay: the child gets the CIAV's triage event, not its identity.
    Agent(child).run_once(timeout=30)
    _wait(lambda: child.db.execute("select count(*) from triage_events").fetchone()[0] == 4002, 10)
    assert (
        child.db.execute("select count(*) from persons where family_name = 'Secret'").fetchone()[0]
        == 0
    )
    relay_proc.stop()
