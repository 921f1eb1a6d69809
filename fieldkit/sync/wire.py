"""The wire format of the sync protocol (docs/sync-protocol.md): pure encode/decode, no sockets.

One frozen msgspec struct per command, tagged by the key ``t``, encoded as msgpack. Decoding is
strict and bounded: anything that is not a valid frame of the expected direction raises
:class:`WireError` (and nothing else), so a hub can log the reason and carry on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Raw, Struct

from fieldkit.domain.changes import LIFECYCLE_FIELDS, Change
from fieldkit.domain.model import ENTITIES
from fieldkit.domain.values import values_problem

PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS = (1,)

MAX_FRAME = 4 * 1024 * 1024  # bytes: larger frames are refused before decoding
HARD_FRAME_LIMIT = 16 * 1024 * 1024  # the sockets' maxmsgsize: beyond it the link is dropped
MAX_BATCH = 5000  # changes per push / changes frame
BATCH_BYTES = 1024 * 1024  # senders cut batches at about this size
MAX_ORIGINS = 10_000  # entries in a heads / acked map

MAX_FIELDS = 64
MAX_TEXT = 64 * 1024  # characters of one string value
MAX_ITEMS = 256  # items of a list or map inside a value
MAX_DEPTH = 4  # nesting of lists / maps inside a value
INT64 = 1 << 63
STRUCTURED_FIELDS = frozenset({"x_description", "ante_mortem"})  # may hold a map or a list


class WireError(Exception):
    """A frame that is not a valid message; ``reason`` says why (for the logs)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- bounded scalar types ---------------------------------------------------------------------
StationId = Annotated[str, Meta(min_length=1, max_length=64)]
Name = Annotated[str, Meta(min_length=1, max_length=80)]
RoleName = Annotated[str, Meta(min_length=1, max_length=16)]
Incident = Annotated[str, Meta(min_length=1, max_length=80)]
Z85Key = Annotated[str, Meta(min_length=40, max_length=40)]
Version = Annotated[int, Meta(ge=0, le=INT64 - 1)]
Count = Annotated[int, Meta(ge=0, le=INT64 - 1)]
Seq = Annotated[int, Meta(ge=1, le=INT64 - 1)]
Hlc = Annotated[int, Meta(ge=0, le=INT64 - 1)]
FieldName = Annotated[str, Meta(min_length=1, max_length=64)]
ChangeRef = Annotated[str, Meta(min_length=3, max_length=100)]
Heads = Annotated[dict[StationId, Count], Meta(max_length=MAX_ORIGINS)]


class WireChange(Struct, array_like=True, frozen=True):
    """A change on the wire: ``[origin, seq, hlc, entity, entity_id, values, author, base]``."""

    origin: StationId
    seq: Seq
    hlc: Hlc
    entity: Annotated[str, Meta(min_length=1, max_length=32)]
    entity_id: Annotated[str, Meta(min_length=1, max_length=128)]
    values: Annotated[dict[FieldName, Any], Meta(max_length=MAX_FIELDS)]
    author: Annotated[str, Meta(max_length=200)]
    base: Annotated[
        dict[FieldName, Annotated[list[ChangeRef], Meta(max_length=64)]],
        Meta(max_length=MAX_FIELDS),
    ] = {}


Batch = Annotated[list[WireChange], Meta(max_length=MAX_BATCH)]


class _Msg(Struct, frozen=True, tag_field="t"):
    """Base of every command."""


# -- station -> hub -----------------------------------------------------------------------------
class Join(_Msg, tag="join", frozen=True):
    v: Version
    station_id: StationId
    name: Name
    role: RoleName
    incident: Incident
    key: Z85Key


class Hello(_Msg, tag="hello", frozen=True):
    v: Version
    station_id: StationId
    incident: Incident
    acked: Heads = {}


class Push(_Msg, tag="push", frozen=True):
    n: Count
    changes: Batch


class Pull(_Msg, tag="pull", frozen=True):
    cursor: Count
    limit: Annotated[int, Meta(ge=1, le=MAX_BATCH)] = MAX_BATCH


class Ping(_Msg, tag="ping", frozen=True):
    n: Count = 0


# -- hub -> station -----------------------------------------------------------------------------
class Joined(_Msg, tag="joined", frozen=True):
    v: Version
    hub_id: StationId
    hub_name: Name
    incident: Incident
    role: RoleName


class Welcome(_Msg, tag="welcome", frozen=True):
    v: Version
    hub_id: StationId
    incident: Incident
    heads: Heads
    top: Count


class Ack(_Msg, tag="ack", frozen=True):
    n: Count
    heads: Heads
    top: Count = 0


class Changes(_Msg, tag="changes", frozen=True):
    cursor: Count
    next: Count
    more: bool
    changes: Batch


class Pong(_Msg, tag="pong", frozen=True):
    n: Count = 0
    top: Count = 0


class Error(_Msg, tag="error", frozen=True):
    code: Annotated[str, Meta(min_length=1, max_length=32)]
    detail: Annotated[str, Meta(max_length=1000)] = ""
    n: Count | None = None


# Encode-only twins of the batch frames: changes already encoded one by one (``Raw``), so a
# sender can cut batches by their exact size without encoding twice.
class _PushOut(_Msg, tag="push", frozen=True):
    n: int
    changes: list[Raw]


class _ChangesOut(_Msg, tag="changes", frozen=True):
    cursor: int
    next: int
    more: bool
    changes: list[Raw]


