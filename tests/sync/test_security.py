"""Acceptance 4: unenrolled keys, clients without CURVE, revoked stations, replayed frames and
10,000 hostile frames from an enrolled key; every rejection is logged with its reason."""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time

import msgspec
import pytest
import zmq

from fieldkit.errors import SyncError
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.sync import wire
from fieldkit.sync.agent import Agent
from fieldkit.sync.enrol import client_socket, revoke, station_keypair
from fieldkit.sync.state import SyncState, Upstream
from tests.sync.conftest import enrol


def _count(store, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        count_person(store, "op", PersonInput(nf399=f"FR075BSPP2026TR{i:06d}", category="UR"))


def _log_lines(caplog: pytest.LogCaptureFixture, needle: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if needle in r.getMessage()]


def _wait_for(predicate, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _raw_client(store, endpoint: str, server_key: str) -> zmq.Socket:
    public, secret = station_keypair(store)
    sock = client_socket(zmq.Context.instance(), server_key, public, secret)
    sock.connect(endpoint)
    return sock


def test_unenrolled_key_and_plain_client_are_refused(make_station, start_hub, caplog) -> None:
    caplog.set_level(logging.INFO)
    ciav = make_station("ciav", "CIAV")
    hub = start_hub(ciav)
    stranger = make_station("pma", "PMA-X")
    hub_key = station_keypair(ciav)[0]
    SyncState(stranger).set_upstream(Upstream(hub.endpoint, hub_key, ciav.station_id, "CIAV"))
    _count(stranger, 3)
    with pytest.raises(SyncError, match="refus"):
        Agent(stranger).run_once(timeout=5)
    assert _log_lines(caplog, "handshake refused: unknown key")

    plain = zmq.Context.instance().socket(zmq.DEALER)
    plain.linger = 0
    plain.connect(hub.endpoint)
    plain.send(wire.encode(wire.Hello(1, stranger.station_id, "INC-TEST")))
    assert plain.poll(1000) == 0  # no answer, ever
    plain.close()
    assert _wait_for(lambda: _log_lines(caplog, "client without CURVE"))
    assert ciav.high_water().get(stranger.station_id) is None
    assert hub.handled == 0


def test_revoked_station_is_refused_at_next_handshake_and_on_a_live_link(
    make_station, start_hub, caplog
) -> None:
    caplog.set_level(logging.INFO)
    ciav = make_station("ciav", "CIAV")
    hub = start_hub(ciav)
    pma = make_station("pma", "PMA-1")
    enrol(ciav, hub.endpoint, pma)
    _count(pma, 2)
    Agent(pma).run_once(timeout=5)
    live = _raw_client(pma, hub.endpoint, station_keypair(ciav)[0])
    live.send(wire.encode(wire.Ping(1)))
    assert live.poll(3000) and isinstance(wire.decode_for_station(live.recv()), wire.Pong)

    revoke(ciav, "PMA-1")
    live.send(wire.encode(wire.Ping(2)))
    assert live.poll(3000)
    answer = wire.decode_for_station(live.recv())
    assert isinstance(answer, wire.Error) and answer.code == "revoked"
    live.close()
    _count(pma, 1, start=10)
    with pytest.raises(SyncError, match="refus"):
        Agent(pma).run_once(timeout=5)
    assert ciav.high_water()[pma.station_id] == 4  # nothing taken after revocation
    assert _log_lines(caplog, "handshake refused: revoked station PMA-1")
    assert _log_lines(caplog, "rejected frame from PMA-1: revoked station")


def test_replayed_frames_change_nothing(make_station, start_hub) -> None:
    ciav = make_station("ciav", "CIAV")
    hub = start_hub(ciav)
    pma = make_station("pma", "PMA-1")
    enrol(ciav, hub.endpoint, pma)
    _count(pma, 5)
    sock = _raw_client(pma, hub.endpoint, station_keypair(ciav)[0])
    frame = wire.encode_push(1, [wire.encode_change(c) for c in pma.all_changes()])
    acks = []
    for _ in range(3):  # the same push, replayed by the same enrolled station
        sock.send(frame)
        assert sock.poll(3000)
        acks.append(wire.decode_for_station(sock.recv()))
        log_size = ciav.db.execute("select count(*), max(id) from changes").fetchone()
        assert tuple(log_size) == (10, 10)
    assert acks[0] == acks[1] == acks[2] == wire.Ack(1, {pma.station_id: 10}, 10)
    sock.close()


class _RecordingProxy:
    """A TCP proxy that records what the client sends, to replay it later."""

    def __init__(self, target_port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target_port = target_port
        self.sent = bytearray()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        client, _ = self.listener.accept()
        server = socket.create_connection(("127.0.0.1", self.target_port))

        def pipe(src: socket.socket, dst: socket.socket, record: bool) -> None:
            try:
                while data := src.recv(65536):
                    if record:
                        self.sent += data
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pipe, args=(client, server, True), daemon=True).start()
        threading.Thread(target=pipe, args=(server, client, False), daemon=True).start()


def test_a_captured_session_replayed_on_the_network_is_refused(make_station, start_hub) -> None:
    ciav = make_station("ciav", "CIAV")
    hub = start_hub(ciav)
    pma = make_station("pma", "PMA-1")
    enrol(ciav, hub.endpoint, pma)
    port = int(hub.endpoint.rsplit(":", 1)[1])
    proxy = _RecordingProxy(port)
    upstream = SyncState(pma).upstream()
    assert upstream is not None
    SyncState(pma).set_upstream(
        Upstream(
            f"tcp://127.0.0.1:{proxy.port}", upstream.server_key, upstream.hub_id, upstream.hub_name
        )
    )
    _count(pma, 5)
    Agent(pma).run_once(timeout=5)
    assert ciav.high_water()[pma.station_id] == 10
    assert len(proxy.sent) > 200
    # Replay the captured bytes on a new connection: CURVE refuses them (new session keys).
    # First let the hub finish the genuine session's last messages (they arrive after run_once).
    handled = _settled(lambda: hub.handled)
    with socket.create_connection(("127.0.0.1", port)) as replay:
        replay.sendall(bytes(proxy.sent))
        time.sleep(0.5)
    assert hub.handled == handled
    assert ciav.db.execute("select count(*) from changes").fetchone()[0] == 10


def _settled(read, quiet: float = 0.5, timeout: float = 10.0) -> int:  # noqa: ANN001
    """The value of ``read()`` once it has not changed for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    value = read()
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = read()
        if now != value:
            value, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            break
    return value


def _hostile_frames(
    rng: random.Random, own: str, other: str, valid_push: bytes
) -> list[list[bytes]]:
    valid = [
        valid_push,
        wire.encode(wire.Hello(1, own, "INC-TEST")),
        wire.encode(wire.Pull(0)),
        wire.encode(wire.Ping(1)),
    ]
    good_change = list(
        msgspec.structs.astuple(wire.WireChange(own, 1, 1, "person", "p", {"site": "x"}, "a", {}))
    )
    frames: list[list[bytes]] = []
    wrong = [None, True, -1, 2**64 - 1, 1.5, "s", b"b", [], {}, {"t": "push"}]
    while len(frames) < 10_000:
        kind = rng.randrange(10)
        base = rng.choice(valid)
        if kind == 0:
            frames.append([rng.randbytes(rng.randrange(1, 300))])
        elif kind == 1:
            frames.append([base[: rng.randrange(len(base))]])
        elif kind == 2:
            data = bytearray(base)
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            frames.append([bytes(data)])
        elif kind == 3:
            message = msgspec.msgpack.decode(base)
            message[rng.choice(sorted(message))] = rng.choice(wrong)
            frames.append([msgspec.msgpack.encode(message)])
        elif kind == 4:  # a well-formed push of another station's origin
            change = list(good_change)
            change[0] = other
            frames.append([msgspec.msgpack.encode({"t": "push", "n": 5, "changes": [change]})])
        elif kind == 5:  # unknown entity or field, absurd clock, values the tables cannot take
            change = list(good_change)
            change[rng.randrange(4)] = rng.choice(["weapon", 2**63 - 1])
            change[5] = rng.choice([{"gun": 1}, {"site": {"a": [1]}}, {"nf399": 3.5}])
            frames.append([msgspec.msgpack.encode({"t": "push", "n": 6, "changes": [change]})])
        elif kind == 6:  # commands only a hub sends
            frames.append(
                [
                    wire.encode(
                        rng.choice(
                            [wire.Ack(1, {}), wire.Welcome(1, "h", "i", {}, 1), wire.Error("x")]
                        )
                    )
                ]
            )
        elif kind == 7:  # several frames in one message
            frames.append([base, base])
        elif kind == 8:  # versions and incidents it does not speak
            frames.append(
                [
                    wire.encode(wire.Hello(rng.choice([0, 2, 99]), own, "INC-TEST")),
                ]
                if rng.random() < 0.5
                else [wire.encode(wire.Hello(1, own, "OTHER"))]
            )
        else:
            frames.append([rng.randbytes(8) + b"\xc1" * rng.randrange(1, 50)])
    for _ in range(5):
        frames.append(
            [b"\x00" * (wire.MAX_FRAME + 10)]
        )  # oversized (below the socket's hard limit)
    return frames


def test_ten_thousand_hostile_frames_never_crash_the_hub_nor_disturb_others(
    make_station, start_hub, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="fieldkit.sync.hub")
    ciav = make_station("ciav", "CIAV")
    hub = start_hub(ciav)
    hostile = make_station("pma", "PMA-H")
    honest = make_station("police", "POL-1")
    enrol(ciav, hub.endpoint, hostile)
    enrol(ciav, hub.endpoint, honest)
    _count(hostile, 1)
    valid_push = wire.encode_push(1, [wire.encode_change(c) for c in hostile.all_changes()])
    frames = _hostile_frames(random.Random(4), hostile.station_id, honest.station_id, valid_push)
    assert len(frames) >= 10_000
    _count(honest, 50, start=1000)

    sock = _raw_client(hostile, hub.endpoint, station_keypair(ciav)[0])
    sock.sndhwm = 0
    sent = threading.Event()

    def flood() -> None:
        for parts in frames:
            sock.send_multipart(parts)
        sent.set()

    flooder = threading.Thread(target=flood)
    flooder.start()
    report = Agent(honest).run_once(timeout=30)  # another station syncs during the flood
    assert report.pushed == 100
    flooder.join(30)
    assert sent.is_set()
    sock.send(wire.encode(wire.Ping(424242)))
    assert _wait_for(lambda: hub.handled >= len(frames) + 1, timeout=30), hub.handled
    settled = [-1]

    def quiet() -> bool:  # the honest station's messages count too: wait for the queue to drain
        before, settled[0] = settled[0], hub.handled
        time.sleep(0.3)
        return before == settled[0] == hub.handled

    assert _wait_for(quiet, timeout=30)
    sock.close()

    rejected = sum(n for code, n in hub.rejections.items() if code != "handshake")
    assert rejected >= 9_000, hub.rejections
    lines = _log_lines(caplog, "rejected frame from PMA-H: ")
    assert len(lines) == rejected
    assert all(line.split(": ", 1)[1] for line in lines)  # each with its reason
    reasons = {line.split(": ", 1)[1].split(" ")[0] for line in lines}
    assert len(reasons) > 5
    assert {"malformed", "origin", "invalid", "version", "incident"} <= set(hub.rejections)
    assert hub._thread is not None and hub._thread.is_alive()
    assert ciav.high_water()[honest.station_id] == 100
    assert ciav.high_water().get(honest.station_id) == 100 and not any(
        c.origin == honest.station_id and c.author != "op" for c in ciav.all_changes()
    )
