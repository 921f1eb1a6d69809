"""The reference a family quotes: fixed when the enquiry is taken, whatever arrives later."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fieldkit.services import caf
from fieldkit.store.connection import connect
from fieldkit.store.migrations import migrate
from fieldkit.store.store import Store


def _take(store: Store, family: str) -> str:
    return caf.record_enquiry(
        store,
        "desk",
        enquirer_name=f"{family} Samira",
        phone="+33 6 22 22 22 22",
        sought_family_name=family,
    )


def _references(store: Store) -> dict[str, str]:
    return {row["id"]: caf.enquiry_reference(row) for row in caf.enquiries(store)}


def test_each_desk_numbers_its_own_enquiries_and_the_numbers_never_move(
    make_station: Callable[..., Any],
) -> None:
    desk1 = make_station(role="caf", name="CAF-1")
    desk2 = make_station(role="caf", name="CAF-2")
    older = _take(desk2, "Durand")  # taken first, at the other desk, still offline
    benali = _take(desk1, "Benali")
    martin = _take(desk1, "Martin")
    before = _references(desk1)
    assert (before[benali], before[martin]) == ("CAF-1-0001", "CAF-1-0002")
    desk1.apply(desk2.all_changes())  # the other desk's older enquiry arrives
    after = _references(desk1)
    assert (after[benali], after[martin], after[older]) == (
        "CAF-1-0001",
        "CAF-1-0002",
        "CAF-2-0001",
    )
    petit = _take(desk2, "Petit")
    assert _references(desk2)[petit] == "CAF-2-0002"


def test_an_enquiry_taken_before_references_gets_one_from_its_id(
    make_station: Callable[..., Any],
) -> None:
    desk = make_station(role="caf", name="CAF-1")
    enquiry_id = _take(desk, "Benali")
    desk.db.execute("UPDATE enquiries SET reference = NULL")
    (row,) = caf.enquiries(desk)
    assert caf.enquiry_reference(row) == "E-" + enquiry_id[-6:].upper()


def test_migration_7_adds_the_column_to_a_store_at_version_6(tmp_path: Path) -> None:
    from fieldkit.store import keys

    key = keys.create_keyfile(tmp_path / "s.keys", "correct horse battery")
    db = connect(tmp_path / "s.db", key, create=True)
    migrate(db, target=6)
    assert "reference" not in {c.name for c in db["enquiries"].columns}
    migrate(db)
    assert "reference" in {c.name for c in db["enquiries"].columns}
