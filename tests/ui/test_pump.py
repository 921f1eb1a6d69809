"""The PUMP home through the real app: register, first declaration, care, certificate."""

from __future__ import annotations

from pathlib import Path

from fieldkit.screens.forms import ConfirmDialog, EditDialog
from fieldkit.screens.pump import HomeScreen, PumpRecord
from fieldkit.services import certificates, pump
from fieldkit.services.persons import PersonInput, merge_duplicate
from fieldkit.store import queries
from fieldkit.store.store import Store
from tests.ui.helpers import list_lines, on_screen, shown, wait_until

CLINICIAN = "Dr L. Moreau (RPPS 10001234567)"
N1 = "FR075BSPP2026TR000123"
N2 = "FR075BSPP2026TR000124"
WORDS = "J'étais en terrasse du café [b]Le Carillon[/b], quand les tirs ont commencé."


def station(fixed_clock_station) -> Store:
    return fixed_clock_station(role="pump", name="PUMP-1")


async def type_in(pilot, selector: str, text: str) -> None:
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    if hasattr(widget, "load_text"):
        widget.load_text(text)
    else:
        widget.value = text
    await pilot.pause()


async def test_register_without_a_number_then_with_one(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    app = app_on(store, operator=CLINICIAN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("n")
        assert isinstance(app.screen, EditDialog)
        await type_in(pilot, "#f-family_name", "[b]Benali[/b]")
        await type_in(pilot, "#f-given_names", "Yasmine")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PumpRecord)  # the new person's record opens
        assert "[B]BENALI[/B] Yasmine" in shown(app, "#summary")
        assert "sans numéro" in shown(app, "#summary")
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
        assert "Personne enregistrée" in shown(app, "#message")
        assert "[B]BENALI[/B] Yasmine" in list_lines(app.screen.query_one("#persons"))[1]
        # with a bracelet, scanned into the number field
        await pilot.press("n")
        await pilot.press(*N1)
        await type_in(pilot, "#f-family_name", "Martin")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PumpRecord)
        assert app.screen.person_id == f"nf-{N1}"
        await pilot.press("escape")
        assert "2 personnes vues" in shown(app, "#bilan")
        rows = {r["family_name"]: r for r in store.db.query("SELECT * FROM persons")}
        assert rows["Martin"]["nf399"] == N1 and rows["[b]Benali[/b]"]["nf399"] is None
        assert {r["created_by"] for r in rows.values()} == {CLINICIAN}


async def test_register_refusal_keeps_the_form(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    app = app_on(store, operator=CLINICIAN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await type_in(pilot, "#f-family_name", "X pouvant être Dupont")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, EditDialog)
        assert "supposition" in shown(app, "#dialog-message")
        assert app.screen.query_one("#f-family_name").value == "X pouvant être Dupont"
        assert queries.count_persons(store.db) == 0


async def test_a_scan_on_the_home_opens_or_registers(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    app = app_on(store, operator=CLINICIAN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N1, "enter")  # unknown number: the form, number filled in
        await wait_until(pilot, lambda: isinstance(app.screen, EditDialog))
        assert app.screen.query_one("#f-nf399").value == N1
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, PumpRecord))
        await pilot.press("escape")
        await pilot.press(*N1, "enter")  # known number: its record
        await wait_until(pilot, lambda: isinstance(app.screen, PumpRecord))
        assert queries.count_persons(store.db) == 1


async def test_a_scan_of_a_number_merged_into_another_record_opens_that_record(
    fixed_clock_station, app_on
):
    store = station(fixed_clock_station)
    twin = pump.register_person(store, "accueil", PersonInput(nf399=N1, family_name="Martin"))
    kept = pump.register_person(store, "accueil", PersonInput(nf399=N2, family_name="Martin"))
    merge_duplicate(store, "CIAV", twin.person_id, kept.person_id)
    app = app_on(store, operator=CLINICIAN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*N1, "enter")  # the bracelet is the kept record's: no new person
        await wait_until(pilot, lambda: isinstance(app.screen, PumpRecord))
        assert app.screen.person_id == kept.person_id
        assert queries.count_persons(store.db) == 1