ToHub = Join | Hello | Push | Pull | Ping
ToStation = Joined | Welcome | Ack | Changes | Pong | Error
Message = ToHub | ToStation

_encoder = msgspec.msgpack.Encoder()
_to_hub = msgspec.msgpack.Decoder(ToHub)
_to_station = msgspec.msgpack.Decoder(ToStation)
_any = msgspec.msgpack.Decoder(Message)


def encode(message: Message) -> bytes:
    return _encoder.encode(message)


def _decode(decoder: msgspec.msgpack.Decoder, frame: bytes | memoryview) -> Any:
    if not isinstance(frame, bytes | bytearray | memoryview):
        raise WireError("frame is not bytes")
    if len(frame) > MAX_FRAME:
        raise WireError(f"frame too large ({len(frame)} bytes > {MAX_FRAME})")
    if len(frame) == 0:
        raise WireError("empty frame")
    try:
        message = decoder.decode(frame)
    except msgspec.ValidationError as exc:
        raise WireError(f"invalid message: {exc}") from None
    except msgspec.DecodeError as exc:
        raise WireError(f"undecodable frame: {exc}") from None
    except RecursionError:
        raise WireError("frame nested too deeply") from None
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:  # defensive
        raise WireError(f"undecodable frame: {exc}") from None
    if isinstance(message, Push | Changes):
        for change in message.changes:
            check_values(change)
    return message


def decode_for_hub(frame: bytes | memoryview) -> ToHub:
    """A frame received by a hub: only station -> hub commands are valid."""
    result: ToHub = _decode(_to_hub, frame)
    return result


def decode_for_station(frame: bytes | memoryview) -> ToStation:
    """A frame received by a station: only hub -> station commands are valid."""
    result: ToStation = _decode(_to_station, frame)
    return result


def decode(frame: bytes | memoryview) -> Message:
    """Any command (tests, tools)."""
    result: Message = _decode(_any, frame)
    return result


# -- values -----------------------------------------------------------------------------------
def check_values(change: WireChange) -> None:
    """Bound the free-form part of a change: plain JSON-like values, bounded size and depth."""
    for value in change.values.values():
        _check_value(value, 0)


def _check_value(value: Any, depth: int) -> None:
    kind = type(value)
    if value is None or kind is bool:
        return
    if kind is str:
        if len(value) > MAX_TEXT:
            raise WireError(f"text value too long ({len(value)} characters)")
        return
    if kind is int:
        if not -INT64 <= value < INT64:
            raise WireError("integer value out of range")
        return
    if kind is float:
        if not math.isfinite(value):
            raise WireError("non-finite number")
        return
    if kind is list or kind is dict:
        if depth >= MAX_DEPTH:
            raise WireError("value nested too deeply")
        if len(value) > MAX_ITEMS:
            raise WireError("value has too many items")
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str or len(key) > 64:
                    raise WireError("map value with a bad key")
                _check_value(item, depth + 1)
        else:
            for item in value:
                _check_value(item, depth + 1)
        return
    raise WireError(f"unsupported value type {kind.__name__}")


def invalid_reason(change: WireChange | Change) -> str | None:
    """Why a well-formed change cannot be stored, or None.

    An unknown entity or field, or a value its field may not hold (:mod:`fieldkit.domain.values`).
    """
    spec = ENTITIES.get(change.entity)
    if spec is None:
        return f"unknown entity {change.entity[:32]!r}"
    if not change.values:
        return "change without values"
    for name in change.values:
        if name not in spec.fields and name not in LIFECYCLE_FIELDS:
            return f"unknown field {name[:64]!r} of {spec.name}"
    # Types, sizes, characters and enums of each value (a map or a list only where a field
    # takes one: STRUCTURED_FIELDS).
    problem = values_problem(change.entity, change.values)
    if problem is not None:
        return problem
    for name in change.base:
        if name not in spec.fields and name not in LIFECYCLE_FIELDS:
            return f"unknown base field {name[:64]!r} of {spec.name}"
    return None


# -- changes <-> wire ---------------------------------------------------------------------------
def to_wire(change: Change) -> WireChange:
    return WireChange(
        change.origin,
        change.seq,
        change.hlc,
        change.entity,
        change.entity_id,
        dict(change.values),
        change.author,
        {k: list(v) for k, v in change.base.items()},
    )


def from_wire(change: WireChange) -> Change:
    return Change(
        change.origin,
        change.seq,
        change.hlc,
        change.entity,
        change.entity_id,
        dict(change.values),
        change.author,
        {k: list(v) for k, v in change.base.items()},
    )


def encode_change(change: Change) -> Raw:
    """One change, encoded once, to put in a batch."""
    return Raw(_encoder.encode(to_wire(change)))


def cut_batches(
    changes: Iterable[Change], max_count: int = 1000, max_bytes: int = BATCH_BYTES
) -> Iterator[list[Raw]]:
    """Encoded changes grouped into batches of at most ``max_count`` and about ``max_bytes``."""
    batch: list[Raw] = []
    size = 0
    for change in changes:
        raw = encode_change(change)
        if batch and (len(batch) >= max_count or size + len(raw) > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(raw)
        size += len(raw)
    if batch:
        yield batch


def encode_push(n: int, changes: Sequence[Raw]) -> bytes:
    return _encoder.encode(_PushOut(n, list(changes)))


def encode_changes(cursor: int, next_cursor: int, more: bool, changes: Sequence[Raw]) -> bytes:
    return _encoder.encode(_ChangesOut(cursor, next_cursor, more, list(changes)))
