"""The incident scenario: deterministic, realistic, and valid for the domain's checks."""

from __future__ import annotations

from collections import Counter

from fieldkit.domain import validation
from fieldkit.domain.changes import Change
from fieldkit.domain.triage import Category
from fieldkit.sim.scenario import Scenario, station_specs, writes_by_station
from fieldkit.sync.wire import invalid_reason


def _actions(seed: int = 3, persons: int = 3000, stations: int = 8):
    scenario = Scenario(station_specs(stations), persons, seed=seed, ticks=60)
    return [a for tick in scenario for a in tick.actions]


def test_same_seed_same_incident_other_seed_another() -> None:
    assert _actions(seed=3) == _actions(seed=3)
    assert _actions(seed=3) != _actions(seed=4)


def test_station_mix_is_mostly_pma() -> None:
    roles = Counter(s.role for s in station_specs(50))
    assert roles == {"pma": 38, "pump": 5, "police": 4, "caf": 3}
    assert [s.role for s in station_specs(4)] == ["pma", "pump", "police", "caf"]
    assert len({s.site for s in station_specs(50) if s.role == "pma"}) == 9


def test_step_api_ticks_in_order_until_the_incident_is_over() -> None:
    scenario = Scenario(station_specs(4), 200, seed=1, ticks=10)
    first = scenario.step()
    assert first is not None and first.n == 0 and first.at == "2026-07-14T20:00:00Z"
    assert any(a.entity == "triage" for a in first.actions)
    count = 1
    while scenario.step() is not None:
        count += 1
    assert count >= 10 and scenario.done and scenario.step() is None


def test_every_write_is_valid_and_follows_the_doctrine() -> None:
    actions = _actions(persons=4000)
    roles = {s.name: s.role for s in station_specs(8)}
    entities = Counter(a.entity for a in actions)
    assert entities["person"] and entities["triage"] and entities["declaration"]
    assert entities["witness"] and entities["enquiry"] and entities["death_stage"]
    categories: Counter[str] = Counter()
    category_of: dict[str, str] = {}
    named: set[str] = set()
    stages: dict[str, list[str]] = {}
    for seq, action in enumerate(actions, 1):
        change = Change(
            roles[action.station],
            seq,
            1,
            action.entity,
            action.entity_id,
            dict(action.values),
            "drill",
        )
        assert invalid_reason(change) is None, action
        values = action.values
        if action.entity == "person":
            if "nf399" in values:
                assert values["nf399"] == validation.validate_nf399(
                    values["nf399"], validation.DEFAULT_FORMAT, []
                )
                assert action.entity_id == "nf-" + values["nf399"]
            family, given = validation.validate_identity(
                values.get("family_name"), values.get("given_names")
            )
            if family or given:
                named.add(action.entity_id)
            if "x_description" in values:
                assert validation.validate_description(values["x_description"])
                assert values["family_name"] is None and values["given_names"] is None
            if "birth_date" in values:
                validation.validate_birth_date(values["birth_date"])
        elif action.entity == "triage":
            assert roles[action.station] == "pma"  # the PUMP does not triage
            category = validation.parse_category(values["category"])
            assert values["category"] == category.value
            validation.parse_refinement(values.get("refinement"), category)
            if values["person_id"] not in category_of:
                categories[category.value] += 1
            category_of[values["person_id"]] = category.value
        elif action.entity == "death_stage":
            assert roles[action.station] == "police"
            person = values["person_id"]
            assert category_of[person] == Category.DCD.value
            assert person in named  # identity established before "identified"
            stages.setdefault(person, []).append(values["stage"])
            assert stages[person] in (["identified"], ["identified", "announced"])
        elif action.entity in ("declaration", "care"):
            assert roles[action.station] == "pump"
        elif action.entity == "witness":
            assert roles[action.station] == "police"
        elif action.entity == "enquiry":
            assert roles[action.station] == "caf"
    total = sum(categories.values())
    assert categories[Category.IMPLIQUE.value] > 0.75 * total
    assert 0 < categories["DCD"] < 0.05 * total and categories["UA"] and categories["UR"]
    assert any(s == ["identified", "announced"] for s in stages.values())


def test_writes_are_grouped_by_station_in_order() -> None:
    scenario = Scenario(station_specs(6), 500, seed=2, ticks=5)
    tick = scenario.step()
    assert tick is not None
    grouped = writes_by_station(tick.actions)
    assert sum(len(w) for w in grouped.values()) == len(tick.actions)
    for station, writes in grouped.items():
        mine = [
            (a.entity, a.entity_id, dict(a.values)) for a in tick.actions if a.station == station
        ]
        assert writes == mine


def test_a_tick_drives_real_stations(make_station) -> None:
    from fieldkit.sim.live import apply_actions
    from fieldkit.store import queries

    specs = station_specs(4)
    stores = {s.name: make_station(s.role, s.name, site=s.site) for s in specs if s.role != "caf"}
    scenario = Scenario(specs, 300, seed=5, ticks=5)
    written = skipped = 0
    for tick in scenario:
        written += apply_actions(stores, tick.actions)
        skipped += sum(1 for a in tick.actions if a.station not in stores)
    assert written > 600 and skipped > 0  # the CAF's enquiries: no store here
    pma = stores["PMA-01"]
    counted = queries.bilan(pma.db)
    assert counted.total > 250 and counted.by_category["UA"] + counted.by_category["UR"] > 0
    assert pma.local_change_count() == sum(
        1 for t in Scenario(specs, 300, seed=5, ticks=5) for a in t.actions if a.station == "PMA-01"
    )
    police = stores["POLICE-1"]
    assert police.db.execute("select count(*) from witnesses").fetchone()[0] > 0


def test_every_bracelet_counted_once_even_with_few_pmas_and_many_persons() -> None:
    for stations, persons in ((4, 40_000), (50, 5000)):
        scenario = Scenario(station_specs(stations), persons, seed=1, ticks=20)
        counted = [
            a.values["nf399"]
            for tick in scenario
            for a in tick.actions
            if a.entity == "person" and "found_place" in a.values
        ]
        assert len(counted) == scenario.counted
        assert len(set(counted)) == len(counted)
        for number in counted[:50] + counted[-50:]:
            assert validation.validate_nf399(number, validation.DEFAULT_FORMAT, []) == number


def test_every_write_is_one_its_station_role_may_record() -> None:
    """The hub refuses a push holding what the sender's role may not write: the drill never does."""
    from fieldkit.domain.authority import write_refusal

    for count, sites in ((8, None), (2, None), (50, 10)):
        specs = station_specs(count, sites=sites)
        roles = {s.name: s.role for s in specs}
        scenario = Scenario(specs, 1500, seed=5, ticks=40)
        for tick in scenario:
            for action in tick.actions:
                reason = write_refusal(roles[action.station], action.entity, action.values)
                assert reason is None, (action.station, action.entity, reason)