async def test_declaration_is_signed_then_read_only(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    person = pump.register_person(store, "accueil", PersonInput(family_name="Martin")).person_id
    app = app_on(store, operator=CLINICIAN)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, PumpRecord)
        assert "pas encore recueillie" in shown(app, "#declaration")
        await pilot.press("d")
        assert isinstance(app.screen, EditDialog)
        assert app.screen.query_one("#f-clinician").value == "Dr L. Moreau"
        await type_in(pilot, "#f-text", WORDS)
        await pilot.press("ctrl+s")  # the sign step: the words as they will be signed
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert pump.declarations(store, person) == []
        await pilot.press("c")  # signs
        await pilot.pause()
        assert isinstance(app.screen, PumpRecord)
        [row] = pump.declarations(store, person)
        assert row["text"] == WORDS and row["clinician"] == "Dr L. Moreau"
        assert certificates.verify_declaration(row, certificates.known_signers(store)).valid
        text = shown(app, "#declaration")
        assert f"« {WORDS} »" in text  # as typed, markup included
        assert "ne peut plus être modifiée" in text and "Signature valide" in text
        await pilot.press("d")  # a second declaration is refused, nothing opens
        assert isinstance(app.screen, PumpRecord)
        assert "déjà une première déclaration" in shown(app, "#message")
        assert len(pump.declarations(store, person)) == 1


async def test_care_is_recorded(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    person = pump.register_person(store, "accueil", PersonInput(family_name="Martin")).person_id
    app = app_on(store, operator=CLINICIAN)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "s")
        assert isinstance(app.screen, EditDialog)
        await pilot.press("ctrl+s")  # nothing written: refused, form stays
        assert isinstance(app.screen, EditDialog)
        assert "Écrivez les soins" in shown(app, "#dialog-message")
        await type_in(pilot, "#f-care_given", "defusing [i]")
        await type_in(pilot, "#f-orientation", "CUMP 75, consultation J+2")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PumpRecord)
        [event] = pump.care_history(store, person)
        assert event["care_given"] == "defusing [i]"
        assert event["orientation"] == "CUMP 75, consultation J+2"
        care = shown(app, "#care")
        assert "defusing [i]" in care and "CUMP 75" in care


async def test_certificate_is_issued_written_and_verifies(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    person = pump.register_person(
        store, "accueil", PersonInput(nf399=N1, family_name="Martin", given_names="Claire")
    ).person_id
    app = app_on(store, operator=CLINICIAN)
    home = Path(app.home)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter", "c")  # no declaration yet: refused
        assert isinstance(app.screen, PumpRecord)
        assert "première déclaration" in shown(app, "#message")
        pump.record_declaration(store, "dr", person, WORDS, "Dr L. Moreau")
        await pilot.press("c")
        assert isinstance(app.screen, EditDialog)
        assert app.screen.query_one("#f-registration").value == "RPPS 10001234567"
        await type_in(pilot, "#f-itt_days", "abc")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "ITT" in shown(app, "#dialog-message"))
        await type_in(pilot, "#f-itt_days", "2")
        await type_in(pilot, "#f-findings", "Sidération, pleurs")
        await type_in(pilot, "#f-examined_at", "25:99")  # refused, the form stays
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "25:99" in shown(app, "#dialog-message"))
        await type_in(pilot, "#f-examined_at", "")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, PumpRecord))
        issued = app.screen.last_certificate
        assert issued is not None
        assert issued.path.parent == home / "certificates" and issued.path.is_file()
        message = shown(app, "#message").replace("\n", "")
        assert str(issued.path) in message and "116 006" in message
        data = issued.path.read_bytes()
        result = certificates.verify(data, certificates.known_signers(store))
        assert result.valid, result.reason
        [meta] = certificates.certificates(store, person)
        assert meta["itt_days"] == 2 and meta["fingerprint"] == issued.fingerprint
        assert "ITT 2 j" in shown(app, "#certificates")


async def test_a_number_outside_the_bracelet_ranges_needs_a_second_save(
    fixed_clock_station, app_on
):
    store = fixed_clock_station(
        role="pump", name="PUMP-1", ranges=["FR075BSPP2026TR000001-FR075BSPP2026TR000010"]
    )
    app = app_on(store, operator=CLINICIAN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", *N1)
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, EditDialog)
        assert "Enregistrez à nouveau pour confirmer" in shown(app, "#dialog-message")
        assert queries.count_persons(store.db) == 0
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PumpRecord)
        assert queries.person_by_number(store.db, N1) is not None


