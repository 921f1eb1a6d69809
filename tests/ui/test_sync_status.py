"""The real sync agent under the app: a hub on 127.0.0.1, the status line, UI reads and writes
while the agent thread writes to the same store."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fieldkit.bootstrap import start_sync
from fieldkit.domain.triage import Category
from fieldkit.screens.app import FieldkitApp
from fieldkit.screens.person_list import VirtualList
from fieldkit.screens.pma import HomeScreen
from fieldkit.screens.police import PoliceHome
from fieldkit.screens.unlock import OperatorScreen, UnlockScreen
from fieldkit.services import police
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.store import queries
from fieldkit.store.store import Store
from fieldkit.sync.agent import Agent
from fieldkit.sync.hub import Hub
from tests.conftest import PASSPHRASE
from tests.sync.conftest import enrol
from tests.ui.helpers import shown, wait_until

FAST = functools.partial(start_sync, backoff=(0.1, 0.5))


@pytest.fixture
def hubs() -> Iterator[Callable[[Store, str], Hub]]:
    started: list[Hub] = []

    def start(store: Store, bind: str = "tcp://127.0.0.1:*") -> Hub:
        hub = Hub(store, bind)
        hub.start()
        started.append(hub)
        return hub

    yield start
    for hub in started:
        with contextlib.suppress(Exception):
            hub.stop()


async def test_status_goes_from_waiting_to_synced(make_station, hubs, tmp_path: Path):
    ciav = make_station("ciav", "CIAV")
    hub = hubs(ciav)
    station = make_station("police", "POLICE-1")
    enrol(ciav, hub.endpoint, station)
    endpoint = hub.endpoint
    hub.stop()  # the hub is down: the station works offline
    for name in ("Dupont", "Martin", "Nguyễn"):
        police.add_witness(station, "o", police.WitnessInput(family_name=name, where="Bar"))
    app = FieldkitApp(tmp_path, store=station, operator="Officier", sync=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.sync is not None  # the station has an upstream: the agent runs
        assert "hors ligne · 3 en attente" in shown(app, "#status")
        hubs(ciav, endpoint)  # the hub comes back
        await wait_until(pilot, lambda: "synchronisé il y a" in shown(app, "#status"), 600)
        assert "en attente" not in shown(app, "#status")
        with ciav.lock:
            assert len(police.witnesses(ciav)) == 3
        agent = app.sync
    assert app.sync is None and agent is not None
    assert agent._thread is None  # stopped when the app quit


async def test_a_station_without_upstream_runs_no_agent(make_station, tmp_path: Path):
    station = make_station("pump", "PUMP-1")
    app = FieldkitApp(tmp_path, store=station, operator="Dr", sync=start_sync)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.sync is None
        assert "hors ligne · 0 en attente" in shown(app, "#status")


async def test_counting_while_the_agent_pulls(make_station, hubs, tmp_path: Path):
    """The agent thread applies pulled batches while the PMA counts on the UI thread: every count
    lands, each stays quick, and both stores end with every person."""
    ciav = make_station("ciav", "CIAV")
    hub = hubs(ciav)
    other = make_station("pma", "PMA-2")
    enrol(ciav, hub.endpoint, other)
    for i in range(600):
        count_person(other, "o", PersonInput(nf399=f"FR075BSPP2026TR{i:06d}", category="UR"))
    Agent(other).run_once(timeout=30)
    station = make_station("pma", "PMA-1")
    enrol(ciav, hub.endpoint, station)
    app = FieldkitApp(tmp_path, store=station, operator="Dr", sync=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, HomeScreen)
        timings = []
        for i in range(20):  # the UI's own count path, not the test harness's key pacing
            screen.category = Category.IMPLIQUE
            screen.submit_number(f"FR075BSPP2026TR{900 + i:06d}")
            timings.append(screen.last_count_ms)
            await asyncio.sleep(0.02)
        assert "Compté" in shown(app, "#message")

        def both_hold_everyone() -> bool:
            with station.lock, ciav.lock:
                return queries.count_persons(station.db) == queries.count_persons(ciav.db) == 620

        await wait_until(pilot, both_hold_everyone, 600)
        await wait_until(pilot, lambda: "synchronisé il y a" in shown(app, "#status"), 100)
        screen.query_one(VirtualList).reload()
        assert screen.query_one(VirtualList).row_count == 620
        with station.lock:
            assert queries.count_persons(station.db) == 620
        assert max(timings) < 5000, timings  # at worst one pulled batch's transaction
    with ciav.lock:
        assert queries.count_persons(ciav.db) == 620


async def test_the_agent_starts_after_unlock_and_stops_on_quit(make_station, hubs, tmp_path):
    ciav = make_station("ciav", "CIAV")
    hub = hubs(ciav)
    station = make_station("police", "POLICE-1")
    enrol(ciav, hub.endpoint, station)
    police.add_witness(station, "o", police.WitnessInput(family_name="Dupont", where="Bar"))
    station.close()
    app = FieldkitApp(tmp_path / "POLICE-1", sync=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen) and app.sync is None
        await pilot.press(*PASSPHRASE, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, OperatorScreen)
        assert app.sync is not None  # started as soon as the store is unlocked
        await pilot.press(*"Officier Petit", "enter", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PoliceHome))
        await wait_until(pilot, lambda: "synchronisé il y a" in shown(app, "#status"), 600)
        agent = app.sync
        await pilot.press("ctrl+q")
    assert app.sync is None and agent._thread is None
    with ciav.lock:
        assert [w["family_name"] for w in police.witnesses(ciav)] == ["Dupont"]
