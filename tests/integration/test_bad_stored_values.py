"""A store synced before the hub checked values may hold bad ones: every reader still works.

The values are those a hostile-input audit pushed into a hub that acknowledged them (a number for
a site or a name, an unknown triage category, a number for a time, an empty person id, escape
sequences). They are put in a real store as a pull would have (``Store.apply``), bypassing the
checks, then the bilan, the CSV, JSONL and PFIF exports, the matcher and the CIAV console read it.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from fieldkit.domain.changes import Change
from fieldkit.services import caf, sivic
from fieldkit.services.exchange import export_csv, export_jsonl
from fieldkit.services.matching import Matcher
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.services.pfif import export_pfif
from fieldkit.store import queries
from fieldkit.store.store import Store

GOOD = "FR075BSPP2026TR000555"


def hostile_changes(origin: str) -> list[Change]:
    """What the audit pushed, as the changes a hub stored and served before the fix."""
    hlc = (time.time_ns() // 1_000_000) << 16
    rows: list[tuple[str, str, dict[str, Any]]] = [
        (
            "person",
            "nf-EVIL1",
            {
                "family_name": "\x1b[2J\x1b]0;pwn\x07\u202eEVIL",
                "given_names": "[@click=app.quit]",
                "nf399": "not-a-number",
                "sex": 12345,
                "birth_date": "garbage",
                "apparent_age": "x" * 1000,
                "x_description": {"clothing": "\x1b[31mred"},
                "site": 3.5,
                "destination": "=" + "A" * 600,
            },
        ),
        ("triage", "t-evil1", {"person_id": "nf-EVIL1", "category": "UA"}),
        ("person", "nf-X", {"family_name": "Zed", "site": "PMA-2"}),
        ("triage", "t-zzz", {"person_id": "nf-X", "category": "ZZZ"}),
        (
            "person",
            "nf-INT",
            {"family_name": 5, "given_names": 1.5, "destination": 7, "birth_date": "1999-99-99"},
        ),
        ("triage", "t-int", {"person_id": "nf-INT", "category": "UA", "at": 123}),
        ("person", "nf-BAD2", {"family_name": 6, "site": 4}),
        ("triage", "t-bad2", {"person_id": "nf-BAD2", "category": "UR", "refinement": 9}),
        ("triage", "t-empty", {"person_id": "", "category": "UA"}),
    ]
    return [
        Change(origin, seq, hlc + seq, entity, entity_id, values, "a")
        for seq, (entity, entity_id, values) in enumerate(rows, 1)
    ]


def _store_with_bad_values(make_station: Callable[..., Store]) -> Store:
    hub = make_station("ciav", "CIAV", site="CIAV")
    count_person(
        hub,
        "Dr A",
        PersonInput(
            nf399=GOOD,
            category="UA",
            family_name="Durand",
            given_names="Camille",
            sex="F",
            birth_date="1980-03-03",
        ),
    )
    hub.apply(hostile_changes("PMA-EVIL"))
    return hub


def test_bilan_and_exports_read_a_store_holding_bad_values(make_station, caplog) -> None:
    caplog.set_level(logging.WARNING)
    hub = _store_with_bad_values(make_station)
    bilan = queries.bilan(hub.db)
    assert bilan.by_category["UA"] >= 2 and bilan.by_category["UR"] == 1
    assert "ZZZ" not in bilan.by_category
    assert bilan.total == sum(bilan.by_category.values())
    assert "3.5" in bilan.by_site and "4" in bilan.by_site
    assert "7" in bilan.by_destination
    csv_out = io.StringIO()
    assert export_csv(hub, csv_out) >= 4
    assert "Durand" in csv_out.getvalue() and "ZZZ" in csv_out.getvalue()
    jsonl_out = io.StringIO()
    assert export_jsonl(hub, jsonl_out) >= 4
    pfif_out = io.StringIO()
    assert export_pfif(hub, pfif_out, operator="op") >= 4
    assert "Durand" in pfif_out.getvalue()
    assert "\x1b" not in pfif_out.getvalue()
    assert any("ZZZ" in r.getMessage() for r in caplog.records)
    assert sivic.cross_check(hub, "op") is not None  # hospital admissions against the persons


def test_the_matcher_reads_past_bad_values_and_matches_the_good_person(make_station) -> None:
    hub = _store_with_bad_values(make_station)
    matcher = Matcher(hub)
    matcher.run_until_idle()
    enquiry = caf.record_enquiry(
        hub,
        "caf-op",
        enquirer_name="Famille",
        phone="+33 6 00 00 00 00",
        sought_family_name="Durand",
        sought_given_names="Camille",
        sought_sex="F",
    )
    # more bad values arrive after the enquiry, with a good person in the same batch
    late = hostile_changes("PMA-EVIL2")
    hlc = late[-1].hlc
    late.append(
        Change(
            "PMA-EVIL2",
            len(late) + 1,
            hlc + 1,
            "person",
            "nf-FR075BSPP2026TR000777",
            {"family_name": "Durand", "given_names": "Camille", "sex": "F"},
            "a",
        )
    )
    hub.apply(late)
    matcher.run_until_idle()
    assert matcher.pending == 0
    last = hub.db.execute(
        "SELECT id FROM changes WHERE entity_id = 'nf-FR075BSPP2026TR000777'"
    ).fetchone()[0]
    assert matcher.cursor >= last
    told = caf.outcome_for(hub, enquiry)
    assert told.outcome != "none", told
    people = {c.person_id for c in _candidates(hub, enquiry)}
    assert "nf-FR075BSPP2026TR000777" in people


def _candidates(hub: Store, enquiry: str) -> list[Any]:
    from fieldkit.services.matching import candidates_for

    return list(candidates_for(hub, enquiry))


async def test_the_ciav_console_and_its_persons_list_show_bad_values(
    make_station, tmp_path
) -> None:
    from fieldkit.screens.app import FieldkitApp
    from fieldkit.screens.ciav import CiavScreen
    from fieldkit.screens.person_list import VirtualList

    hub = _store_with_bad_values(make_station)
    app = FieldkitApp(tmp_path, store=hub, operator="Dr Test (SAMU 75)")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, CiavScreen)
        await pilot.press("p")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "PersonsScreen"
        listing = app.screen.query_one(VirtualList)
        shown = "\n".join(
            "".join(segment.text for segment in listing.render_line(y))
            for y in range(1, listing.row_count + 1)
        )
        assert "DURAND" in shown and "ZED" in shown and "[ZZZ]" in shown and "7" in shown
        assert "\x1b" not in shown
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CiavScreen)
        for person_id in ("nf-EVIL1", "nf-INT", "nf-X", "nf-BAD2"):
            app.screen.open_person(person_id)
            await pilot.pause()
            assert app.screen.__class__.__name__ == "PersonScreen", person_id
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, CiavScreen)


def test_the_matcher_reads_a_batch_again_when_reading_it_failed(make_station, monkeypatch) -> None:
    """A step that fails half-way leaves its cursor before the batch: the person in it is
    matched at the next step, not skipped (its family never told "no information yet")."""
    hub = make_station("ciav", "CIAV", site="CIAV")
    matcher = Matcher(hub)
    enquiry = caf.record_enquiry(
        hub,
        "caf-op",
        enquirer_name="Famille",
        phone="+33 6 00 00 00 00",
        sought_family_name="Durand",
        sought_given_names="Camille",
        sought_sex="F",
    )
    matcher.run_until_idle()
    before = matcher.cursor
    count_person(
        hub,
        "Dr A",
        PersonInput(nf399=GOOD, category="UA", family_name="Durand", given_names="Camille"),
    )
    real = Matcher._refresh_persons
    failures = iter([RuntimeError("disk hiccup")])

    def failing_once(self: Matcher, person_ids: list[str]) -> set[str]:
        for exc in failures:
            raise exc
        return real(self, person_ids)

    monkeypatch.setattr(Matcher, "_refresh_persons", failing_once)
    with pytest.raises(RuntimeError, match="disk hiccup"):
        matcher.step()
    assert matcher.cursor == before  # not past the batch it failed to read
    matcher.run_until_idle()
    assert f"nf-{GOOD}" in {c.person_id for c in _candidates(hub, enquiry)}
    assert caf.outcome_for(hub, enquiry).outcome != "none"
