"""The CIAV console: the bilan and its hours, the stations, conflicts to settle, duplicates.

One screen, as SCREENS.md sketches it. Every decision asks for confirmation in a dialog that says
exactly what will be kept, and is itself a change (it reaches every node). Nothing is destroyed:
``u`` undoes the latest decision on duplicates (a merge, or "not the same person").
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from fieldkit.domain.triage import Category
from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _
from fieldkit.screens.common import (
    StatusLine,
    category_badge,
    count_summary,
    identity_text,
    local_time,
    number_tail,
    person_label,
)
from fieldkit.screens.forms import ConfirmDialog
from fieldkit.screens.home import PersonRows, StationHome, person_columns
from fieldkit.screens.overview import HomeScreen as OverviewScreen
from fieldkit.screens.person_list import Column, VirtualList
from fieldkit.services import audit, bilan_history, ciav, persons
from fieldkit.store import queries


def _now() -> datetime:
    """The time the console shows (tests fix it)."""
    return datetime.now(UTC)


SLOW_SEARCH = 0.1  # seconds: a duplicate search slower than this runs in a thread
REFRESH_EVERY = 5.0  # seconds between refreshes of the console
ONLINE_WITHIN = 30.0  # a station heard within this many seconds is online


def _value_text(item: ciav.Conflict, side: str) -> str:
    if side == item.lifecycle_side:
        if item.kind == "delete_edit":
            return _("record deleted")
        return _("merged into another record")
    value = item.value_a if side == "a" else item.value_b
    if value is None or value == "":
        return _("(empty)")
    if isinstance(value, dict):
        return " · ".join(str(v) for v in value.values() if v)
    return str(value)


def _clock(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M")


def conflict_option(item: ciav.Conflict, stations: dict[str, str]) -> Text:
    text = Text()
    text.append(f"{item.label} · {item.field}\n", style="bold")
    for side in ("a", "b"):
        author = item.author_a if side == "a" else item.author_b
        origin = item.origin_a if side == "a" else item.origin_b
        at = item.at_a if side == "a" else item.at_b
        text.append(f"  {side.upper()} ", style="bold reverse")
        text.append(f" {stations.get(origin, origin[:8])} · {author}: ")
        text.append(_value_text(item, side), style="bold")
        text.append(f" ({_clock(at)})" + ("\n" if side == "a" else ""))
    return text


STAGE_TEXT = {"identified": N_("death identified"), "announced": N_("death announced")}


def duplicate_option(pair: ciav.DuplicatePair) -> Text:
    text = Text()
    for row, sign in ((pair.first, ""), (pair.second, " ≈ ")):
        text.append(sign)
        text.append_text(category_badge(row.get("category")))
        text.append(f" {identity_text(row)} {number_tail(row.get('nf399'))}")
        stage = STAGE_TEXT.get(row.get("death_stage") or "")
        if stage:
            text.append(f" ({_(stage)})", style="bold")
    text.append(f"\n  {pair.reason} · {pair.score} %", style="italic")
    return text


class StationsScreen(ModalScreen[None]):
    """Every enrolled station: role, last heard, changes held, still to pull, version."""

    BINDINGS = [Binding("escape,s,q", "close", _("Back"))]

    def __init__(self, rows: list[ciav.StationRow]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(Text(_("Stations enrolled with this hub"), style="bold"))
            yield DataTable(id="stations", cursor_type="row", zebra_stripes=True)
            yield Static(Text(_("Escape: back"), style="italic"))

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(
            _("station"), _("role"), _("last heard"), _("held"), _("to pull"), _("version")
        )
        now = _now()
        for row in self.rows:
            table.add_row(
                Text(row.name + (" " + _("(relay)") if row.relay else "")),
                Text(row.role),
                Text(_seen_text(row, now)),
                Text(str(row.held)),
                Text("—" if row.to_pull is None else str(row.to_pull)),
                Text("—" if row.version is None else str(row.version)),
            )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)


def _seen_text(row: ciav.StationRow, now: datetime) -> str:
    if row.revoked:
        return _("revoked")
    if row.last_seen is None:
        return _("never")
    seconds = max(0, int((now - row.last_seen).total_seconds()))
    if seconds < ONLINE_WITHIN:
        return _("online")
    if seconds < 3600:
        return _("{n} min ago").format(n=max(1, seconds // 60))
    return _("{n} h ago").format(n=seconds // 3600)


class AuditedReads:
    """Opening a person record here is recorded in the audit trail (who, when, which record)."""

    store: Any
    operator: str

    def open_person(self, person_id: str, action: str | None = None) -> None:
        audit.record_read(self.store, self.operator, person_id, "console")
        super().open_person(person_id, action)  # type: ignore[misc]


class CiavScreen(AuditedReads, StationHome):
    """The console of the CIAV node."""

    BINDINGS = [
        # shown in the titles of the lists they act on, where the eye is (the footer is short)
        Binding("a", "choose('a')", _("Keep A"), show=False),
        Binding("b", "choose('b')", _("Keep B"), show=False),
        Binding("f", "merge", _("Merge"), show=False),
        Binding("n", "dismiss_pair", _("Not the same"), show=False),
        Binding("u", "undo", _("Undo"), show=False),
        Binding("g", "chart_group", _("Chart by")),
        Binding("s", "stations", _("Stations")),
        Binding("p", "persons", _("Persons")),
        Binding("r", "refresh", _("Refresh"), show=False),  # it refreshes itself anyway
    ]

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.conflicts: list[ciav.Conflict] = []
        self.chart_group = bilan_history.GROUPS[0]
        self._duplicates_due = 0.0
        self._duplicates_cost = 0.0
        self._duplicates_running = False
        self.pairs: list[ciav.DuplicatePair] = []
        self.stations: list[ciav.StationRow] = []

    def compose(self) -> ComposeResult:
        yield self.title_bar()
        with Horizontal(id="ciav-top"):
            with Vertical(id="ciav-bilan-box"):
                yield Static(id="bilan")
                yield Static(id="chart")
            yield Static(id="stations-summary")
        with Horizontal(id="ciav-queues"):
            with Vertical(classes="queue"):
                yield Static(id="conflicts-title", classes="queue-title")
                yield OptionList(id="conflicts")
            with Vertical(classes="queue"):
                yield Static(id="duplicates-title", classes="queue-title")
                yield OptionList(id="duplicates")
        yield Static(id="message")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.action_refresh()
        self.set_interval(REFRESH_EVERY, self.action_refresh)
        self.query_one("#conflicts", OptionList).focus()

    # -- refresh ---------------------------------------------------------------------------
    def action_refresh(self) -> None:
        # under the store's lock: the hub (or an agent) may write on this connection meanwhile
        with self.store.lock:
            with contextlib.suppress(FieldkitError):  # the chart waits; the counts stay live
                bilan_history.ensure_hourly(self.store, _now())
            self.refresh_bilan()
            self._refresh_chart()
            self._refresh_stations()
            self._refresh_conflicts()
            if time.monotonic() >= self._duplicates_due:
                self._refresh_duplicates()

    def action_chart_group(self) -> None:
        """The hourly chart by category, then by refinement, site and destination."""
        groups = bilan_history.GROUPS
        self.chart_group = groups[(groups.index(self.chart_group) + 1) % len(groups)]
        with self.store.lock:
            self._refresh_chart()

    def refresh_bilan(self) -> None:
        counts = queries.bilan(self.store.db)
        text = Text(_("Bilan") + f" {_now().astimezone().strftime('%H:%M')}  ", style="bold")
        for category in Category:
            text.append_text(category_badge(category.value))
            text.append(f" {counts.by_category.get(category.value, 0)}")
            refinements = [
                f"{name} {n}"
                for name, n in sorted(counts.by_refinement.items())
                if _refines(name, category)
            ]
            if refinements:
                text.append(" (" + ", ".join(refinements) + ")")
            text.append("  ")
        text.append(_("evacuated {n}").format(n=counts.evacuated))
        text.append("  " + _("total {n}").format(n=counts.total))
        self.query_one("#bilan", Static).update(text)

    def _refresh_chart(self) -> None:
        width = max(40, self.query_one("#chart", Static).size.width or 60)
        lines = bilan_history.render_chart(
            bilan_history.history(self.store, limit=48), group=self.chart_group, width=width
        )
        self.query_one("#chart", Static).update(Text("\n".join(lines)))

    def _refresh_stations(self) -> None:
        self.stations = ciav.station_table(self.store)
        now = _now()
        live = [row for row in self.stations if not row.revoked]
        online = [row for row in live if _seen_text(row, now) == _("online")]
        text = Text(
            _("stations: {online}/{total} online").format(online=len(online), total=len(live)),
            style="bold",
        )
        for row in live:
            if row in online:
                continue
            text.append("\n" + f"{row.name}: {_seen_text(row, now)}")
        if not live:
            text.append("\n" + _("no station enrolled yet (fieldkit hub invite)"))
        self.query_one("#stations-summary", Static).update(text)

    def _station_names(self) -> dict[str, str]:
        return ciav.station_names(self.store)

    def _refresh_conflicts(self) -> None:
        self.conflicts = ciav.conflict_queue(self.store)
        names = self._station_names()
        title = Text(_("Conflicts to settle ({n})").format(n=len(self.conflicts)), style="bold")
        title.append("\n" + _("a/b: keep A/B"), style="not bold")
        self.query_one("#conflicts-title", Static).update(title)
        _fill(
            self.query_one("#conflicts", OptionList),
            [Option(conflict_option(c, names), id=c.conflict_id) for c in self.conflicts],
            _("No conflict to settle."),
        )

    def _refresh_duplicates(self) -> None:
        """The duplicate search reads every named person (0.6 s at 100,000): once it costs more
        than a blink it runs in a thread, less often, and the console stays responsive."""
        if self._duplicates_cost < SLOW_SEARCH:
            self._show_duplicates(*self._search_duplicates())
        elif not self._duplicates_running:
            self._duplicates_running = True
            self._duplicates_due = time.monotonic() + 3600  # until this search reports
            self.run_worker(self._duplicates_in_thread, thread=True, group="duplicates")

    def _search_duplicates(self) -> tuple[list[ciav.DuplicatePair], float]:
        started = time.monotonic()
        with self.store.lock:
            pairs = ciav.duplicate_candidates(self.store)
        return pairs, time.monotonic() - started

    def _duplicates_in_thread(self) -> None:
        try:
            pairs, cost = self._search_duplicates()
        except Exception:  # the next refresh tries again; the queue shown stays as it was
            self.app.call_from_thread(self._search_failed)
            return
        self.app.call_from_thread(self._show_duplicates, pairs, cost)

    def _search_failed(self) -> None:
        self._duplicates_running = False
        self._duplicates_due = 0.0

    def _show_duplicates(self, pairs: list[ciav.DuplicatePair], cost: float) -> None:
        self._duplicates_running = False
        self._duplicates_cost = cost
        self.pairs = pairs
        # a search that takes long (100,000 persons) runs less often, the rest stays live
        self._duplicates_due = time.monotonic() + 20 * cost
        title = Text(_("Probable duplicates ({n})").format(n=len(self.pairs)), style="bold")
        title.append("\n" + _("f merge · n not the same · u undo"), style="not bold")
        self.query_one("#duplicates-title", Static).update(title)
        _fill(
            self.query_one("#duplicates", OptionList),
            [
                Option(duplicate_option(p), id=f"{p.first['id']}|{p.second['id']}")
                for p in self.pairs
            ],
            _("No probable duplicate."),
        )

    # -- decisions -------------------------------------------------------------------------
    def _say(self, message: str, error: bool = False) -> None:
        self.query_one("#message", Static).update(
            Text(message, style="bold red" if error else "bold")
        )

    def _selected_conflict(self) -> ciav.Conflict | None:
        index = self.query_one("#conflicts", OptionList).highlighted
        if index is None or index >= len(self.conflicts):
            return None
        return self.conflicts[index]

    def _selected_pair(self) -> ciav.DuplicatePair | None:
        index = self.query_one("#duplicates", OptionList).highlighted
        if index is None or index >= len(self.pairs):
            return None
        return self.pairs[index]

    def action_choose(self, side: str) -> None:
        item = self._selected_conflict()
        if item is None:
            self._say(_("Select a conflict first (arrows in the left list)."), error=True)
            return
        question = Text(f"{item.label} · {item.field}\n")
        question.append(_value_text(item, side), style="bold reverse")
        author = item.author_a if side == "a" else item.author_b
        question.append("  (" + author + ")\n\n")
        question.append(_("Recorded as your decision ({operator}).").format(operator=self.operator))

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                with self.store.lock:
                    ciav.decide_conflict(self.store, self.operator, item.conflict_id, side)
            except FieldkitError as exc:
                self._say(exc.message, error=True)
                return
            self._say(_("Decision recorded."))
            self.action_refresh()

        self.app.push_screen(ConfirmDialog(_("Keep this value?"), question), answered)

    def action_merge(self) -> None:
        pair = self._selected_pair()
        if pair is None:
            self._say(_("Select a probable duplicate first (right list)."), error=True)
            return
        question = Text(
            _("kept: ") + f"{identity_text(pair.first)} {pair.first.get('nf399') or ''}\n"
        )
        question.append(
            _("merged into it: ")
            + f"{identity_text(pair.second)} {pair.second.get('nf399') or ''}\n\n"
        )
        with self.store.lock:
            conflict = ciav.life_death_conflict(self.store, pair)
        if conflict is not None:
            question.append(conflict + "\n\n", style="bold red")
        question.append(_("Nothing is deleted: u undoes the merge."))

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                with self.store.lock:
                    ciav.merge_pair(self.store, self.operator, pair, confirmed_conflict=conflict)
            except FieldkitError as exc:
                self._say(exc.message, error=True)
                return
            self._say(_("Records merged (u to undo)."))
            self._duplicates_due = 0.0
            self.action_refresh()

        title = (
            _("Merge a dead and a living record?")
            if conflict is not None
            else _("Merge these two records into one?")
        )
        self.app.push_screen(ConfirmDialog(title, question), answered)

    def action_dismiss_pair(self) -> None:
        pair = self._selected_pair()
        if pair is None:
            self._say(_("Select a probable duplicate first (right list)."), error=True)
            return
        question = Text(f"{identity_text(pair.first)} {pair.first.get('nf399') or ''}\n")
        question.append(f"{identity_text(pair.second)} {pair.second.get('nf399') or ''}\n\n")
        question.append(
            _("They stop being proposed as a duplicate; u undoes this decision.")
            + "\n"
            + _("Recorded as your decision ({operator}).").format(operator=self.operator)
        )

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                with self.store.lock:
                    ciav.dismiss_pair(self.store, self.operator, pair)
            except FieldkitError as exc:
                self._say(exc.message, error=True)
                return
            self._say(_("Kept as two different persons (u to undo)."))
            self._duplicates_due = 0.0
            self.action_refresh()

        self.app.push_screen(
            ConfirmDialog(_("Keep these two records as two different persons?"), question),
            answered,
        )

    def action_undo(self) -> None:
        """Undo the latest decision on duplicates: a merge, or a "not the same person"."""
        with self.store.lock:
            merged = ciav.merged_records(self.store, limit=1)
            dismissed = ciav.dismissed_pairs(self.store, limit=1)
        if merged and (not dismissed or merged[0]["updated_hlc"] >= dismissed[0]["updated_hlc"]):
            self._undo_merge(merged[0])
        elif dismissed:
            self._undo_dismiss(dismissed[0])
        else:
            self._say(
                _('Nothing to undo: no merge and no "not the same" decision yet.'), error=True
            )

    def _undo_merge(self, row: dict[str, Any]) -> None:
        question = Text(f"{identity_text(row)} {row.get('nf399') or ''}\n")
        question.append(_("becomes a person of its own again."))

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                with self.store.lock:
                    ciav.undo_pair_merge(self.store, self.operator, row["id"])
            except FieldkitError as exc:
                self._say(exc.message, error=True)
                return
            self._say(_("Merge undone."))
            self._duplicates_due = 0.0
            self.action_refresh()

        self.app.push_screen(ConfirmDialog(_("Undo the latest merge?"), question), answered)

    def _undo_dismiss(self, decision: dict[str, Any]) -> None:
        question = Text()
        for row in (decision["first"], decision["second"]):
            if row is not None:
                question.append(f"{identity_text(row)} {row.get('nf399') or ''}\n")
        question.append(_("are proposed again as a probable duplicate."))

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                with self.store.lock:
                    ciav.undo_dismiss(self.store, self.operator, decision["key"])
            except FieldkitError as exc:
                self._say(exc.message, error=True)
                return
            self._say(_("Decision undone: the pair is proposed again."))
            self._duplicates_due = 0.0
            self.action_refresh()

        self.app.push_screen(
            ConfirmDialog(_('Undo the latest "not the same person"?'), question), answered
        )

    def action_stations(self) -> None:
        with self.store.lock:
            rows = ciav.station_table(self.store)
        self.app.push_screen(StationsScreen(rows))

    def action_persons(self) -> None:
        self.app.push_screen(PersonsScreen(self.store))

    @on(OptionList.OptionSelected, "#duplicates")
    def _open_duplicate(self, event: OptionList.OptionSelected) -> None:
        pair = self._selected_pair()
        if pair is not None:
            self.open_person(pair.first["id"])


class VoidedRows:
    """The voided (deleted) records, latest first, optionally only those whose name or number
    contain ``text``; a mistake is rare, so they are read whole."""

    def __init__(self, store: Any, text: str | None = None) -> None:
        self.store = store
        self.text = (text or "").casefold()
        self._rows: list[dict[str, Any]] = []

    def count(self) -> int:
        with self.store.lock:
            rows = queries.voided_persons(self.store.db)
        if self.text:
            rows = [
                r
                for r in rows
                if self.text
                in " ".join(
                    str(r.get(k) or "") for k in ("nf399", "family_name", "given_names")
                ).casefold()
            ]
        self._rows = rows
        return len(rows)

    def rows(self, offset: int, limit: int) -> list[dict[str, Any]]:
        return self._rows[offset : offset + limit]


def voided_columns() -> list[Column]:
    return [
        Column(_("voided"), 8, lambda r: local_time(r.get("voided_hlc"))),
        Column(_("by"), 16, lambda r: r.get("voided_by") or "—"),
        Column(_("cat."), 12, lambda r: category_badge(r.get("category"), r.get("refinement"))),
        Column(_("identity"), 24, lambda r: identity_text(r)),
        Column(_("no. (end)"), 10, lambda r: number_tail(r.get("nf399"))),
        Column(_("counted"), 8, lambda r: local_time(r.get("created_hlc"))),
    ]


class PersonsScreen(AuditedReads, OverviewScreen):
    """Every person the hub holds, searchable; Escape goes back to the console. ``v`` shows the
    voided records instead (counts made by mistake), where ``r`` (or Enter) restores one."""

    BINDINGS = [
        Binding("escape", "back", _("Back")),
        Binding("v", "toggle_voided", _("Voided records")),
        Binding("r", "restore", _("Restore")),
    ]

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.showing_voided = False

    def on_mount(self) -> None:  # the base classes' on_mount run too (Textual walks the MRO)
        self.mount(Static(id="view-title"), before=self.listing)
        self.mount(Static(id="message"), before=self.listing)
        self._show_title()

    def _show_title(self) -> None:
        if self.showing_voided:
            text = Text(
                _("Voided records ({n}): r restores one · v back to the persons").format(
                    n=self.listing.row_count
                ),
                style="bold",
            )
        else:
            text = Text(_("v shows the voided records (counts made by mistake)"), style="dim")
        self.query_one("#view-title", Static).update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "restore":
            return self.showing_voided
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_toggle_voided(self) -> None:
        self.showing_voided = not self.showing_voided
        self.listing.columns = voided_columns() if self.showing_voided else person_columns()
        self.listing.cursor = 0
        self._apply_filter()
        self.query_one("#message", Static).update(Text())
        self._show_title()
        self.refresh_bindings()
        self.listing.focus()

    def _apply_filter(self) -> None:
        text = self.query_one("#filter", Input).value.strip()
        if self.showing_voided:
            self.listing.set_source(VoidedRows(self.store, text))
        else:
            self.listing.set_source(PersonRows(self.store, text))

    def on_virtual_list_selected(self, message: VirtualList.Selected) -> None:
        """Enter on a voided record asks to restore it (a voided record is not edited); on a
        person, the base class opens the record (Textual calls it after this one)."""
        if self.showing_voided:
            message.prevent_default()
            self._ask_restore(message.row)

    def action_restore(self) -> None:
        row = self.listing.row(self.listing.cursor) if self.showing_voided else None
        if row is None:
            self.query_one("#message", Static).update(
                Text(_("No voided record to restore here."), style="bold red")
            )
            return
        self._ask_restore(row)

    def _ask_restore(self, row: dict[str, Any]) -> None:
        audit.record_read(self.store, self.operator, row["id"], "console")
        body = count_summary(row)
        body.add_row(
            _("Voided"),
            Text(f"{local_time(row.get('voided_hlc'))} · {row.get('voided_by') or '—'}"),
        )
        question = Table.grid()
        question.add_row(body)
        question.add_row(
            Text(
                "\n"
                + _("The record comes back into the count and the lists of every station.")
                + "\n"
                + _("Recorded as your decision ({operator}).").format(operator=self.operator)
            )
        )
        shown = person_label(row)

        def answered(yes: bool | None) -> None:
            message = self.query_one("#message", Static)
            if not yes:
                message.update(Text(_("Kept voided: nothing recorded."), style="bold"))
                return
            try:
                with self.store.lock:
                    persons.restore_count(self.store, self.operator, row["id"])
            except FieldkitError as exc:
                message.update(Text(exc.message, style="bold red"))
                return
            message.update(
                Text(
                    _("Count of {person} restored: it is back in the count.").format(person=shown),
                    style="bold green",
                )
            )
            self._apply_filter()
            self._show_title()
            self.refresh_bilan()

        self.app.push_screen(
            ConfirmDialog(
                _("Restore this voided count?"),
                question,
                confirm_label=_("Restore (c)"),
                keys_help=_("c restore · Esc keep it voided (nothing is recorded)"),
            ),
            answered,
        )


def _refines(refinement: str, category: Category) -> bool:
    return (refinement in ("EU", "U1") and category is Category.UA) or (
        refinement in ("U2", "U3") and category is Category.UR
    )


def _fill(widget: OptionList, options: list[Option], empty: str) -> None:
    highlighted = widget.highlighted
    widget.clear_options()
    if options:
        widget.add_options(options)
        if highlighted is not None:
            widget.highlighted = min(highlighted, len(options) - 1)
        else:
            widget.highlighted = 0
    else:
        widget.add_option(Option(Text(empty, style="italic"), disabled=True))


HomeScreen = CiavScreen  # what the app opens for this role (see ROLE_SCREENS)
