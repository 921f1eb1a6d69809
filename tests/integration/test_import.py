"""Bulk import: the same result and the same errors whether validated inline or in a child."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from fieldkit.domain.changes import DELETED
from fieldkit.domain.hlc import HybridClock
from fieldkit.domain.ids import person_id_for_number
from fieldkit.errors import ValidationError
from fieldkit.i18n import set_language
from fieldkit.services import exchange
from fieldkit.services.station import open_station
from fieldkit.store import materialise, queries
from fieldkit.store.store import Store, Write
from tests.conftest import PASSPHRASE


def _number(i: int) -> str:
    return f"FR075BSPP2026TR{i:06d}"


def _write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


def _records(count: int) -> list[dict[str, object]]:
    return [
        {
            "nf399": _number(i),
            "category": ["UA", "UR", "Impliqué", "DCD"][i % 4],
            "family_name": f"Nom{i}",
            "given_names": "Zoé" if i % 2 else "Jean",
            "destination": "Hôpital Lariboisière" if i % 3 == 0 else None,
        }
        for i in range(count)
    ]


@pytest.fixture(params=["inline", "child"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each test both ways; small batches so that a file spans several of them."""
    monkeypatch.setattr(exchange, "IMPORT_BATCH", 7)
    if request.param == "child":
        monkeypatch.setattr(exchange, "PARALLEL_IMPORT_BYTES", 0)
    else:
        monkeypatch.setattr(exchange, "PARALLEL_IMPORT_BYTES", 1 << 40)
    return str(request.param)


def test_every_record_is_imported_with_its_triage(
    mode: str, make_station: Callable[..., Store], tmp_path: Path
) -> None:
    store = make_station(role="ciav")
    count = exchange.import_jsonl(store, "import", _write(tmp_path / "p.jsonl", _records(50)))
    assert count == 50
    result = queries.bilan(store.db)
    assert result.total == 50
    person = queries.person_by_number(store.db, _number(7))
    assert person is not None
    assert (person["family_name"], person["given_names"], person["category"]) == (
        "Nom7",
        "Zoé",
        "DCD",
    )
    assert len(store.all_changes()) == 100  # a person and a triage event each


def test_a_bad_line_in_a_late_batch_imports_nothing_and_names_the_line(
    mode: str, make_station: Callable[..., Store], tmp_path: Path
) -> None:
    store = make_station(role="ciav")
    records = _records(40)
    records[33]["family_name"] = "X pouvant être Dupont"
    with pytest.raises(ValidationError) as raised:
        exchange.import_jsonl(store, "import", _write(tmp_path / "p.jsonl", records))
    assert raised.value.message.startswith("Ligne 34 :")
    assert raised.value.field == "family_name"
    assert queries.bilan(store.db).total == 0
    assert store.all_changes() == []
    # the store still works: the corrected file goes in whole
    records[33]["family_name"] = "Dupont"
    assert exchange.import_jsonl(store, "import", _write(tmp_path / "p.jsonl", records)) == 40


def test_a_number_repeated_in_another_batch_is_refused(
    mode: str, make_station: Callable[..., Store], tmp_path: Path
) -> None:
    store = make_station(role="ciav")
    records = _records(30)
    records[25]["nf399"] = _number(2)
    with pytest.raises(ValidationError) as raised:
        exchange.import_jsonl(store, "import", _write(tmp_path / "p.jsonl", records))
    assert "26" in raised.value.message and "3" in raised.value.message
    assert queries.bilan(store.db).total == 0


def test_messages_follow_the_interface_language(
    mode: str, make_station: Callable[..., Store], tmp_path: Path
) -> None:
    store = make_station(role="ciav")
    source = tmp_path / "p.jsonl"
    source.write_text('{"nf399": "FR075BSPP2026TR000001", "category": "UA"}\n{oops\n')
    set_language("en")
    try:
        with pytest.raises(ValidationError) as raised:
            exchange.import_jsonl(store, "import", source)
    finally:
        set_language("fr")
    assert raised.value.message == "Line 2 is not valid JSON."


def test_a_reimport_updates_only_what_changed(
    mode: str, make_station: Callable[..., Store], tmp_path: Path
) -> None:
    store = make_station(role="ciav")
    records = _records(20)
    records.append({"category": "UR", "nf399": _number(99), "x_description": {"hair": "roux"}})
    exchange.import_jsonl(store, "import", _write(tmp_path / "p.jsonl", records))
    before = len(store.all_changes())
    records[4]["category"] = "UA"  # was UA already (4 % 4 == 0): nothing
    records[5]["category"] = "DCD"  # was UR: a new triage event
    exchange.import_jsonl(store, "import", _write(tmp_path / "p.jsonl", records))
    assert len(store.all_changes()) == before + 1
    assert queries.person_by_number(store.db, _number(5))["category"] == "DCD"


