"""PMA counting through the real app (Textual pilot) on a real encrypted station."""

from __future__ import annotations

import json

import pytest
from rich.text import Text

from fieldkit.screens.app import FieldkitApp
from fieldkit.screens.forms import EditDialog
from fieldkit.screens.person import PersonScreen
from fieldkit.screens.person_list import VirtualList
from fieldkit.screens.pma import HomeScreen
from fieldkit.services.persons import (
    PersonInput,
    count_person,
    delete_person,
    merge_duplicate,
    update_person,
)
from fieldkit.store import queries
from fieldkit.store.store import Store
from tests.ui.helpers import on_screen, shown

N1 = "FR075BSPP2026TR000123"
N2 = "FR075BSPP2026TR000124"
N3 = "FR075BSPP2026TR000125"


def message(app: FieldkitApp) -> str:
    rendered = app.screen.query_one("#message").render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


def persons(store: Store) -> list[dict]:
    return list(store.db.query("SELECT * FROM persons"))


async def test_count_in_three_keystrokes_after_the_number(fixed_clock_station, app_on):
    store = fixed_clock_station()
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press(*N1)
        await pilot.press("1", "enter")  # the category key, Enter: counted
        await pilot.pause()
        assert "Compté" in message(app)
        rows = persons(store)
        assert [(r["nf399"], r["category"]) for r in rows] == [(N1, "UA")]
        author = store.db.execute("SELECT author FROM changes").fetchall()
        assert {a[0] for a in author} == {"Dr Test (SAMU 75)"}
        assert app.screen.query_one(VirtualList).row_count == 1
        assert app.screen.query_one("#number").value == ""


async def test_scanner_enter_then_category_then_enter(fixed_clock_station, app_on):
    store = fixed_clock_station()
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N2, "enter")  # a scanner ends with Enter
        await pilot.pause()
        assert "Catégorie pour" in message(app)
        assert persons(store) == []
        await pilot.press("4", "enter")
        await pilot.pause()
        assert [(r["nf399"], r["category"]) for r in persons(store)] == [(N2, "DCD")]


async def test_a_repeated_number_opens_the_existing_person(fixed_clock_station, app_on):
    store = fixed_clock_station()
    count_person(store, "x", PersonInput(nf399=N1, category="UR"))
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N1, "1", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PersonScreen)
        assert len(persons(store)) == 1
        assert persons(store)[0]["category"] == "UR"  # not re-triaged by the stray key


async def test_a_number_merged_into_another_record_opens_the_kept_record(
    fixed_clock_station, app_on
):
    store = fixed_clock_station()
    twin = count_person(store, "x", PersonInput(nf399=N1, category="UA", family_name="Martin"))
    kept = count_person(store, "x", PersonInput(nf399=N2, category="UA", family_name="Martin"))
    merge_duplicate(store, "CIAV", twin.person_id, kept.person_id)
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        home = app.screen
        await pilot.press(*N1, "2", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PersonScreen)
        assert app.screen.person_id == kept.person_id
        shown = home.query_one("#message").render()
        assert "fusionné" in (shown.plain if isinstance(shown, Text) else str(shown))
        assert len(persons(store)) == 2
        assert {r["category"] for r in persons(store)} == {
            "UA"
        }  # nothing counted, nothing re-triaged


async def test_a_number_given_up_or_deleted_counts_a_new_visible_person(
    fixed_clock_station, app_on
):
    store = fixed_clock_station()
    martin = count_person(store, "x", PersonInput(nf399=N1, category="UA", family_name="Martin"))
    update_person(store, "x", martin.person_id, PersonInput(nf399=N2))
    mistake = count_person(store, "x", PersonInput(nf399=N3, category="UA"))
    delete_person(store, "x", mistake.person_id)
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        for number in (N1, N3):
            await pilot.press(*number, "2", "enter")
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen)
            assert "Compté" in message(app)
        live = [
            (r["nf399"], r["family_name"], r["category"])
            for r in persons(store)
            if not r["deleted"] and r["replaced_by"] is None
        ]
        assert sorted(live, key=str) == [(N1, None, "UR"), (N2, "Martin", "UA"), (N3, None, "UR")]
        await pilot.pause(0.5)
        assert app.screen.query_one(VirtualList).row_count == 3


