"""Matching fixtures: the sync fixtures (a real hub on 127.0.0.1) are shared with tests/sync."""

from tests.sync.conftest import start_hub  # noqa: F401  (a fixture, used by name)
