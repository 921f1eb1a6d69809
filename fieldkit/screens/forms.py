"""Dialogs that save through a service: the typed values stay on screen when a service refuses.

``EditDialog`` shows a few fields (one-line inputs, check boxes, multi-line areas, choices); Enter
moves to the next field and saves on the last one, Ctrl+S saves from anywhere, Escape cancels.
``submit(values, confirmed)`` validates and writes; a ``FieldkitError`` is shown in the dialog
(one sentence) and nothing typed is lost; ``NeedsConfirmation`` asks for a second save.

``ConfirmDialog`` asks for an explicit yes: only its confirm key (or button) returns True;
Escape, Enter or anything else never confirms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static, TextArea

from fieldkit.errors import FieldkitError, NeedsConfirmation
from fieldkit.i18n import _
from fieldkit.screens.common import error_text


@dataclass(frozen=True)
class Field:
    """One field of a dialog. ``kind``: text, check, area or choice (``choices``: label, value)."""

    key: str
    label: str
    value: Any = ""
    kind: str = "text"
    max_length: int = 500
    choices: list[tuple[str, str]] = field(default_factory=list)


Submit = Callable[[dict[str, Any], bool], Any]


class EditDialog(ModalScreen[Any]):
    """Returns what ``submit`` returned, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", _("Cancel")),
        Binding("ctrl+s", "save", _("Save")),
    ]

    def __init__(
        self,
        title: str | Text,
        fields: list[Field],
        submit: Submit,
        *,
        intro: Text | None = None,
        save_label: str | None = None,
        threaded: bool = False,
    ) -> None:
        super().__init__()
        self.title_text = title if isinstance(title, Text) else Text(title, style="bold")
        self.fields = fields
        self.submit = submit
        self.intro = intro
        self.save_label = save_label or _("Save")
        self.threaded = threaded
        self.confirm_pending = False
        self.busy = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label(self.title_text)
            if self.intro is not None:
                yield Static(self.intro, classes="intro")
            for spec in self.fields:
                widget_id = f"f-{spec.key}"
                if spec.kind == "area":  # label above, several lines below
                    yield Label(Text(spec.label))
                    area = TextArea(str(spec.value or ""), id=widget_id, soft_wrap=True)
                    area.show_line_numbers = False
                    yield area
                    continue
                # One line per field (label, then the field): a whole form fits in 80x24.
                with Horizontal(classes="field"):
                    yield Label(Text(spec.label), classes="field-label")
                    if spec.kind == "check":
                        yield Checkbox(_("yes"), bool(spec.value), id=widget_id, compact=True)
                    elif spec.kind == "choice":
                        yield Select(
                            [(Text(label), value) for label, value in spec.choices],
                            value=spec.value or spec.choices[0][1],
                            allow_blank=False,
                            id=widget_id,
                            compact=True,
                        )
                    else:
                        yield Input(
                            str(spec.value or ""),
                            id=widget_id,
                            max_length=spec.max_length,
                            compact=True,
                        )
            yield Static(id="dialog-message")
            yield Static(
                Text(
                    _("Enter: next field, saves on the last · Ctrl+S {save} · Esc cancel").format(
                        save=self.save_label
                    ),
                    style="dim",
                )
            )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        first = self.query(f"#f-{self.fields[0].key}").first()
        first.focus()

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for spec in self.fields:
            widget = self.query_one(f"#f-{spec.key}")
            if isinstance(widget, Checkbox):
                values[spec.key] = widget.value
            elif isinstance(widget, TextArea):
                values[spec.key] = widget.text
            elif isinstance(widget, (Select, Input)):
                values[spec.key] = widget.value
        return values

    def say(self, text: Text) -> None:
        self.query_one("#dialog-message", Static).update(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = [w for w in self.query("Input, TextArea, Checkbox, Select")]
        if inputs and event.input is inputs[-1]:
            self.action_save()
        else:
            self.focus_next()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.confirm_pending = False

    def action_save(self) -> None:
        if self.busy:
            return
        values = self.values()
        if self.threaded:
            self.busy = True
            self.say(Text(_("Working…")))
            self.run_worker(lambda: self._submit_in_thread(values), thread=True)
        else:
            self._finish(*self._run(values))

    def _run(self, values: dict[str, Any]) -> tuple[bool, Any]:
        try:
            return True, self.submit(values, self.confirm_pending)
        except NeedsConfirmation as exc:
            return False, ("confirm", exc.message)
        except FieldkitError as exc:
            return False, ("error", exc.message)

    def _submit_in_thread(self, values: dict[str, Any]) -> None:
        outcome = self._run(values)
        self.app.call_from_thread(self._finish, *outcome)

    def _finish(self, ok: bool, result: Any) -> None:
        self.busy = False
        if ok:
            self.dismiss(result)
            return
        kind, message = result
        if kind == "confirm":
            self.confirm_pending = True
            self.say(Text(message + " " + _("Save again to confirm."), style="bold yellow"))
        else:
            self.confirm_pending = False
            self.say(error_text(message))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A question that only its confirm key answers yes; Escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", _("Cancel")),
        Binding("c", "confirm", _("Confirm")),
    ]

    def __init__(self, title: str, body: Any) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text, style="bold"))
            yield Static(self.body, id="confirm-body")
            yield Static(
                Text(_("c confirm · Esc cancel (nothing is recorded)"), style="bold"),
                id="confirm-keys",
            )
            with Horizontal(classes="buttons"):
                confirm = Button(_("Confirm (c)"), variant="error", id="confirm")
                cancel = Button(_("Cancel (Esc)"), id="cancel")
                # Keys only: a stray Enter never presses a focused button.
                confirm.can_focus = False
                cancel.can_focus = False
                yield confirm
                yield cancel
        yield Footer(compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
