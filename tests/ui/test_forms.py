"""The shared dialogs (EditDialog, ConfirmDialog) on their own, at 80x24."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App

from fieldkit import screens
from fieldkit.errors import ValidationError
from fieldkit.screens.forms import EditDialog, Field
from tests.ui.helpers import on_screen, shown


class FormApp(App[None]):
    CSS_PATH = Path(screens.__file__).parent / "app.tcss"  # the app's dialog styles

    def __init__(self, dialog: EditDialog) -> None:
        super().__init__()
        self.dialog = dialog
        self.result: Any = "not closed"

    def on_mount(self) -> None:
        def closed(result: Any) -> None:
            self.result = result

        self.push_screen(self.dialog, closed)


def witness_like() -> tuple[EditDialog, list[dict[str, Any]]]:
    saved: list[dict[str, Any]] = []

    def submit(values: dict[str, Any], _confirmed: bool) -> bool:
        if not values["phone"] and values["recontact"]:
            raise ValidationError("Write a phone number to be recontacted.", field="phone")
        saved.append(values)
        return True

    fields = [
        Field("name", "Name"),
        Field("left", "Left the scene", False, kind="check"),
        Field("recontact", "Wishes to be recontacted", False, kind="check"),
        Field("phone", "Phone"),
    ]
    return EditDialog("Witness", fields, submit), saved


async def test_enter_moves_on_from_a_check_box_and_space_ticks_it():
    dialog, saved = witness_like()
    app = FormApp(dialog)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"Dupont", "enter")
        left = dialog.query_one("#f-left")
        assert app.focused is left
        assert "[ ] non" in on_screen(app, "#f-left")  # the state in letters, not only colour
        await pilot.press("space")  # ticks
        assert left.value is True
        assert "[x] oui" in on_screen(app, "#f-left")
        await pilot.press("enter")  # next field; the box keeps its state
        assert left.value is True
        assert app.focused is dialog.query_one("#f-recontact")
        await pilot.press("enter", *"0611", "enter")  # Enter on the last field saves
        await pilot.pause()
        assert saved == [{"name": "Dupont", "left": True, "recontact": False, "phone": "0611"}]
        assert app.result is True


async def test_an_error_is_on_screen_and_its_field_focused():
    dialog, saved = witness_like()
    app = FormApp(dialog)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"Dupont", "enter", "enter", "space", "ctrl+s")
        await pilot.pause()
        assert saved == []
        assert on_screen(app, "#dialog-message") == "Write a phone number to be recontacted."
        assert app.focused is dialog.query_one("#f-phone")
        assert dialog.query_one("#f-recontact").value is True  # nothing lost
        assert "Espace coche une case" in shown(app, "#dialog-hint")


async def test_a_long_form_keeps_its_error_in_view_at_80x24():
    def submit(values: dict[str, Any], _confirmed: bool) -> bool:
        raise ValidationError("Field 14 is wrong: write a number.", field="f14")

    fields = [Field(f"f{i}", f"Field {i} with a long label") for i in range(15)]
    dialog = EditDialog("A long form", fields, submit)
    app = FormApp(dialog)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert on_screen(app, "#dialog-message") == "Field 14 is wrong: write a number."
        assert app.focused is dialog.query_one("#f-f14")
        assert on_screen(app, "#dialog-hint").startswith("Entrée : champ suivant")
