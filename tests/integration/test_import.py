"""Bulk import: the same result and the same errors whether validated inline or in a child."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fieldkit.errors import ValidationError
from fieldkit.i18n import set_language
from fieldkit.services import exchange
from fieldkit.store import queries
from fieldkit.store.store import Store


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
