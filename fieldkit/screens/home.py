"""What every role's home screen shares: title, bilan, the filtered list of persons, the person
record, the status line."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from fieldkit.domain.triage import Category
from fieldkit.i18n import _
from fieldkit.screens.common import (
    StatusLine,
    category_badge,
    identity_text,
    local_time,
    number_tail,
    shown,
)
from fieldkit.screens.person import PersonScreen
from fieldkit.screens.person_list import Column, VirtualList
from fieldkit.store import queries
from fieldkit.store.store import Store

FILTER_DELAY = 0.15  # seconds of quiet typing before the list is filtered
STATUS_EVERY = 1.0  # seconds between refreshes of the status line ("synced 4 s ago")


class PersonRows:
    """The list's row source: live persons, newest first, filtered in SQL."""

    def __init__(self, store: Store, text: str | None = None) -> None:
        self.store = store
        self.text = text or None
        self._matches: list[int] | None = None

    # Reads take the store's lock: the sync agent's thread writes to the same connection, and a
    # read must never see (or interleave with) one of its transactions half done.
    def count(self) -> int:
        with self.store.lock:
            if self.text is None:
                return queries.count_persons(self.store.db)
            self._matches = queries.matching_rowids(self.store.db, self.text)
            return len(self._matches)

    def rows(self, offset: int, limit: int) -> list[dict[str, Any]]:
        if self.text is None:
            with self.store.lock:
                return queries.persons_page(self.store.db, offset=offset, limit=limit)
        if self._matches is None:
            self.count()
        assert self._matches is not None
        with self.store.lock:
            return queries.persons_by_rowids(self.store.db, self._matches[offset : offset + limit])


def person_columns() -> list[Column]:
    return [
        Column(_("time"), 8, lambda r: local_time(r["created_hlc"])),
        Column(_("cat."), 12, lambda r: category_badge(r.get("category"), r.get("refinement"))),
        Column(_("identity"), 26, lambda r: identity_text(r)),
        Column(_("no. (end)"), 10, lambda r: number_tail(r.get("nf399"))),
        Column(_("destination"), 24, lambda r: shown(r.get("destination") or "—")),
    ]


class StationHome(Screen[None]):
    """Base of the role screens. Subclasses compose with the helpers below."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self._filter_timer: Timer | None = None

    @property
    def operator(self) -> str:
        return str(getattr(self.app, "operator", "") or "")

    def title_bar(self) -> Static:
        meta = self.store.meta
        return Static(
            Text(
                f"fieldkit · {meta.get('station_name', '')} · {meta.get('incident', '')}",
                style="bold",
            ),
            id="title",
        )

    def on_mount(self) -> None:
        self.refresh_status()
        self.set_interval(STATUS_EVERY, self.refresh_status)
        if self.query("#bilan"):
            self.refresh_bilan()

    # -- status and bilan ------------------------------------------------------------------
    def refresh_status(self) -> None:
        app: Any = self.app
        self.query_one(StatusLine).show(
            self.store.meta.get("station_name", ""),
            self.store.role,
            self.operator,
            app.sync_state(),
        )

    def refresh_bilan(self) -> None:
        with self.store.lock:
            counts = queries.bilan(self.store.db)
        text = Text()
        for category in Category:
            text.append_text(category_badge(category.value))
            text.append(f" {counts.by_category.get(category.value, 0)}   ")
        text.append(_("evacuated {n}").format(n=counts.evacuated))
        text.append("   " + _("total {n}").format(n=counts.total))
        self.query_one("#bilan", Static).update(text)

    # -- filtered list ---------------------------------------------------------------------
    @on(Input.Changed, "#filter")
    def _schedule_filter(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, self._apply_filter)

    @on(Input.Submitted, "#filter")
    def _filter_now(self) -> None:
        self._apply_filter()
        self.query_one(VirtualList).focus()

    def _apply_filter(self) -> None:
        text = self.query_one("#filter", Input).value.strip()
        self.query_one(VirtualList).set_source(PersonRows(self.store, text))

    # -- a filter field shown only while in use (police, PUMP) -----------------------------
    @property
    def listing(self) -> VirtualList:
        return self.query_one(VirtualList)

    def action_filter(self) -> None:
        filter_input = self.query_one("#filter", Input)
        filter_input.display = True
        filter_input.focus()

    def action_clear_filter(self) -> None:
        filter_input = self.query_one("#filter", Input)
        if filter_input.value:
            filter_input.value = ""
            self._apply_filter()
        filter_input.display = False
        self.listing.focus()

    # -- person record ---------------------------------------------------------------------
    def on_virtual_list_selected(self, message: VirtualList.Selected) -> None:
        self.open_person(message.row["id"])

    def record_screen(self, person_id: str) -> PersonScreen:
        """The person record this role opens (the PMA's can void a count)."""
        return PersonScreen(self.store, person_id, self.operator)

    def open_person(self, person_id: str, action: str | None = None) -> None:
        """Open the record (and one of its actions); refresh the list if it changed."""
        screen = self.record_screen(person_id)

        def closed(changed: bool | None) -> None:
            if changed:
                self.query_one(VirtualList).reload()
                self.refresh_bilan()
            self.after_person_closed()
            if screen.closing_message is not None:
                self.say_closing(screen.closing_message)

        self.app.push_screen(screen, closed)
        if action:
            screen.call_after_refresh(getattr(screen, f"action_{action}"))

    def after_person_closed(self) -> None:
        """Where the focus goes back to (subclasses)."""

    def say_closing(self, text: Text) -> None:
        """Show what the record did as it closed (a voided count), where the screen shows
        its messages."""
        messages = self.query("#message")
        if messages:
            messages.first(Static).update(text)
