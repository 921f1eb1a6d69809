"""PMA: counting victims. Scan or type a number, one key for the category, Enter."""

from __future__ import annotations

import re
import time
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, Static

from fieldkit.domain import validation
from fieldkit.domain.triage import KEYS, REFINEMENTS, Category
from fieldkit.errors import FieldkitError, NeedsConfirmation
from fieldkit.i18n import _
from fieldkit.screens.common import (
    StatusLine,
    category_badge,
    category_keys_help,
    count_summary,
    error_text,
    ok_text,
    person_label,
)
from fieldkit.screens.forms import ConfirmDialog
from fieldkit.screens.home import PersonRows, StationHome, person_columns
from fieldkit.screens.person import PersonScreen
from fieldkit.screens.person_list import VirtualList
from fieldkit.services import persons
from fieldkit.services.station import bracelet_ranges, number_format
from fieldkit.store import queries
from fieldkit.store.store import Store

# The home's letter keys (identity, evacuate, re-triage, bilan): numbers hold letters, so these act
# only while the number field is empty; typed after the first character they are part of the number.
ACTION_KEYS = frozenset("ietb")
# A scan may carry a prefix or a URL ("NF399:FR...", "https://host/v/FR..."): once one of these is
# in the field, "/" is part of the scan; before, "/" (never in a number) opens the filter.
SCAN_WRAPPERS = frozenset(":/=")


