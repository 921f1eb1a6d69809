"""Fixtures of the reports tests: real encrypted stations, persons counted through the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

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
