"""Driving real stations with a scenario: write the actions of one tick into their stores.

For ``fieldkit demo`` and the like, at the pace of the incident::

    scenario = Scenario(specs, persons=2000, seed=4)
    while (tick := scenario.step()) is not None:
        apply_actions(stores, tick.actions)   # the stations this process runs
        time.sleep(2)                         # one simulated minute every two seconds

The drill does the same at full speed, in its worker processes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fieldkit.sim.scenario import Action, writes_by_station
from fieldkit.store.store import Store, Write

AUTHOR = "simulation"


def apply_actions(
    stores: Mapping[str, Store], actions: Sequence[Action], author: str = AUTHOR
) -> int:
    """Write the actions of the stations in ``stores`` (station name -> store), one transaction
    per station; actions of other stations are skipped. Returns the number of changes written."""
    written = 0
    for station, writes in writes_by_station(actions).items():
        store = stores.get(station)
        if store is None:
            continue
        store.record_many(
            [Write(entity, entity_id, values) for entity, entity_id, values in writes], author
        )
        written += len(writes)
    return written