async def test_an_invalid_number_says_what_is_expected_and_saves_nothing(
    fixed_clock_station, app_on
):
    store = fixed_clock_station()
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"FR075BSPP26TR12", "enter")
        await pilot.pause()
        assert "FR075BSPP2026TR000123" in message(app)  # the example of the expected shape
        assert persons(store) == []
        assert app.screen.query_one("#number").value == "FR075BSPP26TR12"  # kept for correction


async def test_a_number_outside_the_ranges_needs_a_second_enter(fixed_clock_station, app_on):
    store = fixed_clock_station(ranges=["FR075BSPP2026TR000001-FR075BSPP2026TR000100"])
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N1, "2", "enter")
        await pilot.pause()
        assert "confirmer" in message(app).lower()
        assert persons(store) == []
        await pilot.press("enter")
        await pilot.pause()
        assert [r["nf399"] for r in persons(store)] == [N1]


async def test_a_guessed_identity_is_refused_with_a_lead_hint(fixed_clock_station, app_on):
    store = fixed_clock_station()
    count_person(store, "x", PersonInput(nf399=N1, category="UA"))
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N1, "enter")
        await pilot.pause()
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, EditDialog)
        await pilot.press(*"X pouvant être Dupont", "enter", "enter", "enter", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, EditDialog)  # refused: the form stays, as typed
        refusal = app.screen.query_one("#dialog-message").render()
        assert "piste" in (refusal.plain if isinstance(refusal, Text) else str(refusal))
        assert app.screen.query_one("#f-family_name").value == "X pouvant être Dupont"
        assert persons(store)[0]["family_name"] is None
        await pilot.press("escape")
        assert isinstance(app.screen, PersonScreen)


async def test_markup_in_names_is_shown_as_typed(fixed_clock_station, app_on):
    store = fixed_clock_station()
    count_person(
        store,
        "x",
        PersonInput(
            nf399=N1,
            category="UA",
            family_name="[b]x[/b]",
            given_names="[red]Léa[/red]",
            destination="[@click=app.quit]",
        ),
    )
    app = app_on(store)
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.pause()
        listing = app.screen.query_one(VirtualList)
        line = "".join(segment.text for segment in listing.render_line(1))
        assert "[B]X[/B] [red]Léa[/red]" in line
        assert "[@click=app.quit]" in line
        await pilot.press(*N1, "enter")
        await pilot.pause()
        summary = app.screen.query_one("#summary").render()
        assert app.is_running
        assert isinstance(app.screen, PersonScreen)
        assert summary is not None


async def test_change_of_operator_signs_new_changes(fixed_clock_station, app_on):
    store = fixed_clock_station()
    app = app_on(store, operator="Alice (SAMU)")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N1, "1", "enter")
        await pilot.press("ctrl+o")
        await pilot.pause()
        await pilot.press(*"Bruno Petit", "enter", *"BSPP 1234", "enter")
        await pilot.pause()
        assert app.operator == "Bruno Petit (BSPP 1234)"
        await pilot.press(*N2, "3", "enter")
        await pilot.pause()
        rows = store.db.execute("SELECT entity_id, author FROM changes ORDER BY id").fetchall()
        authors = {entity: author for entity, author in rows if entity.startswith("nf-")}
        assert authors == {f"nf-{N1}": "Alice (SAMU)", f"nf-{N2}": "Bruno Petit (BSPP 1234)"}


async def test_typing_while_the_list_has_focus_goes_to_the_number(fixed_clock_station, app_on):
    store = fixed_clock_station()
    count_person(store, "x", PersonInput(nf399=N2, category="UA"))
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down")
        assert isinstance(app.focused, VirtualList)
        await pilot.press(*N1, "2", "enter")
        await pilot.pause()
        assert queries.person_by_number(store.db, N1)["category"] == "UR"


async def test_filter_narrows_the_list_in_sql(fixed_clock_station, app_on):
    store = fixed_clock_station()
    count_person(store, "x", PersonInput(nf399=N1, category="UA", family_name="Martin"))
    count_person(store, "x", PersonInput(nf399=N2, category="UR", family_name="Benali"))
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "slash")
        await pilot.press(*"bena")
        await pilot.pause(0.4)
        listing = app.screen.query_one(VirtualList)
        assert listing.row_count == 1
        assert listing.row(0)["family_name"] == "Benali"
        await pilot.press("escape")
        await pilot.pause(0.4)
        assert listing.row_count == 2


