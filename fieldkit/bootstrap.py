"""Composition root: opens the store, starts the sync agent, builds the app. Nothing at import."""

from __future__ import annotations

from pathlib import Path


def run_app(home: Path, passphrase_file: Path | None = None) -> None:
    """Open the Textual application on the station in ``home`` (first-run wizard if none)."""
    from fieldkit.screens.app import FieldkitApp

    FieldkitApp(home=home, passphrase_file=passphrase_file).run()