async def test_signing_the_declaration_is_a_deliberate_step(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    person = pump.register_person(store, "accueil", PersonInput(family_name="Martin")).person_id
    app = app_on(store, operator=CLINICIAN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter", "d")
        assert isinstance(app.screen, EditDialog)
        await pilot.press("ctrl+s")  # nothing written yet: refused in the form, no sign step
        await pilot.pause()
        assert isinstance(app.screen, EditDialog)
        assert "propres mots" in shown(app, "#dialog-message")
        assert app.focused is app.screen.query_one("#f-text")
        long_words = WORDS + " " + " ".join(["Puis nous avons couru vers la rue."] * 12)
        await type_in(pilot, "#f-text", long_words)
        app.screen.query_one("#f-clinician").focus()
        await pilot.press("enter")  # Enter on the last field never signs
        await pilot.pause()
        assert pump.declarations(store, person) == []
        assert isinstance(app.screen, ConfirmDialog)
        body = shown(app, "#confirm-body")
        assert f"« {long_words} »" in " ".join(body.split())  # word for word, markup as typed
        assert "Dr L. Moreau" in body and "Martin" in body.upper().title()
        assert "c signer" in on_screen(app, "#confirm-keys")  # the keys stay in view at 80x24
        await pilot.press("enter", "space", "s")  # stray keys sign nothing
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")  # back to the form, nothing typed lost
        await pilot.pause()
        assert isinstance(app.screen, EditDialog)
        assert app.screen.query_one("#f-text").text == long_words
        assert app.screen.query_one("#f-clinician").value == "Dr L. Moreau"
        assert "Rien n'est enregistré" in shown(app, "#dialog-message")
        assert pump.declarations(store, person) == []
        await type_in(pilot, "#f-clinician", "Dr A. Benali")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Dr A. Benali" in shown(app, "#confirm-body")
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, PumpRecord)
        [row] = pump.declarations(store, person)
        assert row["text"] == long_words and row["clinician"] == "Dr A. Benali"


async def test_a_certificate_error_is_on_screen_at_80x24(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    person = pump.register_person(store, "accueil", PersonInput(family_name="Durand")).person_id
    pump.record_declaration(store, "dr", person, WORDS, "Dr L. Moreau")
    app = app_on(store, operator=CLINICIAN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter", "c")
        assert isinstance(app.screen, EditDialog)
        app.screen.query_one("#f-itt_days").value = "abc"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "ITT" in shown(app, "#dialog-message"))
        assert on_screen(app, "#dialog-message").startswith("L'ITT doit être un nombre entier")
        assert app.focused is app.screen.query_one("#f-itt_days")  # the field at fault, in view
        assert "abc" in on_screen(app, "#f-itt_days")
        assert certificates.certificates(store, person) == []


async def test_the_count_of_persons_seen_agrees_with_its_number(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    pump.register_person(store, "accueil", PersonInput(family_name="Martin"))
    app = app_on(store, operator=CLINICIAN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert shown(app, "#bilan").strip() == "1 personne vue"
    store = fixed_clock_station(role="pump", name="PUMP-2")
    for name in ("Martin", "Durand"):
        pump.register_person(store, "accueil", PersonInput(family_name=name))
    app = app_on(store, operator=CLINICIAN, lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert shown(app, "#bilan").strip() == "2 persons seen"


def test_plural_follows_the_language():
    from fieldkit.i18n import set_language
    from fieldkit.screens.common import plural

    assert [plural(n, "one", "other") for n in (0, 1, 2)] == ["one", "one", "other"]  # French
    set_language("en")
    assert [plural(n, "one", "other") for n in (0, 1, 2)] == ["other", "one", "other"]


async def test_the_certificate_path_and_helpline_show_whole_at_80x24(fixed_clock_station, app_on):
    store = station(fixed_clock_station)
    person = pump.register_person(store, "accueil", PersonInput(family_name="Durand")).person_id
    pump.record_declaration(store, "dr", person, WORDS, "Dr L. Moreau")
    app = app_on(store, operator=CLINICIAN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter", "c", "ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, PumpRecord))
        await pilot.pause()
        issued = app.screen.last_certificate
        assert issued is not None
        text = on_screen(app, "#message").replace(" ", "")
        assert str(issued.path).replace(" ", "") in text and text.endswith("116006.")
