"""Acceptance 3: the hub is killed with SIGKILL during pushes, 20 times: no acknowledged change is
lost, none is applied twice, and all nodes converge."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import msgspec
import pytest

from fieldkit.domain.ids import new_id
from fieldkit.domain.secrecy import project
from fieldkit.store.store import Write
from fieldkit.sync.agent import Agent
from fieldkit.sync.enrol import create_invite, join
from fieldkit.sync.state import SyncState

ROUNDS = 20


def _key(change) -> tuple[str, bytes]:
    return change.change_id, msgspec.json.encode([change.values, dict(change.base)], order="sorted")


def _persons(store, prefix: str, first: int, count: int) -> None:
    writes = []
    for i in range(first, first + count):
        pid = f"nf-FR075BSPP2026TR{prefix}{i:05d}"
        writes.append(
            Write("person", pid, {"nf399": pid[3:], "family_name": f"N{i}", "site": prefix})
        )
        writes.append(Write("triage", new_id(), {"person_id": pid, "category": "UR"}))
    store.record_many(writes, "op")


@pytest.mark.slow
def test_hub_killed_repeatedly_during_pushes(make_station, hub_process, tmp_path: Path) -> None:
    rng = random.Random(3)
    ciav = make_station("ciav", "CIAV")
    hub = hub_process(tmp_path / "CIAV")
    endpoint = hub.endpoint
    stations = {
        name[0]: make_station(role, name)
        for role, name in (("pma", "1PMA"), ("police", "2POL"), ("pump", "3PUMP"))
    }
    for prefix, store in stations.items():
        join(
            store, create_invite(ciav, store.role, store.meta["station_name"], endpoint), timeout=10
        )
        _persons(store, prefix, 0, 1500)
    hub.kill()
    agents = [Agent(s, offline_after=0.8, backoff=(0.05, 0.2)) for s in stations.values()]
    for agent in agents:
        agent.start()
    stop = threading.Event()
    written = {p: 1500 for p in stations}

    def writer(prefix: str) -> None:
        while not stop.is_set():
            _persons(stations[prefix], prefix, written[prefix], 20)
            written[prefix] += 20
            time.sleep(0.05)

    writers = [threading.Thread(target=writer, args=(p,)) for p in stations]
    for thread in writers:
        thread.start()
    try:
        acked_total = 0
        for _round in range(ROUNDS):
            hub = hub_process(tmp_path / "CIAV", endpoint)
            time.sleep(rng.uniform(0.1, 0.5))
            hub.kill()
            held = ciav.high_water()
            for store in stations.values():
                acked = SyncState(store).acks().get(store.station_id, 0)
                assert held.get(store.station_id, 0) >= acked  # nothing acknowledged was lost
            acked_total = sum(SyncState(s).acks().get(s.station_id, 0) for s in stations.values())
        assert acked_total > 9000  # pushes did go on between the kills
    finally:
        stop.set()
        for thread in writers:
            thread.join()
    hub = hub_process(tmp_path / "CIAV", endpoint)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(a.status().waiting for a in agents):
            time.sleep(0.1)
        for agent in agents:
            agent.stop()
        for store in stations.values():
            Agent(store).run_once(timeout=30)
        for store in stations.values():  # a second pass brings what the others pushed last
            Agent(store).run_once(timeout=30)
    finally:
        for agent in agents:
            agent.stop()
        hub.stop()

    union = {
        c.change_id: c
        for s in stations.values()
        for c in s.all_changes()
        if c.origin == s.station_id
    }
    assert len(union) == sum(written.values()) * 2
    held = ciav.all_changes()
    assert len(held) == len(union)  # none lost, none twice
    assert {_key(c) for c in held} == {_key(c) for c in union.values()}
    assert ciav.db.execute("select count(*) from persons").fetchone()[0] == sum(written.values())
    assert ciav.db.execute("select count(*) from triage_events").fetchone()[0] == sum(
        written.values()
    )
    for store in stations.values():
        expected = {_key(c) for c in union.values() if c.origin == store.station_id}
        expected |= {
            _key(p) for c in union.values() if (p := project(c, store.role, store.station_id))
        }
        assert {_key(c) for c in store.all_changes()} == expected, store.role
