"""Police on the scene: the witness register, the recontact list, leads for X persons and the
death stages (identified, announced), each stage behind a confirmation that names the person,
the officer and the time.

One key per action, shown in the footer: ``n`` new witness, ``w`` witnesses, ``r`` to recontact,
``p`` persons; on a person ``l`` lead, ``d`` death identified, ``a`` death announced.
"""

from __future__ import annotations

import time
import unicodedata
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


def _folded(text: str) -> str:
    """Lower case, without accents: "Nguyễn" is found by "nguyen"."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in plain if not unicodedata.combining(c))


WITNESS_SEARCHED = ("family_name", "given_names", "phone", "email", "address", "where", "saw")


class WitnessRows:
    """The witnesses (or only those to recontact), oldest first, optionally only those whose
    name, contact, place or account contain ``text``; a few thousand at most, read again on
    every reload of the list."""

    def __init__(self, store: Store, recontact_only: bool, text: str | None = None) -> None:
        self.store = store
        self.recontact_only = recontact_only
        self.words = _folded(text or "").split()
        self._rows: list[dict[str, Any]] = []

    def _matches(self, row: dict[str, Any]) -> bool:
        haystack = _folded(" ".join(str(row.get(f) or "") for f in WITNESS_SEARCHED))
        digits = "".join(c for c in haystack if c.isdigit())
        return all(word in haystack or (word.isdigit() and word in digits) for word in self.words)

    def count(self) -> int:
        with self.store.lock:
            rows = (
                police.recontact_list(self.store)
                if self.recontact_only
                else police.witnesses(self.store)
            )
        self._rows = [row for row in rows if self._matches(row)] if self.words else rows
        return len(self._rows)

    def rows(self, offset: int, limit: int) -> list[dict[str, Any]]:
        return self._rows[offset : offset + limit]


def recall_text(row: dict[str, Any]) -> str:
    """The recall column: recontacted (and when), or whether the witness is to be called."""
    if row.get("recontacted_at"):
        return _("done")
    return yes_no(row.get("recontact"))


def witness_columns() -> list[Column]:
    return [
        Column(_("time"), 8, lambda r: local_time(r["created_hlc"])),
        Column(_("witness"), 20, witness_name),
        Column(_("contact"), 15, witness_contact),
        Column(_("where"), 18, lambda r: r.get("where") or "—"),
        Column(_("left"), 5, lambda r: yes_no(r.get("left_scene"))),
        Column(_("recall"), 6, recall_text),
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
        try:  # what would be refused is said before the officer is asked to confirm
            with self.store.lock:
                refusal = police.stage_refusal(self.store, row["id"], stage, shown)
        except FieldkitError as exc:
            refusal = exc.message
        if refusal is not None:
            self.say(error_text(refusal))
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


POLICE_HIDDEN = frozenset({"retriage", "evacuate"})  # the person record's PMA actions


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
                        " i identity · x X description · Esc close"
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Triage and evacuation are the rescuers' acts (PMA): not on the police record.
        return action not in POLICE_HIDDEN

    def action_retriage(self) -> None:
        """Not a police act (the key is not bound here)."""

    def action_evacuate(self) -> None:
        """Not a police act (the key is not bound here)."""

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


def witness_fields(row: dict[str, Any] | None = None) -> list[Field]:
    """The witness form (new or corrected), filled with ``row``."""
    row = row or {}

    def text(key: str) -> str:
        return str(row.get(key) or "")

    return [
        Field("family_name", _("Family name"), text("family_name"), max_length=100),
        Field("given_names", _("Given names"), text("given_names"), max_length=100),
        Field("phone", _("Phone"), text("phone"), max_length=40),
        Field("email", _("E-mail"), text("email"), max_length=254),
        Field("address", _("Address"), text("address"), max_length=300),
        Field(
            "where", _("Where they were at the time of the attack"), text("where"), max_length=300
        ),
        Field("saw", _("What they saw, in a line"), text("saw"), max_length=500),
        Field("left_scene", _("Left the scene"), bool(row.get("left_scene")), kind="check"),
        Field("recontact", _("Wishes to be recontacted"), bool(row.get("recontact")), kind="check"),
        Field(
            "oriented_to",
            _("Oriented to (PUMP, hospital, home...)"),
            text("oriented_to"),
            max_length=200,
        ),
    ]


def witness_input(values: dict[str, Any]) -> police.WitnessInput:
    return police.WitnessInput(
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


class WitnessScreen(ModalScreen[bool]):
    """One witness: ``e`` corrects it, ``c`` marks it recontacted (again: still to call).
    Returns True when something was recorded (the list is read again)."""

    BINDINGS = [
        Binding("escape", "close", _("Close")),
        Binding("e", "edit", _("Correct")),
        Binding("c", "recontacted", _("Recontacted")),
    ]

    def __init__(self, store: Store, row: dict[str, Any], operator: str) -> None:
        super().__init__()
        self.store = store
        self.row = row
        self.operator = operator
        self.changed = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide"):
            yield Static(id="witness")
            yield Static(id="message")
            yield Static(
                Text(_("e correct · c recontacted (or still to call) · Esc close"), style="dim")
            )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_witness()

    def refresh_witness(self) -> None:
        with self.store.lock:
            found = [w for w in police.witnesses(self.store) if w["id"] == self.row["id"]]
        if found:
            self.row = found[0]
        row = self.row
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        recontacted = (
            _("yes, {time}").format(time=_stamp_time(row["recontacted_at"]))
            if row.get("recontacted_at")
            else None
        )
        for label, value in (
            (_("Witness"), witness_name(row)),
            (_("Phone"), row.get("phone")),
            (_("E-mail"), row.get("email")),
            (_("Address"), row.get("address")),
            (_("Where they were"), row.get("where")),
            (_("What they saw"), row.get("saw")),
            (_("Left the scene"), yes_no(row.get("left_scene"))),
            (_("Wishes to be recontacted"), yes_no(row.get("recontact"))),
            (_("Recontacted"), recontacted),
            (_("Oriented to"), row.get("oriented_to")),
            (_("Recorded by"), f"{row.get('created_by')} · {local_time(row.get('created_hlc'))}"),
        ):
            if value:
                table.add_row(label, Text(str(value)))
        self.query_one("#witness", Static).update(table)

    def say(self, text: Text) -> None:
        self.query_one("#message", Static).update(text)

    def action_edit(self) -> None:
        store, operator, witness_id = self.store, self.operator, self.row["id"]

        def submit(values: dict[str, Any], _confirmed: bool) -> list[str]:
            with store.lock:
                return police.update_witness(store, operator, witness_id, witness_input(values))

        def saved(changed: list[str] | None) -> None:
            if changed is None:
                return
            if changed:
                self.changed = True
                self.say(ok_text(_("Witness corrected.")))
            else:
                self.say(Text(_("Nothing changed."), style="bold"))
            self.refresh_witness()

        title = _("Correct the witness {name}").format(name=witness_name(self.row))
        self.app.push_screen(EditDialog(title, witness_fields(self.row), submit), saved)

    def action_recontacted(self) -> None:
        done = not self.row.get("recontacted_at")
        try:
            with self.store.lock:
                police.mark_recontacted(self.store, self.operator, self.row["id"], done)
        except FieldkitError as exc:
            self.say(error_text(exc.message))
            return
        self.changed = True
        self.refresh_witness()
        message = (
            _("{name} recontacted: out of the list to recontact (c again undoes it).")
            if done
            else _("{name} is to recontact again.")
        )
        self.say(ok_text(message.format(name=witness_name(self.row))))

    def action_close(self) -> None:
        self.dismiss(self.changed)


def _stamp_time(stamp: str) -> str:
    """A recorded UTC stamp as the local day and time."""
    try:
        moment = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return stamp
    return moment.astimezone().strftime("%d/%m/%Y %H:%M")


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
        if filter_input.value:  # a filter belongs to its list: another list starts whole
            with filter_input.prevent(Input.Changed):
                filter_input.value = ""
        filter_input.display = False
        if view == PERSONS:
            filter_input.placeholder = _("filter: number, name or category")
            listing.columns = police_person_columns()
            listing.set_source(PersonRows(self.store))
        else:
            filter_input.placeholder = _("filter: name, phone, place or what they saw")
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
        if action in ("lead", "identified", "announced"):
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
            with store.lock:
                witness_id = police.add_witness(store, operator, witness_input(values))
            return witness_id, witness_name(values)

        def saved(result: tuple[str, str] | None) -> None:
            if result is None:
                self.listing.focus()
                return
            self.say(ok_text(_("Witness recorded: {name}.").format(name=result[1])))
            self.show_view(RECONTACT if self.view == RECONTACT else WITNESSES)
            self.listing.action_cursor_to(-1)

        self.app.push_screen(EditDialog(_("New witness"), witness_fields(), submit), saved)

    def open_witness(self, row: dict[str, Any]) -> None:
        def closed(changed: bool | None) -> None:
            if changed:
                self.listing.reload()
                self.refresh_views()
            self.listing.focus()

        self.app.push_screen(WitnessScreen(self.store, row, self.operator), closed)

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
            self.open_witness(message.row)

    def open_person(self, person_id: str, action: str | None = None) -> None:
        screen = PoliceRecord(self.store, person_id, self.operator)

        def closed(changed: bool | None) -> None:
            if changed:
                self.police_changed()
            self.listing.focus()

        self.app.push_screen(screen, closed)

    # -- filter ----------------------------------------------------------------------------
    def _apply_filter(self) -> None:
        text = self.query_one("#filter", Input).value.strip()
        if self.view == PERSONS:
            self.listing.set_source(PersonRows(self.store, text))
        else:
            self.listing.set_source(WitnessRows(self.store, self.view == RECONTACT, text))
        self.listing.cursor = 0

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