class NumberInput(Input):
    """The victim number field. A category key typed after a complete number picks the category
    instead of being appended (numbers end in digits, so we tell them apart by the format).
    ``/``, and the letter keys while the field is empty, are left to the screen's bindings."""

    class CategoryKey(Message):
        def __init__(self, category: Category) -> None:
            super().__init__()
            self.category = category

    def __init__(self, fmt: validation.NumberFormat, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fmt = fmt
        self.awaiting_category = False
        self._pattern = re.compile(fmt.pattern)

    def is_complete(self, text: str) -> bool:
        return bool(text) and self._pattern.fullmatch(validation.normalize_scan(text)) is not None

    def is_action_key(self, character: str | None) -> bool:
        if character == "/":
            return not SCAN_WRAPPERS.intersection(self.value)
        return character in ACTION_KEYS and not self.value

    def check_consume_key(self, key: str, character: str | None) -> bool:
        # What the footer shows and which bindings run follow the same rule as the typing below.
        if self.is_action_key(character):
            return False
        return super().check_consume_key(key, character)

    async def _on_key(self, event: events.Key) -> None:
        key = event.character
        if self.is_action_key(key):
            event.prevent_default()  # not typed; the key goes on to the screen's bindings
            return
        if key in KEYS and (
            self.awaiting_category
            or (self.is_complete(self.value) and not self.is_complete(self.value + key))
        ):
            event.stop()
            event.prevent_default()
            self.post_message(self.CategoryKey(KEYS[key]))
            return
        await super()._on_key(event)


class HomeScreen(StationHome):
    """The PMA counting screen."""

    BINDINGS = [
        Binding("slash", "filter", _("Filter"), key_display="/"),
        Binding("i", "identity", _("Identity")),
        Binding("e", "evacuate", _("Evacuate")),
        Binding("t", "retriage", _("Re-triage")),
        Binding("b", "bilan", _("Bilan")),
        Binding("escape", "back_to_number", _("Number"), show=False),
    ]

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.fmt = number_format(store)
        self.ranges = bracelet_ranges(store)
        self.category: Category | None = None
        self.confirm_number: str | None = None
        self.last_person_id: str | None = None  # counted or opened last: what i, e, t act on
        self._number_was_empty = True
        self._bilan_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield self.title_bar()
        with Horizontal(id="countbar"):
            yield Label(_("Victim no."), id="number-label")
            yield NumberInput(
                self.fmt,
                id="number",
                max_length=200,
                select_on_focus=False,
                placeholder=_("e.g. {example}").format(example=self.fmt.example),
            )
            yield Static(id="choice")
        yield Static(Text(category_keys_help() + "   ⏎ " + _("count")), id="keys-help")
        yield Static(id="message")
        yield Static(id="bilan")
        yield Input(placeholder=_("filter: number, name or category"), id="filter")
        yield VirtualList(person_columns(), PersonRows(self.store), id="persons")
        yield StatusLine(id="status")
        # Compact, without the palette hint: every PMA key fits in 80 columns (Ctrl+P still works).
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.number.focus()

    @property
    def number(self) -> NumberInput:
        return self.query_one("#number", NumberInput)

    def say(self, text: Text) -> None:
        self.query_one("#message", Static).update(text)

    # -- counting --------------------------------------------------------------------------
    def on_number_input_category_key(self, message: NumberInput.CategoryKey) -> None:
        self.category = message.category
        self.query_one("#choice", Static).update(category_badge(message.category.value))
        if self.number.awaiting_category:
            self.say(Text(_("Enter to count.")))

    @on(Input.Changed, "#number")
    def _number_changed(self, event: Input.Changed) -> None:
        if not event.value:
            self._reset_choice()
        self.number.awaiting_category = False
        self.confirm_number = None
        if self._number_was_empty != (not event.value):
            self._number_was_empty = not event.value
            self.refresh_bindings()  # the letter keys show in the footer only when they act

    def _reset_choice(self) -> None:
        self.category = None
        self.query_one("#choice", Static).update("")

    @on(Input.Submitted, "#number")
    def _number_submitted(self, event: Input.Submitted) -> None:
        self.submit_number(event.value)

    def submit_number(self, raw: str) -> None:
        if not raw.strip():
            return
        try:  # the shape first; the bracelet ranges only matter for a number not yet counted
            number = validation.validate_nf399(raw, self.fmt)
        except FieldkitError as exc:
            self.say(error_text(exc.message))
            return
        with self.store.lock:
            binding = queries.number_binding(self.store.db, number)
        if binding.live is not None:
            self._clear_number()
            self.say(
                Text(_("{number} is already counted: its record is open.").format(number=number))
            )
            self.open_person(binding.live["id"])
            return
        if binding.kept is not None:  # a duplicate merged at the CIAV: the bracelet is the kept's
            self._clear_number()
            self.say(
                Text(
                    _(
                        "{number} was merged into the record of {person}: that record is open;"
                        " if this is someone else, put a new bracelet on them."
                    ).format(number=number, person=person_label(binding.kept)),
                    style="bold yellow",
                )
            )
            self.open_person(binding.kept["id"])
            return
        try:
            validation.validate_nf399(
                raw, self.fmt, self.ranges, confirmed_outside=self.confirm_number is not None
            )
        except NeedsConfirmation as exc:
            self.confirm_number = raw
            self.say(Text(exc.message + " " + _("Enter again to confirm."), style="bold yellow"))
            return
        if self.category is None:
            self.number.awaiting_category = True
            self.say(
                Text(
                    _("Category for {number}?").format(number=number) + "  " + category_keys_help(),
                    style="bold",
                )
            )
            return
        started = time.perf_counter()
        try:
            with self.store.lock:  # the service's reads and its write, atomic for the agent
                counted = persons.count_person(
                    self.store,
                    self.operator,
                    persons.PersonInput(nf399=number, category=self.category.value),
                    confirmed_outside=True,
                )
        except FieldkitError as exc:
            self.say(error_text(exc.message))
            return
        self.last_count_ms = (time.perf_counter() - started) * 1000
        self.last_person_id = counted.person_id
        category = self.category
        self._clear_number()
        self.say(
            Text.assemble(
                ok_text(_("Counted {number}").format(number=number)), " ", category_badge(category)
            )
        )
        self.query_one(VirtualList).reload()
        self._bilan_soon()

    def _bilan_soon(self) -> None:
        """Refresh the bilan and the status line just after a burst of counting, not inline."""
        if self._bilan_timer is not None:
            self._bilan_timer.stop()
        self._bilan_timer = self.set_timer(0.3, self._refresh_after_count)

    def _refresh_after_count(self) -> None:
        self.refresh_bilan()
        self.refresh_status()

    def _clear_number(self) -> None:
        self.number.value = ""
        self.number.awaiting_category = False
        self.confirm_number = None
        self._reset_choice()
        self.number.focus()

    # -- scanning anywhere -----------------------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        """A scanner types into whatever has focus: send printable keys to the number field."""
        focused = self.focused
        if isinstance(focused, Input) or not event.is_printable or event.character is None:
            return
        if (event.character == "/" or event.character in ACTION_KEYS) and isinstance(
            focused, VirtualList
        ):
            return  # list bindings
        self.number.focus()
        self.number.insert_text_at_cursor(event.character)
        event.stop()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget is self.query_one("#filter", Input):
            return
        filter_input = self.query_one("#filter", Input)
        if not filter_input.value:
            filter_input.display = False

    # -- list and person -------------------------------------------------------------------
    def record_screen(self, person_id: str) -> PersonScreen:
        return PmaRecord(self.store, person_id, self.operator)

    def open_person(self, person_id: str, action: str | None = None) -> None:
        self.last_person_id = person_id
        super().open_person(person_id, action)

    def say_closing(self, text: Text) -> None:
        self.last_person_id = None  # the record voided: i, e, t no longer act on it
        self.say(text)

    def after_person_closed(self) -> None:
        self.number.focus()

    def _act(self, action: str) -> None:
        """On the list: the highlighted person. From the (empty) number field: the person counted
        or opened last; with none yet, the list takes the focus to choose one."""
        listing = self.query_one(VirtualList)
        if self.focused is listing:
            row = listing.row(listing.cursor)
            if row is not None:
                self.open_person(row["id"], action)
            return
        if self.last_person_id is not None:
            with self.store.lock:
                last = queries.person(self.store.db, self.last_person_id)
            known = last is not None and not last["deleted"]  # voided here or elsewhere: gone
            if known:
                self.open_person(self.last_person_id, action)
                return
        if listing.row_count:
            listing.focus()
            self.say(Text(_("Choose the person in the list (↑ ↓), then press the key again.")))
        else:
            self.say(Text(_("No one is counted yet: scan a bracelet first.")))

    def action_identity(self) -> None:
        self._act("identity")

    def action_evacuate(self) -> None:
        self._act("evacuate")

    def action_retriage(self) -> None:
        self._act("retriage")

    def action_bilan(self) -> None:
        def closed(typed: str | None) -> None:
            if typed:  # a scan started while the bilan was open: it goes on in the number field
                self.number.focus()
                self.number.insert_text_at_cursor(typed)

        with self.store.lock:
            counts = queries.bilan(self.store.db)
        self.app.push_screen(BilanDialog(counts, self.store.meta.get("station_name", "")), closed)

    def action_filter(self) -> None:
        filter_input = self.query_one("#filter", Input)
        filter_input.display = True
        filter_input.focus()

    @on(Input.Submitted, "#filter")
    def _filter_scan(self, event: Input.Submitted) -> None:
        """A whole victim number ended by Enter in the filter is a scan: it is taken as if it had
        been scanned into the number field (counted, or its record opened)."""
        if not self.number.is_complete(event.value):
            return  # a filter: the list takes the focus (StationHome)
        event.prevent_default()
        event.stop()
        event.input.value = ""
        event.input.display = False
        self._apply_filter()
        self.number.value = event.value
        self.number.cursor_position = len(event.value)
        self.number.focus()
        self.submit_number(event.value)

    def action_back_to_number(self) -> None:
        """Escape: from the number field, clear it; from the list or the filter, back to the
        number field (an unfinished number stays)."""
        filter_input = self.query_one("#filter", Input)
        if filter_input.value:
            filter_input.value = ""
            self._apply_filter()
        filter_input.display = False
        if self.focused is self.number:
            self._clear_number()
            self.say(Text())  # a warning about the number cleared goes with it
        else:
            self.number.focus()

    def key_down(self) -> None:
        if self.focused is self.number:
            self.query_one(VirtualList).focus()


class PmaRecord(PersonScreen):
    """The PMA's person record: the follow-ups, and Delete (Suppr) to void a count made by
    mistake (a mistyped number, a spare bracelet scanned), behind a confirmation."""

    BINDINGS = [Binding("delete", "void", _("Void count"), key_display=_("Del"))]

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Footer(compact=True, show_command_palette=False)

    def keys_hint(self) -> str:
        return _(
            "t re-triage · i identity · x X description · e evacuation · Del void the count"
            " · Esc close"
        )

    def say(self, text: Text) -> None:
        self.query_one("#message", Static).update(text)

    def action_void(self) -> None:
        try:  # what would be refused is said at once, without a dialog
            with self.store.lock:
                refusal = persons.void_refusal(self.store, self.person_id)
        except FieldkitError as exc:
            refusal = exc.message
        if refusal is not None:
            self.say(error_text(refusal))
            return
        row = self.row
        shown = person_label(row)
        body = count_summary(row)
        if row.get("destination"):
            body.add_row(_("Destination"), Text(str(row["destination"])))
        explained = Text(
            "\n"
            + _(
                "The record leaves the count and the list, here and at the CIAV once synced;"
                " nothing is destroyed: the CIAV can restore it."
            )
            + "\n"
            + _("Recorded in your name ({operator}).").format(operator=self.operator)
        )
        question = Table.grid()
        question.add_row(body)
        question.add_row(explained)
        operator = self.operator

        def answered(confirmed: bool | None) -> None:
            if not confirmed:
                self.say(Text(_("Kept: nothing recorded."), style="bold"))
                return
            try:
                with self.store.lock:
                    persons.void_count(self.store, operator, self.person_id)
            except FieldkitError as exc:
                self.say(error_text(exc.message))
                return
            self.changed = True
            self.closing_message = ok_text(
                _("Count of {person} voided: it left the count and the list.").format(person=shown)
            )
            self.dismiss(True)

        self.app.push_screen(
            ConfirmDialog(
                _("Void the count of this person?"),
                question,
                confirm_label=_("Void (c)"),
                keys_help=_("c void the count · Esc keep it (nothing is recorded)"),
            ),
            answered,
        )


class BilanDialog(ModalScreen[str | None]):
    """The station's bilan in full: by category (with refinements), site and destination.

    Escape or ``b`` closes it; any other typed character closes it too and is handed back, so a
    scan arriving while it is open still lands in the number field."""

    BINDINGS = [
        Binding("escape", "close", _("Close")),
        Binding("b", "close", show=False),
    ]

    def __init__(self, counts: queries.Bilan, station: str) -> None:
        super().__init__()
        self.counts = counts
        self.station = station

    def compose(self) -> ComposeResult:
        counts = self.counts
        with VerticalScroll(classes="dialog"):
            yield Label(
                Text(_("Bilan") + f" · {self.station} · {time.strftime('%H:%M')}", style="bold")
            )
            table = Table.grid(padding=(0, 2))
            table.add_column()
            table.add_column(justify="right")
            table.add_row(Text(_("Total: {total}").format(total=counts.total), style="bold"), "")
            table.add_row(Text(_("By category"), style="bold"), "")
            for category in Category:
                refinements = [
                    f"{name} {n}"
                    for name, n in counts.by_refinement.items()
                    if name in REFINEMENTS.get(category, ())
                ]
                label = category_badge(category.value)
                if refinements:
                    label.append(" (" + ", ".join(refinements) + ")")
                table.add_row(label, str(counts.by_category.get(category.value, 0)))
            table.add_row(_("evacuated {n}").format(n=counts.evacuated), "")
            for title, group in (
                (_("By site"), counts.by_site),
                (_("By destination"), counts.by_destination),
            ):
                if group:
                    table.add_row(Text(title, style="bold"), "")
                    for name, n in group.items():
                        table.add_row(Text(f"  {name}"), str(n))
            yield Static(table, id="bilan-table")
            yield Static(Text(_("Esc or b close"), style="dim"))
        yield Footer(compact=True)

    def on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character and event.character != "b":
            event.stop()
            self.dismiss(event.character)

    def action_close(self) -> None:
        self.dismiss(None)
