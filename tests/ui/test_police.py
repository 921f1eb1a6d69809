"""The police home through the real app: witnesses, recontact list, leads, death stages."""

from __future__ import annotations

from textual.widgets import Static

from fieldkit.screens.forms import ConfirmDialog, EditDialog
from fieldkit.screens.person_list import VirtualList
from fieldkit.screens.police import HomeScreen, PoliceRecord, WitnessScreen
from fieldkit.services import police
from fieldkit.services.persons import PersonInput, count_person, merge_duplicate
from fieldkit.store.store import Store
from tests.ui.helpers import list_lines, plain, shown, wait_until

OFFICER = "Brigadier Durand (PP 1234)"
N1 = "FR075BSPP2026TR000123"
N2 = "FR075BSPP2026TR000124"


def station(fixed_clock_station) -> Store:
    return fixed_clock_station(role="police", name="POLICE-1")


async def type_in(pilot, selector: str, text: str) -> None:
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    widget.value = text
    await pilot.pause()


async def go_to_person(pilot, number: str) -> None:
    """Persons view, cursor on the person with ``number``."""
    await pilot.press("p")
    listing = pilot.app.screen.query_one(VirtualList)
    for index in range(listing.row_count):
        if listing.row(index)["nf399"] == number:
            listing.cursor = index
            break
    else:
        raise AssertionError(number)
    await pilot.pause()


async def test_add_a_witness_and_see_it_in_the_lists(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("n")
        assert isinstance(app.screen, EditDialog)
        await type_in(pilot, "#f-family_name", "[b]x[/b]")
        await type_in(pilot, "#f-given_names", "[red]Anna[/red]")
        await type_in(pilot, "#f-phone", "06 12 34 56 78")
        await type_in(pilot, "#f-where", "[@click=app.quit]Terrasse")
        await type_in(pilot, "#f-saw", "Un véhicule blanc")
        app.screen.query_one("#f-left_scene").focus()
        await pilot.press("space")  # left the scene
        await type_in(pilot, "#f-oriented_to", "PUMP-1")
        await pilot.press("enter")  # Enter on the last field saves
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen), shown(app, "#dialog-message")
        [row] = police.witnesses(store)
        assert row["family_name"] == "[b]x[/b]" and row["given_names"] == "[red]Anna[/red]"
        assert row["left_scene"] == 1 and row["recontact"] == 0
        assert row["created_by"] == OFFICER
        assert "Témoin enregistré" in shown(app, "#message")
        assert "[B]X[/B] [red]Anna[/red]" in shown(app, "#message")
        lines = list_lines(app.screen.query_one(VirtualList))
        assert "[B]X[/B] [red]Anna[" in lines[1]  # literally, not bold or red
        assert "[@click=app.quit]" in lines[1]
        assert "Témoins (1)" in shown(app, "#views")
        assert "À recontacter (1)" in shown(app, "#views")
        await pilot.press("enter")  # the witness, read-only
        assert isinstance(app.screen, WitnessScreen)
        await pilot.press("escape")
        assert app.is_running  # the [@click=app.quit] name quit nothing


async def test_a_refused_witness_keeps_what_was_typed(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await type_in(pilot, "#f-family_name", "Dupont")
        app.screen.query_one("#f-recontact").focus()
        await pilot.press("space")  # wishes to be recontacted, but no phone
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EditDialog)
        assert "où se trouvait le témoin" in shown(app, "#dialog-message")
        await type_in(pilot, "#f-where", "Rue de Charonne")
        await pilot.press("ctrl+s")
        assert "recontacter" in shown(app, "#dialog-message")
        assert app.screen.query_one("#f-family_name").value == "Dupont"
        await type_in(pilot, "#f-phone", "0612345678")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert [w["family_name"] for w in police.recontact_list(store)] == ["Dupont"]


