"""Voiding a count made by mistake (PMA record, Delete) and restoring it (CIAV persons screen)."""

from __future__ import annotations

from fieldkit.domain.changes import DELETED
from fieldkit.screens.forms import ConfirmDialog
from fieldkit.screens.person_list import VirtualList
from fieldkit.screens.pma import HomeScreen, PmaRecord
from fieldkit.services.persons import PersonInput, count_person, delete_person, merge_duplicate
from fieldkit.store import queries
from tests.ui.helpers import list_lines, shown

N1 = "FR075BSPP2026TR000123"
N2 = "FR075BSPP2026TR000124"


async def _open_record(pilot, number: str) -> None:
    await pilot.press(*number, "enter")  # a number already counted opens its record
    await pilot.pause()


async def test_delete_asks_then_c_voids_the_count_and_esc_keeps_it(fixed_clock_station, app_on):
    store = fixed_clock_station()
    count_person(store, "Dr A", PersonInput(nf399=N1, category="UA", family_name="Martin"))
    phantom = count_person(store, "Dr A", PersonInput(nf399=N2, category="UR"))
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        home = app.screen
        assert isinstance(home, HomeScreen)
        assert home.query_one(VirtualList).row_count == 2
        await _open_record(pilot, N2)
        assert isinstance(app.screen, PmaRecord)
        assert "Suppr" in shown(app, "#record-keys")
        assert any(
            b.key == "delete" and b.show for _, b, *_r in app.screen.active_bindings.values()
        )
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        body = shown(app, "#confirm-body")
        assert "X" in body and N2 in body and "[UR]" in body and "Dr A" in body
        assert "rétablir" in body  # says it can be brought back
        await pilot.press("escape")  # keeps it
        await pilot.pause()
        assert isinstance(app.screen, PmaRecord)
        assert queries.bilan(store.db).total == 2
        assert "rien" in shown(app, "#message").lower()
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("enter")  # Enter never confirms
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("c")
        await pilot.pause()
        assert app.screen is home
        assert queries.bilan(store.db).total == 1
        row = queries.person(store.db, phantom.person_id)
        assert row is not None and row["deleted"] == 1
        assert home.query_one(VirtualList).row_count == 1
        assert all(N2[-6:] not in line for line in list_lines(home.query_one(VirtualList)))
        assert "retirée du décompte" in shown(app, "#message")
        bilan = shown(app, "#bilan").replace("[", "").replace("]", "")
        assert "UA 1" in bilan and "UR 0" in bilan and "total 1" in bilan
        author = queries.lifecycle_change(store.db, phantom.person_id, DELETED, True)
        assert author is not None and author[0] == "Dr Test (SAMU 75)"
        # i, e, t no longer act on the voided person (the list takes the focus instead)
        await pilot.press("t")
        await pilot.pause()
        assert app.screen is home


async def test_a_record_that_holds_more_than_its_count_is_refused(
    fixed_clock_station, make_station, app_on
):
    store = fixed_clock_station()
    kept = count_person(store, "Dr A", PersonInput(nf399=N1, category="UA"))
    dup = count_person(store, "Dr A", PersonInput(nf399=N2, category="UA"))
    merge_duplicate(store, "CIAV", dup.person_id, kept.person_id)
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _open_record(pilot, N1)
        assert isinstance(app.screen, PmaRecord)
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, PmaRecord)  # no dialog: refused at once
        assert "CIAV" in shown(app, "#message")
        assert queries.bilan(store.db).total == 1
        assert not queries.person(store.db, kept.person_id)["deleted"]


async def test_a_count_another_station_also_wrote_is_refused(make_station, app_on):
    from tests.conftest import exchange_all

    hub = make_station(role="ciav", name="CIAV")
    pma1 = make_station(role="pma", name="PMA-1")
    pma2 = make_station(role="pma", name="PMA-2")
    counted = count_person(pma1, "Dr A", PersonInput(nf399=N1, category="UA"))
    exchange_all(hub, pma1, pma2)
    from fieldkit.services.persons import retriage

    retriage(pma2, "Dr B", counted.person_id, "UR")
    exchange_all(hub, pma1, pma2)
    app = app_on(pma1)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _open_record(pilot, N1)
        assert isinstance(app.screen, PmaRecord)
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, PmaRecord)
        assert "autre poste" in shown(app, "#message")
        assert not queries.person(pma1.db, counted.person_id)["deleted"]


async def test_ciav_shows_voided_records_and_restores_one(make_station, app_on):
    from fieldkit.screens.ciav import PersonsScreen

    ciav = make_station(role="ciav", name="CIAV")
    live = count_person(ciav, "op", PersonInput(nf399=N1, category="UA", family_name="Martin"))
    voided = count_person(ciav, "op", PersonInput(nf399=N2, category="UR", family_name="Durand"))
    delete_person(ciav, "Dr A", voided.person_id)
    app = app_on(ciav, operator="Agent CIAV")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PersonsScreen)
        listing = screen.query_one(VirtualList)
        assert listing.row_count == 1
        await pilot.press("v")  # the voided records
        await pilot.pause()
        assert listing.row_count == 1
        lines = "\n".join(list_lines(listing))
        assert "DURAND" in lines and "Dr A" in lines and "MARTIN" not in lines
        await pilot.press("enter")  # Enter on a voided record asks to restore it, nothing else
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "DURAND" in shown(app, "#confirm-body")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert "retirée" in shown(app, "#message")
        assert queries.person(ciav.db, voided.person_id)["deleted"] == 1
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert app.screen is screen
        assert queries.person(ciav.db, voided.person_id)["deleted"] == 0
        assert queries.bilan(ciav.db).total == 2
        assert listing.row_count == 0
        assert "de nouveau dans le décompte" in shown(app, "#message")
        restored = queries.lifecycle_change(ciav.db, voided.person_id, DELETED, False)
        assert restored is not None and restored[0] == "Agent CIAV"
        await pilot.press("v")  # back to the persons
        await pilot.pause()
        assert listing.row_count == 2
    assert live.person_id
