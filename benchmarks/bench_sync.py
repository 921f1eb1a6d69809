"""Sync benchmark: 20 stations x 5,000 changes pushed after an outage, against two baselines.

- sync: the real hub (CURVE ROUTER, durable commits, materialised tables) in this process; the 20
  station agents in a child process (the second core), each pushing its backlog at once.
- baseline 1: raw pyzmq (CURVE) moving the same encoded batches with an ack each, no store.
- baseline 2: a SQLCipher bulk insert of the same rows into a bare change table, one transaction.
Then the downstream side: one station pulls everything its role may read from the hub.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import zmq

from fieldkit.domain.ids import new_id
from fieldkit.services.station import init_station, open_station
from fieldkit.store.connection import connect
from fieldkit.store.materialise import change_body
from fieldkit.store.store import Store, Write
from fieldkit.sync import wire
from fieldkit.sync.agent import WINDOW, Agent
from fieldkit.sync.enrol import create_invite, join
from fieldkit.sync.hub import Hub

PASSPHRASE = "bench-passphrase"


def _backlog(store: Store, index: int, count: int) -> None:
    """``count`` changes: half persons (number, name, site), half their triage events."""
    writes = []
    for i in range(count // 2):
        number = f"FR075BSPP2026TR{index:02d}{i:04d}"
        pid = "nf-" + number
        writes.append(
            Write("person", pid, {"nf399": number, "family_name": f"Nom{i}", "site": f"S{index}"})
        )
        writes.append(Write("triage", new_id(), {"person_id": pid, "category": "UR"}))
    store.record_many(writes, "bench")


def _child(config_path: str) -> None:
    """In the child process: push (or pull) with every station given, report the wall time."""
    config = json.loads(Path(config_path).read_text())
    stores = [open_station(Path(home), PASSPHRASE) for home in config["homes"]]
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    reports: list[object] = [None] * len(stores)

    def run(i: int) -> None:
        reports[i] = Agent(stores[i]).run_once(timeout=300, pull=config["pull"])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    pushed = sum(r.pushed for r in reports)  # type: ignore[attr-defined]
    pulled = sum(r.pulled for r in reports)  # type: ignore[attr-defined]
    print(json.dumps({"elapsed": elapsed, "pushed": pushed, "pulled": pulled}), flush=True)


def _in_child(folder: Path, homes: list[Path], pull: bool) -> dict[str, float]:
    config = folder / f"child-{time.monotonic_ns()}.json"
    config.write_text(json.dumps({"homes": [str(h) for h in homes], "pull": pull}))
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_sync", "--child", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=root,
    )
    assert proc.stdin is not None and proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.stdin.write("go\n")
    proc.stdin.flush()
    result: dict[str, float] = json.loads(proc.stdout.readline())
    proc.wait(60)
    return result


def bench_raw_zmq(batches: list[list[bytes]]) -> float:
    """Baseline: the same frames over CURVE ROUTER/DEALER, one ack each, same window, no store."""
    context = zmq.Context()
    server_public, server_secret = zmq.curve_keypair()
    router = context.socket(zmq.ROUTER)
    router.curve_server = True
    router.curve_secretkey = server_secret
    router.curve_publickey = server_public
    port = router.bind_to_random_port("tcp://127.0.0.1")
    total = sum(len(b) for b in batches)
    ack = wire.encode(wire.Ack(1, {"x": 1}, 1))

    def serve() -> None:
        for _ in range(total):
            ident, _frame = router.recv_multipart()
            router.send_multipart([ident, ack])

    def client(frames: list[bytes]) -> None:
        sock = context.socket(zmq.DEALER)
        public, secret = zmq.curve_keypair()
        sock.curve_serverkey = server_public
        sock.curve_publickey = public
        sock.curve_secretkey = secret
        sock.connect(f"tcp://127.0.0.1:{port}")
        inflight = 0
        sent = 0
        while sent < len(frames) or inflight:
            while inflight < WINDOW and sent < len(frames):
                sock.send(frames[sent])
                sent += 1
                inflight += 1
            sock.recv()
            inflight -= 1
        sock.close(linger=0)

    started = time.perf_counter()
    server = threading.Thread(target=serve)
    server.start()
    clients = [threading.Thread(target=client, args=(frames,)) for frames in batches]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    server.join()
    elapsed = time.perf_counter() - started
    router.close(linger=0)
    context.term()
    return elapsed


def bench_bulk_insert(folder: Path, stores: list[Store]) -> float:
    """Baseline: the same rows into a bare, encrypted change table, in one durable transaction."""
    rows = [
        (c.origin, c.seq, c.hlc, c.entity, c.entity_id, change_body(c), c.author)
        for store in stores
        for c in store.all_changes()
    ]
    db = connect(folder / "bulk.db", os.urandom(32), create=True, synchronous="FULL")
    db.execute(
        "CREATE TABLE changes (id INTEGER PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL,"
        " hlc INTEGER NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL, body TEXT NOT NULL,"
        " author TEXT NOT NULL, UNIQUE (origin, seq))"
    )
    started = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    db.conn.executemany(
        "INSERT INTO changes (origin, seq, hlc, entity, entity_id, body, author)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def main(quick: bool = False) -> None:
    os.environ.setdefault("FIELDKIT_KDF", "fast")
    count = 20
    per_station = 500 if quick else 5000
    total = count * per_station
    with tempfile.TemporaryDirectory(prefix="fieldkit-bench-sync-") as tmp:
        folder = Path(tmp)
        hub_store = init_station(
            folder / "CIAV", PASSPHRASE, role="ciav", station_name="CIAV", incident="B"
        )
        homes = [folder / f"PMA-{i:02d}" for i in range(count)]
        stations = [
            init_station(h, PASSPHRASE, role="pma", station_name=h.name, incident="B")
            for h in homes
        ]
        hub = Hub(hub_store, "tcp://127.0.0.1:*")
        endpoint = hub.start()
        for store in stations:
            join(store, create_invite(hub_store, "pma", store.meta["station_name"], endpoint))
        hub.stop()
        for i, store in enumerate(stations):  # recorded during the outage
            _backlog(store, i, per_station)

        batches = [
            [
                wire.encode_push(n, raws)
                for n, raws in enumerate(wire.cut_batches(store.all_changes(), max_count=1000))
            ]
            for store in stations
        ]
        raw = bench_raw_zmq(batches)
        bulk = bench_bulk_insert(folder, stations)
        for store in stations:
            store.close()

        hub = Hub(hub_store, endpoint)
        hub.start()
        try:
            up = _in_child(folder, homes, pull=False)
            held = sum(hub_store.high_water().get(s, 0) for s in hub_store.high_water())
            assert held == total and up["pushed"] == total, (held, up)
            down = _in_child(folder, homes[:1], pull=True)
        finally:
            hub.stop()
        hub_store.close()

    sync = up["elapsed"]
    print(
        f"{count} stations x {per_station:,} changes after an outage: all {total:,} at the hub and"
        f" acknowledged in {sync:.2f} s, {total / sync:,.0f} changes/s"
        f" (target: 100,000 in <= 5 s, >= 20,000/s)"
    )
    print(
        f"baseline raw pyzmq (CURVE, same batches, acks, no store): {raw:.2f} s,"
        f" {total / raw:,.0f} changes/s; sync/raw = {sync / raw:.1f}x"
    )
    print(
        f"baseline SQLCipher bulk insert of the same rows (one transaction): {bulk:.2f} s,"
        f" {total / bulk:,.0f} rows/s; sync/bulk = {sync / bulk:.1f}x"
    )
    print(
        f"downstream: one PMA station pulls what it may read of the others' changes:"
        f" {down['pulled']:,.0f} changes in {down['elapsed']:.2f} s,"
        f" {down['pulled'] / down['elapsed']:,.0f} changes/s"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
    else:
        main(quick="--quick" in sys.argv[1:])
