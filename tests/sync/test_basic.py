"""Hub and agent on real sockets: enrol, push, pull, filter."""

from __future__ import annotations

from fieldkit.services.persons import PersonInput, count_person
from fieldkit.sync.agent import Agent
from tests.sync.conftest import enrol


def test_push_and_pull(make_station, start_hub) -> None:
    ciav = make_station("ciav", "CIAV")
    hub = start_hub(ciav)
    pma = make_station("pma", "PMA-1")
    police = make_station("police", "POL-1")
    enrol(ciav, hub.endpoint, pma)
    enrol(ciav, hub.endpoint, police)
    for i in range(30):
        count_person(
            pma,
            "op",
            PersonInput(
                nf399=f"FR075BSPP2026TR{i:06d}",
                category="UA",
                family_name="Dupont",
                destination="HEGP",
            ),
        )
    report = Agent(pma).run_once(timeout=10)
    assert report.pushed == 60
    assert ciav.high_water()[pma.station_id] == 60
    report = Agent(police).run_once(timeout=10)
    assert report.pulled == 60
    assert (
        police.db.execute("select count(*) from persons where family_name='Dupont'").fetchone()[0]
        == 30
    )
