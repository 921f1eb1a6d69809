"""The family reception desk (CAF): take an enquiry, follow it, say what may be said.

The desk never sees a list of persons (DOMAIN.md): it sees its enquiries and, for each, the one
sentence the hub's matcher allows ("found, cared for at ...", "an officer will speak with you",
"no information yet"). Never a death before an officer announced it: the CAF store does not
even hold one.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from fieldkit.domain.hlc import wall_seconds
from fieldkit.domain.matching import outcome_text
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _, current_language, in_language
from fieldkit.screens.common import StatusLine
from fieldkit.screens.forms import ConfirmDialog
from fieldkit.screens.home import StationHome
from fieldkit.services import caf
from fieldkit.services.certificates import DEFAULT_HOTLINE, HOTLINE_META

REFRESH_EVERY = 2.0  # seconds between two readings of the outcomes (the sync agent brings them)

# The intake form, in the order a desk officer asks (the person who asks, then the person sought).
INTAKE: list[tuple[str, bool]] = [  # field, multiline
    ("enquirer_name", False),
    ("relation", False),
    ("phone", False),
    ("language", False),
    ("staying_at", False),
    ("sought_family_name", False),
    ("sought_given_names", False),
    ("sought_sex", False),
    ("sought_age", False),
    ("description", True),
    ("clothing", False),
    ("sought_phone", False),
    ("last_place", False),
    ("last_time", False),
    ("ante_mortem", True),
]
OUTCOME_STYLE = {
    "found": "bold black on green",
    "officer": "bold white on dark_blue",
    "announced": "bold white on grey30",
    "none": "bold",
}


def _time(hlc: int | None) -> str:
    if not hlc:
        return "—"
    return datetime.fromtimestamp(wall_seconds(hlc)).strftime("%H:%M")


def _sought(row: dict[str, Any]) -> str:
    names = " ".join(
        part
        for part in ((row.get("sought_family_name") or "").upper(), row.get("sought_given_names"))
        if part
    )
    details = [d for d in (row.get("sought_sex"), row.get("sought_age")) if d]
    return " · ".join([names or _("(no name)"), *map(str, details)])


def enquiry_option(row: dict[str, Any]) -> Text:
    text = Text()
    text.append(f"{caf.enquiry_reference(row)} ", style="bold")
    text.append(f"{_time(row.get('created_hlc'))}  ")
    text.append(_sought(row), style="bold")
    text.append("  ← " + str(row.get("enquirer_name") or ""))
    if row.get("relation"):
        text.append(f" ({row['relation']})")
    text.append("\n      ")
    text.append(
        f" {row['outcome_text']} ", style=OUTCOME_STYLE.get(row.get("outcome") or "none", "")
    )
    return text


def enquiry_sheet(row: dict[str, Any], by: str) -> Text:
    """The enquiry as the desk reads it back, and the answer it may give."""
    text = Text()
    text.append(
        _("Enquiry no. {n} · {time} · taken by {who}").format(
            n=caf.enquiry_reference(row), time=_time(row.get("created_hlc")), who=by
        )
        + "\n",
        style="bold",
    )
    enquirer = [row.get("enquirer_name") or ""]
    if row.get("relation"):
        enquirer.append(f"({row['relation']})")
    for field in ("phone", "language", "staying_at"):
        if row.get(field):
            enquirer.append("· " + str(row[field]))
    text.append(_("Enquirer: ") + " ".join(enquirer) + "\n")
    sought = [_sought(row)]
    for field in ("description", "clothing", "sought_phone"):
        if row.get(field):
            sought.append("· " + str(row[field]))
    text.append(_("Person sought: ") + " ".join(sought) + "\n")
    if row.get("last_place") or row.get("last_time"):
        text.append(
            _("Last known place: ")
            + " ".join(str(row[f]) for f in ("last_place", "last_time") if row.get(f))
            + "\n"
        )
    text.append("\n" + _("What may be said:") + "\n", style="bold")
    text.append(
        f" {row['outcome_text']} ", style=OUTCOME_STYLE.get(row.get("outcome") or "none", "")
    )
    text.append("\n" + _("(no other detail is available at this desk)"), style="italic")
    return text


# How a desk writes the family's language, for the languages the app prints in (lower case,
# without accents): "anglais", "English", "en", "arabe, français" ...
LANGUAGE_WORDS = {
    "fr": {"fr", "francais", "francaise", "french", "fra", "fre"},
    "en": {"en", "anglais", "anglaise", "english", "eng", "angl"},
}


def printout_languages(language: str | None) -> list[str]:
    """The languages of the family's printout: the first language of the enquiry the app has
    (French, English); French when none is written; French and English for any other."""
    if not language or not language.strip():
        return ["fr"]
    plain = unicodedata.normalize("NFKD", language.casefold())
    words = re.findall(r"[a-z]+", "".join(c for c in plain if not unicodedata.combining(c)))
    for word in words:
        for code, spellings in LANGUAGE_WORDS.items():
            if word in spellings:
                return [code]
    return ["fr", "en"]


def _printout_part(row: dict[str, Any], incident: str, hotline: str) -> list[str]:
    """The sheet in the language in force: every part says the same, nothing more."""
    return [
        _("Family reception centre · {incident}").format(incident=incident),
        "",
        _("Enquiry no. {n}").format(n=caf.enquiry_reference(row)),
        _("Person sought: ") + _sought(row),
        "",
        _("What we can tell you now:"),
        "  " + outcome_text(row.get("outcome") or "none", row.get("outcome_place")),
        "",
        _("Information line for families: {number}").format(number=hotline),
        _("Keep this sheet: give the enquiry number when you call or come back."),
        _("Psychological support is available here: ask the desk."),
    ]


def printout(row: dict[str, Any], incident: str, hotline: str) -> str:
    """The sheet handed to the family: their enquiry number, the answer, whom to call, where;
    in the family's language when the app has it, else in French and in English."""
    parts = []
    for language in printout_languages(row.get("language")):
        with in_language(language):
            parts.append("\n".join(_printout_part(row, incident, hotline)))
    return ("\n\n" + "-" * 40 + "\n\n").join(parts) + "\n"


