"""The drill: a full-scale incident run headless on loopback with the real parts.

A CIAV hub (``fieldkit hub serve`` in its own subprocess, so that its peak memory can be read),
optionally a relay (also ``hub serve``, enrolled as a relay, serving the PMAs of site A), and N
stations of mixed roles hosted by a few worker subprocesses (:mod:`fieldkit.sim.worker`), each
station with its own SQLCipher store and sync agent. The incident comes from
:class:`fieldkit.sim.scenario.Scenario`; some stations lose their link for a while (their agent is
stopped, they keep recording) and then heal.

At the end everything is stopped and the stores are read back:

- every change each station made is compared with what the hub holds, by (origin, seq) and
  content: lost, doubled (held twice or unknown to its station) and altered changes must be 0;
- each station must hold exactly what its role may read of the others' changes (the hub's role
  filter applied to the hub's log), no more, no less;
- the counts (persons per category, evacuated, enquiries) must be identical at every node whose
  role may read them.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from fieldkit.domain.secrecy import project
from fieldkit.domain.triage import Category
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _
from fieldkit.services.station import init_station, open_station
from fieldkit.sim.scenario import Scenario, StationSpec, station_specs, writes_by_station
from fieldkit.store import materialise, queries
from fieldkit.store.store import Store
from fieldkit.sync.enrol import create_invite, join
from fieldkit.sync.state import SyncState

INCIDENT = "DRILL"
HUB_NAME = "CIAV"
RELAY_NAME = "RELAY-A"
RELAY_SITE = "Site A"
PROBE_NAME = "PROBE"
CATEGORIES = tuple(c.value for c in Category)
# Which counts each role may read (DOMAIN.md secrecy table, as the role filter applies it).
READS_CATEGORIES = {"pma", "pump", "police", "ciav"}
READS_EVACUATIONS = {"pma", "police", "ciav"}
READS_ENQUIRIES = {"caf", "police", "ciav"}
TARGET_CONVERGE_S = 10.0  # acceptance: every node converged within 10 s of a heal
TARGET_HUB_RSS_MB = 500.0  # acceptance: hub peak memory
LAST_TICK = 1 << 30
PROGRESS_EVERY = 10.0  # seconds between progress lines
HEARTBEAT_LIMIT = 2.5  # seconds: a station hearing nothing for this long goes offline
CONSOLE_EVERY = 5.0  # seconds between two refreshes of the drill's CIAV console


@dataclass
class DrillConfig:
    stations: int = 10
    persons: int = 5000
    relay: bool = False
    outages: int = 1
    seed: int = 1
    ticks: int = 120
    workers: int = 3
    outage_seconds: float = 5.0  # how long a link stays cut
    max_lag: int = 10_000  # hub sequences a station may lag behind before the writers wait
    nice: int = 5  # niceness of the worker processes (the hub keeps its priority)
    converge_timeout: float = 900.0
    folder: Path | None = None  # default: a temporary folder, removed at the end
    keep: bool = False
    inject: str | None = None  # "loss": delete one acknowledged change at the hub (tests)
    progress: Callable[[str], None] | None = None


@dataclass
class NodeCounts:
    name: str
    role: str
    counts: dict[str, int | None]


@dataclass
class Outage:
    station: str
    down_at: float
    up_at: float | None = None
    converge_s: float | None = None


@dataclass
class DrillReport:
    config: dict[str, Any]
    changes: int = 0  # changes made by the stations
    hub_changes: int = 0
    lost: int = 0
    doubled: int = 0
    altered: int = 0
    unwritten: int = 0  # writes asked of a station that its store does not hold
    view_mismatches: dict[str, int] = field(default_factory=dict)  # station -> changes off
    count_mismatches: list[str] = field(default_factory=list)
    nodes: list[NodeCounts] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    write_seconds: float = 0.0
    upstream_seconds: float = 0.0  # first write -> every change at the hub
    converge_seconds: float | None = None  # first write -> every node converged
    after_last_heal_s: float | None = None  # last heal -> every node converged
    slowest: list[tuple[str, float]] = field(default_factory=list)  # (node, s after last heal)
    hub_own_after_heal: int = 0  # changes the hub wrote itself (its matcher) after the last heal
    changes_per_s: float = 0.0
    downstream_changes: int = 0
    downstream_per_s: float = 0.0
    hub_peak_rss_mb: float | None = None
    relay_peak_rss_mb: float | None = None
    ping_max_ms: float | None = None
    ping_p99_ms: float | None = None
    pings_missed: int = 0
    pings: int = 0
    reconnects: int = 0  # agent sessions beyond one per start: links dropped unasked
    console_refreshes: int = 0  # a CIAV console refreshed on the hub's store during the load
    console_p50_ms: float | None = None
    console_max_ms: float | None = None
    console_errors: list[str] = field(default_factory=list)
    converged: bool = False

    @property
    def ok(self) -> bool:
        return (
            self.converged
            and self.lost == 0
            and self.doubled == 0
            and self.altered == 0
            and self.unwritten == 0
            and not any(self.view_mismatches.values())
            and not self.count_mismatches
            and all(o.converge_s is not None for o in self.outages)
            and not self.console_errors
        )

    def targets(self) -> dict[str, bool]:
        """The acceptance targets: convergence after each heal, hub memory (reported only)."""
        heals = [o.converge_s for o in self.outages]
        return {
            "converge_10s": all(s is not None and s <= TARGET_CONVERGE_S for s in heals)
            and (self.after_last_heal_s is None or self.after_last_heal_s <= TARGET_CONVERGE_S),
            "hub_rss_500mb": self.hub_peak_rss_mb is not None
            and self.hub_peak_rss_mb < TARGET_HUB_RSS_MB,
        }

    @property
    def heartbeats_on_time(self) -> bool:
        """Every ping of the probe answered within the agents' offline limit (2.5 s)."""
        return self.pings_missed == 0 and (self.ping_max_ms or 0) < HEARTBEAT_LIMIT * 1000

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["heartbeats_on_time"] = self.heartbeats_on_time
        data["targets"] = self.targets()
        return data


