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


def test_a_busy_address_is_one_clear_error(make_station, start_hub) -> None:
    import pytest

    from fieldkit.errors import SyncError
    from fieldkit.sync.hub import Hub

    ciav = make_station("ciav", "CIAV")
    hub = start_hub(ciav)
    with pytest.raises(SyncError, match="Impossible d'écouter"):
        Hub(ciav, hub.endpoint).start()


def test_a_revoked_station_can_be_enrolled_again_with_a_new_invite(make_station, start_hub) -> None:
    import pytest

    from fieldkit.errors import SyncError, ValidationError
    from fieldkit.sync.enrol import create_invite, revoke

    ciav = make_station("ciav", "CIAV")
    hub = start_hub(ciav)
    pma = make_station("pma", "PMA-1")
    enrol(ciav, hub.endpoint, pma)
    with pytest.raises(ValidationError):
        create_invite(ciav, "pma", "PMA-1", hub.endpoint)  # already enrolled
    revoke(ciav, "PMA-1")
    with pytest.raises(SyncError):
        Agent(pma).run_once(timeout=3)
    enrol(ciav, hub.endpoint, pma)
    count_person(pma, "op", PersonInput(nf399="FR075BSPP2026TR000001", category="UA"))
    assert Agent(pma).run_once(timeout=5).pushed == 2
