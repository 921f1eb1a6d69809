"""The fieldkit application: first-run wizard or unlock, operator sign-in, then the role's home."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding

from fieldkit.i18n import _, set_language
from fieldkit.screens.common import SyncState
from fieldkit.services.station import StationPaths
from fieldkit.store.store import Store

ROLE_SCREENS = {
    "pma": "fieldkit.screens.pma",
    "pump": "fieldkit.screens.overview",
    "police": "fieldkit.screens.overview",
    "caf": "fieldkit.screens.overview",
    "ciav": "fieldkit.screens.ciav",
}

SyncProvider = Callable[[], SyncState]


class FieldkitApp(App[None]):
    """One app for every role; the role's home screen is chosen after unlock."""

    CSS_PATH = "app.tcss"
    TITLE = "fieldkit"
    BINDINGS = [
        Binding("ctrl+q", "quit", _("Quit"), priority=True),
        Binding("ctrl+o", "change_operator", _("Operator")),
    ]

    def __init__(
        self,
        home: Path,
        passphrase_file: Path | None = None,
        *,
        store: Store | None = None,
        operator: str | None = None,
        lang: str | None = None,
        sync: SyncProvider | None = None,
    ) -> None:
        if lang:
            set_language(lang)
        super().__init__()
        self.home = Path(home)
        self.passphrase_file = passphrase_file
        self.store: Store | None = store
        self.operator = operator or ""
        self.sync_provider = sync

    # -- start -----------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.store is not None:
            self._after_unlock(self.store)
            return
        from fieldkit.screens.unlock import UnlockScreen, WizardScreen

        if StationPaths(self.home).exists():
            passphrase = self._passphrase_from_outside()
            self.push_screen(UnlockScreen(self.home, passphrase), self._after_unlock)
        else:
            self.push_screen(WizardScreen(self.home), self._after_unlock)

    def _passphrase_from_outside(self) -> str | None:
        if self.passphrase_file is not None:
            try:
                return self.passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError:
                return None
        return os.environ.get("FIELDKIT_PASSPHRASE")

    def _after_unlock(self, store: Store | None) -> None:
        if store is None:
            self.exit()
            return
        self.store = store
        self.sub_title = f"{store.meta.get('station_name', '')} · {store.meta.get('incident', '')}"
        if self.operator:
            self._open_home()
        else:
            self.action_change_operator(first=True)

    def _open_home(self) -> None:
        assert self.store is not None
        module = importlib.import_module(ROLE_SCREENS.get(self.store.role, ROLE_SCREENS["ciav"]))
        self.switch_to_home(module.HomeScreen(self.store))

    def switch_to_home(self, screen: Any) -> None:
        # Drop the start screens (wizard/unlock) so Escape cannot go back to them.
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(screen)

    # -- operator --------------------------------------------------------------------------
    def action_change_operator(self, first: bool = False) -> None:
        from fieldkit.screens.unlock import OperatorScreen

        def signed_in(name: str | None) -> None:
            if name:
                self.operator = name
                self.refresh_status()
                if first:
                    self._open_home()
            elif first:
                self.exit()

        self.push_screen(OperatorScreen(self.operator, first=first), signed_in)

    # -- status line -----------------------------------------------------------------------
    def sync_state(self) -> SyncState:
        if self.sync_provider is not None:
            return self.sync_provider()
        if self.store is None:
            return SyncState()
        return SyncState(online=False, waiting=self.store.local_change_count())

    def refresh_status(self) -> None:
        refresh = getattr(self.screen, "refresh_status", None)
        if refresh is not None:
            refresh()

    def on_unmount(self) -> None:
        if self.store is not None:
            self.store.close()
