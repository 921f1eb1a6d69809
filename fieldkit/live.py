"""A live incident on one machine: a CIAV hub, a relay and stations on loopback, fed by a scenario.

What ``fieldkit demo`` runs behind the app, with real parts only: encrypted stores in a temporary
folder, the CURVE ZeroMQ hub with its matcher, a relay (a PMA laptop serving the second PMA and
passing everything up), agents syncing every station, and the scenario writing each simulated
minute into the stations that make it. One PMA loses its link for a while and gets it back.

Nothing here is interactive: :class:`LiveIncident` is started, read and stopped by its caller.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from fieldkit.i18n import _
from fieldkit.services.matching import Matcher
from fieldkit.services.station import init_station
from fieldkit.sim.live import apply_actions
from fieldkit.sim.scenario import Scenario, StationSpec
from fieldkit.store.store import Store
from fieldkit.sync.agent import Agent, SyncStatus
from fieldkit.sync.enrol import create_invite, join
from fieldkit.sync.hub import Hub

log = logging.getLogger("fieldkit.live")

PASSPHRASE = "demo-passphrase"
INCIDENT = "DEMO-VOLTAIRE"
HUB = "CIAV"
RELAY = "RELAIS-B"  # the laptop of the site B command post: PMA-2 syncs through it
STATIONS = (
    StationSpec("PMA-1", "pma", "Site A"),
    StationSpec("PMA-2", "pma", "Site B"),
    StationSpec("PUMP-1", "pump", "Site A"),
    StationSpec("POLICE-1", "police", "Scène"),
    StationSpec("CAF-1", "caf", "CAF"),
)
BEHIND_RELAY = {"PMA-2"}
OUTAGE_STATION = "PMA-1"


@dataclass(frozen=True)
class HubView:
    """The hub's own line in the status bar: it has no upstream, it has stations."""

    online_stations: int
    stations: int
    online: bool = True

    def describe(self, now: float | None = None) -> str:
        return _("hub · {online}/{total} stations online").format(
            online=self.online_stations, total=self.stations
        )


@dataclass(frozen=True)
class Timing:
    """The pace of the demo (a drill or a test runs it faster)."""

    tick: float = 2.0  # seconds of real time per simulated minute
    outage_at: int = 8  # the tick at which the PMA loses its link ...
    outage_ticks: int = 10  # ... and for how many ticks


class LiveIncident:
    """Every node of a small incident, running in this process on 127.0.0.1."""

    def __init__(
        self,
        root: Path,
        *,
        persons: int = 400,
        seed: int = 7,
        timing: Timing | None = None,
        ticks: int = 90,
    ) -> None:
        self.root = root
        self.timing = timing or Timing()
        self.scenario = Scenario(list(STATIONS), persons, seed=seed, ticks=ticks)
        self.stores: dict[str, Store] = {}
        self.agents: dict[str, Agent] = {}
        self.hubs: list[Hub] = []
        self.ticks_done = 0
        self.outage_active = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    # -- set-up ------------------------------------------------------------------------------
    def _station(self, name: str, role: str, site: str | None = None) -> Store:
        store = init_station(
            self.root / name, PASSPHRASE, role=role, station_name=name, incident=INCIDENT, site=site
        )
        self.stores[name] = store
        return store

    def start(self) -> None:
        """Create the stores, start the hub, the relay and every agent, then the incident."""
        hub_store = self._station(HUB, "ciav")
        matcher = Matcher(hub_store)
        hub = Hub(hub_store, "tcp://127.0.0.1:*", after_apply=matcher.step)
        endpoint = hub.start()
        self.hubs.append(hub)
        relay_store = self._station(RELAY, "pma", "Site B")
        join(relay_store, create_invite(hub_store, "pma", RELAY, endpoint, relay=True))
        relay = Hub(relay_store, "tcp://127.0.0.1:*")
        relay_endpoint = relay.start()
        self.hubs.append(relay)
        self._agent(RELAY, relay_store)
        for spec in STATIONS:
            store = self._station(spec.name, spec.role, spec.site)
            behind_relay = spec.name in BEHIND_RELAY
            upstream = relay_store if behind_relay else hub_store
            upstream_endpoint = relay_endpoint if behind_relay else endpoint
            join(store, create_invite(upstream, spec.role, spec.name, upstream_endpoint))
            self._agent(spec.name, store)
        self._thread = threading.Thread(target=self._run, name="fieldkit-incident", daemon=True)
        self._thread.start()

    def _agent(self, name: str, store: Store) -> None:
        agent = Agent(store, offline_after=1.5, backoff=(0.2, 1.0))
        agent.start()
        self.agents[name] = agent

    # -- the incident ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                tick = self.scenario.step()
                if tick is None:
                    break
                self._outage(tick.n)
                apply_actions(
                    {s.name: self.stores[s.name] for s in STATIONS}, tick.actions, "simulation"
                )
                self.ticks_done = tick.n + 1
                self._stop.wait(self.timing.tick)
        except BaseException as exc:  # shown by the caller; the app stays usable
            log.exception("the simulated incident stopped")
            self.error = exc

    def _outage(self, n: int) -> None:
        begin, end = self.timing.outage_at, self.timing.outage_at + self.timing.outage_ticks
        agent = self.agents.get(OUTAGE_STATION)
        if agent is None:
            return
        if n == begin and not self.outage_active:
            agent.stop()
            self.outage_active = True
        elif n == end and self.outage_active:
            self._agent(OUTAGE_STATION, self.stores[OUTAGE_STATION])
            self.outage_active = False

    # -- reading -----------------------------------------------------------------------------
    def status_of(self, name: str) -> SyncStatus | HubView:
        if name == HUB:
            return HubView(self._online_stations(), len(STATIONS) + 1)
        agent = self.agents.get(name)
        if agent is None or (name == OUTAGE_STATION and self.outage_active):
            waiting = self.stores[name].local_change_count() if name in self.stores else 0
            return SyncStatus(online=False, waiting=waiting)
        return agent.status()

    def _online_stations(self) -> int:
        online = 0
        for name, agent in self.agents.items():
            if name == OUTAGE_STATION and self.outage_active:
                continue
            online += 1 if agent.status().online else 0
        return online

    def converged(self) -> bool:
        """Every change of every station is at the hub (what the scripted demo waits for)."""
        held = self.stores[HUB].high_water()
        return all(
            held.get(store.station_id, 0) >= store.local_change_count()
            for name, store in self.stores.items()
            if name != HUB
        )

    # -- shutting down -----------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for agent in self.agents.values():
            with contextlib.suppress(Exception):
                agent.stop()
        for hub in reversed(self.hubs):
            with contextlib.suppress(Exception):
                hub.stop()
        for store in self.stores.values():
            with contextlib.suppress(Exception):
                store.close()

    def wait_ticks(self, count: int, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.ticks_done >= count:
                return True
            time.sleep(0.05)
        return False