async def test_recontact_list_holds_those_who_left_or_asked(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    for name, left, asked in (("Stay", False, False), ("Left", True, False), ("Ask", False, True)):
        police.add_witness(
            store,
            OFFICER,
            police.WitnessInput(
                family_name=name, where="Bar", left_scene=left, recontact=asked, phone="0611"
            ),
        )
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        listing = app.screen.query_one(VirtualList)
        assert listing.row_count == 3
        await pilot.press("r")
        assert listing.row_count == 2
        assert [listing.row(i)["family_name"] for i in range(2)] == ["Left", "Ask"]
        lines = list_lines(listing)
        assert "LEFT" in lines[1] and "ASK" in lines[2]
        assert "STAY" not in "\n".join(lines)
        await pilot.press("w")
        assert listing.row_count == 3


async def test_add_a_lead_on_an_x_person(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    count_person(store, "pma", PersonInput(nf399=N1, category="DCD"))
    count_person(store, "pma", PersonInput(nf399=N2, category="UA", family_name="Martin"))
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        await go_to_person(pilot, N2)
        await pilot.press("l")  # a person with an identity: leads are for X persons
        assert isinstance(app.screen, HomeScreen)
        assert "leads are for X" in shown(app, "#message") or "piste" in shown(app, "#message")
        await go_to_person(pilot, N1)
        await pilot.press("l")
        assert isinstance(app.screen, EditDialog)
        await type_in(pilot, "#f-possible_identity", "Dupont Jean [i]")
        await type_in(pilot, "#f-source", "Sa sœur, au CAF")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        [lead] = police.leads(store)
        assert lead["possible_identity"] == "Dupont Jean [i]"
        assert lead["source"] == "Sa sœur, au CAF" and lead["created_by"] == OFFICER
        person = store.db.execute(
            "SELECT family_name FROM persons WHERE nf399 = ?", [N1]
        ).fetchone()
        assert person[0] is None  # a lead never fills the identity
        await pilot.press("enter")  # the record lists the lead, literally
        assert isinstance(app.screen, PoliceRecord)
        assert "Dupont Jean [i]" in shown(app, "#police")


async def test_death_stage_confirm_records_and_names_person_and_officer(
    fixed_clock_station, app_on
):
    store = station(fixed_clock_station)
    count_person(store, "pma", PersonInput(nf399=N1, category="DCD", family_name="[b]Nom[/b]"))
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        await go_to_person(pilot, N1)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog)
        body = shown(app, "#confirm-body")
        assert "[B]NOM[/B]" in body and N1 in body and OFFICER in body
        await pilot.press("enter")  # Enter is not a confirmation
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        person_id = f"nf-{N1}"
        [stage] = police.death_stages(store, person_id)
        assert (stage["stage"], stage["officer"], stage["author"]) == (
            "identified",
            OFFICER,
            OFFICER,
        )
        assert "identifié" in shown(app, "#message")
        assert "identifié" in list_lines(app.screen.query_one(VirtualList))[1]
        # then announced, from the record this time
        await pilot.press("enter")
        assert isinstance(app.screen, PoliceRecord)
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmDialog)
        assert "annoncé" in shown(app, "#confirm-body")
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, PoliceRecord)
        assert [s["stage"] for s in police.death_stages(store, person_id)] == [
            "identified",
            "announced",
        ]
        assert "annoncé" in shown(app, "#police")


