"""A small drill with the real parts (stores, CURVE hub, relay and agents in subprocesses, outages):
nothing lost or doubled, identical counts, convergence after the outage; and a drill that loses a
change is caught."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fieldkit.cli import cli
from fieldkit.errors import FieldkitError
from fieldkit.services.station import open_station
from fieldkit.sim.drill import Drill, DrillConfig, run_drill


def test_small_drill_keeps_every_invariant(tmp_path) -> None:
    report = run_drill(
        DrillConfig(
            stations=5,
            persons=3000,
            relay=True,
            outages=2,
            outage_seconds=3,
            seed=7,
            ticks=40,
            folder=tmp_path,
        )
    )
    assert report.converged
    assert report.changes > 9000 and report.hub_changes == report.changes
    assert (report.lost, report.doubled, report.altered, report.unwritten) == (0, 0, 0, 0)
    assert set(report.view_mismatches) == {
        "RELAY-A",
        "PMA-01",
        "PMA-02",
        "PUMP-1",
        "POLICE-1",
        "CAF-1",
    }
    assert not any(report.view_mismatches.values())
    assert not report.count_mismatches
    assert report.console_refreshes >= 1 and not report.console_errors  # the CIAV console read on
    hub = report.nodes[0]
    assert hub.name == "CIAV" and hub.counts["total"] and hub.counts["enquiries"]
    assert report.nodes[1].name == "RELAY-A" and report.nodes[1].counts == {
        **hub.counts,
        "enquiries": None,
    }  # the PMAs (all on site A) sync through the relay
    assert report.relay_peak_rss_mb is not None
    for node in report.nodes[1:]:
        for key, value in node.counts.items():
            assert value is None or value == hub.counts[key], (node.name, key)
    caf = next(n for n in report.nodes if n.role == "caf")
    assert caf.counts["total"] is None and caf.counts["DCD"] is None  # never readable there
    assert len(report.outages) == 2
    for outage in report.outages:
        assert outage.up_at is not None and outage.up_at - outage.down_at >= 3.0
        assert outage.converge_s is not None and outage.converge_s < 10
    # the last outage heals once the incident is written: the final convergence follows it
    assert report.after_last_heal_s is not None and report.after_last_heal_s < 20
    assert report.outages[-1].up_at >= report.write_seconds
    assert report.hub_peak_rss_mb is not None and 10 < report.hub_peak_rss_mb < 500
    assert report.pings > 0 and report.ping_max_ms is not None
    assert all(0 <= s <= report.after_last_heal_s for _n, s in report.slowest)
    # a kept drill's stores open with the passphrase it left, readable by its owner only
    secret = tmp_path / "PASSPHRASE"
    assert secret.stat().st_mode & 0o077 == 0
    store = open_station(tmp_path / "CIAV", secret.read_text().strip())
    try:
        assert (
            report.hub_own_after_heal
            <= store.db.execute(
                "SELECT count(*) FROM changes WHERE origin = ?", [store.station_id]
            ).fetchone()[0]
        )
    finally:
        store.close()
    assert report.ok


def test_a_lost_change_fails_the_drill(tmp_path) -> None:
    result = CliRunner().invoke(
        cli,
        ["drill", "--stations", "2", "--persons", "300", "--outages", "0", "--ticks", "10"]
        + ["--keep", str(tmp_path / "run"), "--json", "--inject-loss"],
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["lost"] == 1 and not report["ok"]
    assert report["doubled"] == 0 and report["converged"]
    assert "perdues, doublées ou divergentes" in result.stderr


def test_a_dead_hub_stops_the_drill_with_one_clear_sentence(tmp_path) -> None:
    drill = Drill(DrillConfig(stations=2, persons=200, outages=0, ticks=5, converge_timeout=30))
    drill.folder = tmp_path
    try:
        drill.setup()
        assert drill.hub is not None
        drill.hub.proc.kill()
        drill.hub.proc.wait(10)
        with pytest.raises(FieldkitError, match="hub.log"):
            drill.run()
    finally:
        drill.stop()
        drill.close()
