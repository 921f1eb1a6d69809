"""Acceptance 5: a station shows offline within 3 s of the hub dying, keeps working, reconnects
with back-off and resumes from the last ack."""

from __future__ import annotations

import time
from pathlib import Path

from fieldkit.services.persons import PersonInput, count_person
from fieldkit.services.station import open_station
from fieldkit.sync.agent import Agent, SyncStatus
from fieldkit.sync.enrol import create_invite, join
from tests.conftest import PASSPHRASE


def _wait(predicate, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def _count(store, start: int, n: int) -> None:
    for i in range(start, start + n):
        count_person(store, "op", PersonInput(nf399=f"FR075BSPP2026TR{i:06d}", category="UA"))


def test_offline_within_3_s_keeps_working_and_resumes_from_the_last_ack(
    make_station, hub_process, tmp_path: Path
) -> None:
    ciav = make_station("ciav", "CIAV")
    pma = make_station("pma", "PMA-1")
    hub = hub_process(tmp_path / "CIAV")
    join(pma, create_invite(ciav, "pma", "PMA-1", hub.endpoint), timeout=10)
    statuses: list[SyncStatus] = []
    agent = Agent(pma, on_status=statuses.append)
    agent.start()
    try:
        _count(pma, 0, 10)
        _wait(lambda: agent.status().online and agent.status().waiting == 0, 10)
        assert agent.status().describe().startswith("synchronisé il y a")
        sent_before = agent.sent
        assert sent_before == 20

        hub.kill()
        killed = time.monotonic()
        _wait(lambda: not agent.status().online, 3.0)
        assert time.monotonic() - killed <= 3.0

        _count(pma, 100, 5)  # keeps working while offline
        _wait(lambda: agent.status().waiting == 10, 2)
        assert agent.status().describe() == "hors ligne · 10 en attente"
        time.sleep(2.5)  # a few reconnection attempts with growing back-off
        attempts = agent.sessions

        hub = hub_process(tmp_path / "CIAV", hub.endpoint)
        _wait(lambda: agent.status().online and agent.status().waiting == 0, 15)
        assert agent.sessions > attempts >= 2
        assert agent.sent - sent_before == 10  # resumed from the last ack: nothing sent twice
    finally:
        agent.stop()
    hub.stop()
    check = open_station(tmp_path / "CIAV", PASSPHRASE)
    try:
        assert check.high_water()[pma.station_id] == 30
        assert check.db.execute("select count(*) from changes").fetchone()[0] == 30
    finally:
        check.close()
    assert any(not s.online for s in statuses) and statuses[-1].online is False
