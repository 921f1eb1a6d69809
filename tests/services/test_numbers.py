"""A victim number counted again never writes into a record that no longer binds it.

The id of a counted person derives from the number, but a record can hold that id without binding
the number: it was renumbered (its id derives from a number it no longer carries), deleted (a
mistake), or merged into another record (a duplicate: the bracelet is the kept record's). Real
encrypted stores; each case writes what a rescuer would see at the PMA.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fieldkit.domain.changes import DELETED
from fieldkit.domain.ids import person_id_for_number
from fieldkit.errors import NotFound, ValidationError
from fieldkit.services import exchange
from fieldkit.services import pump as pump_service
from fieldkit.services.persons import (
    PersonInput,
    count_person,
    delete_person,
    merge_duplicate,
    undo_merge,
    update_person,
)
from fieldkit.store import queries
from fieldkit.store.store import Store, Write
from tests.conftest import exchange_all

N1 = "FR075BSPP2026TR000101"
N2 = "FR075BSPP2026TR000102"
N3 = "FR075BSPP2026TR000103"


@pytest.fixture
def pma(make_station: Callable[..., Any]) -> Store:
    return make_station(role="pma", name="PMA-1")


def _row(store: Store, person_id: str) -> dict[str, Any]:
    row = queries.person(store.db, person_id)
    assert row is not None
    return row


def _live(store: Store) -> list[tuple[str | None, str | None]]:
    return sorted(
        (r["nf399"], r["family_name"])
        for r in store.db.query(f"SELECT * FROM persons WHERE {queries.LIVE}")
    )


def _changes(store: Store) -> int:
    return int(store.db.execute("SELECT count(*) FROM changes").fetchone()[0])


# --- renumbered: the number a record gave up is free, under an id of its own -------------------


def test_a_number_given_up_by_a_renumbered_record_counts_a_new_person_beside_it(pma: Store):
    martin = count_person(
        pma, "op", PersonInput(nf399=N1, category="UA", family_name="Martin", given_names="Claire")
    ).person_id
    update_person(pma, "op", martin, PersonInput(nf399=N2))  # N1 was a typing slip

    durand = count_person(
        pma, "op", PersonInput(nf399=N1, category="UR", family_name="Durand", given_names="Paul")
    ).person_id

    assert durand != martin
    assert (_row(pma, martin)["family_name"], _row(pma, martin)["nf399"]) == ("Martin", N2)
    assert (_row(pma, martin)["category"], _row(pma, durand)["category"]) == ("UA", "UR")
    assert _live(pma) == [(N1, "Durand"), (N2, "Martin")]
    assert queries.bilan(pma.db).total == 2
    by_n1, by_n2 = queries.person_by_number(pma.db, N1), queries.person_by_number(pma.db, N2)
    assert by_n1 is not None and by_n1["id"] == durand
    assert by_n2 is not None and by_n2["id"] == martin
    with pytest.raises(ValidationError, match="déjà compté"):
        count_person(pma, "op", PersonInput(nf399=N1, category="UA"))


def test_stations_that_count_a_given_up_number_offline_write_the_same_new_record(
    make_station: Callable[..., Any],
):
    pma1 = make_station(role="pma", name="PMA-1")
    pma2 = make_station(role="pma", name="PMA-2")
    martin = count_person(pma1, "op", PersonInput(nf399=N1, category="UA", family_name="Martin"))
    update_person(pma1, "op", martin.person_id, PersonInput(nf399=N2))
    exchange_all(pma1, pma2)

    # both stations scan bracelet N1, each offline: one person, one record, merged field by field
    first = count_person(pma1, "a", PersonInput(nf399=N1, category="UR", family_name="Durand"))
    second = count_person(pma2, "b", PersonInput(nf399=N1, category="UR", given_names="Paul"))
    assert first.person_id == second.person_id == person_id_for_number(N1, 2)
    exchange_all(pma1, pma2)
    for store in (pma1, pma2):
        assert _live(store) == [(N1, "Durand"), (N2, "Martin")]
        found = queries.person_by_number(store.db, N1)
        assert found is not None and found["given_names"] == "Paul"
        assert queries.bilan(store.db).total == 2


def test_a_number_whose_new_record_is_renumbered_too_takes_the_next_id(pma: Store):
    first = count_person(pma, "op", PersonInput(nf399=N1, category="UA")).person_id
    update_person(pma, "op", first, PersonInput(nf399=N2))
    second = count_person(pma, "op", PersonInput(nf399=N1, category="UR")).person_id
    update_person(pma, "op", second, PersonInput(nf399=N3))
    third = count_person(pma, "op", PersonInput(nf399=N1, category="DCD")).person_id
    assert third == person_id_for_number(N1, 3)
    assert sorted(r[0] for r in _live(pma) if r[0]) == [N1, N2, N3]
    assert queries.bilan(pma.db).total == 3


# --- deleted: a record deleted as a mistake binds nothing, and is never written into ----------


def test_a_number_counted_again_after_its_record_was_deleted_counts_a_visible_person(pma: Store):
    mistake = count_person(pma, "op", PersonInput(nf399=N3, category="UA")).person_id
    delete_person(pma, "op", mistake)

    petit = count_person(pma, "op", PersonInput(nf399=N3, category="UR", family_name="Petit"))

    assert petit.person_id != mistake
    tombstone = _row(pma, mistake)
    assert (tombstone["deleted"], tombstone["family_name"], tombstone["category"]) == (
        1,
        None,
        "UA",
    )
    assert [t["category"] for t in queries.triage_history(pma.db, mistake)] == ["UA"]
    assert [t["category"] for t in queries.triage_history(pma.db, petit.person_id)] == ["UR"]
    assert _live(pma) == [(N3, "Petit")]
    assert queries.bilan(pma.db).by_category["UR"] == 1 and queries.bilan(pma.db).total == 1
    found = queries.person_by_number(pma.db, N3)
    assert found is not None and found["id"] == petit.person_id


def test_a_record_can_take_the_number_of_a_deleted_record(pma: Store):
    mistake = count_person(pma, "op", PersonInput(nf399=N3, category="UA")).person_id
    delete_person(pma, "op", mistake)
    x_person = count_person(pma, "op", PersonInput(category="UR")).person_id
    update_person(pma, "op", x_person, PersonInput(nf399=N3))
    found = queries.person_by_number(pma.db, N3)
    assert found is not None and found["id"] == x_person
    assert _row(pma, mistake)["deleted"] == 1


# --- merged: the bracelet is the kept record's --------------------------------------------------


def _merged(store: Store) -> tuple[str, str]:
    """N1 counted twice under two numbers (the person wore two bracelets), merged into N2."""
    twin = count_person(store, "op", PersonInput(nf399=N1, category="UA", family_name="Martin"))
    kept = count_person(
        store,
        "op",
        PersonInput(nf399=N2, category="UA", family_name="Martin", given_names="Claire"),
    )
    merge_duplicate(store, "CIAV", twin.person_id, kept.person_id)
    return twin.person_id, kept.person_id


def test_counting_a_number_merged_into_another_record_is_refused_naming_it(pma: Store):
    twin, kept = _merged(pma)
    before = _changes(pma)
    with pytest.raises(ValidationError) as refused:
        count_person(pma, "op", PersonInput(nf399=N1, category="UR", family_name="Durand"))
    assert refused.value.field == "nf399"
    assert "Martin Claire" in refused.value.message and N2 in refused.value.message
    assert "nouveau bracelet" in refused.value.message
    assert _changes(pma) == before
    assert _row(pma, twin)["family_name"] == "Martin" and _row(pma, twin)["replaced_by"] == kept
    assert queries.bilan(pma.db).total == 1


def test_a_pump_registering_a_merged_number_is_refused_and_nothing_is_written(
    make_station: Callable[..., Any],
):
    pump = make_station(role="pump", name="PUMP-1")
    _merged(pump)
    before = _changes(pump)
    with pytest.raises(ValidationError, match="Martin Claire"):
        pump_service.register_person(pump, "psy", PersonInput(nf399=N1, family_name="Durand"))
    assert _changes(pump) == before


def test_a_number_merged_into_another_record_cannot_be_given_to_a_third(pma: Store):
    _merged(pma)
    x_person = count_person(pma, "op", PersonInput(category="UR")).person_id
    with pytest.raises(ValidationError, match="Martin Claire"):
        update_person(pma, "op", x_person, PersonInput(nf399=N1))
    assert _row(pma, x_person)["nf399"] is None


def test_a_merge_undone_gives_the_number_back_to_its_record(pma: Store):
    twin, _kept = _merged(pma)
    undo_merge(pma, "CIAV", twin)
    with pytest.raises(ValidationError, match="déjà compté"):
        count_person(pma, "op", PersonInput(nf399=N1, category="UR"))


def test_a_number_merged_into_a_record_deleted_since_is_free(pma: Store):
    _twin, kept = _merged(pma)
    delete_person(pma, "CIAV", kept)
    new = count_person(pma, "op", PersonInput(nf399=N1, category="UR", family_name="Durand"))
    assert new.person_id == person_id_for_number(N1, 2)
    assert _live(pma) == [(N1, "Durand")]


def test_a_command_given_a_merged_number_names_the_record_to_give_instead(pma: Store):
    import fieldkit.cli  # noqa: F401  (it registers the service commands: import it first)
    from fieldkit.cli_services import _resolve_person

    _twin, kept = _merged(pma)
    with pytest.raises(NotFound) as refused:
        _resolve_person(pma, N1, None)
    assert f"--person {kept}" in refused.value.message
    assert _resolve_person(pma, N2, None) == kept


# --- a row a triage event made before its person is still the number's record -----------------


def test_a_row_made_by_a_triage_event_before_its_person_is_the_numbers_record(pma: Store):
    pma.record_many(
        [Write("triage", "t-early", {"person_id": person_id_for_number(N1), "category": "UA"})],
        "PMA-2",
    )
    counted = count_person(pma, "op", PersonInput(nf399=N1, category="UA", family_name="Roux"))
    assert counted.person_id == person_id_for_number(N1)
    assert _live(pma) == [(N1, "Roux")]


# --- import: the same rules -------------------------------------------------------------------


def _jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_an_import_writes_a_given_up_or_deleted_number_beside_the_record_not_into_it(
    make_station: Callable[..., Any], tmp_path: Path
):
    ciav = make_station(role="ciav", name="CIAV")
    martin = count_person(ciav, "op", PersonInput(nf399=N1, category="UA", family_name="Martin"))
    update_person(ciav, "op", martin.person_id, PersonInput(nf399=N2))
    mistake = count_person(ciav, "op", PersonInput(nf399=N3, category="UA")).person_id
    ciav.record("person", mistake, {DELETED: True}, "op")

    exchange.import_jsonl(
        ciav,
        "import",
        _jsonl(
            tmp_path / "in.jsonl",
            [
                {"nf399": N1, "family_name": "Durand", "category": "UR"},
                {"nf399": N3, "family_name": "Petit", "category": "UR"},
            ],
        ),
    )

    assert _live(ciav) == [(N1, "Durand"), (N2, "Martin"), (N3, "Petit")]
    assert _row(ciav, martin.person_id)["category"] == "UA"
    assert _row(ciav, mistake)["deleted"] == 1 and _row(ciav, mistake)["family_name"] is None
    assert queries.bilan(ciav.db).total == 3


def test_an_import_line_with_a_merged_number_is_refused_and_nothing_is_imported(
    make_station: Callable[..., Any], tmp_path: Path
):
    ciav = make_station(role="ciav", name="CIAV")
    _merged(ciav)
    before = _changes(ciav)
    source = _jsonl(
        tmp_path / "in.jsonl",
        [
            {"nf399": N3, "family_name": "Petit", "category": "UR"},
            {"nf399": N1, "family_name": "Durand", "category": "UR"},
        ],
    )
    with pytest.raises(ValidationError) as refused:
        exchange.import_jsonl(ciav, "import", source)
    assert refused.value.message.startswith("Ligne 2")
    assert "Martin Claire" in refused.value.message
    assert _changes(ciav) == before