class EnquiryForm(ModalScreen[dict[str, str] | None]):
    """The intake form; Ctrl+S saves (Enter moves to the next field), Escape cancels, asking
    first when something was typed (a family is in front of the desk)."""

    BINDINGS = [
        Binding("ctrl+s", "save", _("Save")),
        Binding("escape", "cancel", _("Cancel")),
    ]

    def __init__(
        self,
        values: dict[str, str] | None = None,
        error: str | None = None,
        focus_field: str | None = None,
    ) -> None:
        super().__init__()
        self.values = values or {}
        self.error = error
        self.focus_field = focus_field if focus_field in dict(INTAKE) else None

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide"):
            yield Label(Text(_("New family enquiry"), style="bold"))
            if self.error and self.focus_field is None:
                yield Static(Text(self.error, style="bold red"), id="form-error")
            for field, multiline in INTAKE:
                if self.error and field == self.focus_field:
                    # next to the field it is about, so that both are on screen at 80x24
                    yield Static(Text(self.error, style="bold red"), id="form-error")
                yield Label(_(caf.ENQUIRY_LABELS[field]))
                if multiline:
                    area = TextArea(self.values.get(field, ""), id=f"f-{field}")
                    area.styles.height = 4
                    yield area
                else:
                    yield Input(value=self.values.get(field, ""), id=f"f-{field}", max_length=1000)
            yield Static(
                Text(_("Enter: next field · Ctrl+S: save · Escape: cancel"), style="italic")
            )

    def on_mount(self) -> None:
        self.query_one(f"#f-{self.focus_field or INTAKE[0][0]}").focus(scroll_visible=False)
        if self.query("#form-error"):
            error = self.query_one("#form-error", Static)
            # the error, its field's label and the field, from the top of the form's window
            self.call_after_refresh(error.scroll_visible, animate=False, top=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    def collected(self) -> dict[str, str]:
        values = {}
        for field, multiline in INTAKE:
            if multiline:
                values[field] = self.query_one(f"#f-{field}", TextArea).text
            else:
                values[field] = self.query_one(f"#f-{field}", Input).value
        return values

    def action_save(self) -> None:
        self.dismiss(self.collected())

    def action_cancel(self) -> None:
        typed = [field for field, value in self.collected().items() if value.strip()]
        if not typed:
            self.dismiss(None)
            return
        body = Text(
            _("What was typed in this form will be lost: c discards it, Escape goes back to it.")
        )

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmDialog(_("Discard this enquiry?"), body), answered)


class EnquiryScreen(ModalScreen[None]):
    """One enquiry read back, with the answer the desk may give; ``i`` prints for the family."""

    BINDINGS = [
        Binding("escape,q", "close", _("Back")),
        Binding("i", "print", _("Print for the family")),
    ]

    def __init__(self, home: CafScreen, enquiry_id: str) -> None:
        super().__init__()
        self.home = home
        self.enquiry_id = enquiry_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide"):
            yield Static(id="sheet")
            yield Static(id="printed")
            yield Static(Text(_("i: print for the family · Escape: back"), style="italic"))

    def on_mount(self) -> None:
        self.refresh_sheet()
        self.set_interval(REFRESH_EVERY, self.refresh_sheet)

    def _row(self) -> dict[str, Any] | None:
        with self.home.store.lock:
            rows = caf.enquiries(self.home.store, self.enquiry_id)
        return rows[0] if rows else None

    def refresh_sheet(self) -> None:
        row = self._row()
        if row is not None:
            by = str(row.get("created_by") or "")
            self.query_one("#sheet", Static).update(enquiry_sheet(row, by))

    def action_print(self) -> None:
        row = self._row()
        if row is None:
            return
        path = self.home.write_printout(row)
        self.query_one("#printed", Static).update(
            Text(_("Printout ready: {path}").format(path=path), style="bold")
        )

    def action_close(self) -> None:
        self.dismiss(None)


