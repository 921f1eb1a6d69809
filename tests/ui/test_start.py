"""First run, unlock and operator sign-in through the real app."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from fieldkit.screens.app import FieldkitApp
from fieldkit.screens.pma import HomeScreen
from fieldkit.screens.unlock import OperatorScreen, UnlockScreen, WizardScreen
from fieldkit.services.station import StationPaths, init_station, open_station
from tests.conftest import PASSPHRASE


def text_of(app: FieldkitApp, selector: str) -> str:
    rendered = app.screen.query_one(selector).render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


async def test_first_run_wizard_creates_the_station(tmp_path: Path):
    home = tmp_path / "station"
    app = FieldkitApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WizardScreen)
        await pilot.press(*"PMA-2", "enter", *"INC-1", "enter")
        await pilot.press(*PASSPHRASE, "enter", *"something else", "enter", "enter")
        await pilot.pause()
        assert "diffèrent" in text_of(app, "#message")
        assert not StationPaths(home).exists()
        app.screen.query_one("#passphrase2").value = PASSPHRASE
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, OperatorScreen)
        await pilot.press(*"Dr Moreau", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
    store = open_station(home, PASSPHRASE)
    assert (store.meta["station_name"], store.role, store.meta["incident"]) == (
        "PMA-2",
        "pma",
        "INC-1",
    )
    store.close()


async def test_wrong_passphrase_is_refused_and_the_screen_stays_usable(tmp_path: Path):
    home = tmp_path / "station"
    init_station(home, PASSPHRASE, role="pma", station_name="PMA-1", incident="I").close()
    app = FieldkitApp(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
        await pilot.press(*"not the passphrase", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
        assert "phrase secrète incorrecte" in text_of(app, "#message").lower()
        assert app.screen.query_one("#passphrase").value == ""
        await pilot.press(*PASSPHRASE, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, OperatorScreen)
        await pilot.press("enter", "enter")  # an empty name is refused
        await pilot.pause()
        assert "votre nom" in text_of(app, "#message")
        await pilot.press(*"Agent Petit", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert app.operator == "Agent Petit"


async def test_english_interface(tmp_path: Path):
    home = tmp_path / "station"
    init_station(home, PASSPHRASE, role="pma", station_name="PMA-1", incident="I").close()
    app = FieldkitApp(home, lang="en")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*"wrong passphrase", "enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "Wrong passphrase" in text_of(app, "#message")
    finally:
        from fieldkit.i18n import set_language

        set_language("fr")
