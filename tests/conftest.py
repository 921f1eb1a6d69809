"""Shared fixtures: keep the user's real home out of tests; real encrypted stores in tmp_path."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fieldkit import i18n

PASSPHRASE = "correct horse battery"


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No test reads or writes the user's real stations, config or language."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("FIELDKIT_HOME", str(home / "station"))
    monkeypatch.setenv("FIELDKIT_KDF", "fast")
    monkeypatch.setenv("FIELDKIT_OPERATOR", "test-operator")
    for name in ("FIELDKIT_PASSPHRASE", "FIELDKIT_LANG"):
        monkeypatch.delenv(name, raising=False)
    i18n.set_language("fr")
    yield
    i18n.set_language("fr")


@pytest.fixture
def make_station(tmp_path: Path) -> Iterator[Callable[..., object]]:
    """Create real encrypted stations: make_station(role="pma", name="PMA-1", **options)."""
    from fieldkit.services.station import init_station

    opened = []

    def make(role: str = "pma", name: str = "PMA-1", **options: object):  # noqa: ANN202
        store = init_station(
            tmp_path / name,
            PASSPHRASE,
            role=role,
            station_name=name,
            incident=str(options.pop("incident", "INC-TEST")),
            **options,  # type: ignore[arg-type]
        )
        opened.append(store)
        return store

    yield make
    for store in opened:
        with contextlib.suppress(Exception):
            store.close()


def env_with_passphrase(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["FIELDKIT_PASSPHRASE"] = PASSPHRASE
    env.update(extra)
    return env


def exchange_all(*stores: object) -> None:
    """Every store receives every change of the others (what sync does, in one step)."""
    changes = [c for s in stores for c in s.all_changes()]  # type: ignore[attr-defined]
    for store in stores:
        store.apply(changes)  # type: ignore[attr-defined]
