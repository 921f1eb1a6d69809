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


class HubProcess:
    """``fieldkit hub serve`` in a real subprocess (SIGKILL-able)."""

    def __init__(self, home: Any, bind: str = "tcp://127.0.0.1:*", *extra: str) -> None:
        import os
        import select
        import subprocess
        import sys
        import time

        from tests.conftest import env_with_passphrase

        self.log_path = os.path.join(str(home), f"hub-{time.monotonic_ns()}.log")
        self._log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fieldkit.cli_sync",
                "hub",
                "serve",
                "--home",
                str(home),
                "--bind",
                bind,
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env_with_passphrase(),
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("endpoint="):
            self.proc.kill()
            raise AssertionError(f"hub did not start: {line!r} {self.log()}")
        self.endpoint = line.strip().split("=", 1)[1]

    def log(self) -> str:
        with open(self.log_path) as handle:
            return handle.read()

    def kill(self) -> None:
        import signal

        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
        self._log.close()
        return self.proc.wait()


@pytest.fixture
def hub_process() -> Iterator[Callable[..., HubProcess]]:
    procs: list[HubProcess] = []

    def start(home: Any, bind: str = "tcp://127.0.0.1:*", *extra: str) -> HubProcess:
        proc = HubProcess(home, bind, *extra)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.stop()