class CafScreen(StationHome):
    """The desk's home: its enquiries and their answers; ``n`` takes a new one."""

    BINDINGS = [
        Binding("n", "new_enquiry", _("New enquiry")),
        Binding("enter", "open_enquiry", _("Open"), show=False),
    ]

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.rows: list[dict[str, Any]] = []
        self._fingerprint: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        yield self.title_bar()
        yield Static(id="caf-help")
        yield OptionList(id="enquiries")
        yield Static(id="message")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#caf-help", Static).update(
            Text(
                _(
                    "Enquiries taken at this desk. n: new enquiry · Enter: read it back and the "
                    "answer that may be given."
                ),
                style="italic",
            )
        )
        self.refresh_enquiries()
        self.set_interval(REFRESH_EVERY, self.refresh_enquiries)
        self.query_one("#enquiries", OptionList).focus()

    def refresh_enquiries(self, force: bool = False) -> None:
        """Rebuild the list when an enquiry or an outcome changed (a cheap reading every few
        seconds: 3,000 enquiries take a third of a second to rebuild); the highlighted enquiry
        stays highlighted, wherever it moved."""
        with self.store.lock:  # the sync agent writes on this connection too
            fingerprint = (current_language(), *caf.enquiries_fingerprint(self.store))
            if fingerprint == self._fingerprint and not force:
                return
            self.rows = list(reversed(caf.enquiries(self.store)))  # the latest first
        self._fingerprint = fingerprint
        widget = self.query_one("#enquiries", OptionList)
        kept = self._highlighted_id()
        widget.clear_options()
        if not self.rows:
            widget.add_option(Option(Text(_("No enquiry yet: n to take one."), style="italic")))
            return
        widget.add_options([Option(enquiry_option(row), id=row["id"]) for row in self.rows])
        index = next((i for i, row in enumerate(self.rows) if row["id"] == kept), 0)
        widget.highlighted = index

    def _highlighted_id(self) -> str | None:
        widget = self.query_one("#enquiries", OptionList)
        index = widget.highlighted
        if index is None or index >= widget.option_count:
            return None
        return widget.get_option_at_index(index).id

    def _say(self, message: str, error: bool = False) -> None:
        self.query_one("#message", Static).update(
            Text(message, style="bold red" if error else "bold")
        )

    def action_new_enquiry(
        self,
        values: dict[str, str] | None = None,
        error: str | None = None,
        focus_field: str | None = None,
    ) -> None:
        def submitted(result: dict[str, str] | None) -> None:
            if result is None:
                self._say(_("Enquiry not recorded."))
                return
            fields = {k: v for k, v in result.items() if v.strip()}
            try:
                with self.store.lock:
                    caf.record_enquiry(self.store, self.operator, **fields)
            except FieldkitError as exc:  # back to the form, nothing typed is lost
                self.action_new_enquiry(result, exc.message, exc.field)
                return
            self._say(_("Enquiry recorded: the answer appears here as soon as it is known."))
            self.refresh_enquiries()

        self.app.push_screen(EnquiryForm(values, error, focus_field), submitted)

    @on(OptionList.OptionSelected, "#enquiries")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.action_open_enquiry()

    def action_open_enquiry(self) -> None:
        enquiry_id = self._highlighted_id()
        if enquiry_id is not None:
            self.app.push_screen(EnquiryScreen(self, enquiry_id))

    def write_printout(self, row: dict[str, Any]) -> Path:
        home = Path(getattr(self.app, "home", Path(".")))
        folder = home / "printouts"
        folder.mkdir(parents=True, exist_ok=True)
        reference = re.sub(r"[^\w-]+", "_", caf.enquiry_reference(row), flags=re.ASCII)
        path = folder / f"enquiry-{reference}.txt"
        text = printout(
            row,
            self.store.meta.get("incident", ""),
            self.store.meta.get(HOTLINE_META) or DEFAULT_HOTLINE,
        )
        path.write_text(text, encoding="utf-8")
        return path


HomeScreen = CafScreen  # what the app opens for this role (see ROLE_SCREENS)
