"""Reading what the screens show, as plain text."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from textual.app import App
from textual.widget import Widget

from fieldkit.screens.person_list import VirtualList


def plain(widget: Widget) -> str:
    """The text a Static shows (Text, Table or string), without styles."""
    content: Any = getattr(widget, "content", None)
    if content is None:
        content = widget.render()
    if isinstance(content, str):
        return content
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(content)
    return console.export_text()


def shown(app: App[Any], selector: str) -> str:
    return plain(app.screen.query_one(selector))


def list_lines(listing: VirtualList) -> list[str]:
    """The lines the list draws (header first), as the terminal shows them."""
    height = listing.scrollable_content_region.height
    return [
        "".join(segment.text for segment in listing.render_line(y)).rstrip() for y in range(height)
    ]


async def wait_until(pilot: Any, condition: Any, tries: int = 100) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    assert condition()


def on_screen(app: App[Any], selector: str) -> str:
    """The text the terminal really shows where the widget lies (all layers composited), its
    lines joined: a sentence cut off, hidden under another widget or scrolled away reads short."""
    widget = app.screen.query_one(selector)
    region = widget.region  # empty when the widget is not on screen at all
    strips = app.screen._compositor.render_strips()
    lines = [
        "".join(segment.text for segment in strips[y])[region.x : region.right]
        for y in range(region.y, min(region.bottom, len(strips)))
    ]
    return " ".join(" ".join(lines).split())
