"""A scripted demonstration in a temporary folder: create a PMA station, count, export, bilan."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import click

from fieldkit.i18n import _
from fieldkit.services.exchange import export_csv
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.services.station import init_station, open_station
from fieldkit.store.queries import bilan

DEMO_PASSPHRASE = "demo-passphrase"


def run_demo() -> None:
    """Show the foundation at work on a throw-away station (the app replaces this later)."""
    os.environ.setdefault("FIELDKIT_KDF", "fast")
    with tempfile.TemporaryDirectory(prefix="fieldkit-demo-") as tmp:
        home = Path(tmp) / "pma-1"
        store = init_station(
            home, DEMO_PASSPHRASE, role="pma", station_name="PMA-1", incident="DEMO-2026"
        )
        click.echo(_("Demo station created in {home}.").format(home=home))
        people = [
            PersonInput(nf399="FR075BSPP2026TR000121", category="UA", refinement="EU"),
            PersonInput(
                nf399="FR075BSPP2026TR000122",
                category="UR",
                family_name="MARTIN",
                given_names="Claire",
                destination="HEGP",
            ),
            PersonInput(
                nf399="FR075BSPP2026TR000123",
                category="UA",
                x_description={"sex": "H", "apparent_age": "~40", "clothing": "veste rouge"},
            ),
            PersonInput(nf399="FR075BSPP2026TR000124", category="IMPLIQUE"),
        ]
        for data in people:
            result = count_person(store, "demo", data)
            click.echo(
                _("Counted {number} ({category}).").format(
                    number=data.nf399, category=result.category
                )
            )
        store.close()
        store = open_station(home, DEMO_PASSPHRASE)
        counts = bilan(store.db)
        click.echo(_("Bilan: {counts}").format(counts=counts.by_category))
        buffer = io.StringIO()
        export_csv(store, buffer)
        click.echo(buffer.getvalue().lstrip("\ufeff"))
        store.close()
