"""Fixtures of the service tests: real encrypted stations of each role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fieldkit.store.store import Store


@pytest.fixture
def police(make_station: Callable[..., Any]) -> Store:
    return make_station(role="police", name="POLICE-1")


@pytest.fixture
def pump(make_station: Callable[..., Any]) -> Store:
    return make_station(role="pump", name="PUMP-1")
