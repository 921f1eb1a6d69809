"""Fixtures for the app: real encrypted stations, a fixed clock and local time for snapshots."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fieldkit.domain.hlc import HybridClock
from fieldkit.screens.app import FieldkitApp
from fieldkit.store.store import Store

FIXED_MS = 1_795_000_000_000  # 2026-11-18, a fixed wall clock for reproducible screens


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.fixture(autouse=True)
def _console_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CIAV console's clock (bilan time, hourly snapshots) at the fixed time."""
    from datetime import UTC, datetime

    from fieldkit.screens import ciav

    monkeypatch.setattr(ciav, "_now", lambda: datetime.fromtimestamp(FIXED_MS / 1000, UTC))


@pytest.fixture
def fixed_clock_station(make_station: Callable[..., Store]) -> Callable[..., Store]:
    """A station whose clock advances 1 s per change from a fixed time (stable snapshots)."""

    def make(role: str = "pma", name: str = "PMA-1", **options: object) -> Store:
        store = make_station(role=role, name=name, **options)
        ticks = iter(range(FIXED_MS, FIXED_MS + 10**9, 1000))
        store.clock = HybridClock(0, lambda: next(ticks))
        return store

    return make


@pytest.fixture
def app_on(tmp_path: Path) -> Callable[..., FieldkitApp]:
    def make(store: Store, operator: str = "Dr Test (SAMU 75)", **kwargs: object) -> FieldkitApp:
        return FieldkitApp(tmp_path, store=store, operator=operator, **kwargs)  # type: ignore[arg-type]

    return make
