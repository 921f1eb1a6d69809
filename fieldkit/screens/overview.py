"""The home of roles whose own screens are not built yet: the station's bilan and its persons.

PUMP, police, CAF and CIAV get their own screens in later work (issues 4 and 5); until then this
screen shows what the station holds, read-only except through the person record. The CAF never
sees a list of persons (DOMAIN.md): it gets only a notice.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, Static

from fieldkit.i18n import _
from fieldkit.screens.common import StatusLine
from fieldkit.screens.home import PersonRows, StationHome, person_columns
from fieldkit.screens.person_list import VirtualList


class HomeScreen(StationHome):
    BINDINGS = [Binding("slash", "filter", _("Filter"), key_display="/")]

    @property
    def shows_persons(self) -> bool:
        return self.store.role != "caf"

    def compose(self) -> ComposeResult:
        yield self.title_bar()
        if self.shows_persons:
            yield Static(id="bilan")
            yield Input(placeholder=_("filter: number, name or category"), id="filter")
            yield VirtualList(person_columns(), PersonRows(self.store), id="persons")
        else:
            yield Static(
                Text(
                    _(
                        "This station receives families' enquiries. The enquiry screens are not "
                        "built yet: use the command line (fieldkit --help)."
                    )
                ),
                id="notice",
            )
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        if self.shows_persons:
            self.query_one(VirtualList).focus()

    def action_filter(self) -> None:
        if self.shows_persons:
            self.query_one("#filter", Input).focus()