def test_a_child_that_dies_is_reported_and_nothing_is_kept(
    make_station: Callable[..., Store], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_station(role="ciav")
    monkeypatch.setattr(exchange, "PARALLEL_IMPORT_BYTES", 0)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    # a child that exits at once without a word
    monkeypatch.setattr(exchange, "_CHILD_MODULE", "fieldkit_dead_child")
    (tmp_path / "fieldkit_dead_child.py").write_text("import sys\nsys.exit(3)\n")
    with pytest.raises(exchange.FieldkitError) as raised:
        exchange.import_jsonl(store, "import", _write(tmp_path / "p.jsonl", _records(10)))
    assert "rien n'a été importé" in raised.value.message
    assert queries.bilan(store.db).total == 0


def test_fresh_persons_go_in_exactly_as_the_general_write_path_would_write_them(
    make_station: Callable[..., Store], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Store.record_fresh (the bulk path) against Store.record_many with the same writes: the
    same store, the same clock and the same ids give the same database, row for row. The file
    mixes new persons with persons the store holds (live, known only from a triage event,
    numbered after their creation) and numbers whose own id a record holds that does not bind them
    any more (deleted, renumbered: a new person beside it), so that both paths run, interleaved."""
    monkeypatch.setattr(exchange, "IMPORT_BATCH", 5)
    monkeypatch.setattr(exchange, "PARALLEL_IMPORT_BYTES", 1 << 40)  # inline: ids drawn here
    origin = make_station(role="ciav", name="A", site="Bataclan")
    exchange.import_jsonl(
        origin,
        "setup",
        _write(
            tmp_path / "setup.jsonl",
            [
                {"nf399": _number(1), "family_name": "Martin", "category": "UR"},
                {"nf399": _number(2), "family_name": "Durand", "category": "UA"},
                {"family_name": "Petit", "category": "Impliqué"},
                {"nf399": _number(5), "family_name": "Roux", "category": "UA"},
            ],
        ),
    )
    unnumbered = next(
        row["id"] for row in origin.db.query("SELECT id FROM persons WHERE nf399 IS NULL")
    )
    origin.record_many(
        [
            Write("person", person_id_for_number(_number(2)), {DELETED: True}),
            Write(
                "triage",
                "t-stub",
                {"person_id": person_id_for_number(_number(3)), "category": "UR"},
            ),
            Write("person", unnumbered, {"nf399": _number(4)}),
            Write("person", person_id_for_number(_number(5)), {"nf399": _number(6)}),
        ],
        "setup",
    )
    origin.close()
    shutil.copytree(tmp_path / "A", tmp_path / "B")
    records: list[dict[str, object]] = [
        {"nf399": _number(10), "category": "UA", "refinement": "EU", "family_name": "Zoé"},
        {"category": "DCD", "x_description": {"hair": "brun", "build": "mince"}},
        {"nf399": _number(1), "family_name": "Martin-Roux", "category": "UR"},  # held: a field
        {"nf399": _number(11), "given_names": "李小龍", "site": "Rue de Charonne"},  # no triage
        {"nf399": _number(2), "family_name": "Durand", "category": "UR"},  # deleted: a new row
        {"nf399": _number(3), "family_name": "Moreau"},  # row made by a triage event
        {"nf399": _number(4), "given_names": "Léa", "category": "UA"},  # numbered later
        {"nf399": _number(5), "family_name": "Blanc", "category": "UR"},  # renumbered: a new row
    ]
    records += [{"nf399": _number(20 + i), "category": "UR", "refinement": "U2"} for i in range(9)]
    source = _write(tmp_path / "p.jsonl", records)

    runs = [
        _import_counting(tmp_path / name, source, fresh, monkeypatch)
        for name, fresh in (("A", Store.record_fresh), ("B", _record_fresh_by_record_many))
    ]
    (calls, dump), (reference_calls, reference_dump) = runs
    assert calls == reference_calls
    assert "fresh" in calls and "many" in calls
    # 4 set up, 1 made by a triage event, 14 new (9 + 3 + the numbers 2 and 5 beside their rows)
    assert len(dump["persons"]) == 4 + 1 + 14 and len(dump["changes"]) > 30
    ids = {row[0] for row in dump["persons"]}
    assert {person_id_for_number(_number(2), 2), person_id_for_number(_number(5), 2)} <= ids
    assert dump == reference_dump


def _record_fresh_by_record_many(
    store: Store, persons: list[materialise.FreshPerson], author: str
) -> None:
    """What Store.record_fresh must amount to: these writes through Store.record_many."""
    writes = []
    for person_id, values, triage_id, triage_values in persons:
        writes.append(Write("person", person_id, values))
        if triage_values is not None:
            assert triage_id is not None
            writes.append(Write("triage", triage_id, triage_values))
    _RECORD_MANY(store, writes, author)  # not the counting one the test puts in its place


_RECORD_MANY = Store.record_many


def _import_counting(
    home: Path,
    source: Path,
    record_fresh: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[list[str], dict[str, list[tuple[object, ...]]]]:
    """Import with a fixed clock and numbered ids; which write path ran, in order, and every
    table's rows in storage order."""
    counter = iter(range(1, 1000))
    monkeypatch.setattr(exchange, "new_id", lambda: f"id-{next(counter):04d}")
    calls: list[str] = []
    record_many = Store.record_many

    def fresh(store: Store, persons: list[materialise.FreshPerson], author: str) -> None:
        calls.append("fresh")
        record_fresh(store, persons, author)

    def many(store: Store, writes: list[Write], author: str) -> object:
        calls.append("many")
        return record_many(store, writes, author)

    store = open_station(home, PASSPHRASE)
    store.clock = HybridClock(store.clock.last, lambda: 1_900_000_000_000)
    with monkeypatch.context() as patch:
        patch.setattr(Store, "record_fresh", fresh)
        patch.setattr(Store, "record_many", many)
        exchange.import_jsonl(store, "import", source)
    tables = [r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    dump = {t: store.db.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
    store.close()
    return calls, dump


def test_a_caf_may_not_import_persons(make_station: Callable[..., Store], tmp_path: Path) -> None:
    desk = make_station(role="caf", name="CAF-1")
    with pytest.raises(exchange.PermissionDenied) as refused:
        exchange.import_jsonl(desk, "import", _write(tmp_path / "p.jsonl", _records(3)))
    assert refused.value.message == "Le rôle de ce poste ne permet pas d'importer des personnes."
    assert desk.db.execute("SELECT count(*) FROM persons").fetchone()[0] == 0
