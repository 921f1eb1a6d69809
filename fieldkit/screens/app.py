"""The fieldkit application: first-run wizard or unlock, operator sign-in, then the role's home."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from textual.app import App
from textual.binding import Binding

from fieldkit.errors import FieldkitError
from fieldkit.i18n import _, set_language
from fieldkit.screens.common import SyncState, SyncView
from fieldkit.services.station import StationPaths
from fieldkit.store.store import Store

ROLE_SCREENS = {
    "pma": "fieldkit.screens.pma",
    "pump": "fieldkit.screens.pump",
    "police": "fieldkit.screens.police",
    "caf": "fieldkit.screens.caf",
    "ciav": "fieldkit.screens.ciav",
}


class SyncHandle(Protocol):
    """A running sync agent, as the app sees it (built by the composition root)."""

    def status(self) -> SyncView: ...

    def stop(self, timeout: float = 5.0) -> None: ...


# Called once the store is unlocked: starts the agent if the station has an upstream hub and
# returns it, else None. Screens never import the sync agent (zmq): bootstrap passes this in.
SyncStarter = Callable[[Store], SyncHandle | None]


class FieldkitApp(App[None]):
    """One app for every role; the role's home screen is chosen after unlock."""

    CSS_PATH = "app.tcss"
    TITLE = "fieldkit"
    BINDINGS = [
        Binding("ctrl+q", "quit", _("Quit"), priority=True),
        Binding("ctrl+o", "change_operator", _("Operator")),
        Binding("f2", "switch_station", _("Stations")),
    ]

    def __init__(
        self,
        home: Path,
        passphrase_file: Path | None = None,
        *,
        store: Store | None = None,
        operator: str | None = None,
        lang: str | None = None,
        sync: SyncStarter | None = None,
        stations: Mapping[str, Store] | None = None,
        station_status: Callable[[str], SyncView] | None = None,
    ) -> None:
        """``stations`` and ``station_status`` (the demo): several stations run in this process;
        F2 switches the app between them, each with its role's home and its own sync state."""
        if lang:
            set_language(lang)
        super().__init__()
        self.home = Path(home)
        self.passphrase_file = passphrase_file
        self.store: Store | None = store
        self.operator = operator or ""
        self.sync_starter = sync
        self.sync: SyncHandle | None = None
        self.stations = dict(stations or {})
        self.station_status = station_status

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
        self._start_sync(store)
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

    # -- sync and status line ----------------------------------------------------------------
    def _start_sync(self, store: Store) -> None:
        if self.sync_starter is None or self.sync is not None:
            return
        try:
            self.sync = self.sync_starter(store)
        except FieldkitError as exc:
            self.notify(exc.message, severity="error", timeout=10, markup=False)

    def sync_state(self) -> SyncView:
        if self.station_status is not None and self.store is not None:
            return self.station_status(self.store.meta.get("station_name", ""))
        if self.sync is not None:
            return self.sync.status()
        if self.store is None:
            return SyncState()
        with self.store.lock:
            waiting = self.store.local_change_count()
        return SyncState(online=False, waiting=waiting)

    def refresh_status(self) -> None:
        refresh = getattr(self.screen, "refresh_status", None)
        if refresh is not None:
            refresh()

    # -- several stations in one process (the demo) ------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_station":
            return bool(self.stations) and self.store is not None
        return True

    def action_switch_station(self) -> None:
        from fieldkit.screens.common import StationPicker

        if not self.stations or self.store is None:
            return

        def chosen(name: str | None) -> None:
            store = self.stations.get(name or "")
            if store is None or store is self.store:
                return
            self.store = store
            self.sub_title = f"{name} · {store.meta.get('incident', '')}"
            self._open_home()

        current = self.store.meta.get("station_name", "")
        rows = [
            (name, store.role, self.station_status(name).describe() if self.station_status else "")
            for name, store in self.stations.items()
        ]
        self.push_screen(StationPicker(rows, current), chosen)

    def on_unmount(self) -> None:
        if self.sync is not None:
            self.sync.stop()
            self.sync = None
        if self.store is not None and not self.stations:  # the demo closes the stores it runs
            self.store.close()
