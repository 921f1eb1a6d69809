"""Police on the scene: the witness register, the recontact list, leads for X persons and the
death stages (identified, announced), each stage behind a confirmation that names the person,
the officer and the time.

One key per action, shown in the footer: ``n`` new witness, ``w`` witnesses, ``r`` to recontact,
``p`` persons; on a person ``l`` lead, ``d`` death identified, ``a`` death announced.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from fieldkit.domain import validation
from fieldkit.domain.model import DeathStage
from fieldkit.domain.triage import Category
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.screens.common import (
    StatusLine,
    error_text,
    local_time,
    ok_text,
    person_label,
    yes_no,
)
from fieldkit.screens.forms import ConfirmDialog, EditDialog, Field
from fieldkit.screens.home import PersonRows, StationHome, person_columns
from fieldkit.screens.person import PersonScreen
from fieldkit.screens.person_list import Column, VirtualList
from fieldkit.services import police
from fieldkit.store import queries
from fieldkit.store.store import Store

WITNESSES, RECONTACT, PERSONS = "witnesses", "recontact", "persons"


def stage_label(stage: str | None) -> str:
    return {
        DeathStage.IDENTIFIED.value: _("identified"),
        DeathStage.ANNOUNCED.value: _("announced"),
    }.get(stage or "", "—")


def lead_status_label(status: str | None) -> str:
    return {
        "open": _("open"),
        "confirmed": _("confirmed"),
        "dismissed": _("dismissed"),
    }.get(status or "", status or "—")


def witness_name(row: dict[str, Any]) -> str:
    family = row.get("family_name") or ""
    given = row.get("given_names") or ""
    return f"{family.upper()} {given}".strip()


def witness_contact(row: dict[str, Any]) -> str:
    return str(row.get("phone") or row.get("email") or row.get("address") or "—")


class WitnessRows:
    """The witnesses (or only those to recontact), oldest first; a few thousand at most."""

    def __init__(self, store: Store, recontact_only: bool) -> None:
        with store.lock:
            self._rows = police.recontact_list(store) if recontact_only else police.witnesses(store)

    def count(self) -> int:
        return len(self._rows)

    def rows(self, offset: int, limit: int) -> list[dict[str, Any]]:
        return self._rows[offset : offset + limit]


def witness_columns() -> list[Column]:
    return [
        Column(_("time"), 8, lambda r: local_time(r["created_hlc"])),
        Column(_("witness"), 20, witness_name),
        Column(_("contact"), 15, witness_contact),
        Column(_("where"), 18, lambda r: r.get("where") or "—"),
        Column(_("left"), 5, lambda r: yes_no(r.get("left_scene"))),
        Column(_("recall"), 6, lambda r: yes_no(r.get("recontact"))),
        Column(_("oriented to"), 16, lambda r: r.get("oriented_to") or "—"),
    ]


def police_person_columns() -> list[Column]:
    base = person_columns()
    stage = Column(_("death"), 10, lambda r: stage_label(r.get("death_stage")))
    return [*base[:4], stage, base[4]]


class PoliceActions:
    """Leads and death stages, shared by the home screen and the person record."""

    store: Store
    app: Any

    def officer(self) -> str:
        """The signed-in operator: the officer who records."""
        return str(getattr(self.app, "operator", "") or "")

    def say(self, text: Text) -> None:
        raise NotImplementedError

    def police_changed(self) -> None:
        """Called after a lead or a stage was recorded."""

    def add_lead(self, row: dict[str, Any]) -> None:
        if row.get("family_name") or row.get("given_names"):
            self.say(error_text(_("This person already has an identity: leads are for X persons.")))
            return
        store, operator = self.store, self.officer()

        def submit(values: dict[str, Any], _confirmed: bool) -> str:
            with store.lock:
                return police.add_lead(
                    store,
                    operator,
                    row["id"],
                    values["possible_identity"],
                    values["source"],
                    values["note"] or None,
                )

        def saved(lead_id: str | None) -> None:
            if lead_id is None:
                return
            self.say(ok_text(_("Lead recorded for {person}.").format(person=person_label(row))))
            self.police_changed()

        fields = [
            Field("possible_identity", _("Possible identity"), max_length=200),
            Field("source", _("Source (who or what suggests it)"), max_length=300),
            Field("note", _("Note"), max_length=2000),
        ]
        title = Text.assemble(
            (_("Lead for {person}").format(person=person_label(row)), "bold"),
        )
        intro = Text(
            _("A lead never fills the person's identity: the person stays X until identified."),
            style="dim",
        )
        self.app.push_screen(EditDialog(title, fields, submit, intro=intro), saved)

    def record_stage(self, row: dict[str, Any], stage: DeathStage) -> None:
        shown = person_label(row)
        if row.get("category") != Category.DCD.value:
            self.say(
                error_text(
                    _(
                        "{person} is not recorded as DCD: a death stage needs the DCD category."
                    ).format(person=shown)
                )
            )
            return
        officer = self.officer()
        moment = datetime.now(UTC).replace(microsecond=0)
        title = (
            _("Death identified (identification commission)")
            if stage is DeathStage.IDENTIFIED
            else _("Death announced to the family (OPJ, in person)")
        )
        body = Table.grid(padding=(0, 2))
        body.add_column(style="bold")
        body.add_column()
        body.add_row(_("Person"), Text(shown))
        body.add_row(_("Stage"), Text(stage_label(stage.value)))
        body.add_row(_("Officer"), Text(officer))
        body.add_row(_("Time"), Text(time.strftime("%d/%m/%Y %H:%M", time.localtime())))
        store = self.store

        def answered(confirmed: bool | None) -> None:
            if not confirmed:
                self.say(Text(_("Cancelled: nothing recorded."), style="bold"))
                return
            try:
                with store.lock:
                    police.record_death_stage(
                        store, officer, row["id"], stage, officer, validation.utc_stamp(moment)
                    )
            except FieldkitError as exc:
                self.say(error_text(exc.message))
                return
            message = (
                _("Death of {person} recorded as identified by {officer}.")
                if stage is DeathStage.IDENTIFIED
                else _("Death of {person} recorded as announced by {officer}.")
            )
            self.say(ok_text(message.format(person=shown, officer=officer)))
            self.police_changed()

        self.app.push_screen(ConfirmDialog(title, body), answered)


class PoliceRecord(PoliceActions, PersonScreen):
    """The person record, with the leads and death stages the police holds."""

    BINDINGS = [
        Binding("l", "lead", _("Lead")),
        Binding("d", "identified", _("Identified")),
        Binding("a", "announced", _("Announced")),
        Binding("v", "lead_status", _("Lead status")),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide"):
            yield Static(id="summary")
            yield Static(id="police")
            yield Static(id="history")
            yield Static(id="message")
            yield Static(
                Text(
                    _(
                        "l lead · v lead status · d death identified · a death announced ·"
                        " t re-triage · i identity · x X description · Esc close"
                    ),
                    style="dim",
                )
            )
        yield Footer(compact=True)

    def refresh_person(self) -> None:
        super().refresh_person()
        if not self.is_attached or not hasattr(self, "row"):
            return
        with self.store.lock:
            stages = police.death_stages(self.store, self.person_id)
            lead_rows = police.leads(self.store, self.person_id)
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for stage in stages:
            where = ""
            if stage.get("person_id") not in (None, self.person_id):
                where = " · " + _("on a duplicate merged into this record")
            table.add_row(
                Text(_("Death {stage}").format(stage=stage_label(stage["stage"]))),
                Text(f"{local_time(stage['hlc'])} · {stage['officer']}{where}"),
            )
        self.lead_rows = lead_rows
        for number, lead in enumerate(lead_rows, 1):
            table.add_row(
                Text(_("Lead {number}").format(number=number)),
                Text(
                    f"{lead['possible_identity']} · {lead['source']}"
                    f" · {lead_status_label(lead['status'])}"
                    f" · {lead['created_by']} {local_time(lead['created_hlc'])}"
                ),
            )
        if not stages and not lead_rows:
            table.add_row(_("Police"), Text(_("no lead, no death stage"), style="dim"))
        self.query_one("#police", Static).update(table)

    def say(self, text: Text) -> None:
        self.query_one("#message", Static).update(text)

    def police_changed(self) -> None:
        self.changed = True
        self.refresh_person()

    def action_lead(self) -> None:
        self.add_lead(self.row)

    def action_identified(self) -> None:
        self.record_stage(self.row, DeathStage.IDENTIFIED)

    def action_announced(self) -> None:
        self.record_stage(self.row, DeathStage.ANNOUNCED)

    def action_lead_status(self) -> None:
        """Mark one of the person's leads open, confirmed or dismissed (never fills the identity)."""
        leads = getattr(self, "lead_rows", [])
        if not leads:
            self.say(error_text(_("No lead for this person yet (l adds one).")))
            return
        store, operator = self.store, self.officer()

        def submit(values: dict[str, Any], _confirmed: bool) -> str:
            with store.lock:
                police.set_lead_status(store, operator, str(values["lead"]), str(values["status"]))
            return str(values["status"])

        def saved(status: str | None) -> None:
            if status is not None:
                self.say(
                    ok_text(_("Lead marked {status}.").format(status=lead_status_label(status)))
                )
                self.police_changed()

        fields = [
            Field(
                "lead",
                _("Lead"),
                leads[-1]["id"],
                kind="choice",
                choices=[
                    (f"{n} · {lead['possible_identity']}", lead["id"])
                    for n, lead in enumerate(leads, 1)
                ],
            ),
            Field(
                "status",
                _("Status"),
                "confirmed",
                kind="choice",
                choices=[(lead_status_label(v), v) for v in police.LEAD_STATUSES],
            ),
        ]
        intro = Text(
            _("Confirming a lead never fills the identity: record the identity with i."),
            style="dim",
        )
        self.app.push_screen(EditDialog(_("Lead status"), fields, submit, intro=intro), saved)


