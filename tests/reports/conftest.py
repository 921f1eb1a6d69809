"""Fixtures of the reports tests: real encrypted stations, persons counted through the services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner

from fieldkit.services.persons import PersonInput, count_person
from fieldkit.store.store import Store

AUTHOR = "test-operator"


@pytest.fixture
def police(make_station: Callable[..., Any]) -> Store:
    return make_station(role="police", name="POLICE-1", site="Bataclan")


@pytest.fixture
def ciav(make_station: Callable[..., Any]) -> Store:
    return make_station(role="ciav", name="CIAV-1", site="Beauvau")


@pytest.fixture
def caf(make_station: Callable[..., Any]) -> Store:
    return make_station(role="caf", name="CAF-1")


@pytest.fixture
def pma(make_station: Callable[..., Any]) -> Store:
    return make_station(role="pma", name="PMA-1", site="Bataclan")


def count(store: Store, **fields: Any) -> str:
    """Count a person through the service; returns the person id."""
    return count_person(store, AUTHOR, PersonInput(**fields), confirmed_outside=True).person_id


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str]) -> Result:
    """``fieldkit ARGS`` in this process (click's runner): real stores, real command line."""
    from fieldkit.cli import cli

    runner = CliRunner()
    outcome = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
    return Result(outcome.exit_code, outcome.stdout, outcome.stderr)