async def test_retriage_keeps_the_history(fixed_clock_station, app_on):
    store = fixed_clock_station()
    count_person(store, "x", PersonInput(nf399=N1, category="UR"))
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N1, "enter")
        await pilot.pause()
        await pilot.press("t", "1", "e")
        await pilot.pause()
        row = queries.person_by_number(store.db, N1)
        assert (row["category"], row["refinement"]) == ("UA", "EU")
        history = queries.triage_history(store.db, row["id"])
        assert [h["category"] for h in history] == ["UR", "UA"]


async def test_a_category_key_after_a_slip_changes_the_category(fixed_clock_station, app_on):
    store = fixed_clock_station()
    count_person(store, "x", PersonInput(nf399=N1, category="UR"))
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N1, "enter")
        await pilot.pause()
        await pilot.press("t", "4", "1", "1")  # DCD by mistake, then UA, then its U1
        await pilot.pause()
        row = queries.person_by_number(store.db, N1)
        assert (row["category"], row["refinement"]) == ("UA", "U1")
        await pilot.press("t", "1", "2", "enter")  # UA, then 2: not a UA refinement, so UR
        await pilot.pause()
        row = queries.person_by_number(store.db, N1)
        assert (row["category"], row["refinement"]) == ("UR", None)
        history = queries.triage_history(store.db, row["id"])
        assert [h["category"] for h in history] == ["UR", "UA", "UR"]


async def test_evacuation_is_recorded(fixed_clock_station, app_on):
    store = fixed_clock_station()
    count_person(store, "x", PersonInput(nf399=N1, category="UR"))
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N1, "enter")
        await pilot.pause()
        await pilot.press("e", *"HEGP", "enter", *"VSAV 12", "enter", "enter")
        await pilot.pause()
        row = queries.person_by_number(store.db, N1)
        assert (row["destination"], row["vehicle"]) == ("HEGP", "VSAV 12")
        assert queries.bilan(store.db).evacuated == 1


async def test_editing_an_x_description_starts_from_the_one_on_record(fixed_clock_station, app_on):
    store = fixed_clock_station()
    result = count_person(store, "x", PersonInput(nf399=N1, category="UA"))
    from fieldkit.services.persons import mark_x

    mark_x(store, "x", result.person_id, {"sex": "H", "clothing": "veste rouge"})
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N1, "enter")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        assert app.screen.query_one("#f-clothing").value == "veste rouge"
        app.screen.query_one("#f-tattoos").value = "ancre, avant-bras gauche"
        app.screen.query_one("#f-belongings").focus()
        await pilot.press("enter")
        await pilot.pause()
        row = queries.person_by_number(store.db, N1)
        assert json.loads(row["x_description"]) == {
            "sex": "H",
            "clothing": "veste rouge",
            "tattoos": "ancre, avant-bras gauche",
        }


# -- messages, keys and scans at 80x24 (UI audit) ---------------------------------------------
RANGES = ["FR075BSPP2026TR000001-FR075BSPP2026TR000100"]


@pytest.mark.parametrize(
    ("lang", "outside", "bad_shape"),
    [
        ("fr", "Entrée une seconde fois pour confirmer.", "comme FR075BSPP2026TR000123."),
        ("en", "Enter again to confirm.", "like FR075BSPP2026TR000123."),
    ],
)
async def test_long_messages_show_whole_at_80x24(
    fixed_clock_station, app_on, lang, outside, bad_shape
):
    store = fixed_clock_station(ranges=RANGES)
    app = app_on(store, lang=lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N1, "1", "enter")  # outside the ranges: the warning and what to do
        await pilot.pause()
        shown_text = on_screen(app, "#message")
        assert shown_text.endswith(outside), shown_text
        assert N1 in shown_text
        await pilot.press("escape", *"FR075BSPP26TR12", "enter")  # a wrong shape: the example
        await pilot.pause()
        assert on_screen(app, "#message").endswith(bad_shape)
        # the count field and the first line of the list stay on screen
        assert on_screen(app, "#number").count("FR075BSPP26TR12") == 1
        assert app.screen.query_one(VirtualList).region.height >= 5


async def test_a_counted_number_outside_the_ranges_opens_at_the_first_enter(
    fixed_clock_station, app_on
):
    store = fixed_clock_station(ranges=RANGES)
    count_person(store, "x", PersonInput(nf399=N1, category="UR"), confirmed_outside=True)
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N1, "enter")
        await pilot.pause()
        assert isinstance(app.screen, PersonScreen)  # no range warning first
        await pilot.press("escape")
        await pilot.press(*N1, "3", "enter")  # a category key by habit changes nothing
        await pilot.pause()
        assert isinstance(app.screen, PersonScreen)
        assert [(r["nf399"], r["category"]) for r in persons(store)] == [(N1, "UR")]


