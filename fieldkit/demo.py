"""``fieldkit demo``: a ready-made station in a temporary folder, opened in the app.

Nothing is asked and nothing outside the temporary folder is touched; the folder is removed when
the app closes. Without a terminal (``--script``, or output not a terminal) it prints a short
scripted run of the command-line use cases instead.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

import click

from fieldkit.i18n import _
from fieldkit.services.exchange import export_csv
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.services.station import init_station, open_station
from fieldkit.store.queries import bilan
from fieldkit.store.store import Store

DEMO_PASSPHRASE = "demo-passphrase"
DEMO_OPERATOR = "Démo (SAMU 75)"


def _sample_people(count: int) -> list[PersonInput]:
    people = [
        PersonInput(nf399="FR075BSPP2026TR000121", category="UA", refinement="EU"),
        PersonInput(
            nf399="FR075BSPP2026TR000122",
            category="UR",
            family_name="MARTIN",
            given_names="Claire",
            destination="HEGP",
            vehicle="VSAV 12",
        ),
        PersonInput(
            nf399="FR075BSPP2026TR000123",
            category="UA",
            x_description={"sex": "H", "apparent_age": "~40", "clothing": "veste rouge"},
        ),
        PersonInput(nf399="FR075BSPP2026TR000124", category="IMPLIQUE"),
    ]
    categories = ["IMPLIQUE", "IMPLIQUE", "UR", "IMPLIQUE", "UA", "UR", "IMPLIQUE", "DCD"]
    for i in range(len(people), count):
        people.append(
            PersonInput(nf399=f"FR075BSPP2026TR{125 + i:06d}", category=categories[i % 8])
        )
    return people


def seed(store: Store, count: int = 40) -> None:
    for data in _sample_people(count):
        count_person(store, DEMO_OPERATOR, data)


def run_demo(*, script: bool = False) -> None:
    os.environ.setdefault("FIELDKIT_KDF", "fast")
    interactive = not script and sys.stdin.isatty() and sys.stdout.isatty()
    with tempfile.TemporaryDirectory(prefix="fieldkit-demo-") as tmp:
        home = Path(tmp) / "pma-1"
        store = init_station(
            home, DEMO_PASSPHRASE, role="pma", station_name="PMA-1", incident="DEMO-2026"
        )
        if interactive:
            seed(store)
            from fieldkit.bootstrap import run_app_on

            run_app_on(home, store, operator=DEMO_OPERATOR)
            return
        _scripted(home, store)


def _scripted(home: Path, store: Store) -> None:
    click.echo(_("Demo station created in {home}.").format(home=home))
    for data in _sample_people(4):
        result = count_person(store, DEMO_OPERATOR, data)
        click.echo(
            _("Counted {number} ({category}).").format(number=data.nf399, category=result.category)
        )
    store.close()
    store = open_station(home, DEMO_PASSPHRASE)
    counts = bilan(store.db)
    click.echo(_("Bilan: {counts}").format(counts=counts.by_category))
    buffer = io.StringIO()
    export_csv(store, buffer)
    click.echo(buffer.getvalue().lstrip("\ufeff"))
    store.close()
