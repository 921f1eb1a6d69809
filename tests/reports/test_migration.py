"""Migration 5 (reports tables) from an empty store and from a store at an earlier version."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldkit.store import keys
from fieldkit.store.connection import connect
from fieldkit.store.migrations import current_version, migrate

REPORT_TABLES = {"hospital_admissions", "audit_reads", "bilan_snapshots"}


def _new_db(tmp_path: Path):  # noqa: ANN202
    key = keys.create_keyfile(tmp_path / "s.keys", "correct horse battery")
    return connect(tmp_path / "s.db", key, create=True)


@pytest.mark.parametrize("start", [0, 1, 2, 3])
def test_migration_5_from_each_earlier_version(tmp_path: Path, start: int):
    db = _new_db(tmp_path)
    if start:
        migrate(db, target=start)
        assert not REPORT_TABLES & set(db.table_names())
    migrate(db)
    assert current_version(db) >= 5
    assert set(db.table_names()) >= REPORT_TABLES
    triggers = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert {"audit_reads_no_update", "audit_reads_no_delete"} <= triggers
    migrate(db)  # a rerun changes nothing
    assert set(db.table_names()) >= REPORT_TABLES