async def test_slash_filters_from_the_number_field(fixed_clock_station, app_on):
    store = fixed_clock_station()
    count_person(store, "x", PersonInput(nf399=N1, category="UA", family_name="Martin"))
    count_person(store, "x", PersonInput(nf399=N2, category="UR", family_name="Benali"))
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.focused is app.screen.query_one("#number")
        await pilot.press("slash", *"bena")
        await pilot.pause(0.4)
        assert app.focused is app.screen.query_one("#filter")
        assert app.screen.query_one("#number").value == ""
        assert app.screen.query_one(VirtualList).row_count == 1
        await pilot.press("escape")
        await pilot.press(*"FR075", "slash")  # mid-number: the filter opens, the digits stay
        assert app.focused is app.screen.query_one("#filter")
        await pilot.press("escape")
        assert app.focused is app.screen.query_one("#number")
        assert app.screen.query_one("#number").value == "FR075"


async def test_a_scanned_url_keeps_its_slashes(fixed_clock_station, app_on):
    store = fixed_clock_station()
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*f"https://sinus.example/v/{N1}", "2", "enter")
        await pilot.pause()
        assert [(r["nf399"], r["category"]) for r in persons(store)] == [(N1, "UR")]


async def test_letter_keys_act_only_while_the_number_field_is_empty(fixed_clock_station, app_on):
    store = fixed_clock_station()
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        number = app.screen.query_one("#number")
        assert {"slash", "i", "e", "t", "b"} <= set(app.screen.active_bindings)  # in the footer
        await pilot.press("i")  # nobody counted yet: said, nothing typed
        assert number.value == "" and "Personne" in message(app)
        # typed by hand in lower case, the b and t of a number are part of it
        await pilot.press(*N2.lower()[:5])
        assert not {"i", "e", "t", "b"} & set(app.screen.active_bindings)
        await pilot.press(*N2.lower()[5:], "2", "enter")
        await pilot.pause()
        assert [(r["nf399"], r["category"]) for r in persons(store)] == [(N2, "UR")]
        # the field is empty again: e evacuates the person just counted, named in the form
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, EditDialog)
        assert N2 in app.screen.title_text.plain
        await pilot.press(*"HEGP", "enter", *"VSAV 12", "enter", "enter")
        await pilot.pause()
        assert queries.person_by_number(store.db, N2)["destination"] == "HEGP"
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen) and number.value == ""
        await pilot.press("t", "1", "enter")  # re-triage the same person
        await pilot.pause()
        assert queries.person_by_number(store.db, N2)["category"] == "UA"
        await pilot.press("escape")
        await pilot.press("b")  # the bilan
        await pilot.pause()
        assert type(app.screen).__name__ == "BilanDialog"
        bilan = shown(app, "#bilan-table")
        assert "Total : 1" in bilan and "HEGP" in bilan
        await pilot.press(*N1, "3", "enter")  # a scan while the bilan is open still counts
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert queries.person_by_number(store.db, N1)["category"] == "IMPLIQUE"


async def test_a_scan_in_the_filter_is_counted(fixed_clock_station, app_on):
    store = fixed_clock_station()
    count_person(store, "x", PersonInput(nf399=N1, category="UA", family_name="Martin"))
    app = app_on(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "slash", *N2, "enter")  # the filter has the focus
        await pilot.pause()
        assert app.focused is app.screen.query_one("#number")
        assert "Catégorie pour" in message(app)
        filter_input = app.screen.query_one("#filter")
        assert filter_input.value == "" and not filter_input.display
        await pilot.press("4", "enter")
        await pilot.pause()
        assert queries.person_by_number(store.db, N2)["category"] == "DCD"
        await pilot.press("slash", *N1, "enter")  # a number already counted: its record
        await pilot.pause()
        assert isinstance(app.screen, PersonScreen)
        await pilot.press("escape", "slash", *"mart", "enter")  # a name: a filter, as before
        await pilot.pause(0.3)
        assert isinstance(app.focused, VirtualList)
        assert app.screen.query_one(VirtualList).row_count == 1