# --- processes ---------------------------------------------------------------------------------


class _Serve:
    """``fieldkit hub serve`` in a subprocess; ``endpoint`` once it listens."""

    def __init__(self, home: Path, env: dict[str, str], log: Path) -> None:
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fieldkit.cli_sync", "hub", "serve", "--home", str(home)]
            + ["--bind", "tcp://127.0.0.1:*"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _w, _x = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("endpoint="):
            self.stop()
            raise FieldkitError(_("The drill's hub did not start; see {log}.").format(log=log))
        self.endpoint = line.strip().split("=", 1)[1]

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM of a live process, in MB (None where /proc is not there)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class _WorkerProc:
    def __init__(
        self, homes: dict[str, str], passphrase: str, env: dict[str, str], log: Path, nice: int
    ) -> None:
        self.names = list(homes)
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fieldkit.sim.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            text=True,
        )
        self.log_path = log
        self.send({"homes": homes, "passphrase": passphrase, "nice": nice})
        self.read()

    @property
    def stdin(self) -> IO[str]:
        assert self.proc.stdin is not None
        return self.proc.stdin

    def send(self, message: dict[str, Any]) -> None:
        self.stdin.write(json.dumps(message, ensure_ascii=False) + "\n")
        self.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise FieldkitError(
                _("A drill worker stopped unexpectedly; see {log}.").format(log=self.log_path)
            )
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise FieldkitError(_("A drill worker failed: {error}.").format(error=answer["error"]))
        return answer

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(message)
        return self.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.stdin.close()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


