"""``fieldkit demo``: a whole incident on this machine, in a temporary folder, then cleaned up.

A CIAV hub, a relay and five stations (2 PMA, PUMP, police, CAF) run on 127.0.0.1 with real
encrypted stores and real CURVE sockets (:mod:`fieldkit.live`); a scenario writes each simulated
minute into the stations that make it. The app opens on the CIAV console; F2 switches to any
station's screen. Nothing is asked, nothing outside the temporary folder is touched.

Without a terminal (``--script``, or output not a terminal) it runs a short incident at speed
and prints what each node holds once they agree.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import click

from fieldkit.i18n import _
from fieldkit.live import HUB, LiveIncident, Timing
from fieldkit.store.queries import bilan

DEMO_OPERATOR = "Démo (CIAV)"
MIN_COLUMNS, MIN_LINES = 80, 24


def run_demo(*, script: bool = False) -> int:
    """Run the demo; returns the exit code."""
    os.environ.setdefault("FIELDKIT_KDF", "fast")
    interactive = not script and sys.stdin.isatty() and sys.stdout.isatty()
    if interactive:
        try:  # the terminal itself, not COLUMNS/LINES from the environment (often stale)
            columns, lines = os.get_terminal_size(sys.stdout.fileno())
        except OSError:
            columns, lines = shutil.get_terminal_size()
        if columns < MIN_COLUMNS or lines < MIN_LINES:
            click.echo(
                _(
                    "The terminal is {columns}x{lines}: enlarge it to at least {min_columns}x"
                    "{min_lines}, then run the demo again."
                ).format(
                    columns=columns, lines=lines, min_columns=MIN_COLUMNS, min_lines=MIN_LINES
                ),
                err=True,
            )
            return 2
    with tempfile.TemporaryDirectory(prefix="fieldkit-demo-") as tmp:
        root = Path(tmp)
        if interactive:
            incident = LiveIncident(root, persons=400, ticks=90)
        else:
            incident = LiveIncident(
                root,
                persons=150,
                ticks=16,
                timing=Timing(tick=0.15, outage_at=3, outage_ticks=5),
            )
        incident.start()
        try:
            if interactive:
                _open_console(root, incident)
                return 0
            return _scripted(incident)
        finally:
            incident.stop()


def _open_console(root: Path, incident: LiveIncident) -> None:
    from fieldkit.screens.app import FieldkitApp

    FieldkitApp(
        root / HUB,
        store=incident.stores[HUB],
        operator=DEMO_OPERATOR,
        stations=incident.stores,
        station_status=incident.status_of,
    ).run()


def _scripted(incident: LiveIncident) -> int:
    click.echo(
        _("Demo incident: a CIAV hub, a relay and {count} stations on 127.0.0.1.").format(
            count=len(incident.stores) - 2
        )
    )
    total = incident.scenario.total_ticks
    if not incident.wait_ticks(total, timeout=120):
        click.echo(_("The simulated incident did not finish in time."), err=True)
        return 1
    end = time.monotonic() + 60
    while not incident.converged() and time.monotonic() < end:
        time.sleep(0.2)
    if incident.error is not None or not incident.converged():
        click.echo(_("The stations did not reach the hub in time."), err=True)
        return 1
    time.sleep(2.0)  # let the stations pull what the hub now holds
    click.echo(_("{ticks} simulated minutes; every change reached the hub.").format(ticks=total))
    for name, store in incident.stores.items():
        with store.lock:
            counts = bilan(store.db)
            enquiries = store.db.execute(
                "SELECT count(*) FROM enquiries WHERE deleted = 0"
            ).fetchone()[0]
        by_category = " ".join(f"{k} {v}" for k, v in sorted(counts.by_category.items()))
        click.echo(
            f"  {name:<9} {store.role:<6} "
            + _("{persons} persons ({categories}), {enquiries} enquiries").format(
                persons=counts.total, categories=by_category or "—", enquiries=enquiries
            )
        )
    return 0
