"""The demo: a live incident on loopback under the CIAV console; F2 opens any station's screen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from textual.widgets import OptionList, Static

from fieldkit.live import HUB, LiveIncident, Timing
from fieldkit.screens.app import FieldkitApp
from fieldkit.screens.ciav import CiavScreen
from fieldkit.screens.common import StationPicker
from fieldkit.store import queries


async def test_the_console_shows_the_incident_growing_and_f2_opens_a_station(
    tmp_path: Path,
) -> None:
    incident = LiveIncident(
        tmp_path, persons=120, ticks=12, timing=Timing(tick=0.1, outage_at=2, outage_ticks=3)
    )
    incident.start()
    try:
        app = FieldkitApp(
            tmp_path / HUB,
            store=incident.stores[HUB],
            operator="Démo (CIAV)",
            stations=incident.stores,
            station_status=incident.status_of,
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, CiavScreen)
            assert incident.wait_ticks(12, timeout=60)
            for _attempt in range(100):  # the stations' changes reach the hub
                with incident.stores[HUB].lock:
                    total = queries.bilan(incident.stores[HUB].db).total
                if total > 50:
                    break
                await pilot.pause(0.2)
            assert total > 50
            app.screen.action_refresh()
            await pilot.pause()
            assert f"total {total}" in str(app.screen.query_one("#bilan", Static).render())
            assert "concentrateur" in str(app.screen.query_one("#status", Static).render())

            await pilot.press("f2")
            await pilot.pause()
            assert isinstance(app.screen, StationPicker)
            names = [
                str(app.screen.query_one(OptionList).get_option_at_index(i).id)
                for i in range(app.screen.query_one(OptionList).option_count)
            ]
            assert names[0] == HUB and {"PMA-1", "CAF-1", "POLICE-1"} <= set(names)
            await pilot.press(*["down"] * names.index("CAF-1"), "enter")
            await pilot.pause()
            assert app.screen.__class__.__name__ == "CafScreen"
            assert app.store is incident.stores["CAF-1"]
    finally:
        incident.stop()


def test_the_scripted_demo_runs_a_whole_incident_and_every_node_agrees() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fieldkit", "demo", "--script"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith("  ")]
    persons = {line[0]: int(line[2]) for line in lines}
    assert persons["CAF-1"] == 0  # the family desk never holds person records
    others = {name: n for name, n in persons.items() if name != "CAF-1"}
    assert len(set(others.values())) == 1 and next(iter(others.values())) > 50
