"""A drill worker: one subprocess hosting many stations, each with its own store and sync agent.

Driven by the drill (:mod:`fieldkit.sim.drill`) over stdin/stdout, one JSON object per line; every
command gets exactly one answer line. Logs go to stderr (the drill sends them to a file).

Commands: ``tick`` (write each station's actions, one ``record_many`` per station), ``down`` (stop
a station's agent: its link is cut, it keeps working offline), ``up`` (start a new agent and time
how long the station takes to converge: its own changes made so far acknowledged by its hub and
everything its hub held at the heal pulled), ``status`` and ``stop``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from fieldkit.services.station import open_station
from fieldkit.store.store import Store, Write
from fieldkit.sync.agent import Agent
from fieldkit.sync.state import SyncState

AUTHOR = "drill"
POLL = 0.02  # seconds between convergence checks of a healing station


class _Station:
    def __init__(self, name: str, store: Store) -> None:
        self.name = name
        self.store = store
        self.state = SyncState(store)
        upstream = self.state.upstream()
        self.hub_id = upstream.hub_id if upstream is not None else ""
        self.agent: Agent | None = None
        self.starts = 0
        self.sessions = 0  # sessions of agents already stopped
        self.written = 0
        self.healing: tuple[float, int, int] | None = None  # (healed at, own seq, upstream top)
        self.converged: list[float] = []

    def start(self) -> None:
        self.agent = Agent(self.store)
        self.agent.start()
        self.starts += 1

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()
            self.sessions += self.agent.sessions
            self.agent = None

    def status(self) -> dict[str, Any]:
        acked = self.state.acks().get(self.store.station_id, 0)
        own = self.store.local_change_count()
        return {
            "own": own,
            "acked": acked,
            "waiting": self.state.waiting(),
            "cursor": self.state.cursor(self.hub_id),
            "online": self.agent is not None,
            "sessions": self.sessions + (self.agent.sessions if self.agent else 0),
            "starts": self.starts,
        }

    def check_healed(self) -> None:
        if self.healing is None:
            return
        healed_at, own, top = self.healing
        acked = self.state.acks().get(self.store.station_id, 0)
        if acked >= own and self.state.cursor(self.hub_id) >= top:
            self.converged.append(time.monotonic() - healed_at)
            self.healing = None


class Worker:
    def __init__(self, homes: dict[str, str], passphrase: str) -> None:
        self.stations = {
            name: _Station(name, open_station(Path(home), passphrase))
            for name, home in homes.items()
        }
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="drill-watch", daemon=True)

    def start(self) -> None:
        for station in self.stations.values():
            station.start()
        self.watcher.start()

    def _watch(self) -> None:
        while not self.stopping.wait(POLL):
            with self.lock:
                healing = [s for s in self.stations.values() if s.healing is not None]
            for station in healing:
                try:
                    station.check_healed()
                except Exception:  # pragma: no cover - the drill reports it as not converged
                    logging.getLogger("fieldkit.sim").exception("convergence check failed")

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        op = message.get("op")
        if op == "tick":
            for name, writes in message["writes"].items():
                station = self.stations[name]
                station.store.record_many([Write(e, i, v) for e, i, v in writes], AUTHOR)
                station.written += len(writes)
            return {"ok": True}
        if op == "down":
            self.stations[message["station"]].stop()
            return {"ok": True}
        if op == "up":
            station = self.stations[message["station"]]
            with self.lock:
                station.healing = (
                    time.monotonic(),
                    station.store.local_change_count(),
                    int(message["top"]),
                )
            station.start()
            return {"ok": True}
        if op == "status":
            return {"stations": {n: s.status() for n, s in self.stations.items()}}
        if op == "stop":
            self.stopping.set()
            for station in self.stations.values():
                station.stop()
            result = {
                n: {
                    **s.status(),
                    "written": s.written,
                    "converged": s.converged,
                    "still_healing": s.healing is not None,
                }
                for n, s in self.stations.items()
            }
            for station in self.stations.values():
                station.store.close()
            return {"stations": result}
        return {"error": f"unknown op {op!r}"}


def main() -> None:
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s"
    )
    logging.getLogger("fieldkit.sync.agent").setLevel(logging.INFO)
    config = json.loads(sys.stdin.readline())
    if config.get("nice"):
        # The simulated stations stand for 50 laptops squeezed onto two cores: they yield the
        # processor to the hub under test, as separate laptops would not take it from it.
        os.nice(int(config["nice"]))
    worker = Worker(config["homes"], config["passphrase"])
    worker.start()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        try:
            answer = worker.handle(message)
        except Exception as exc:
            logging.getLogger("fieldkit.sim").exception("command failed")
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)
        if message.get("op") == "stop":
            return
    worker.handle({"op": "stop"})  # the drill went away: stop the agents, close the stores


if __name__ == "__main__":  # pragma: no cover - entry point of the worker subprocesses
    main()