class WitnessScreen(ModalScreen[None]):
    """One witness, read-only."""

    BINDINGS = [Binding("escape", "close", _("Close"))]

    def __init__(self, row: dict[str, Any]) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        row = self.row
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for label, value in (
            (_("Witness"), witness_name(row)),
            (_("Phone"), row.get("phone")),
            (_("E-mail"), row.get("email")),
            (_("Address"), row.get("address")),
            (_("Where they were"), row.get("where")),
            (_("What they saw"), row.get("saw")),
            (_("Left the scene"), yes_no(row.get("left_scene"))),
            (_("Wishes to be recontacted"), yes_no(row.get("recontact"))),
            (_("Oriented to"), row.get("oriented_to")),
            (_("Recorded by"), f"{row.get('created_by')} · {local_time(row.get('created_hlc'))}"),
        ):
            if value:
                table.add_row(label, Text(str(value)))
        with VerticalScroll(classes="dialog wide"):
            yield Static(table)
            yield Static(Text(_("Esc close"), style="dim"))
        yield Footer(compact=True)

    def action_close(self) -> None:
        self.dismiss(None)


class PoliceHome(PoliceActions, StationHome):
    """The police station's home: witnesses, recontact list, persons (leads, death stages)."""

    CSS_PATH = "police.tcss"

    BINDINGS = [
        Binding("n", "new_witness", _("New witness")),
        Binding("w", "view('witnesses')", _("Witnesses")),
        Binding("r", "view('recontact')", _("To recall")),
        Binding("p", "view('persons')", _("Persons")),
        Binding("slash", "filter", _("Filter"), key_display="/"),
        Binding("l", "lead", _("Lead")),
        Binding("d", "identified", _("Identified")),
        Binding("a", "announced", _("Announced")),
        Binding("escape", "clear_filter", _("Clear"), show=False),
    ]

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.view = WITNESSES

    def compose(self) -> ComposeResult:
        yield self.title_bar()
        yield Static(id="views")
        yield Static(id="message")
        yield Input(
            placeholder=_("filter: number, name or category"), id="filter", select_on_focus=False
        )
        yield VirtualList(witness_columns(), WitnessRows(self.store, False), id="list")
        yield StatusLine(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.show_view(WITNESSES)

    # -- views ----------------------------------------------------------------------------
    @property
    def listing(self) -> VirtualList:
        return self.query_one("#list", VirtualList)

    def show_view(self, view: str) -> None:
        self.view = view
        listing = self.listing
        filter_input = self.query_one("#filter", Input)
        if view == PERSONS:
            listing.columns = police_person_columns()
            listing.set_source(PersonRows(self.store, filter_input.value.strip() or None))
        else:
            filter_input.display = False
            listing.columns = witness_columns()
            listing.set_source(WitnessRows(self.store, view == RECONTACT))
        listing.cursor = 0
        listing.scroll_to(y=0, animate=False)
        listing.focus()
        self.refresh_views()
        self.refresh_bindings()

    def refresh_views(self) -> None:
        with self.store.lock:
            counts = {
                WITNESSES: len(police.witnesses(self.store)),
                RECONTACT: len(police.recontact_list(self.store)),
                PERSONS: queries.count_persons(self.store.db),
            }
        labels = {
            WITNESSES: ("w", _("Witnesses")),
            RECONTACT: ("r", _("To recontact")),
            PERSONS: ("p", _("Persons")),
        }
        text = Text()
        for view, (key, label) in labels.items():
            chunk = f" {key} {label} ({counts[view]}) "
            text.append(chunk, style="reverse bold" if view == self.view else "")
            text.append("  ")
        self.query_one("#views", Static).update(text)

    def action_view(self, view: str) -> None:
        self.show_view(view)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("lead", "identified", "announced", "filter"):
            return self.view == PERSONS
        if action == "view":
            # In the persons view only the way back to the witnesses, to keep the footer short.
            return parameters[0] != self.view and not (
                self.view == PERSONS and parameters[0] == RECONTACT
            )
        if action == "new_witness":
            return self.view != PERSONS
        return True

    def say(self, text: Text) -> None:
        self.query_one("#message", Static).update(text)

    # -- witnesses ------------------------------------------------------------------------
    def action_new_witness(self) -> None:
        store = self.store
        operator = self.operator

        def submit(values: dict[str, Any], _confirmed: bool) -> tuple[str, str]:
            data = police.WitnessInput(
                family_name=values["family_name"] or None,
                given_names=values["given_names"] or None,
                phone=values["phone"] or None,
                email=values["email"] or None,
                address=values["address"] or None,
                where=values["where"] or None,
                saw=values["saw"] or None,
                left_scene=bool(values["left_scene"]),
                recontact=bool(values["recontact"]),
                oriented_to=values["oriented_to"] or None,
            )
            with store.lock:
                witness_id = police.add_witness(store, operator, data)
            return witness_id, witness_name(values)

        def saved(result: tuple[str, str] | None) -> None:
            if result is None:
                self.listing.focus()
                return
            self.say(ok_text(_("Witness recorded: {name}.").format(name=result[1])))
            self.show_view(RECONTACT if self.view == RECONTACT else WITNESSES)
            self.listing.action_cursor_to(-1)

        fields = [
            Field("family_name", _("Family name"), max_length=100),
            Field("given_names", _("Given names"), max_length=100),
            Field("phone", _("Phone"), max_length=40),
            Field("email", _("E-mail"), max_length=254),
            Field("address", _("Address"), max_length=300),
            Field("where", _("Where they were at the time of the attack"), max_length=300),
            Field("saw", _("What they saw, in a line"), max_length=500),
            Field("left_scene", _("Left the scene"), False, kind="check"),
            Field("recontact", _("Wishes to be recontacted"), False, kind="check"),
            Field("oriented_to", _("Oriented to (PUMP, hospital, home...)"), max_length=200),
        ]
        self.app.push_screen(EditDialog(_("New witness"), fields, submit), saved)

    # -- persons ---------------------------------------------------------------------------
    def _highlighted(self) -> dict[str, Any] | None:
        listing = self.listing
        with self.store.lock:
            return listing.row(listing.cursor)

    def _person(self) -> dict[str, Any] | None:
        row = self._highlighted()
        if row is None or self.view != PERSONS:
            self.say(error_text(_("Choose a person in the list first (p persons).")))
            return None
        with self.store.lock:
            return queries.person(self.store.db, row["id"])

    def action_lead(self) -> None:
        row = self._person()
        if row is not None:
            self.add_lead(row)

    def action_identified(self) -> None:
        row = self._person()
        if row is not None:
            self.record_stage(row, DeathStage.IDENTIFIED)

    def action_announced(self) -> None:
        row = self._person()
        if row is not None:
            self.record_stage(row, DeathStage.ANNOUNCED)

    def police_changed(self) -> None:
        self.listing.reload()
        self.refresh_views()

    def on_virtual_list_selected(self, message: VirtualList.Selected) -> None:
        if self.view == PERSONS:
            self.open_person(message.row["id"])
        else:
            self.app.push_screen(WitnessScreen(message.row))

    def open_person(self, person_id: str, action: str | None = None) -> None:
        screen = PoliceRecord(self.store, person_id, self.operator)

        def closed(changed: bool | None) -> None:
            if changed:
                self.police_changed()
            self.listing.focus()

        self.app.push_screen(screen, closed)

    # -- filter (persons) ------------------------------------------------------------------
    def _apply_filter(self) -> None:
        if self.view == PERSONS:
            text = self.query_one("#filter", Input).value.strip()
            self.listing.set_source(PersonRows(self.store, text))

    @on(Input.Submitted, "#filter")
    def _open_scanned(self, event: Input.Submitted) -> None:
        """A full victim number (a scan) opens that person's record."""
        number = validation.normalize_scan(event.value)
        with self.store.lock:
            row = queries.number_binding(self.store.db, number).person if number else None
        if row is not None and self.view == PERSONS:
            self.open_person(row["id"])

    def on_key(self, event: events.Key) -> None:
        """A scanned number typed on the persons list goes to the filter."""
        if self.view != PERSONS or isinstance(self.focused, Input):
            return
        if not event.is_printable or event.character is None:
            return
        if event.character.islower() or event.character in "/":
            return  # the keys of the actions
        self.action_filter()
        self.query_one("#filter", Input).insert_text_at_cursor(event.character)
        event.stop()


HomeScreen = PoliceHome  # what the app looks up (ROLE_SCREENS)
