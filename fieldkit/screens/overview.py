"""The home of roles whose own screens are not built yet: the station's bilan and its persons.

PUMP, police, CAF and CIAV get their own screens in later work (issues 4 and 5); until then this
screen shows what the station holds, read-only except through the person record. The CAF never
sees a list of persons (DOMAIN.md): it gets only a notice.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from fieldkit.domain.triage import Category
from fieldkit.i18n import _
from fieldkit.screens.common import StatusLine, category_badge
from fieldkit.screens.person import PersonScreen
from fieldkit.screens.person_list import VirtualList
from fieldkit.screens.pma import FILTER_DELAY, PersonRows, person_columns
from fieldkit.store import queries
from fieldkit.store.store import Store


class HomeScreen(Screen[None]):
    BINDINGS = [Binding("slash", "filter", _("Filter"), key_display="/")]

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self._timer: Any = None

    @property
    def shows_persons(self) -> bool:
        return self.store.role != "caf"

    def compose(self) -> ComposeResult:
        meta = self.store.meta
        yield Static(
            Text(
                f"fieldkit · {meta.get('station_name', '')} · {meta.get('incident', '')}",
                style="bold",
            ),
            id="title",
        )
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
        self.refresh_status()
        self.set_interval(2.0, self.refresh_status)
        if self.shows_persons:
            self.refresh_bilan()
            self.query_one(VirtualList).focus()

    def refresh_status(self) -> None:
        app: Any = self.app
        self.query_one(StatusLine).show(
            self.store.meta.get("station_name", ""),
            self.store.role,
            str(app.operator or ""),
            app.sync_state(),
        )

    def refresh_bilan(self) -> None:
        counts = queries.bilan(self.store.db)
        text = Text()
        for category in Category:
            text.append_text(category_badge(category.value))
            text.append(f" {counts.by_category.get(category.value, 0)}   ")
        text.append(_("evacuated {n}").format(n=counts.evacuated))
        text.append("   " + _("total {n}").format(n=counts.total))
        self.query_one("#bilan", Static).update(text)

    def action_filter(self) -> None:
        if self.shows_persons:
            self.query_one("#filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(FILTER_DELAY, self._apply_filter)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._apply_filter()
        self.query_one(VirtualList).focus()

    def _apply_filter(self) -> None:
        text = self.query_one("#filter", Input).value.strip()
        self.query_one(VirtualList).set_source(PersonRows(self.store, text))

    def on_virtual_list_selected(self, message: VirtualList.Selected) -> None:
        def closed(changed: bool | None) -> None:
            if changed:
                self.query_one(VirtualList).reload()
                self.refresh_bilan()

        self.app.push_screen(
            PersonScreen(self.store, message.row["id"], str(getattr(self.app, "operator", ""))),
            closed,
        )
