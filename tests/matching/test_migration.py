"""Migration 4 (matching tables): from a version-3 store, with data kept and rebuilt."""

from __future__ import annotations

from pathlib import Path

from fieldkit.domain.hlc import HybridClock
from fieldkit.store import keys
from fieldkit.store.connection import connect
from fieldkit.store.migrations import current_version, migrate
from fieldkit.store.store import Store


def test_version_3_store_gains_the_matching_tables(tmp_path: Path) -> None:
    key = keys.create_keyfile(tmp_path / "s.keys", "correct horse battery")
    db = connect(tmp_path / "s.db", key, create=True)
    assert migrate(db, target=3) == [1, 2, 3]
    db.execute("INSERT INTO meta VALUES ('station_id', 'hub1'), ('role', 'ciav')")
    assert "enquiry_outcomes" not in db.table_names()
    store = Store(db, HybridClock())  # opening the store migrates to the latest version
    assert current_version(db) >= 4
    assert {"enquiry_outcomes", "match_candidates"} <= set(db.table_names())
    store.record("enquiry", "e1", {"sought_family_name": "Durand"}, "op")
    store.record("enquiry_outcome", "eo-e1", {"enquiry_id": "e1", "outcome": "none"}, "matcher")
    store.record(
        "match_candidate",
        "mc-1",
        {
            "enquiry_id": "e1",
            "person_id": "p1",
            "score": 93.5,
            "reasons": "sex_same=F(+3)",
            "rank": 1,
        },
        "matcher",
    )
    store.rebuild()
    assert db.execute("SELECT outcome FROM enquiry_outcomes").fetchall() == [("none",)]
    assert db.execute("SELECT score, rank FROM match_candidates").fetchall() == [(93.5, 1)]
    assert migrate(db) == []  # re-running changes nothing
