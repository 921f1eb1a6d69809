"""The wire format: round trips, bounds, and a fuzz run where decode only ever raises WireError."""

from __future__ import annotations

import random

import msgspec
import pytest

from fieldkit.domain.changes import Change
from fieldkit.sync import wire
from fieldkit.sync.wire import WireError


def a_change(seq: int = 1, **values: object) -> Change:
    return Change(
        "a1b2c3d4e5f60718",
        seq,
        (1_700_000_000_000 << 16) + seq,
        "person",
        "nf-FR075BSPP2026TR000123",
        values or {"family_name": "Dupont", "x_description": {"hair": "brun"}, "apparent_age": 40},
        "op-1",
        {"family_name": ["a1b2c3d4e5f60718:0"]} if seq > 1 else {},
    )


SAMPLES: list[wire.Message] = [
    wire.Join(1, "s1", "PMA-2", "pma", "INC", "x" * 40),
    wire.Joined(1, "h1", "CIAV", "INC", "pma"),
    wire.Hello(1, "s1", "INC", {"s1": 3}),
    wire.Welcome(1, "h1", "INC", {"s1": 3, "s2": 0}, 42),
    wire.Push(7, [wire.to_wire(a_change(i)) for i in range(1, 4)]),
    wire.Ack(7, {"s1": 3}),
    wire.Pull(10, 500),
    wire.Changes(10, 20, True, [wire.to_wire(a_change(5))]),
    wire.Ping(3),
    wire.Pong(3, 99),
    wire.Error("malformed", "bad", 4),
]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_command_round_trips(message: wire.Message) -> None:
    assert wire.decode(wire.encode(message)) == message


def test_direction_is_checked() -> None:
    to_hub = wire.encode(wire.Pull(1))
    to_station = wire.encode(wire.Ack(1, {}))
    assert wire.decode_for_hub(to_hub) == wire.Pull(1)
    assert wire.decode_for_station(to_station) == wire.Ack(1, {})
    with pytest.raises(WireError):
        wire.decode_for_station(to_hub)
    with pytest.raises(WireError):
        wire.decode_for_hub(to_station)


def test_change_round_trip_through_raw_batches() -> None:
    changes = [a_change(i) for i in range(1, 2501)]
    batches = list(wire.cut_batches(changes, max_count=1000))
    assert [len(b) for b in batches] == [1000, 1000, 500]
    got = []
    for n, batch in enumerate(batches):
        push = wire.decode_for_hub(wire.encode_push(n, batch))
        assert isinstance(push, wire.Push) and push.n == n
        got += [wire.from_wire(c) for c in push.changes]
    assert got == changes
    frame = wire.encode_changes(0, 9, False, batches[2])
    decoded = wire.decode_for_station(frame)
    assert isinstance(decoded, wire.Changes) and decoded.next == 9
    assert [wire.from_wire(c) for c in decoded.changes] == changes[2000:]


def test_batches_are_cut_by_size() -> None:
    big = [a_change(i, description="x" * 30_000) for i in range(1, 101)]
    batches = list(wire.cut_batches(big, max_count=1000, max_bytes=wire.BATCH_BYTES))
    assert len(batches) > 1
    assert all(sum(len(r) for r in b) <= wire.BATCH_BYTES for b in batches)
    assert sum(len(b) for b in batches) == 100


def test_bounds_are_enforced() -> None:
    too_many = {
        "t": "push",
        "n": 1,
        "changes": [list(msgspec.structs.astuple(wire.to_wire(a_change())))] * (wire.MAX_BATCH + 1),
    }
    with pytest.raises(WireError, match="invalid"):
        wire.decode_for_hub(msgspec.msgpack.encode(too_many))
    with pytest.raises(WireError, match="too large"):
        wire.decode_for_hub(b"\x00" * (wire.MAX_FRAME + 1))
    with pytest.raises(WireError, match="empty"):
        wire.decode_for_hub(b"")
    for bad_value in (
        "x" * (wire.MAX_TEXT + 1),
        float("nan"),
        b"bytes",
        [[[[[1]]]]],
        {"k": list(range(300))},
    ):
        frame = wire.encode_push(
            1,
            [
                msgspec.Raw(
                    msgspec.msgpack.encode(
                        ["o", 1, 1, "person", "p", {"family_name": bad_value}, "a", {}]
                    )
                )
            ],
        )
        with pytest.raises(WireError):
            wire.decode_for_hub(frame)
    with pytest.raises(WireError, match="nested too deeply"):
        deep = msgspec.Raw(b"\x91" * 200_000 + b"\xc0")
        inner = ["o", 1, 1, "person", "p", {"family_name": deep}, "a", {}]
        wire.decode_for_hub(wire.encode_push(1, [msgspec.Raw(msgspec.msgpack.encode(inner))]))
    with pytest.raises(WireError):  # seq must be >= 1
        wire.decode_for_hub(
            msgspec.msgpack.encode(
                {"t": "push", "n": 1, "changes": [["o", 0, 1, "person", "p", {"a": 1}, "a", {}]]}
            )
        )
    with pytest.raises(WireError):  # beyond int64
        wire.decode_for_hub(msgspec.msgpack.encode({"t": "pull", "cursor": 2**64 - 1}))