class _Probe(threading.Thread):
    """Pings the hub every 250 ms with an enrolled key and records each round trip."""

    def __init__(self, store: Store, endpoint: str) -> None:
        super().__init__(name="drill-probe", daemon=True)
        self.store = store
        self.endpoint = endpoint
        self.rtts: list[float] = []
        self.missed = 0
        self.halt = threading.Event()

    def run(self) -> None:
        import zmq

        from fieldkit.sync import wire
        from fieldkit.sync.enrol import client_socket, station_keypair

        upstream = SyncState(self.store).upstream()
        assert upstream is not None
        public, secret = station_keypair(self.store)
        context = zmq.Context()
        sock = client_socket(context, upstream.server_key, public, secret)
        sock.connect(self.endpoint)
        n = 0
        try:
            while not self.halt.is_set():
                n += 1
                sent = time.monotonic()
                sock.send(wire.encode(wire.Ping(n)))
                answered = False
                while time.monotonic() - sent < HEARTBEAT_LIMIT:
                    if not sock.poll(100):
                        if self.halt.is_set():
                            return
                        continue
                    message = wire.decode_for_station(sock.recv())
                    if isinstance(message, wire.Pong) and message.n == n:
                        self.rtts.append(time.monotonic() - sent)
                        answered = True
                        break
                if not answered:
                    self.missed += 1
                self.halt.wait(max(0.0, 0.25 - (time.monotonic() - sent)))
        finally:
            sock.close(linger=0)
            context.term()


class _Console(threading.Thread):
    """A CIAV operator's console on the hub's store, refreshed every few seconds during the
    load: the same reads as the console screen (bilan, hourly history, stations, conflicts,
    duplicates), on its own connection while the hub process writes."""

    def __init__(self, home: Path, passphrase: str, every: float = CONSOLE_EVERY) -> None:
        super().__init__(name="drill-console", daemon=True)
        self.home = home
        self.passphrase = passphrase
        self.every = every
        self.times: list[float] = []
        self.errors: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        from fieldkit.services import bilan_history, ciav
        from fieldkit.store import queries

        store = open_station(self.home, self.passphrase)
        try:
            while not self.halt.wait(self.every):
                started = time.monotonic()
                try:
                    with store.lock:
                        queries.bilan(store.db)
                        bilan_history.history(store, limit=48)
                        ciav.station_table(store)
                        ciav.conflict_queue(store)
                        ciav.duplicate_candidates(store)
                except Exception as exc:  # reported: a console that fails is a finding
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                self.times.append(time.monotonic() - started)
        finally:
            store.close()


# --- the drill ---------------------------------------------------------------------------------


