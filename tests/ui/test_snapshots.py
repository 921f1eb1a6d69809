"""Snapshots of each role's main screen, in French, at 80x24 and at a wide size.

Regenerate after an intended change with `make snapshot-update`, then review the SVGs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fieldkit.domain.hlc import HybridClock
from fieldkit.screens.app import FieldkitApp
from fieldkit.services import caf, police, pump
from fieldkit.services.persons import PersonInput, count_person, update_person
from fieldkit.services.station import init_station
from tests.conftest import PASSPHRASE
from tests.ui.conftest import FIXED_MS

SIZES = [(80, 24), (140, 40)]
ROLES = ["pma", "pump", "police", "caf", "ciav"]


def _app(home: Path, role: str) -> FieldkitApp:
    store = init_station(
        home, PASSPHRASE, role=role, station_name=f"{role.upper()}-1", incident="ATTENTAT-VOLTAIRE"
    )
    ticks = iter(range(FIXED_MS, FIXED_MS + 10**9, 7000))
    store.clock = HybridClock(0, lambda: next(ticks))
    if role != "caf":
        for i, category in enumerate(["UA", "UR", "IMPLIQUE", "DCD", "UR", "IMPLIQUE"]):
            count_person(
                store,
                "Dr Test",
                PersonInput(nf399=f"FR075BSPP2026TR{120 + i:06d}", category=category),
            )
        update_person(
            store,
            "Dr Test",
            "nf-FR075BSPP2026TR000121",
            PersonInput(family_name="Martin", given_names="Claire", destination="HEGP"),
        )
    if role == "police":
        for family, given, left, recontact in (
            ("Nguyễn", "Thị Lan", True, True),
            ("[b]Dupont[/b]", "Jean", False, False),
            ("Benali", "Samira", False, True),
        ):
            police.add_witness(
                store,
                "Brigadier Durand",
                police.WitnessInput(
                    family_name=family,
                    given_names=given,
                    phone="06 12 34 56 78",
                    where="Terrasse du Carillon",
                    left_scene=left,
                    recontact=recontact,
                    oriented_to="PUMP-1" if recontact else None,
                ),
            )
    if role == "pump":
        seen = pump.register_person(
            store, "Dr Test", PersonInput(family_name="Benali", given_names="Yasmine")
        )
        pump.record_declaration(
            store,
            "Dr Test",
            seen.person_id,
            "J'étais en terrasse quand les tirs ont commencé.",
            "Dr L. Moreau",
            now=datetime(2026, 11, 18, 22, 0, tzinfo=UTC),
        )
    if role == "caf":
        caf.record_enquiry(
            store,
            "A. Petit (CAF)",
            enquirer_name="BENALI Samira",
            relation="sœur",
            phone="+33 6 12 34 56 78",
            language="arabe, français",
            staying_at="hôtel Ibis Bastille",
            sought_family_name="Ben Ali",
            sought_given_names="Mohammed",
            sought_sex="M",
            sought_age="35",
            clothing="veste rouge, baskets blanches",
            last_place="terrasse du Carillon",
        )
    if role == "ciav":  # the same person counted again without a number: a probable duplicate
        count_person(
            store,
            "Dr Test",
            PersonInput(category="UR", family_name="MARTIN", given_names="claire"),
        )
    return FieldkitApp(home, store=store, operator="Dr L. Moreau (RPPS 10001234567)")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("role", ROLES)
def test_main_screen(snap_compare, tmp_path: Path, role: str, size: tuple[int, int]):
    assert snap_compare(_app(tmp_path / role, role), terminal_size=size)