def test_invalid_reason_checks_entity_and_fields() -> None:
    assert wire.invalid_reason(a_change()) is None
    assert "unknown entity" in (
        wire.invalid_reason(Change("o", 1, 1, "weapon", "w", {"a": 1}, "x")) or ""
    )
    assert "unknown field" in (
        wire.invalid_reason(Change("o", 1, 1, "person", "p", {"gun": 1}, "x")) or ""
    )
    assert wire.invalid_reason(Change("o", 1, 1, "person", "p", {}, "x")) == "change without values"
    assert wire.invalid_reason(Change("o", 1, 1, "person", "p", {"_deleted": True}, "x")) is None
    assert "not text" in (
        wire.invalid_reason(Change("o", 1, 1, "person", "p", {"site": [1]}, "x")) or ""
    )
    assert (
        wire.invalid_reason(Change("o", 1, 1, "triage", "t", {"person_id": 3}, "x"))
        == "triage.person_id is int, not text"
    )
    assert wire.invalid_reason(Change("o", 1, 1, "person", "p", {"_deleted": "yes"}, "x"))
    assert wire.invalid_reason(Change("o", 1, 1, "person", "p", {"replaced_by": 7}, "x"))


# -- fuzzing ------------------------------------------------------------------------------------
def _mutations(rng: random.Random, valid: list[bytes]) -> list[bytes]:
    frames: list[bytes] = []
    wrong_types: list[object] = [None, True, -1, 2**63, 1.5, "s", b"b", [], {}, [1, "x"], {"t": 1}]
    for _ in range(10_500):
        kind = rng.randrange(7)
        base = rng.choice(valid)
        if kind == 0:  # random bytes
            frames.append(rng.randbytes(rng.randrange(1, 200)))
        elif kind == 1:  # truncated
            frames.append(base[: rng.randrange(0, len(base))])
        elif kind == 2:  # bit flips
            data = bytearray(base)
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            frames.append(bytes(data))
        elif kind == 3:  # wrongly typed field
            message = msgspec.msgpack.decode(base)
            key = rng.choice(sorted(message))
            message[key] = rng.choice(wrong_types)
            frames.append(msgspec.msgpack.encode(message))
        elif kind == 4:  # wrongly typed inside a change
            change = list(msgspec.structs.astuple(wire.to_wire(a_change())))
            change[rng.randrange(len(change))] = rng.choice(wrong_types)
            frames.append(msgspec.msgpack.encode({"t": "push", "n": 1, "changes": [change]}))
        elif kind == 5:  # garbage appended / spliced
            cut = rng.randrange(len(base))
            frames.append(base[:cut] + rng.randbytes(rng.randrange(1, 20)) + base[cut:])
        else:  # valid msgpack of the wrong shape
            frames.append(
                msgspec.msgpack.encode(
                    rng.choice(wrong_types + [{"t": "ack", "n": 1, "heads": {}}, {"t": "nope"}])
                )
            )
    frames += [b"\x00" * (wire.MAX_FRAME + 1)] * 3  # oversized
    return frames


def test_fuzz_decode_raises_only_wire_error() -> None:
    rng = random.Random(20260399)
    valid = [wire.encode(m) for m in SAMPLES]
    frames = _mutations(rng, valid)
    assert len(frames) >= 10_000
    rejected = 0
    for frame in frames:
        for decoder in (wire.decode_for_hub, wire.decode_for_station):
            try:
                decoder(frame)
            except WireError as exc:
                assert exc.reason
                rejected += 1
    assert rejected > 15_000  # most mutations are refused by one side or both


@pytest.mark.parametrize(
    "endpoint", ["tcp://", "tcp://host", "tcp://:7700", "udp://h:1", "tcp://h:1 x"]
)
def test_a_hub_address_zmq_cannot_connect_to_is_refused_in_one_sentence(endpoint: str) -> None:
    from fieldkit.errors import ValidationError
    from fieldkit.sync.enrol import check_endpoint

    with pytest.raises(ValidationError) as refused:
        check_endpoint(endpoint)
    assert refused.value.message == (
        "L'adresse du concentrateur doit être de la forme tcp://HÔTE:PORT."
    )


@pytest.mark.parametrize(
    "endpoint", ["tcp://127.0.0.1:7700", "tcp://*:7700", "tcp://127.0.0.1:*", "tcp://[::1]:7700",
                 "tcp://ciav-hub.local:7700", "ipc:///tmp/hub"],
)  # fmt: skip
def test_real_hub_addresses_pass(endpoint: str) -> None:
    from fieldkit.sync.enrol import check_endpoint

    assert check_endpoint(f" {endpoint} ") == endpoint