async def test_death_stage_escape_cancels_and_records_nothing(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    count_person(store, "pma", PersonInput(nf399=N1, category="DCD", family_name="Martin"))
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        await go_to_person(pilot, N1)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert police.death_stages(store, f"nf-{N1}") == []
        assert "rien" in shown(app, "#message").lower()


async def test_death_stage_refused_for_a_person_not_dcd(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    count_person(store, "pma", PersonInput(nf399=N2, category="UR", family_name="Martin"))
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        await go_to_person(pilot, N2)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)  # no dialog for what would be refused
        message = shown(app, "#message")
        assert "MARTIN" in message and "DCD" in message
        assert police.death_stages(store, f"nf-{N2}") == []


async def test_announced_before_identified_is_refused_before_asking(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    count_person(store, "pma", PersonInput(nf399=N1, category="DCD", family_name="Martin"))
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        await go_to_person(pilot, N1)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)  # no confirmation asked for a refusal
        assert "commission" in shown(app, "#message") and "MARTIN" in shown(app, "#message")
        assert police.death_stages(store, f"nf-{N1}") == []


async def test_identified_on_a_person_without_identity_is_refused_before_asking(
    fixed_clock_station, app_on
):
    store = station(fixed_clock_station)
    count_person(store, "pma", PersonInput(nf399=N1, category="DCD"))  # X
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        await go_to_person(pilot, N1)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert "identité" in shown(app, "#message")
        await pilot.press("enter", "d")  # the same from the record
        await pilot.pause()
        assert isinstance(app.screen, PoliceRecord)
        assert "identité" in shown(app, "#message")
        assert police.death_stages(store, f"nf-{N1}") == []


async def test_the_police_record_neither_retriages_nor_evacuates(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    person_id = count_person(store, "pma", PersonInput(nf399=N1, category="DCD")).person_id
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        await go_to_person(pilot, N1)
        await pilot.press("enter")
        assert isinstance(app.screen, PoliceRecord)
        await pilot.press("t")  # re-triage: the rescuers' act (PMA), not the police's
        await pilot.pause()
        assert isinstance(app.screen, PoliceRecord)
        await pilot.press("2", "enter")
        await pilot.pause()
        await pilot.press("e")  # evacuation: idem
        await pilot.pause()
        assert isinstance(app.screen, PoliceRecord)
        assert store.db.execute("SELECT count(*) FROM triage_events").fetchone()[0] == 1
        assert store.db.execute(
            "SELECT category, destination FROM persons WHERE id = ?", [person_id]
        ).fetchone() == ("DCD", None)
        keys = set(app.screen.active_bindings)
        assert "t" not in keys and "e" not in keys and {"l", "d", "a", "i"} <= keys
        assert not any("re-trier" in plain(w) for w in app.screen.query(Static))
        await pilot.press("i")  # the identity established by the commission stays
        assert isinstance(app.screen, EditDialog)


async def test_a_scanned_number_opens_the_person(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    count_person(store, "pma", PersonInput(nf399=N1, category="DCD"))
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p")
        await pilot.press(*N1, "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PoliceRecord))


async def test_a_scanned_number_merged_into_another_record_opens_that_record(
    fixed_clock_station, app_on
):
    store = station(fixed_clock_station)
    twin = count_person(store, "pma", PersonInput(nf399=N1, category="DCD"))
    kept = count_person(store, "pma", PersonInput(nf399=N2, category="DCD"))
    merge_duplicate(store, "CIAV", twin.person_id, kept.person_id)
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p")
        await pilot.press(*N1, "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PoliceRecord))
        assert app.screen.person_id == kept.person_id


async def test_a_lead_is_confirmed_without_filling_the_identity(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    person_id = count_person(store, "pma", PersonInput(nf399=N1, category="DCD")).person_id
    lead_id = police.add_lead(store, OFFICER, person_id, "Dupont Jean", "Sa sœur")
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        await go_to_person(pilot, N1)
        await pilot.press("enter")
        assert isinstance(app.screen, PoliceRecord)
        assert "ouverte" in shown(app, "#police")
        await pilot.press("v")
        assert isinstance(app.screen, EditDialog)
        assert app.screen.query_one("#f-lead").value == lead_id
        await pilot.press("ctrl+s")  # confirmed is the proposed status
        await pilot.pause()
        assert isinstance(app.screen, PoliceRecord)
        [lead] = police.leads(store, person_id)
        assert lead["status"] == "confirmed"
        assert "confirmée" in shown(app, "#police")
        person = store.db.execute("SELECT family_name FROM persons WHERE id = ?", [person_id])
        assert person.fetchone()[0] is None


def _witnesses(store: Store) -> None:
    for family, given, left, recontact in (
        ("Nguyễn", "Thị Lan", True, True),
        ("Dupont", "Jean", False, False),
        ("Benali", "Samira", False, True),
    ):
        police.add_witness(
            store,
            OFFICER,
            police.WitnessInput(
                family_name=family,
                given_names=given,
                phone="06 12 34 56 78",
                where="Terrasse du Carillon" if family != "Dupont" else "Rue de Charonne",
                left_scene=left,
                recontact=recontact,
            ),
        )


async def test_slash_filters_the_witness_lists(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    _witnesses(store)
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        listing = app.screen.query_one(VirtualList)
        assert listing.row_count == 3
        await pilot.press("slash", *"nguyen")  # without the accents
        await wait_until(pilot, lambda: listing.row_count == 1)
        assert listing.row(0)["family_name"] == "Nguyễn"
        await pilot.press("enter")  # to the list
        await pilot.press("escape")  # the filter is cleared
        await wait_until(pilot, lambda: listing.row_count == 3)
        await pilot.press("slash", *"charonne")  # the place
        await wait_until(pilot, lambda: listing.row_count == 1)
        assert listing.row(0)["family_name"] == "Dupont"
        await pilot.press("enter", "r")  # another list starts whole
        assert listing.row_count == 2
        await pilot.press("slash", *"samira")
        await wait_until(pilot, lambda: listing.row_count == 1)
        assert listing.row(0)["family_name"] == "Benali"


async def test_a_witness_is_corrected_and_marked_recontacted(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    _witnesses(store)
    app = app_on(store, operator=OFFICER)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        listing = app.screen.query_one(VirtualList)
        assert listing.row_count == 2
        await pilot.press("enter")  # Nguyễn
        assert isinstance(app.screen, WitnessScreen)
        await pilot.press("e")
        assert isinstance(app.screen, EditDialog)
        assert app.screen.query_one("#f-family_name").value == "Nguyễn"
        await type_in(pilot, "#f-phone", "")  # left the scene: a contact is needed
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EditDialog)
        assert "recontacter" in shown(app, "#dialog-message")
        await type_in(pilot, "#f-phone", "07 00 00 00 01")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, WitnessScreen)
        assert "07 00 00 00 01" in shown(app, "#witness")
        await pilot.press("c")  # called back
        await pilot.pause()
        assert "recontacté" in shown(app, "#message").lower()
        assert "Recontacté" in shown(app, "#witness")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert listing.row_count == 1  # out of the list still to call
        assert "À recontacter (1)" in shown(app, "#views")
        [row] = [w for w in police.witnesses(store) if w["family_name"] == "Nguyễn"]
        assert row["phone"] == "07 00 00 00 01" and row["recontacted_at"]
        await pilot.press("w")
        assert "fait" in "\n".join(list_lines(listing))
