"""Cost of the value check of received changes (fieldkit/domain/values.py) on 100,000 changes.

Usage: python tools/bench_values.py   (a few seconds; the changes are the drill scenario's writes)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fieldkit.domain.changes import Change  # noqa: E402
from fieldkit.domain.values import values_problem  # noqa: E402
from fieldkit.sim.scenario import Scenario, station_specs  # noqa: E402
from fieldkit.sync import wire  # noqa: E402

N = 100_000


def typical_changes() -> list[Change]:
    """The scenario's writes (persons, triage, care, declarations, witnesses, enquiries ...)."""
    changes: list[Change] = []
    scenario = Scenario(station_specs(8), 40_000, seed=3, ticks=60)
    for tick in scenario:
        for action in tick.actions:
            changes.append(
                Change(
                    "PMA-1",
                    len(changes) + 1,
                    len(changes),
                    action.entity,
                    action.entity_id,
                    dict(action.values),
                    "drill",
                )
            )
            if len(changes) == N:
                return changes
    return changes


def best_of(runs: int, check, changes: list[Change]) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        for change in changes:
            if check(change) is not None:
                raise AssertionError(change)
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    changes = typical_changes()
    fields = sum(len(c.values) for c in changes)
    alone = best_of(5, lambda c: values_problem(c.entity, c.values), changes)
    whole = best_of(5, wire.invalid_reason, changes)
    print(f"{len(changes):,} changes, {fields:,} values")
    print(
        f"values_problem alone: {alone * 1000:.0f} ms ({alone / len(changes) * 1e6:.2f} µs/change)"
    )
    print(f"wire.invalid_reason (names + values): {whole * 1000:.0f} ms")


if __name__ == "__main__":
    main()
