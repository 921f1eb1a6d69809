"""Start screens: first-run wizard, unlock, operator sign-in."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.screens.common import error_text
from fieldkit.services.station import init_station, open_station
from fieldkit.store.store import Store

ROLES = ("pma", "pump", "police", "caf", "ciav")


def _role_label(role: str) -> str:
    labels = {
        "pma": _("PMA · advanced medical post"),
        "pump": _("PUMP · psychological first aid"),
        "police": _("Police · on the scene"),
        "caf": _("CAF · family reception"),
        "ciav": _("CIAV · victim information centre"),
    }
    return labels[role]


def _dismiss_with_store(screen: Screen[Store | None], event: Worker.StateChanged) -> None:
    """Dismiss with the opened store after the worker ended (dismissing from inside the worker
    removed the screen while its worker still ran, which cancelled the worker)."""
    if event.state is WorkerState.SUCCESS and isinstance(event.worker.result, Store):
        screen.dismiss(event.worker.result)


class WizardScreen(Screen[Store | None]):
    """First run: create this laptop's station."""

    BINDINGS = [
        Binding("ctrl+s", "create", _("Create the station")),
        Binding("escape", "cancel", _("Quit")),
    ]

    def __init__(self, home: Path) -> None:
        super().__init__()
        self.home = home

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="form"):
            yield Label(Text(_("New station"), style="bold"))
            yield Static(Text(_("No station on this laptop yet: create it.")))
            yield Label(_("Role"))
            yield Select(
                [(_role_label(r), r) for r in ROLES],
                value="pma",
                allow_blank=False,
                id="role",
            )
            yield Label(_("Station name (e.g. PMA-1)"))
            yield Input(id="station", max_length=40)
            yield Label(_("Incident identifier (the same on every station)"))
            yield Input(id="incident", max_length=80)
            yield Label(_("Passphrase (at least 8 characters)"))
            yield Input(id="passphrase", password=True, max_length=1024)
            yield Label(_("Passphrase again"))
            yield Input(id="passphrase2", password=True, max_length=1024)
            yield Label(
                _("Bracelet ranges (optional, e.g. FR075BSPP2026TR000001-FR075BSPP2026TR000500)")
            )
            yield Input(id="ranges", max_length=2000)
            yield Static(id="message")
            yield Button(_("Create the station (Ctrl+S)"), variant="primary", id="create")

    def on_mount(self) -> None:
        self.query_one("#station", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "ranges":
            self.action_create()
        else:
            self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_create()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def action_create(self) -> None:
        message = self.query_one("#message", Static)
        if self._value("passphrase") != self._value("passphrase2"):
            message.update(error_text(_("The two passphrases differ: type them again.")))
            return
        ranges = [r.strip() for r in self._value("ranges").split(",") if r.strip()]
        role = str(self.query_one("#role", Select).value)
        self._create(role, ranges)

    @work(thread=True, exclusive=True)
    def _create(self, role: str, ranges: list[str]) -> Store | None:
        message = self.query_one("#message", Static)
        self.app.call_from_thread(message.update, Text(_("Creating the station…")))
        try:
            store = init_station(
                self.home,
                self._value("passphrase"),
                role=role,
                station_name=self._value("station"),
                incident=self._value("incident"),
                ranges=ranges,
            )
        except FieldkitError as exc:
            self.app.call_from_thread(message.update, error_text(exc.message))
            return None
        return store  # dismissed from the UI thread once the worker has finished

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        _dismiss_with_store(self, event)


class UnlockScreen(Screen[Store | None]):
    """Type the passphrase; a wrong one is refused and the screen stays usable."""

    BINDINGS = [Binding("escape", "cancel", _("Quit"))]

    def __init__(self, home: Path, passphrase: str | None = None) -> None:
        super().__init__()
        self.home = home
        self.preset = passphrase

    def compose(self) -> ComposeResult:
        with Vertical(classes="form narrow"):
            yield Label(Text(_("Unlock the station"), style="bold"))
            yield Static(Text(str(self.home)), classes="dim")
            yield Label(_("Passphrase"))
            yield Input(id="passphrase", password=True, max_length=1024)
            yield Static(id="message")

    def on_mount(self) -> None:
        self.query_one("#passphrase", Input).focus()
        if self.preset:
            self._unlock(self.preset)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value:
            self._unlock(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True)
    def _unlock(self, passphrase: str) -> Store | None:
        message = self.query_one("#message", Static)
        self.app.call_from_thread(message.update, Text(_("Unlocking…")))
        try:
            store = open_station(self.home, passphrase)
        except FieldkitError as exc:
            self.app.call_from_thread(self._refused, exc.message)
            return None
        return store  # dismissed from the UI thread once the worker has finished

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        _dismiss_with_store(self, event)

    def _refused(self, text: str) -> None:
        self.query_one("#message", Static).update(error_text(text))
        field = self.query_one("#passphrase", Input)
        field.value = ""
        field.focus()


class OperatorScreen(ModalScreen[str | None]):
    """Who is at the keyboard: every change records this name."""

    BINDINGS = [Binding("escape", "cancel", _("Cancel"))]

    def __init__(self, current: str = "", *, first: bool = False) -> None:
        super().__init__()
        self.current = current
        self.first = first

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(_("Operator"), style="bold"))
            if self.current:
                yield Static(Text(_("Current operator: {name}").format(name=self.current)))
            yield Label(_("Name"))
            yield Input(id="name", max_length=80)
            yield Label(_("Service or registration number"))
            yield Input(id="service", max_length=60)
            yield Static(id="message")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "name":
            self.query_one("#service", Input).focus()
            return
        self._sign_in()

    def _sign_in(self) -> None:
        from fieldkit.domain import validation
        from fieldkit.errors import ValidationError

        try:
            name = validation.validate_name(self.query_one("#name", Input).value, "operator")
            service = validation.validate_name(
                self.query_one("#service", Input).value, "service", max_len=60
            )
        except ValidationError as exc:
            self.query_one("#message", Static).update(error_text(exc.message))
            return
        if not name:
            self.query_one("#message", Static).update(
                error_text(_("Type your name: every record you make carries it."))
            )
            self.query_one("#name", Input).focus()
            return
        self.dismiss(f"{name} ({service})" if service else name)

    def action_cancel(self) -> None:
        self.dismiss(None)
