"""The CAF desk, driven like a user: take an enquiry, see the only answer it may give, print it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input, OptionList, Static, TextArea

from fieldkit.domain.secrecy import project
from fieldkit.screens import caf as caf_screen
from fieldkit.screens.caf import CafScreen, EnquiryForm, EnquiryScreen
from fieldkit.screens.forms import ConfirmDialog
from fieldkit.services import caf
from fieldkit.services.matching import Matcher
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.store.store import Store
from tests.ui.helpers import shown


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


async def test_escape_on_an_empty_form_records_nothing_and_says_so(make_station, app_on) -> None:
    desk = make_station(role="caf", name="CAF-1")
    app = app_on(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("escape")  # nothing typed: nothing to lose, no question
        await pilot.pause()
        assert isinstance(app.screen, CafScreen)
        assert caf.enquiries(desk) == []
        assert "non enregistrée" in str(app.screen.query_one("#message", Static).render())


async def test_escape_asks_before_throwing_away_what_was_typed(make_station, app_on) -> None:
    desk = make_station(role="caf", name="CAF-1")
    app = app_on(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"DUPONT Marie", "enter", *"mère", "enter")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)  # a family is in front of the desk
        assert "perdu" in shown(app, "#confirm-body")
        await pilot.press("escape")  # back to the form, nothing lost
        await pilot.pause()
        assert isinstance(app.screen, EnquiryForm)
        assert app.screen.query_one("#f-enquirer_name", Input).value == "DUPONT Marie"
        assert app.screen.query_one("#f-relation", Input).value == "mère"
        await pilot.press("enter")  # Enter is not a confirmation either
        await pilot.press("escape", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("c")  # discarded, on purpose
        await pilot.pause()
        assert isinstance(app.screen, CafScreen)
        assert caf.enquiries(desk) == []
        assert "non enregistrée" in shown(app, "#message")


def _screen_lines(app) -> str:
    """What the terminal shows, every layer, as text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip).rstrip() for strip in strips)


async def test_a_refused_field_and_its_error_are_both_on_screen_at_80x24(
    make_station, app_on
) -> None:
    desk = make_station(role="caf", name="CAF-1")
    app = app_on(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await _type_form(
            pilot,
            {
                "enquirer_name": "BENALI Samira",
                "phone": "0612345678",
                "sought_family_name": "BEN ALI",
                "last_time": "hier soir",  # not a time: refused, near the end of the form
            },
        )
        await pilot.pause()
        assert isinstance(app.screen, EnquiryForm)
        assert app.focused is app.screen.query_one("#f-last_time", Input)
        error = shown(app, "#form-error").strip()
        assert "hier soir" in error
        terminal = _screen_lines(app)
        assert error[:40] in terminal  # the officer sees why, next to the field
        assert app.screen.query_one("#f-last_time", Input).value == "hier soir"


def _printed(home: Path) -> str:
    [path] = sorted((home / "printouts").glob("*.txt"))
    return path.read_text(encoding="utf-8")


async def test_the_printout_is_in_the_family_language(make_station, app_on, tmp_path) -> None:
    desk = make_station(role="caf", name="CAF-1")
    caf.record_enquiry(
        desk,
        "A",
        enquirer_name="SMITH John",
        phone="+44 7700 900123",
        language="anglais",
        sought_family_name="Smith",
    )
    app = app_on(desk, operator="A. Petit")  # the desk works in French
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter", "i")
        await pilot.pause()
        text = _printed(tmp_path)
        assert "Enquiry no. CAF-1-0001" in text
        assert "No information yet." in text and "Information line for families" in text
        assert "Demande" not in text and "Pas encore" not in text and "Centre" not in text
        assert "Demande n°" in shown(app, "#sheet")  # the desk's own screen stays in French


async def test_a_language_the_app_lacks_prints_french_and_english_saying_the_same(
    make_station, app_on, tmp_path
) -> None:
    desk = make_station(role="caf", name="CAF-1")
    caf.record_enquiry(
        desk,
        "A",
        enquirer_name="BENALI Samira",
        phone="0612345678",
        language="arabe",
        sought_family_name="Ben Ali",
    )
    app = app_on(desk, operator="A. Petit")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter", "i")
        await pilot.pause()
        french, english = _printed(tmp_path).split("-" * 40)
        assert "Demande n° CAF-1-0001" in french and "Pas encore d'information" in french
        assert "Enquiry no. CAF-1-0001" in english and "No information yet." in english
        # the same lines, the same outcome: never more detail in one language than the other
        assert len(french.strip().splitlines()) == len(english.strip().splitlines())


def test_the_printout_language_is_read_from_what_the_desk_wrote() -> None:
    languages = caf_screen.printout_languages
    assert languages("anglais") == ["en"]
    assert languages("English") == ["en"]
    assert languages("arabe, français") == ["fr"]
    assert languages("Anglais, français") == ["en"]
    assert languages(None) == ["fr"]
    assert languages("ourdou") == ["fr", "en"]


async def test_the_list_is_rebuilt_only_when_something_changed_and_keeps_the_enquiry(
    make_station, app_on, monkeypatch
) -> None:
    desk = make_station(role="caf", name="CAF-1")
    for i in range(30):
        caf.record_enquiry(
            desk, "A", enquirer_name=f"Demandeur {i}", phone="0612345678", sought_family_name="X"
        )
    reads = []
    real = caf.enquiries
    monkeypatch.setattr(caf, "enquiries", lambda *a, **k: reads.append(1) or real(*a, **k))
    app = app_on(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CafScreen)
        widget = screen.query_one("#enquiries", OptionList)
        for _ in range(5):
            await pilot.press("down")
        chosen = widget.get_option_at_index(widget.highlighted).id
        reads.clear()
        screen.refresh_enquiries()
        screen.refresh_enquiries()
        assert reads == []  # nothing changed: nothing read again, nothing rebuilt
        caf.record_enquiry(
            desk, "B", enquirer_name="Nouveau", phone="0612345678", sought_family_name="Y"
        )
        screen.refresh_enquiries()
        await pilot.pause()
        assert reads == [1]
        assert widget.option_count == 31
        assert widget.get_option_at_index(widget.highlighted).id == chosen  # moved down one
        assert widget.highlighted == 6
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, EnquiryScreen) and app.screen.enquiry_id == chosen
