"""Composition root: opens the store, builds the app. Nothing happens at import."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_app(home: Path, passphrase_file: Path | None = None) -> None:
    """Open the Textual application on the station in ``home`` (first-run wizard if none)."""
    from fieldkit.screens.app import FieldkitApp

    FieldkitApp(home=home, passphrase_file=passphrase_file).run()


def run_app_on(home: Path, store: Any, *, operator: str) -> None:
    """Open the app on an already unlocked store (the demo)."""
    from fieldkit.screens.app import FieldkitApp

    FieldkitApp(home=home, store=store, operator=operator).run()
