"""PUMP: the persons seen, their first declaration of location, care, and the certificate.

Home: ``n`` registers a person (with or without a bracelet number; a scan lands in the number
field), Enter opens the person. In the record: ``d`` takes the first declaration in the person's
own words (signed and timestamped, then read-only for good), ``s`` care given and orientation,
``c`` issues the certificate (PDF written under the station's folder), ``i`` identity.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from fieldkit.domain import validation
from fieldkit.errors import ValidationError
from fieldkit.i18n import _
from fieldkit.screens.common import (
    StatusLine,
    category_badge,
    error_text,
    identity_text,
    local_time,
    number_tail,
    ok_text,
    person_label,
    plural,
)
from fieldkit.screens.forms import ConfirmDialog, EditDialog, Field
from fieldkit.screens.home import PersonRows, StationHome
from fieldkit.screens.person_list import Column, VirtualList
from fieldkit.services import certificates, persons, pump
from fieldkit.services.station import number_format
from fieldkit.store import queries
from fieldkit.store.store import Store

CERTIFICATES_DIR = "certificates"


def operator_parts(operator: str) -> tuple[str, str]:
    """``Dr L. Moreau (RPPS 10001234567)`` -> (``Dr L. Moreau``, ``RPPS 10001234567``)."""
    name, _sep, rest = operator.partition(" (")
    return name.strip(), rest[:-1].strip() if rest.endswith(")") else ""


class SeenRows(PersonRows):
    """The persons seen at this PUMP, newest first, with whether their declaration is taken."""

    def rows(self, offset: int, limit: int) -> list[dict[str, Any]]:
        rows = super().rows(offset, limit)
        with self.store.lock:
            for row in rows:
                row["declared"] = certificates.first_declaration(self.store, row["id"]) is not None
        return rows


def seen_columns() -> list[Column]:
    return [
        Column(_("time"), 8, lambda r: local_time(r["created_hlc"])),
        Column(_("identity"), 27, lambda r: identity_text(r)),
        Column(_("no. (end)"), 11, lambda r: number_tail(r.get("nf399"), 11)),
        Column(_("declaration"), 12, lambda r: _("signed") if r.get("declared") else "—"),
        Column(
            _("cat."),
            12,
            lambda r: (
                category_badge(r["category"], r.get("refinement")) if r.get("category") else "—"
            ),
        ),
    ]


def signing_review(row: dict[str, Any], values: dict[str, Any]) -> ConfirmDialog:
    """The sign step: the declaration word for word, who takes it, and what signing means.

    The words are checked as the service will check them, so what is shown is what is signed; an
    empty declaration or clinician is refused here, in the form, before any dialog opens.
    """
    words = validation.validate_text(values["text"], "text", max_len=5000)
    if words is None:
        raise ValidationError(
            _("Write the person's declaration of where they were, in their own words."),
            field="text",
        )
    clinician = validation.validate_name(values["clinician"], "clinician", max_len=120)
    if clinician is None:
        raise ValidationError(
            _("Write the name of the clinician who takes the declaration."), field="clinician"
        )
    body = Text()
    body.append(_("Person: {person}").format(person=person_label(row)) + "\n")
    body.append(_("Clinician: {clinician}").format(clinician=clinician) + "\n\n")
    body.append(_("Declaration, word for word:") + "\n", style="bold")
    body.append(f"« {words} »\n\n")
    body.append(
        _(
            "Signing records it with the time and this station's signature: it can never be"
            " changed or replaced afterwards."
        ),
        style="bold yellow",
    )
    return ConfirmDialog(
        _("Sign this first declaration?"),
        body,
        confirm_label=_("Sign (c)"),
        keys_help=_("c sign · Esc back to the declaration (nothing typed is lost)"),
    )


class PumpRecord(ModalScreen[bool]):
    """A person seen at the PUMP: identity, first declaration, care, certificates."""

    BINDINGS = [
        Binding("escape", "close", _("Close")),
        Binding("d", "declaration", _("Declaration")),
        Binding("s", "care", _("Care")),
        Binding("c", "certificate", _("Certificate")),
        Binding("i", "identity", _("Identity")),
    ]

    def __init__(self, store: Store, person_id: str, operator: str, home: Path) -> None:
        super().__init__()
        self.store = store
        self.person_id = person_id
        self.operator = operator
        self.home = home
        self.changed = False
        self.row: dict[str, Any] = {}
        self.last_certificate: certificates.IssuedCertificate | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide"):
            yield Static(id="summary")
            yield Static(id="declaration")
            yield Static(id="care")
            yield Static(id="certificates")
            yield Static(id="message")
            yield Static(
                Text(
                    _("d declaration · s care · c certificate · i identity · Esc close"),
                    style="dim",
                )
            )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_person()

    def say(self, text: Text) -> None:
        message = self.query_one("#message", Static)
        message.update(text)
        message.call_after_refresh(message.scroll_visible, animate=False)

    def refresh_person(self) -> None:
        with self.store.lock:
            row = queries.person(self.store.db, self.person_id)
            declaration = certificates.first_declaration(self.store, self.person_id)
            signers = certificates.known_signers(self.store) if declaration else {}
            care = pump.care_history(self.store, self.person_id)
            issued = certificates.certificates(self.store, self.person_id)
        if row is None:
            self.dismiss(self.changed)
            return
        self.row = row
        summary = Text()
        summary.append(identity_text(row), style="bold")
        summary.append(" · " + (row.get("nf399") or _("no number")))
        summary.append(
            " · "
            + _("seen at {time} by {author}").format(
                time=local_time(row.get("created_hlc")), author=row.get("created_by") or "—"
            )
        )
        if row.get("category"):
            summary.append(" · ")
            summary.append_text(category_badge(row["category"], row.get("refinement")))
        self.query_one("#summary", Static).update(summary)

        text = Text()
        if declaration is None:
            text.append(_("First declaration: not taken yet (d)."), style="bold yellow")
        else:
            checked = certificates.verify_declaration(declaration, signers)
            text.append(
                _("First declaration (cannot be changed after signature):") + "\n", style="bold"
            )
            text.append(f" « {declaration['text']} »\n")
            text.append(
                " "
                + _("signed {date} by {clinician}").format(
                    date=certificates.local_time(str(declaration["signed_at"])),
                    clinician=declaration["clinician"],
                )
                + " · "
            )
            text.append(checked.reason, style="green" if checked.valid else "bold red")
        self.query_one("#declaration", Static).update(text)

        care_text = Text()
        care_text.append(_("Care:") + " ", style="bold")
        if not care:
            care_text.append(_("none recorded yet (s)."), style="dim")
        for event in care:
            care_text.append(
                "\n "
                + " · ".join(
                    part
                    for part in (
                        local_time(event.get("hlc")),
                        event.get("care_given") or "",
                        _("oriented: {place}").format(place=event["orientation"])
                        if event.get("orientation")
                        else "",
                        event.get("author") or "",
                    )
                    if part
                )
            )
        self.query_one("#care", Static).update(care_text)

        cert_text = Text()
        cert_text.append(_("Certificates:") + " ", style="bold")
        if not issued:
            cert_text.append(_("none issued (c)."), style="dim")
        for cert in issued:
            kind = certificates.KINDS.get(cert["kind"], cert["kind"])
            cert_text.append(
                "\n "
                + _("{kind} · {date} · {clinician} · ITT {days} d · fingerprint {fp}…").format(
                    kind=_(kind),
                    date=certificates.local_time(str(cert["issued_at"])),
                    clinician=cert["clinician"],
                    days=cert["itt_days"],
                    fp=str(cert["fingerprint"])[:12],
                )
            )
        self.query_one("#certificates", Static).update(cert_text)

    def _done(self, text: Text) -> None:
        self.changed = True
        self.refresh_person()
        self.say(text)

    def action_close(self) -> None:
        self.dismiss(self.changed)

    # -- first declaration ---------------------------------------------------------------------
    def action_declaration(self) -> None:
        with self.store.lock:
            taken = certificates.first_declaration(self.store, self.person_id) is not None
        if taken:
            self.say(
                error_text(
                    _(
                        "{person} already has a first declaration: it cannot be changed or"
                        " replaced; write anything said later in the care notes."
                    ).format(person=person_label(self.row))
                )
            )
            return
        store, operator, person_id, row = self.store, self.operator, self.person_id, self.row

        def submit(values: dict[str, Any], _confirmed: bool) -> pump.DeclarationResult:
            with store.lock:
                return pump.record_declaration(
                    store, operator, person_id, values["text"], values["clinician"]
                )

        def saved(result: pump.DeclarationResult | None) -> None:
            if result is not None:
                self._done(ok_text(_("Declaration signed and recorded; it can no longer change.")))

        fields = [
            Field("text", _("Where the person was, in their own words"), kind="area"),
            Field("clinician", _("Clinician taking the declaration"), operator_parts(operator)[0]),
        ]
        intro = Text(
            _(
                "Write the person's words as they say them. Ctrl+S shows the declaration as it will"
                " be signed; once signed it is timestamped and can never be changed."
            ),
            style="bold yellow",
        )
        title = _("First declaration of {person}").format(person=person_label(row))
        self.app.push_screen(
            EditDialog(
                title,
                fields,
                submit,
                intro=intro,
                save_label=_("sign"),
                review=lambda values: signing_review(row, values),
            ),
            saved,
        )

    # -- care -----------------------------------------------------------------------------------
    def action_care(self) -> None:
        store, operator, person_id = self.store, self.operator, self.person_id

        def submit(values: dict[str, Any], _confirmed: bool) -> str:
            with store.lock:
                return pump.record_care(
                    store,
                    operator,
                    person_id,
                    values["care_given"] or None,
                    values["orientation"] or None,
                    values["notes"] or None,
                )

        def saved(result: str | None) -> None:
            if result is not None:
                self._done(ok_text(_("Care recorded.")))

        fields = [
            Field("care_given", _("Care given (e.g. defusing, listening)"), max_length=2000),
            Field("orientation", _("Oriented to (e.g. CUMP 75, consultation D+2)"), max_length=200),
            Field("notes", _("Notes"), max_length=2000),
        ]
        title = _("Care for {person}").format(person=person_label(self.row))
        self.app.push_screen(EditDialog(title, fields, submit), saved)

    # -- identity -------------------------------------------------------------------------------
    def action_identity(self) -> None:
        store, operator, person_id = self.store, self.operator, self.person_id

        def submit(values: dict[str, Any], _confirmed: bool) -> bool:
            cleaned: dict[str, Any] = {k: v or None for k, v in values.items()}
            with store.lock:
                persons.update_person(store, operator, person_id, persons.PersonInput(**cleaned))
            return True

        def saved(result: bool | None) -> None:
            if result:
                self._done(ok_text(_("Saved.")))

        row = self.row
        fields = [
            Field("family_name", _("Family name"), row.get("family_name") or "", max_length=100),
            Field("given_names", _("Given names"), row.get("given_names") or "", max_length=100),
            Field("sex", _("Sex (F, M, U)"), row.get("sex") or "", max_length=1),
            Field("birth_date", _("Birth date (YYYY-MM-DD)"), row.get("birth_date") or ""),
            Field("phone", _("Phone"), row.get("phone") or "", max_length=40),
        ]
        self.app.push_screen(EditDialog(_("Identity"), fields, submit), saved)

    # -- certificate ----------------------------------------------------------------------------
    def action_certificate(self) -> None:
        with self.store.lock:
            declared = certificates.first_declaration(self.store, self.person_id) is not None
        if not declared:
            self.say(
                error_text(
                    _(
                        "Record the person's first declaration of location before issuing a"
                        " certificate: the certificate quotes it."
                    )
                )
            )
            return
        store, operator, person_id = self.store, self.operator, self.person_id
        folder = self.home / CERTIFICATES_DIR
        clinician, registration = operator_parts(operator)

        def submit(values: dict[str, Any], _confirmed: bool) -> certificates.IssuedCertificate:
            out = folder / (f"certificat-{time.strftime('%Y%m%d-%H%M%S')}-{person_id[-8:]}.pdf")
            with store.lock:
                return certificates.issue_certificate(
                    store,
                    operator,
                    person_id,
                    values["clinician"],
                    values["registration"],
                    values["itt_days"],
                    out=out,
                    findings=values["findings"] or None,
                    impact=values["impact"] or None,
                    kind=str(values["kind"]),
                    place=values["place"] or None,
                    examined_at=values["examined_at"] or None,
                )

        def issued(result: certificates.IssuedCertificate | None) -> None:
            if result is None:
                return
            self.last_certificate = result
            hotline = store.meta.get(certificates.HOTLINE_META) or certificates.DEFAULT_HOTLINE
            self._done(
                ok_text(
                    _(
                        "Certificate written to {path}. Hand the original to the person, with the"
                        " victims' helpline {hotline}."
                    ).format(path=result.path, hotline=hotline)
                )
            )

        fields = [
            Field(
                "kind",
                _("Kind"),
                "initial",
                kind="choice",
                choices=[(_(label), key) for key, label in certificates.KINDS.items()],
            ),
            Field("clinician", _("Clinician"), clinician, max_length=120),
            Field("registration", _("Registration number (RPPS or ADELI)"), registration),
            Field("place", _("Place of the examination"), store.meta.get("site") or ""),
            Field("examined_at", _("Time of the examination (HH:MM; empty: now)"), max_length=20),
            Field("findings", _("Findings"), max_length=4000),
            Field("impact", _("Psychological impact"), max_length=4000),
            Field("itt_days", _("Days of incapacity (ITT)"), "0", max_length=3),
        ]
        title = _("Certificate for {person}").format(person=person_label(self.row))
        intro = Text(_("The PDF is written to {folder}.").format(folder=folder), style="dim")
        self.app.push_screen(
            EditDialog(title, fields, submit, intro=intro, save_label=_("issue"), threaded=True),
            issued,
        )


class PumpHome(StationHome):
    """The PUMP's home: the persons seen, newest first."""

    CSS_PATH = "pump.tcss"

    BINDINGS = [
        Binding("n", "register", _("New person")),
        Binding("slash", "filter", _("Filter"), key_display="/"),
        Binding("escape", "clear_filter", _("Clear"), show=False),
    ]

    def compose(self) -> ComposeResult:
        yield self.title_bar()
        yield Static(
            Text(
                _("n new person (with or without a bracelet) · Enter open · / filter"),
                style="dim",
            ),
            id="keys-help",
        )
        yield Static(id="message")
        yield Static(id="bilan")
        yield Input(
            placeholder=_("filter: number, name or category"), id="filter", select_on_focus=False
        )
        yield VirtualList(seen_columns(), SeenRows(self.store), id="persons")
        yield StatusLine(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.listing.focus()

    def say(self, text: Text) -> None:
        self.query_one("#message", Static).update(text)

    def refresh_bilan(self) -> None:
        with self.store.lock:
            seen = queries.count_persons(self.store.db)
        self.query_one("#bilan", Static).update(
            Text(
                plural(seen, _("{count} person seen"), _("{count} persons seen")).format(
                    count=seen
                ),
                style="bold",
            )
        )

    def _apply_filter(self) -> None:
        text = self.query_one("#filter", Input).value.strip()
        self.listing.set_source(SeenRows(self.store, text))

    def reload(self) -> None:
        self.listing.reload()
        self.refresh_bilan()

    # -- register --------------------------------------------------------------------------
    def action_register(self, number: str = "") -> None:
        store, operator = self.store, self.operator

        def submit(values: dict[str, Any], confirmed: bool) -> pump.RegisterResult:
            data = persons.PersonInput(**{k: (v or None) for k, v in values.items()})
            with store.lock:
                return pump.register_person(store, operator, data, confirmed_outside=confirmed)

        def registered(result: pump.RegisterResult | None) -> None:
            if result is None:
                self.listing.focus()
                return
            self.say(
                ok_text(_("Person registered."))
                if result.created
                else Text(_("This number is already known: its record is open."), style="bold")
            )
            self.reload()
            self.open_person(result.person_id)

        fields = [
            Field("nf399", _("Victim no. (optional: scan or type)"), number, max_length=200),
            Field("family_name", _("Family name"), max_length=100),
            Field("given_names", _("Given names"), max_length=100),
            Field("sex", _("Sex (F, M, U)"), max_length=1),
            Field("birth_date", _("Birth date (YYYY-MM-DD)"), max_length=20),
            Field("phone", _("Phone"), max_length=40),
        ]
        self.app.push_screen(EditDialog(_("New person"), fields, submit), registered)

    # -- record ----------------------------------------------------------------------------
    def open_person(self, person_id: str, action: str | None = None) -> None:
        screen = PumpRecord(self.store, person_id, self.operator, Path(self.app.home))  # type: ignore[attr-defined]

        def closed(changed: bool | None) -> None:
            if changed:
                self.reload()
            self.listing.focus()

        self.app.push_screen(screen, closed)
        if action:
            screen.call_after_refresh(getattr(screen, f"action_{action}"))

    # -- filter and scans --------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        """A full victim number in the filter (a scan): open that person, or register them."""
        if event.input.id != "filter":
            return
        raw = event.value
        number = validation.normalize_scan(raw)
        if not number or not re.fullmatch(number_format(self.store).pattern, number):
            return
        with self.store.lock:
            row = queries.number_binding(self.store.db, number).person  # its own, or merged into
        event.input.value = ""
        event.input.display = False
        self._apply_filter()
        if row is not None:
            self.open_person(row["id"])
        else:
            self.action_register(number)

    def on_key(self, event: events.Key) -> None:
        """A scanner types into whatever has focus: capitals and digits go to the filter."""
        if isinstance(self.focused, Input) or not event.is_printable or event.character is None:
            return
        if event.character.islower() or event.character == "/":
            return  # the keys of the actions
        self.action_filter()
        self.query_one("#filter", Input).insert_text_at_cursor(event.character)
        event.stop()


HomeScreen = PumpHome  # what the app looks up (ROLE_SCREENS)
