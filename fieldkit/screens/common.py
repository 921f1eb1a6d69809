"""Pieces shared by every screen: triage badges, the status line, small dialogs.

User data is never interpreted as markup: it always goes into ``rich.text.Text`` objects or
``Content`` built from plain strings, never into markup strings.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from fieldkit.domain.hlc import wall_seconds
from fieldkit.domain.triage import KEYS, LABELS, Category
from fieldkit.i18n import _, current_language

# Colour and letters together: colour-blind users and monochrome screens lose nothing.
CATEGORY_STYLE: dict[str, str] = {
    "UA": "bold white on red",
    "UR": "bold black on yellow",
    "IMPLIQUE": "bold black on green",
    "DCD": "bold white on grey30",
}


def plural(count: int, one: str, other: str) -> str:
    """The singular or plural message for ``count``, by the rule of the interface's language:
    French uses the singular for 0 and 1 ("0 personne vue"), English only for 1."""
    singular = count in (0, 1) if current_language() == "fr" else count == 1
    return one if singular else other


def shown(value: Any) -> str:
    """A stored value as screen text: a number (stored by a station before the hub checked
    values) as its digits, a control character (an escape sequence) as U+FFFD."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else "\ufffd" for ch in text)


def category_label(category: str | None) -> str:
    if not category:
        return "—"
    try:
        return _(LABELS[Category(category)])
    except ValueError:
        return shown(category)  # a category no station writes: shown as it is


def category_keys_help() -> str:
    """``1 UA   2 UR   3 Impliqué   4 DCD``: the category keys, as the screens show them."""
    return "   ".join(f"{key} {_(LABELS[cat])}" for key, cat in KEYS.items())


def category_badge(category: str | None, refinement: str | None = None) -> Text:
    """``[UA]`` in its colour; the letters carry the meaning without the colour."""
    label = category_label(category)
    if refinement:
        label = f"{label} {shown(refinement)}"
    style = CATEGORY_STYLE.get(category, "") if isinstance(category, str) else ""
    return Text(f"[{label}]", style=style)


def identity_text(row: dict[str, Any]) -> str:
    """How a person is named on screen: FAMILY Given, or X and a few words of description."""
    family = shown(row.get("family_name") or "")
    given = shown(row.get("given_names") or "")
    if family or given:
        return f"{family.upper()} {given}".strip()
    description = row.get("x_description")
    if isinstance(description, str) and description:
        try:
            parts = json.loads(description)
        except ValueError:
            parts = {}
        if not isinstance(parts, dict):
            parts = {}
        words = [shown(v) for v in parts.values() if v][:3]
        return " · ".join(["X", *words])
    return "X"


def local_time(hlc: int | None) -> str:
    """HH:MM:SS in the laptop's local time, from a change's hybrid clock."""
    if not hlc:
        return "—"
    return time.strftime("%H:%M:%S", time.localtime(wall_seconds(hlc)))


def number_tail(number: str | None, width: int = 9) -> str:
    if not number:
        return _("no number")
    number = shown(number)
    return number if len(number) <= width else "…" + number[-(width - 1) :]


@dataclass
class SyncState:
    """What the status line shows about synchronisation."""

    online: bool = False
    waiting: int = 0
    last_sync: float | None = None
    configured: bool = False

    def describe(self, now: float | None = None) -> str:
        if self.online and self.last_sync is not None:
            seconds = int((now or time.time()) - self.last_sync)
            return _("synced {seconds} s ago").format(seconds=max(seconds, 0))
        if self.online:
            return _("online · {waiting} waiting").format(waiting=self.waiting)
        return _("offline · {waiting} waiting").format(waiting=self.waiting)


class SyncView(Protocol):
    """What the status line needs from a sync status (the agent's ``SyncStatus`` is one)."""

    @property
    def online(self) -> bool: ...

    def describe(self, now: float | None = None) -> str: ...


class StatusLine(Static):
    """Station · role · operator · sync state, always visible above the key bindings."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    _shown: tuple[str, str, str, str, bool] | None = None

    def show(self, station: str, role: str, operator: str, sync: SyncView) -> None:
        self._shown = (station, role, operator, sync.describe(), sync.online)
        self.update(self._line(self.content_region.width))

    def render(self) -> Any:
        # Laid out at draw time, at the real width (the first show() may come before layout).
        if self._shown is None:
            return super().render()
        return self._line(self.content_region.width)

    def _line(self, room: int) -> Text:
        assert self._shown is not None
        station, role, operator, state, online = self._shown
        if operator and room:
            # The sync state always shows whole: a long operator name gives way.
            spare = room - len(f"{station} · {role.upper()} ·  · {state}")
            if spare < len(operator):
                operator = operator[: max(spare - 1, 0)] + "…" if spare > 1 else ""
        text = Text()
        text.append(f"{station} · {role.upper()}", style="bold")
        text.append(f" · {operator}" if operator else "")
        text.append(" · ")
        text.append(state, style="bold" if not online else "")
        return text


def person_label(row: dict[str, Any]) -> str:
    """How a person is named in a message or a dialog: name (or X) and number."""
    number = row.get("nf399")
    shown = identity_text(row)
    return f"{shown} ({number})" if number else shown


def yes_no(value: Any) -> str:
    return _("yes") if value else "—"


def error_text(message: str) -> Text:
    return Text(message, style="bold red")


def ok_text(message: str) -> Text:
    return Text(message, style="bold green")


class StationPicker(ModalScreen[str | None]):
    """Choose one of the stations running in this process (the demo): Enter opens it."""

    BINDINGS = [Binding("escape", "cancel", _("Cancel"))]

    def __init__(self, rows: list[tuple[str, str, str]], current: str) -> None:
        super().__init__()
        self.rows = rows  # (station name, role, sync state)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(_("Open the screen of another station"), style="bold"))
            options = []
            for name, role, state in self.rows:
                label = Text(f"{name:<10} {role:<7} ", style="bold" if name == self.current else "")
                label.append(state, style="italic")
                options.append(Option(label, id=name))
            yield OptionList(*options, id="stations-list")
            yield Static(Text(_("Enter: open · Escape: stay here"), style="italic"))

    def on_mount(self) -> None:
        picker = self.query_one(OptionList)
        names = [name for name, _role, _state in self.rows]
        picker.highlighted = names.index(self.current) if self.current in names else 0
        picker.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def count_summary(row: dict[str, Any]) -> Table:
    """A counted person as the void and restore dialogs name them: identity, number, category,
    when and by whom counted (the caller adds its own lines)."""
    body = Table.grid(padding=(0, 2))
    body.add_column(style="bold")
    body.add_column()
    body.add_row(_("Person"), Text(identity_text(row)))
    body.add_row(_("Victim number"), Text(row.get("nf399") or _("no number")))
    body.add_row(_("Category"), category_badge(row.get("category"), row.get("refinement")))
    body.add_row(
        _("Counted"),
        Text(f"{local_time(row.get('created_hlc'))} · {row.get('created_by') or ''}"),
    )
    return body
