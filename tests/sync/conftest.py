"""Sync fixtures: real stores, a real hub on 127.0.0.1 (random port), real enrolment."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fieldkit.store.store import Store
from fieldkit.sync.enrol import create_invite, join
from fieldkit.sync.hub import Hub


@pytest.fixture
def start_hub() -> Iterator[Callable[..., Hub]]:
    hubs: list[Hub] = []

    def start(store: Store, bind: str = "tcp://127.0.0.1:*") -> Hub:
        hub = Hub(store, bind)
        hub.start()
        hubs.append(hub)
        return hub

    yield start
    for hub in hubs:
        with contextlib.suppress(Exception):
            hub.stop()


def enrol(hub_store: Store, endpoint: str, station: Store, relay: bool = False) -> Any:
    token = create_invite(
        hub_store, station.role, station.meta["station_name"], endpoint, relay=relay
    )
    return join(station, token, timeout=5)


@pytest.fixture(scope="session")
def cli_group() -> Any:
    """The main click group with the sync commands registered."""
    from fieldkit.cli import cli
    from fieldkit.cli_sync import register

    register(cli)
    return cli


def run_cli(group: Any, *args: str) -> Any:
    from click.testing import CliRunner

    from tests.conftest import PASSPHRASE

    return CliRunner().invoke(group, list(args), env={"FIELDKIT_PASSPHRASE": PASSPHRASE})
