"""A virtual list of persons on Textual's line API: only visible rows are fetched and drawn.

Textual's DataTable measures every cell (10+ s at 100,000 rows). Here the list knows only the
number of rows; each visible line asks a page cache, which asks SQL for pages of rows. Filtering
is done in SQL by the row source; the list just swaps its source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

PAGE = 100


class RowSource(Protocol):
    def count(self) -> int: ...

    def rows(self, offset: int, limit: int) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    render: Callable[[dict[str, Any]], Text | str]


class VirtualList(ScrollView, can_focus=True):
    """Rows drawn on demand; cursor with arrows, Enter opens the highlighted row."""

    BINDINGS = [
        Binding("up", "cursor(-1)", show=False),
        Binding("down", "cursor(1)", show=False),
        Binding("pageup", "cursor(-20)", show=False),
        Binding("pagedown", "cursor(20)", show=False),
        Binding("home", "cursor_to(0)", show=False),
        Binding("end", "cursor_to(-1)", show=False),
        Binding("enter", "select", show=False),
    ]
    DEFAULT_CSS = """
    VirtualList { height: 1fr; }
    """

    cursor = reactive(0)

    class Selected(Message):
        def __init__(self, row: dict[str, Any]) -> None:
            super().__init__()
            self.row = row

    def __init__(self, columns: list[Column], source: RowSource, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns = columns
        self._source = source
        self._pages: dict[int, list[dict[str, Any]]] = {}
        self._count = 0

    # -- data ------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return self._count

    def set_source(self, source: RowSource) -> None:
        self._source = source
        self.reload()

    def reload(self) -> None:
        """Forget cached pages (after a write or a new filter) and redraw."""
        self._pages.clear()
        self._count = self._source.count()
        width = sum(c.width + 1 for c in self.columns)
        self.virtual_size = Size(width, self._count + 1)
        self.cursor = min(self.cursor, max(self._count - 1, 0))
        self.refresh()

    def row(self, index: int) -> dict[str, Any] | None:
        if not 0 <= index < self._count:
            return None
        page = index // PAGE
        if page not in self._pages:
            if len(self._pages) > 50:
                self._pages.clear()
            self._pages[page] = self._source.rows(page * PAGE, PAGE)
        rows = self._pages[page]
        offset = index - page * PAGE
        return rows[offset] if offset < len(rows) else None

    def on_mount(self) -> None:
        self.reload()

    # -- drawing ---------------------------------------------------------------------------
    def _cells(self, values: list[Text | str], style: Style | None = None) -> Strip:
        segments: list[Segment] = []
        for column, value in zip(self.columns, values, strict=True):
            text = value if isinstance(value, Text) else Text(str(value), no_wrap=True)
            text = text.copy()
            text.truncate(column.width, overflow="ellipsis", pad=True)
            segments.extend(text.render(self.app.console))
            segments.append(Segment(" "))
        strip = Strip(segments)
        if style is not None:
            strip = strip.apply_style(style)
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if y == 0:
            header = self._cells([Text(c.title, style="bold") for c in self.columns])
            return header.crop(scroll_x, scroll_x + width).extend_cell_length(width)
        index = scroll_y + y - 1
        row = self.row(index)
        if row is None:
            return Strip.blank(width)
        style = Style(reverse=True) if index == self.cursor and self.has_focus else None
        strip = self._cells([c.render(row) for c in self.columns], style)
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, style)

    # -- cursor ----------------------------------------------------------------------------
    def watch_cursor(self, _old: int, new: int) -> None:
        visible = max(self.scrollable_content_region.height - 1, 1)
        if new < self.scroll_offset.y:
            self.scroll_to(y=new, animate=False)
        elif new >= self.scroll_offset.y + visible:
            self.scroll_to(y=new - visible + 1, animate=False)
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        if self._count:
            self.cursor = max(0, min(self._count - 1, self.cursor + delta))

    def action_cursor_to(self, index: int) -> None:
        if self._count:
            self.cursor = self._count - 1 if index < 0 else index

    def action_select(self) -> None:
        row = self.row(self.cursor)
        if row is not None:
            self.post_message(self.Selected(row))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
