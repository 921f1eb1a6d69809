"""The CIAV console, driven like a user: settle a conflict, merge and undo, dismiss, stations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.coordinate import Coordinate
from textual.widgets import DataTable, OptionList, Static

from fieldkit.screens.ciav import CiavScreen, StationsScreen
from fieldkit.screens.forms import ConfirmDialog
from fieldkit.services import ciav
from fieldkit.services.persons import PersonInput, count_person, update_person
from fieldkit.store import queries
from fieldkit.store.store import Store
from tests.conftest import exchange_all

NUMBER = "FR075BSPP2026TR000311"


@pytest.fixture
def hub_with_conflict(make_station: Callable[..., Store]) -> tuple[Store, str]:
    pma1 = make_station(role="pma", name="PMA-1")
    pma2 = make_station(role="pma", name="PMA-2")
    hub = make_station(role="ciav", name="CIAV")
    person = count_person(pma1, "Dr A", PersonInput(nf399=NUMBER, category="UA")).person_id
    exchange_all(pma1, pma2, hub)
    update_person(pma1, "Inf. B", person, PersonInput(destination="HEGP"))
    update_person(pma2, "Dr C", person, PersonInput(destination="Pitié-Salpêtrière"))
    exchange_all(pma1, pma2, hub)
    return hub, person


def _text(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_a_conflict_is_settled_after_confirmation(hub_with_conflict, app_on) -> None:
    hub, person = hub_with_conflict
    app = app_on(hub, operator="Agent CIAV 1")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, CiavScreen)
        listed = app.screen.query_one("#conflicts", OptionList)
        prompt = str(listed.get_option_at_index(0).prompt)
        assert "HEGP" in prompt and "Pitié-Salpêtrière" in prompt and "Dr C" in prompt
        item = ciav.conflict_queue(hub)[0]
        side = "a" if item.value_a == "HEGP" else "b"
        await pilot.press(side)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "HEGP" in str(app.screen.query_one("#confirm-body", Static).render())
        await pilot.press("escape")  # cancelled: nothing recorded
        await pilot.pause()
        assert ciav.conflict_queue(hub)[0].decided is None
        await pilot.press(side, "c")
        await pilot.pause()
        assert ciav.conflict_queue(hub) == []
        assert queries.person(hub.db, person)["destination"] == "HEGP"
        decision = [c for c in hub.all_changes() if c.entity == "conflict_decision"]
        assert decision and decision[0].author == "Agent CIAV 1"
        assert "(0)" in _text(app, "#conflicts-title")


async def test_merge_then_undo_then_not_the_same(make_station, app_on) -> None:
    hub = make_station(role="ciav", name="CIAV")
    for given, family in (("Claire", "MARTIN"), ("martin", "claire")):
        count_person(hub, "Dr A", PersonInput(category="UR", family_name=family, given_names=given))
    app = app_on(hub, operator="Agent CIAV 2")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        assert "(1)" in _text(app, "#duplicates-title")
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("c")
        await pilot.pause()
        assert queries.bilan(hub.db).total == 1
        assert "(0)" in _text(app, "#duplicates-title")
        await pilot.press("u", "c")
        await pilot.pause()
        assert queries.bilan(hub.db).total == 2
        assert "(1)" in _text(app, "#duplicates-title")
        await pilot.press("n")  # two different persons after all: asked first
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "MARTIN Claire" in _text(app, "#confirm-body")
        await pilot.press("escape")  # nothing recorded
        await pilot.pause()
        assert "(1)" in _text(app, "#duplicates-title")
        await pilot.press("n", "c")
        await pilot.pause()
        assert "(0)" in _text(app, "#duplicates-title")
        assert ciav.duplicate_candidates(hub) == []
        assert queries.bilan(hub.db).total == 2
        await pilot.press("u")  # the latest decision is the "not the same": undone, asked first
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "doublon" in _text(app, "#confirm-body")
        await pilot.press("c")
        await pilot.pause()
        assert "(1)" in _text(app, "#duplicates-title")
        assert len(ciav.duplicate_candidates(hub)) == 1
        assert queries.bilan(hub.db).total == 2  # the merge stays undone
        await pilot.press("n", "c")  # and decided again
        await pilot.pause()
        assert ciav.duplicate_candidates(hub) == []
        decisions = [c for c in hub.all_changes() if c.entity == "conflict_decision"]
        assert len(decisions) == 3 and {c.author for c in decisions} == {"Agent CIAV 2"}


async def test_merging_a_dead_and_a_living_record_names_the_conflict_first(
    make_station, app_on
) -> None:
    from fieldkit.services import police

    pma = make_station(role="pma", name="PMA-1")
    pol = make_station(role="police", name="POLICE-1")
    hub = make_station(role="ciav", name="CIAV")
    identity = {"family_name": "Dupont", "given_names": "Jean", "birth_date": "1980-05-01"}
    kept = count_person(
        pma, "Dr A", PersonInput(nf399=NUMBER, category="UA", destination="HEGP", **identity)
    ).person_id
    dead = count_person(pol, "Brigadier B", PersonInput(category="DCD", **identity)).person_id
    police.record_death_stage(pol, "OPJ C", dead, "identified", "OPJ C")
    exchange_all(pma, pol, hub)
    app = app_on(hub, operator="Agent CIAV 3")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        prompt = str(app.screen.query_one("#duplicates", OptionList).get_option_at_index(0).prompt)
        assert "décès identifié" in prompt  # the CIAV sees the death stage on the pair
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        body = str(app.screen.query_one("#confirm-body", Static).render())
        assert "enregistré(e) en vie (UA)" in body
        assert "la fiche fusionnée indiquera DCD, décès identifié" in body
        await pilot.press("escape")  # nothing recorded
        await pilot.pause()
        assert queries.bilan(hub.db).total == 2
        await pilot.press("f", "c")
        await pilot.pause()
        assert queries.bilan(hub.db).by_category["DCD"] == 1
        assert queries.bilan(hub.db).total == 1
        assert queries.person(hub.db, kept)["death_stage"] == "identified"


async def test_markup_in_names_is_shown_as_typed(make_station, app_on) -> None:
    hub = make_station(role="ciav", name="CIAV")
    for _ in range(2):
        count_person(
            hub,
            "Dr A",
            PersonInput(category="UR", family_name="[b]x[/b]", given_names="[i]Anne[/i]"),
        )
    app = app_on(hub)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        prompt = str(app.screen.query_one("#duplicates", OptionList).get_option_at_index(0).prompt)
        assert "[B]X[/B]" in prompt and "[i]Anne[/i]" in prompt
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, StationsScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CiavScreen)
        await pilot.press("p")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "PersonsScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CiavScreen)


async def test_a_key_without_a_selection_says_what_to_do(make_station, app_on) -> None:
    hub = make_station(role="ciav", name="CIAV")
    app = app_on(hub)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, CiavScreen)
        assert "conflit" in _text(app, "#message").lower()
        await pilot.press("u")
        await pilot.pause()
        assert "fusion" in _text(app, "#message").lower()


async def test_opening_a_record_from_the_console_is_audited(make_station, app_on) -> None:
    from fieldkit.services import audit

    hub = make_station(role="ciav", name="CIAV")
    for _ in range(2):
        count_person(hub, "Dr A", PersonInput(category="UR", family_name="Roy", given_names="Lea"))
    app = app_on(hub, operator="Agent CIAV 3")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        app.screen.query_one("#duplicates", OptionList).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "PersonScreen"
        reads = audit.list_reads(hub)
        assert len(reads) == 1 and reads[0].operator == "Agent CIAV 3"


async def test_the_chart_shows_the_hours_by_category_then_refinement_site_destination(
    make_station, app_on
) -> None:
    hub = make_station(role="ciav", name="CIAV")
    count_person(hub, "Dr A", PersonInput(category="UA", refinement="EU", destination="HEGP"))
    app = app_on(hub)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        assert "UA" in _text(app, "#chart") and "EU" not in _text(app, "#chart")
        await pilot.press("g")
        await pilot.pause()
        assert "EU" in _text(app, "#chart")
        await pilot.press("g", "g")
        await pilot.pause()
        assert "HEGP" in _text(app, "#chart")
        await pilot.press("g")
        await pilot.pause()
        assert "EU" not in _text(app, "#chart")  # back to the categories


async def test_a_slow_duplicate_search_runs_in_a_thread_and_still_fills_the_list(
    make_station, app_on, monkeypatch
) -> None:
    from fieldkit.screens import ciav as console

    monkeypatch.setattr(console, "SLOW_SEARCH", -1.0)  # every search counts as slow
    hub = make_station(role="ciav", name="CIAV")
    for given, family in (("Claire", "MARTIN"), ("martin", "claire")):
        count_person(hub, "Dr A", PersonInput(category="UR", family_name=family, given_names=given))
    app = app_on(hub)
    async with app.run_test(size=(140, 40)) as pilot:
        for _attempt in range(50):
            await pilot.pause(0.05)
            if "(1)" in _text(app, "#duplicates-title"):
                break
        assert "(1)" in _text(app, "#duplicates-title")
        assert app.screen._duplicates_running is False


async def test_a_relay_is_named_in_the_interface_language(make_station, app_on) -> None:
    from fieldkit.i18n import set_language

    hub = make_station(role="ciav", name="CIAV")
    relay = ciav.StationRow("r1", "RELAIS-1", "pma", True, False, None, 0, None, None)
    app = app_on(hub, lang="en")
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            app.push_screen(StationsScreen([relay]))
            await pilot.pause()
            cell = app.screen.query_one(DataTable).get_cell_at(Coordinate(0, 0))
            assert str(cell) == "RELAIS-1 (relay)"
    finally:
        set_language("fr")
