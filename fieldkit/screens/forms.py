"""Dialogs that save through a service: the typed values stay on screen when a service refuses.

``EditDialog`` shows a few fields (one-line inputs, check boxes, multi-line areas, choices); Enter
moves to the next field and saves on the last one, Space ticks a box, Ctrl+S saves from anywhere,
Escape cancels. ``submit(values, confirmed)`` validates and writes; a ``FieldkitError`` is shown
above the fields (one sentence, always on screen, the field in fault focused) and nothing typed is
lost; ``NeedsConfirmation`` asks for a second save. With ``review``, saving first shows a
``ConfirmDialog`` of exactly what will be written (a signature): only its confirm key writes,
Escape goes back to the form as it was.

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
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
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
Review = Callable[[dict[str, Any]], "ConfirmDialog"]


class CheckField(Checkbox, inherit_bindings=False):
    """A check box for forms: Space ticks it, Enter moves on like in the other fields, and the
    state shows as ``[x] yes`` / ``[ ] no``, not only as a colour."""

    BINDINGS = [
        Binding("space", "toggle_button", _("Tick"), show=False),
        Binding("enter", "submit", show=False),
    ]

    class Submitted(Message):
        """Enter on the box: the form moves to the next field (or saves on the last)."""

        def __init__(self, check: CheckField) -> None:
            super().__init__()
            self.check = check

    def __init__(self, value: bool, **kwargs: Any) -> None:
        super().__init__(self._state_label(value), value, **kwargs)

    @staticmethod
    def _state_label(value: bool) -> str:
        return _("yes") if value else _("no")

    @property
    def _button(self) -> Content:
        box = "[x]" if self.value else "[ ]"
        return Content.styled(box, self.get_visual_style("toggle--button"))

    def watch_value(self) -> None:
        super().watch_value()
        if hasattr(self, "_label"):  # not while the base class is still being built
            self.label = self._state_label(self.value)

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self))


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
        review: Review | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title if isinstance(title, Text) else Text(title, style="bold")
        self.fields = fields
        self.submit = submit
        self.intro = intro
        self.save_label = save_label or _("Save")
        self.threaded = threaded
        self.review = review
        self.confirm_pending = False
        self.busy = False

    def compose(self) -> ComposeResult:
        # Title and message stay put above the fields, which scroll: a refusal is always on screen.
        with Vertical(classes="dialog edit-form"):
            yield Label(self.title_text)
            yield Static(id="dialog-message")
            with VerticalScroll(id="dialog-fields"):
                if self.intro is not None:
                    yield Static(self.intro, classes="intro")
                for spec in self.fields:
                    yield from self._field(spec)
            yield Static(self._hint(), id="dialog-hint")
        yield Footer(compact=True)

    def _field(self, spec: Field) -> ComposeResult:
        widget_id = f"f-{spec.key}"
        if spec.kind == "area":  # label above, several lines below
            yield Label(Text(spec.label))
            area = TextArea(str(spec.value or ""), id=widget_id, soft_wrap=True)
            area.show_line_numbers = False
            yield area
            return
        # One line per field (label, then the field): a whole form fits in 80x24.
        with Horizontal(classes="field"):
            yield Label(Text(spec.label), classes="field-label")
            if spec.kind == "check":
                yield CheckField(bool(spec.value), id=widget_id, compact=True)
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

    def _hint(self) -> Text:
        if self.review is not None:
            hint = _("Enter: next field · Ctrl+S {save}: check, then confirm · Esc cancel")
        else:
            hint = _("Enter: next field, saves on the last · Ctrl+S {save} · Esc cancel")
        text = hint.format(save=self.save_label)
        if any(spec.kind == "check" for spec in self.fields):
            text += " · " + _("Space ticks a box")
        return Text(text, style="dim")

    def on_mount(self) -> None:
        self.say(Text())
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
        message = self.query_one("#dialog-message", Static)
        message.update(text)
        message.display = bool(text.plain)

    def _next_or_save(self, widget: Widget) -> None:
        fields = list(self.query("Input, TextArea, Checkbox, Select"))
        if fields and widget is fields[-1]:
            self.action_save()
        else:
            self.focus_next()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._next_or_save(event.input)

    def on_check_field_submitted(self, event: CheckField.Submitted) -> None:
        event.stop()
        self._next_or_save(event.check)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.confirm_pending = False

    def action_save(self) -> None:
        if self.busy:
            return
        values = self.values()
        if self.review is not None:
            try:
                review = self.review(values)
            except FieldkitError as exc:
                self._finish(False, ("error", exc.message, exc.field))
                return

            def reviewed(confirmed: bool | None) -> None:
                if confirmed:
                    self._write(values)
                else:
                    self.say(Text(_("Nothing recorded: the form is as you left it."), style="bold"))

            self.app.push_screen(review, reviewed)
            return
        self._write(values)

    def _write(self, values: dict[str, Any]) -> None:
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
            return False, ("confirm", exc.message, exc.field)
        except FieldkitError as exc:
            return False, ("error", exc.message, exc.field)

    def _submit_in_thread(self, values: dict[str, Any]) -> None:
        outcome = self._run(values)
        self.app.call_from_thread(self._finish, *outcome)

    def _finish(self, ok: bool, result: Any) -> None:
        self.busy = False
        if ok:
            self.dismiss(result)
            return
        kind, message, field_key = result
        if kind == "confirm":
            self.confirm_pending = True
            self.say(Text(message + " " + _("Save again to confirm."), style="bold yellow"))
        else:
            self.confirm_pending = False
            self.say(error_text(message))
        # The field at fault comes into view with the focus, ready to be corrected.
        wrong = self.query(f"#f-{field_key}") if field_key else None
        if wrong:
            wrong.first().focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A question that only its confirm key answers yes; Escape cancels.

    The body scrolls (arrows, Page Down) when it is longer than the screen; the keys stay in view.
    """

    BINDINGS = [
        Binding("escape", "cancel", _("Cancel")),
        Binding("c", "confirm", _("Confirm")),
    ]

    def __init__(
        self,
        title: str,
        body: Any,
        *,
        confirm_label: str | None = None,
        keys_help: str | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label or _("Confirm (c)")
        self.keys_help = keys_help or _("c confirm · Esc cancel (nothing is recorded)")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text, style="bold"))
            with VerticalScroll(id="confirm-scroll"):
                yield Static(self.body, id="confirm-body")
            yield Static(Text(self.keys_help, style="bold"), id="confirm-keys")
            with Horizontal(classes="buttons"):
                confirm = Button(self.confirm_label, variant="error", id="confirm")
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
