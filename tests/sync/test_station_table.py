"""The CIAV's station table on a real hub: last heard, changes held, still to pull, version."""

from __future__ import annotations

import time

from fieldkit.services import ciav
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.sync import hub as hub_module
from fieldkit.sync import wire
from fieldkit.sync.agent import Agent
from tests.sync.conftest import enrol


def test_station_table_after_a_sync(make_station, start_hub, monkeypatch) -> None:
    monkeypatch.setattr(hub_module, "SEEN_FLUSH_S", 0.1)
    hub_store = make_station("ciav", "CIAV")
    hub = start_hub(hub_store)
    pma = make_station("pma", "PMA-1")
    police = make_station("police", "POL-1")
    enrol(hub_store, hub.endpoint, pma)
    enrol(hub_store, hub.endpoint, police)
    for i in range(5):
        count_person(pma, "op", PersonInput(nf399=f"FR075BSPP2026TR{i:06d}", category="UA"))
    Agent(pma).run_once(timeout=10)
    table: list[ciav.StationRow] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        table = ciav.station_table(hub_store)
        pma_rows = [row for row in table if row.name == "PMA-1"]
        if pma_rows and pma_rows[0].to_pull is not None and pma_rows[0].version is not None:
            break
        time.sleep(0.1)
    by_name = {row.name: row for row in table}
    assert set(by_name) == {"PMA-1", "POL-1"}
    pma_row = by_name["PMA-1"]
    assert pma_row.role == "pma" and not pma_row.revoked and not pma_row.relay
    assert pma_row.held == 10  # five persons, five triage events
    assert pma_row.version == wire.PROTOCOL_VERSION
    assert pma_row.last_seen is not None
    assert pma_row.to_pull == 0  # it pulled everything there was
    police_row = by_name["POL-1"]
    assert police_row.held == 0 and police_row.to_pull is None  # never pulled yet
