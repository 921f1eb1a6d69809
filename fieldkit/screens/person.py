"""A person's record: details, triage history, and the follow-ups (re-triage, identity, X
description, evacuation). Shared by every role that may see persons."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from fieldkit.domain.triage import KEYS, REFINEMENTS, Category
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.screens.common import (
    category_badge,
    category_keys_help,
    error_text,
    identity_text,
    local_time,
    ok_text,
    person_label,
)
from fieldkit.screens.forms import EditDialog, Field
from fieldkit.services import persons
from fieldkit.store import queries
from fieldkit.store.store import Store


class PersonScreen(ModalScreen[bool]):
    """Returns True when something was changed (the caller refreshes its list)."""

    BINDINGS = [
        Binding("escape", "close", _("Close")),
        Binding("t", "retriage", _("Re-triage")),
        Binding("i", "identity", _("Identity")),
        Binding("x", "describe", _("X description")),
        Binding("e", "evacuate", _("Evacuation")),
    ]

    def __init__(self, store: Store, person_id: str, operator: str) -> None:
        super().__init__()
        self.store = store
        self.person_id = person_id
        self.operator = operator
        self.changed = False
        self.closing_message: Text | None = None  # shown by the home as the record closes

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide"):
            yield Static(id="summary")
            yield Static(id="history")
            yield Static(id="message")
            yield Static(Text(self.keys_hint(), style="dim"), id="record-keys")

    def keys_hint(self) -> str:
        return _("t re-triage · i identity · x X description · e evacuation · Esc close")

    def on_mount(self) -> None:
        self.refresh_person()

    def refresh_person(self) -> None:
        with self.store.lock:
            row = queries.person(self.store.db, self.person_id)
            history_rows = queries.triage_history(self.store.db, self.person_id)
        if row is None:
            self.dismiss(self.changed)
            return
        self.row = row
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row(_("Victim number"), Text(row.get("nf399") or _("no number")))
        table.add_row(_("Identity"), Text(identity_text(row)))
        table.add_row(_("Category"), category_badge(row.get("category"), row.get("refinement")))
        for key, label in (
            ("sex", _("Sex")),
            ("birth_date", _("Birth date")),
            ("apparent_age", _("Apparent age")),
            ("destination", _("Destination")),
            ("vehicle", _("Vehicle")),
            ("departure_time", _("Departure")),
            ("site", _("Site")),
        ):
            if row.get(key):
                table.add_row(label, Text(str(row[key])))
        if row.get("x_description"):
            described = json.loads(row["x_description"])
            table.add_row(
                _("Description"), Text(" · ".join(f"{k}: {v}" for k, v in described.items()))
            )
        self.query_one("#summary", Static).update(table)
        history = Table(title=_("Triage history"), expand=True)
        history.add_column(_("time"))
        history.add_column(_("cat."))
        history.add_column(_("by"))
        for event in history_rows:
            author = event["author"]
            if event.get("person_id") not in (None, self.person_id):
                author += " · " + _("on a duplicate merged into this record")
            history.add_row(
                Text(local_time(event["hlc"])),
                category_badge(event["category"], event["refinement"]),
                Text(author),
            )
        self.query_one("#history", Static).update(history)

    def _done(self, message: str) -> None:
        self.changed = True
        self.refresh_person()
        self.query_one("#message", Static).update(ok_text(message))

    def action_close(self) -> None:
        self.dismiss(self.changed)

    def action_retriage(self) -> None:
        def chosen(result: tuple[str, str | None] | None) -> None:
            if result is None:
                return
            try:
                with self.store.lock:
                    persons.retriage(self.store, self.operator, self.person_id, *result)
            except FieldkitError as exc:
                self.query_one("#message", Static).update(error_text(exc.message))
                return
            self._done(_("New triage recorded; the history keeps the earlier ones."))

        self.app.push_screen(RetriageDialog(), chosen)

    def _form(
        self,
        title: str,
        fields: list[tuple[str, str]],
        apply: Any,
        current: dict[str, Any] | None = None,
    ) -> None:
        """A form over ``fields``, filled with ``current`` (default: the person's columns).

        A refusal is shown in the form, which stays open with what was typed."""
        store = self.store

        def submit(values: dict[str, Any], _confirmed: bool) -> bool:
            with store.lock:
                apply(values)
            return True

        def saved(result: bool | None) -> None:
            if result:
                self._done(_("Saved."))

        source = self.row if current is None else current
        specs = [Field(k, label, str(source.get(k) or "")) for k, label in fields]
        # The form names the person: it may open straight from the counting screen (i, e).
        self.app.push_screen(
            EditDialog(f"{title} · {person_label(self.row)}", specs, submit), saved
        )

    def action_identity(self) -> None:
        fields = [
            ("family_name", _("Family name")),
            ("given_names", _("Given names")),
            ("sex", _("Sex (F, M, U)")),
            ("birth_date", _("Birth date (YYYY-MM-DD)")),
            ("phone", _("Phone")),
        ]

        self._form(_("Identity"), fields, self._update)

    def action_describe(self) -> None:
        fields = [
            ("sex", _("Sex")),
            ("apparent_age", _("Apparent age")),
            ("build", _("Build")),
            ("hair", _("Hair")),
            ("clothing", _("Clothing")),
            ("jewellery", _("Jewellery")),
            ("tattoos", _("Tattoos")),
            ("scars", _("Scars")),
            ("belongings", _("Belongings")),
        ]

        def apply(values: dict[str, str]) -> None:
            persons.mark_x(
                self.store, self.operator, self.person_id, {k: v for k, v in values.items() if v}
            )

        # The description is rewritten whole: start from the one on record so nothing is lost.
        described = json.loads(self.row["x_description"]) if self.row.get("x_description") else {}
        self._form(_("X description"), fields, apply, described)

    def action_evacuate(self) -> None:
        fields = [
            ("destination", _("Destination (hospital)")),
            ("vehicle", _("Vehicle")),
            ("departure_time", _("Departure time (HH:MM or YYYY-MM-DD HH:MM)")),
        ]

        self._form(_("Evacuation"), fields, self._update)

    def _update(self, values: dict[str, str]) -> None:
        """Identity and evacuation fields go through the same use case (empty means unset)."""
        cleaned: dict[str, Any] = {k: v or None for k, v in values.items()}
        persons.update_person(
            self.store, self.operator, self.person_id, persons.PersonInput(**cleaned)
        )


class RetriageDialog(ModalScreen[tuple[str, str | None] | None]):
    """One key per category, then an optional refinement key."""

    BINDINGS = [Binding("escape", "cancel", _("Cancel"))]

    def __init__(self) -> None:
        super().__init__()
        self.category: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(_("New category"), style="bold"))
            yield Static(
                Text(
                    category_keys_help()
                    + "   ·   "
                    + _("then e EU, 1 U1 (UA) · 2 U2, 3 U3 (UR) · Enter")
                ),
                id="prompt",
            )

    def on_key(self, event: Any) -> None:
        key = event.key
        if self.category is None:
            if key in KEYS:
                self._choose(KEYS[key].value)
                event.stop()
            return
        refinement = {"e": "EU", "1": "U1", "2": "U2", "3": "U3"}.get(key)
        refines = {r.value for r in REFINEMENTS[Category(self.category)]}
        if key == "enter":
            self.dismiss((self.category, None))
            event.stop()
        elif refinement in refines:
            self.dismiss((self.category, refinement))
            event.stop()
        elif key in KEYS:  # not a refinement of this category: a slip, corrected ("4" then "1")
            self._choose(KEYS[key].value)
            event.stop()

    def _choose(self, category: str) -> None:
        self.category = category
        self.query_one("#prompt", Static).update(
            Text.assemble(
                category_badge(category),
                " ",
                _("refinement (optional) then Enter"),
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


class FormDialog(EditDialog):
    """A few text fields; returns their values (Ctrl+S or Enter on the last one), None on Escape."""

    def __init__(self, title: str, fields: list[tuple[str, str]], values: dict[str, str]) -> None:
        super().__init__(
            title,
            [Field(key, label, values.get(key, "")) for key, label in fields],
            lambda typed, _confirmed: {k: str(v) for k, v in typed.items()},
        )
