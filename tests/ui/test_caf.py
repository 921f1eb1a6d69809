"""The CAF desk, driven like a user: take an enquiry, see the only answer it may give, print it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input, OptionList, Static, TextArea

from fieldkit.domain.secrecy import project
from fieldkit.screens.caf import CafScreen, EnquiryForm, EnquiryScreen
from fieldkit.services import caf
from fieldkit.services.matching import Matcher
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.store.store import Store


def _to_hub(hub: Store, *stations: Store) -> None:
    hub.apply([c for s in stations for c in s.all_changes()])


def _from_hub(hub: Store, station: Store) -> None:
    """What the hub sends down to ``station``: only what its role may read."""
    projected = (project(c, station.role, station.station_id) for c in hub.all_changes())
    station.apply([c for c in projected if c is not None])


async def _type_form(pilot, values: dict[str, str]) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, EnquiryForm)
    for field, value in values.items():
        widget = screen.query_one(f"#f-{field}")
        if isinstance(widget, TextArea):
            widget.text = value
        else:
            assert isinstance(widget, Input)
            widget.value = value
    await pilot.press("ctrl+s")
    await pilot.pause()


async def test_an_enquiry_is_taken_and_the_desk_sees_only_the_allowed_answer(
    make_station: Callable[..., Store], app_on, tmp_path: Path
) -> None:
    pma = make_station(role="pma", name="PMA-1")
    desk = make_station(role="caf", name="CAF-1")
    hub = make_station(role="ciav", name="CIAV")
    count_person(
        pma,
        "Dr A",
        PersonInput(
            nf399="FR075BSPP2026TR000042",
            category="DCD",
            family_name="Benali",
            given_names="Mohammed",
        ),
    )
    app = app_on(desk, operator="A. Petit (CAF)")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, CafScreen)
        await pilot.press("n")
        await pilot.pause()
        # the phone and the place of stay are both missing: refused, nothing typed is lost
        await _type_form(
            pilot,
            {
                "enquirer_name": "BENALI Samira",
                "relation": "sœur",
                "sought_family_name": "Ben Ali",
                "sought_given_names": "Mohamed",
            },
        )
        assert isinstance(app.screen, EnquiryForm)
        error = str(app.screen.query_one("#form-error", Static).render())
        assert "rappel" in error or "téléphone" in error
        assert app.screen.query_one("#f-sought_family_name", Input).value == "Ben Ali"
        await _type_form(pilot, {"phone": "+33 6 12 34 56 78", "staying_at": "hôtel Ibis"})
        assert isinstance(app.screen, CafScreen)
        listed = str(app.screen.query_one("#enquiries", OptionList).get_option_at_index(0).prompt)
        assert "BEN ALI Mohamed" in listed and "BENALI Samira" in listed
        assert "Pas encore d'information" in listed or "information" in listed.lower()

        # the hub matches it against the DCD person and sends back only the neutral answer
        _to_hub(hub, pma, desk)
        Matcher(hub).run_until_idle()
        _from_hub(hub, desk)
        app.screen.refresh_enquiries()
        await pilot.pause()
        listed = str(app.screen.query_one("#enquiries", OptionList).get_option_at_index(0).prompt)
        assert "officier" in listed.lower()
        assert "Benali" not in listed.replace("BENALI Samira", "")
        assert "DCD" not in listed and "décéd" not in listed.lower()
        assert desk.db.execute("SELECT count(*) FROM persons").fetchone()[0] == 0

        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, EnquiryScreen)
        sheet = str(app.screen.query_one("#sheet", Static).render())
        assert "A. Petit (CAF)" in sheet and "hôtel Ibis" in sheet
        await pilot.press("i")
        await pilot.pause()
        printed = sorted((tmp_path / "printouts").glob("*.txt"))
        assert len(printed) == 1
        text = printed[0].read_text(encoding="utf-8")
        assert printed[0].name == "enquiry-CAF-1-0001.txt"
        assert "Demande n° CAF-1-0001" in text and "officier" in text.lower()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CafScreen)
        assert len(caf.enquiries(desk)) == 1


async def test_escape_records_nothing_and_says_so(make_station, app_on) -> None:
    desk = make_station(role="caf", name="CAF-1")
    app = app_on(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("#f-enquirer_name", Input).value = "[b]Durand[/b]"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CafScreen)
        assert caf.enquiries(desk) == []
        assert "non enregistrée" in str(app.screen.query_one("#message", Static).render())
