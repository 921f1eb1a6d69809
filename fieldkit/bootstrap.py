"""Composition root: opens the store, starts the sync agent, builds the app. Nothing happens at
import."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def start_sync(store: Any, **agent_options: Any) -> Any:
    """Start the sync agent in its thread if the station has an upstream hub (else None).

    The app calls this once the store is unlocked and stops the agent when it quits; the screens
    only see the agent's ``status()`` (they never import zmq)."""
    from fieldkit.sync.state import SyncState

    if SyncState(store).upstream() is None:
        return None
    from fieldkit.sync.agent import Agent

    agent = Agent(store, **agent_options)
    agent.start()
    return agent


def run_app(home: Path, passphrase_file: Path | None = None) -> None:
    """Open the Textual application on the station in ``home`` (first-run wizard if none)."""
    from fieldkit.screens.app import FieldkitApp

    FieldkitApp(home=home, passphrase_file=passphrase_file, sync=start_sync).run()


def run_app_on(home: Path, store: Any, *, operator: str) -> None:
    """Open the app on an already unlocked store (the demo)."""
    from fieldkit.screens.app import FieldkitApp

    FieldkitApp(home=home, store=store, operator=operator, sync=start_sync).run()