class Drill:
    def __init__(self, config: DrillConfig) -> None:
        self.config = config
        self.say = config.progress or (lambda _text: None)
        self.passphrase = secrets.token_urlsafe(18)
        self.folder = config.folder
        self.specs = station_specs(config.stations)
        self.homes: dict[str, Path] = {}
        self.ids: dict[str, str] = {}  # station name -> station id
        self.upstream_of: dict[str, str] = {}  # station -> HUB_NAME or RELAY_NAME
        self.procs: list[_Serve] = []
        self.workers: list[_WorkerProc] = []
        self.worker_of: dict[str, _WorkerProc] = {}
        self.hub: _Serve | None = None
        self.relay: _Serve | None = None
        self.hub_store: Store | None = None
        self.relay_store: Store | None = None
        self.probe_store: Store | None = None
        self.probe: _Probe | None = None
        self.console: _Console | None = None
        self.written: Counter[str] = Counter()
        self.report = DrillReport(config={k: v for k, v in _public(config).items()})

    # -- set-up ----------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["FIELDKIT_PASSPHRASE"] = self.passphrase
        env["FIELDKIT_KDF"] = "fast"
        root = str(Path(__file__).resolve().parent.parent.parent)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def _init(self, spec: StationSpec) -> Store:
        assert self.folder is not None
        home = self.folder / spec.name
        self.homes[spec.name] = home
        store = init_station(
            home,
            self.passphrase,
            role=spec.role,
            station_name=spec.name,
            incident=INCIDENT,
            site=spec.site or None,
        )
        self.ids[spec.name] = store.station_id
        return store

    def setup(self) -> None:
        assert self.folder is not None
        if self.config.folder is not None:  # kept: whoever looks at the stores later needs it
            secret = self.folder / "PASSPHRASE"
            secret.touch(mode=0o600)
            secret.chmod(0o600)  # before the secret goes in, whatever the file was
            secret.write_text(self.passphrase + "\n", encoding="utf-8")
        env = self._env()
        previous_kdf = os.environ.get("FIELDKIT_KDF")
        os.environ["FIELDKIT_KDF"] = "fast"
        try:
            self._init(StationSpec(HUB_NAME, "ciav", "CIAV")).close()
            self.hub = _Serve(self.homes[HUB_NAME], env, self.folder / "hub.log")
            self.procs.append(self.hub)
            self.hub_store = open_station(self.homes[HUB_NAME], self.passphrase)
            if self.config.relay:
                relay = self._init(StationSpec(RELAY_NAME, "pma", RELAY_SITE))
                self._enrol(relay, self.hub_store, self.hub.endpoint, relay=True)
                relay.close()
                self.relay = _Serve(self.homes[RELAY_NAME], env, self.folder / "relay.log")
                self.procs.append(self.relay)
                self.relay_store = open_station(self.homes[RELAY_NAME], self.passphrase)
            self.say(_("Enrolling {count} stations…").format(count=len(self.specs)))
            for spec in self.specs:
                store = self._init(spec)
                if self.relay is not None and spec.role == "pma" and spec.site == RELAY_SITE:
                    assert self.relay_store is not None
                    self._enrol(store, self.relay_store, self.relay.endpoint)
                    self.upstream_of[spec.name] = RELAY_NAME
                else:
                    self._enrol(store, self.hub_store, self.hub.endpoint)
                    self.upstream_of[spec.name] = HUB_NAME
                store.close()
            self.probe_store = self._init(StationSpec(PROBE_NAME, "ciav", "CIAV"))
            self._enrol(self.probe_store, self.hub_store, self.hub.endpoint)
        finally:
            if previous_kdf is None:
                os.environ.pop("FIELDKIT_KDF", None)
            else:
                os.environ["FIELDKIT_KDF"] = previous_kdf
        count = max(1, min(self.config.workers, len(self.specs)))
        groups: list[dict[str, str]] = [{} for _ in range(count)]
        for i, spec in enumerate(self.specs):
            groups[i % count][spec.name] = str(self.homes[spec.name])
        for i, homes in enumerate(groups):
            worker = _WorkerProc(
                homes, self.passphrase, env, self.folder / f"worker-{i}.log", self.config.nice
            )
            self.workers.append(worker)
            for name in homes:
                self.worker_of[name] = worker

    @staticmethod
    def _enrol(store: Store, hub_store: Store, endpoint: str, relay: bool = False) -> None:
        token = create_invite(
            hub_store, store.role, store.meta["station_name"], endpoint, relay=relay
        )
        join(store, token, timeout=30)

    # -- reading the hubs ------------------------------------------------------------------
    def _top(self, hub: str) -> int:
        store = self.relay_store if hub == RELAY_NAME else self.hub_store
        assert store is not None
        return SyncState(store).top()

    def _status(self) -> dict[str, dict[str, Any]]:
        for worker in self.workers:
            worker.send({"op": "status"})
        found: dict[str, dict[str, Any]] = {}
        for worker in self.workers:
            found.update(worker.read()["stations"])
        return found

    def _lagging(self, down: set[str]) -> bool:
        tops = {HUB_NAME: self._top(HUB_NAME)}
        if self.relay_store is not None:
            tops[RELAY_NAME] = self._top(RELAY_NAME)
        for name, status in self._status().items():
            if name in down:
                continue
            lag = tops[self.upstream_of[name]] - status["cursor"]
            if lag > self.config.max_lag or status["waiting"] > self.config.max_lag:
                return True
        return False

    def _own_top(self) -> int:
        """How many changes the hub wrote itself (its matcher's outcomes and candidates)."""
        hub = self.hub_store
        assert hub is not None
        row = hub.db.execute(
            "SELECT count(*) FROM changes WHERE origin = ?", [hub.station_id]
        ).fetchone()
        return int(row[0])

    def _converged(self, behind: dict[str, float] | None = None) -> tuple[bool, bool]:
        """(every change at the hub, every node converged); notes in ``behind`` who lags."""
        statuses = self._status()
        all_up = all(s["acked"] >= s["own"] for s in statuses.values())
        hub_top = self._top(HUB_NAME)
        relay_ok = True
        if self.relay_store is not None:
            relay_state = SyncState(self.relay_store)
            upstream = relay_state.upstream()
            assert upstream is not None
            all_up = all_up and relay_state.waiting() == 0
            relay_ok = relay_state.cursor(upstream.hub_id) >= hub_top
        tops = {HUB_NAME: hub_top}
        if self.relay_store is not None:
            tops[RELAY_NAME] = self._top(RELAY_NAME)
        lagging = [n for n, s in statuses.items() if s["cursor"] < tops[self.upstream_of[n]]]
        if behind is not None:
            now = time.monotonic()
            for name in lagging:
                behind[name] = now
            if not relay_ok:
                behind[RELAY_NAME] = now
        return all_up, all_up and relay_ok and not lagging

    def _check_alive(self) -> None:
        for proc in self.procs:
            if proc.proc.poll() is not None:
                raise FieldkitError(
                    _("A hub of the drill stopped unexpectedly; see {log}.").format(
                        log=proc.log.name
                    )
                )

    # -- the run ---------------------------------------------------------------------------
    def _outage_plan(self) -> list[tuple[int, int, str]]:
        """(tick of the cut, first tick it may heal at, station) for each outage.

        The outages are spread over the arrivals and each lasts ``outage_seconds``; the last one
        is cut when the arrivals end and heals only once the whole incident is written, so that
        "converged after the last heal" measures the drill's final convergence.
        """
        rng = random.Random(self.config.seed * 7919 + 1)
        names = [s.name for s in self.specs]
        count = self.config.outages
        if not names or count <= 0:
            return []
        picks = rng.sample(names, min(len(names), count))
        while len(picks) < count:
            picks.append(rng.choice(names))
        span = self.config.ticks
        plan = []
        for k, name in enumerate(picks[:-1]):
            start = int((k + 1) * span * 0.8 / count)
            plan.append((start, start + 1, name))
        plan.append((max(0, span - 1), LAST_TICK, picks[-1]))
        return plan

    def run(self) -> DrillReport:
        config = self.config
        scenario = Scenario(self.specs, config.persons, seed=config.seed, ticks=config.ticks)
        assert self.hub is not None and self.probe_store is not None
        self.probe = _Probe(self.probe_store, self.hub.endpoint)
        self.probe.start()
        self.console = _Console(self.homes[HUB_NAME], self.passphrase)
        self.console.start()
        plan = self._outage_plan()
        down: dict[str, Outage] = {}
        heal_times: list[float] = []
        self.say(
            _("Running the incident: {persons} persons, {stations} stations…").format(
                persons=config.persons, stations=len(self.specs)
            )
        )
        started = shown = time.monotonic()
        for tick in scenario:
            for start, _end, name in plan:
                if tick.n == start and name not in down:
                    self.worker_of[name].ask({"op": "down", "station": name})
                    down[name] = Outage(name, time.monotonic() - started)
                    self.report.outages.append(down[name])
            self._heal(plan, tick.n, down, started, heal_times)
            grouped = writes_by_station(tick.actions)
            by_worker: dict[int, dict[str, Any]] = defaultdict(dict)
            for station, writes in grouped.items():
                by_worker[id(self.worker_of[station])][station] = writes
                self.written[station] += len(writes)
            busy = [w for w in self.workers if id(w) in by_worker]
            for worker in busy:
                worker.send({"op": "tick", "n": tick.n, "writes": by_worker[id(worker)]})
            for worker in busy:
                worker.read()
            waited = time.monotonic()
            while self._lagging(set(down)):
                self._check_alive()
                if time.monotonic() - waited > config.converge_timeout:
                    raise FieldkitError(
                        _("The drill's stations stopped syncing for {seconds} s.").format(
                            seconds=int(config.converge_timeout)
                        )
                    )
                time.sleep(0.1)
            if time.monotonic() - shown >= PROGRESS_EVERY:
                shown = time.monotonic()
                self.say(
                    _(
                        "{seconds} s: minute {tick}, {written} changes written, {held} at the hub."
                    ).format(
                        seconds=int(shown - started),
                        tick=tick.n,
                        written=sum(self.written.values()),
                        held=self._top(HUB_NAME),
                    )
                )
        self.report.write_seconds = time.monotonic() - started
        while down:  # heal what is still cut once its shortest outage is over
            self._heal(plan, LAST_TICK, down, started, heal_times)
            time.sleep(0.1)
        self.say(_("Incident written; waiting for every node to converge…"))
        deadline = time.monotonic() + config.converge_timeout
        settled = 0
        healed = max(heal_times) if heal_times else time.monotonic()
        own_at_heal = self._own_top()
        behind: dict[str, float] = {}  # node -> last time it was seen behind its upstream
        while time.monotonic() < deadline:
            self._check_alive()
            at_hub, everywhere = self._converged(behind)
            now = time.monotonic()
            if at_hub and not self.report.upstream_seconds:
                self.report.upstream_seconds = now - started
            settled = settled + 1 if everywhere else 0
            if settled >= 2:
                self.report.converged = True
                self.report.converge_seconds = now - started
                if heal_times:
                    self.report.after_last_heal_s = now - max(heal_times)
                self.report.slowest = sorted(
                    ((name, max(0.0, at - healed)) for name, at in behind.items()),
                    key=lambda item: -item[1],
                )[:3]
                self.report.hub_own_after_heal = self._own_top() - own_at_heal
                break
            if now - shown >= PROGRESS_EVERY:
                shown = now
                self.say(
                    _("{seconds} s: {held} changes at the hub, waiting for convergence…").format(
                        seconds=int(now - started), held=self._top(HUB_NAME)
                    )
                )
            time.sleep(0.25)
        return self.report

    def _heal(
        self,
        plan: list[tuple[int, int, str]],
        n: int,
        down: dict[str, Outage],
        started: float,
        heal_times: list[float],
    ) -> None:
        for _start, end, name in plan:
            outage = down.get(name)
            if outage is None or n < end:
                continue
            if time.monotonic() - started - outage.down_at < self.config.outage_seconds:
                continue
            top = self._top(self.upstream_of[name])
            self.worker_of[name].ask({"op": "up", "station": name, "top": top})
            outage.up_at = time.monotonic() - started
            heal_times.append(time.monotonic())
            del down[name]

    # -- stopping and checking -------------------------------------------------------------
    def stop(self) -> dict[str, dict[str, Any]]:
        finals: dict[str, dict[str, Any]] = {}
        for worker in self.workers:
            with contextlib.suppress(FieldkitError, OSError, ValueError):
                finals.update(worker.ask({"op": "stop"})["stations"])
        for worker in self.workers:
            worker.close()
        if self.probe is not None:
            self.probe.halt.set()
            self.probe.join(5)
        if self.console is not None:
            self.console.halt.set()
            self.console.join(30)
        if self.hub is not None:
            self.report.hub_peak_rss_mb = self.hub.peak_rss_mb()
        if self.relay is not None:
            self.report.relay_peak_rss_mb = self.relay.peak_rss_mb()
        for proc in reversed(self.procs):
            proc.stop()
        return finals

    def check(self, finals: dict[str, dict[str, Any]]) -> None:
        report = self.report
        assert self.hub_store is not None
        if self.probe is not None and self.probe.rtts:
            rtts = sorted(self.probe.rtts)
            report.ping_max_ms = rtts[-1] * 1000
            report.ping_p99_ms = rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))] * 1000
            report.pings = len(rtts) + self.probe.missed
            report.pings_missed = self.probe.missed
        if self.console is not None:
            times = sorted(self.console.times)
            report.console_refreshes = len(times)
            report.console_errors = self.console.errors[:5]
            if times:
                report.console_p50_ms = times[len(times) // 2] * 1000
                report.console_max_ms = times[-1] * 1000
        for outage in report.outages:
            converged = finals.get(outage.station, {}).get("converged") or []
            if converged:
                outage.converge_s = converged.pop(0)
        report.reconnects = sum(
            max(0, int(f.get("sessions", 0)) - int(f.get("starts", 0))) for f in finals.values()
        )
        hub = self.hub_store
        if self.config.inject == "loss":
            victim = next(s.name for s in self.specs if self.written[s.name])
            origin = self.ids[victim]
            with hub.transaction():
                hub.db.execute(
                    "DELETE FROM changes WHERE id = (SELECT max(id) FROM changes WHERE origin = ?)",
                    [origin],
                )
        hub_rows = _rows_by_origin(hub)
        # the stations' changes at the hub (the hub's own, its matcher's outcomes, apart)
        report.hub_changes = sum(len(r) for o, r in hub_rows.items() if o != hub.station_id)
        doubled_at_hub = {
            o: n - d
            for o, n, d in hub.db.execute(
                "SELECT origin, count(*), count(DISTINCT seq) FROM changes GROUP BY origin"
            ).fetchall()
        }
        per_role, whole = _readable_counts(hub, {s.role for s in self.specs} | {"pma"})
        hub_counts = _counts(hub, "ciav")
        report.nodes.append(NodeCounts(HUB_NAME, "ciav", hub_counts))
        nodes: list[tuple[str, str, Path]] = []
        if self.relay_store is not None:
            self.relay_store.close()
            self.relay_store = None
            nodes.append((RELAY_NAME, "pma", self.homes[RELAY_NAME]))
        nodes += [(s.name, s.role, self.homes[s.name]) for s in self.specs]
        child_ids = {self.ids[n] for n, up in self.upstream_of.items() if up == RELAY_NAME}
        for name, role, home in nodes:
            store = open_station(home, self.passphrase)
            try:
                own_id = store.station_id
                own = _rows_by_origin(store, own_id).get(own_id, {})
                report.changes += len(own)
                if name != RELAY_NAME:
                    report.unwritten += max(0, self.written[name] - len(own))
                held = hub_rows.get(own_id, {})
                report.lost += sum(1 for seq in own if seq not in held)
                report.doubled += sum(1 for seq in held if seq not in own)
                report.doubled += doubled_at_hub.get(own_id, 0)
                report.altered += sum(
                    1 for seq, row in own.items() if seq in held and held[seq] != row
                )
                by_origin = dict(
                    store.db.execute(
                        "SELECT origin, count(*) FROM changes GROUP BY origin"
                    ).fetchall()
                )
                expected: dict[str, int] = {}
                for origin in set(hub_rows) | set(by_origin):
                    if origin == own_id:
                        expected[origin] = len(own)
                    elif name == RELAY_NAME and origin in child_ids:
                        expected[origin] = whole.get(origin, 0)
                    else:
                        expected[origin] = per_role[role].get(origin, 0)
                off = sum(abs(expected[o] - int(by_origin.get(o, 0))) for o in expected)
                report.view_mismatches[name] = off
                report.downstream_changes += sum(
                    int(c) for o, c in by_origin.items() if o != own_id
                )
                counts = _counts(store, role)
                report.nodes.append(NodeCounts(name, role, counts))
                for key, value in counts.items():
                    if value is not None and value != hub_counts[key]:
                        report.count_mismatches.append(
                            f"{name}: {key} {value} != {hub_counts[key]}"
                        )
            finally:
                store.close()
        if report.upstream_seconds:
            report.changes_per_s = report.hub_changes / report.upstream_seconds
        if report.converge_seconds:
            report.downstream_per_s = report.downstream_changes / report.converge_seconds

    def close(self) -> None:
        for store in (self.hub_store, self.relay_store, self.probe_store):
            if store is not None:
                with contextlib.suppress(Exception):
                    store.close()


def _public(config: DrillConfig) -> dict[str, Any]:
    return {
        "stations": config.stations,
        "persons": config.persons,
        "relay": config.relay,
        "outages": config.outages,
        "outage_seconds": config.outage_seconds,
        "seed": config.seed,
        "ticks": config.ticks,
        "workers": config.workers,
    }


def _rows_by_origin(
    store: Store, origin: str | None = None
) -> dict[str, dict[int, tuple[Any, ...]]]:
    """Per origin, seq -> (hlc, entity, entity_id, body, author): the content of each change."""
    sql = "SELECT origin, seq, hlc, entity, entity_id, body, author FROM changes"
    params: list[Any] = []
    if origin is not None:
        sql += " WHERE origin = ?"
        params.append(origin)
    found: dict[str, dict[int, tuple[Any, ...]]] = defaultdict(dict)
    for row in store.db.execute(sql, params).fetchall():
        found[row[0]][int(row[1])] = tuple(row[2:])
    return found


def _readable_counts(hub: Store, roles: set[str]) -> tuple[dict[str, Counter[str]], Counter[str]]:
    """Per role and origin, how many of the hub's changes the role filter lets through."""
    per_role: dict[str, Counter[str]] = {role: Counter() for role in roles}
    whole: Counter[str] = Counter()
    cursor = hub.db.execute("SELECT origin, seq, hlc, entity, entity_id, body, author FROM changes")
    for row in cursor:
        change = materialise.row_to_change(row)
        whole[change.origin] += 1
        for role in roles:
            if project(change, role, "") is not None:
                per_role[role][change.origin] += 1
    return per_role, whole


def _counts(store: Store, role: str) -> dict[str, int | None]:
    """The comparable counts a node of ``role`` may read (None: not readable there)."""
    bilan = queries.bilan(store.db)
    reads = role in READS_CATEGORIES
    counts: dict[str, int | None] = {"total": bilan.total if reads else None}
    for category in CATEGORIES:
        counts[category] = bilan.by_category.get(category, 0) if reads else None
    counts["evacuated"] = bilan.evacuated if role in READS_EVACUATIONS else None
    enquiries = None
    if role in READS_ENQUIRIES:
        enquiries = int(
            store.db.execute(f"SELECT count(*) FROM enquiries WHERE {queries.LIVE}").fetchone()[0]
        )
    counts["enquiries"] = enquiries
    return counts


@contextlib.contextmanager
def _folder(config: DrillConfig) -> Iterator[Path]:
    if config.folder is not None:
        config.folder.mkdir(parents=True, exist_ok=True)
        yield config.folder
        return
    path = Path(tempfile.mkdtemp(prefix="fieldkit-drill-"))
    try:
        yield path
    finally:
        if not config.keep:
            shutil.rmtree(path, ignore_errors=True)


def run_drill(config: DrillConfig) -> DrillReport:
    """Set up, run, stop and check a drill; returns its report (``report.ok`` says if it passed)."""
    with _folder(config) as folder:
        drill = Drill(config)
        drill.folder = folder
        try:
            try:
                drill.setup()
                drill.run()
            finally:
                finals = drill.stop()
            drill.check(finals)
        finally:
            drill.close()
        return drill.report
