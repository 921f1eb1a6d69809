"""Record identifiers: derived from the victim number when there is one, time-ordered otherwise."""

from __future__ import annotations

import os
import threading
import time

_POOL_BYTES = 10 * 4096  # random bytes fetched at once (10 per id): one system call per 4,096 ids
_pool = threading.local()


def _random_80_bits() -> int:
    """80 bits from the operating system's CSPRNG, drawn from a per-thread pool of urandom bytes.

    The pool is per process as well: a forked child starts with an empty one (see below).
    """
    buffer: bytes = getattr(_pool, "buffer", b"")
    offset: int = getattr(_pool, "offset", 0)
    if offset + 10 > len(buffer):
        buffer, offset = os.urandom(_POOL_BYTES), 0
        _pool.buffer = buffer
    _pool.offset = offset + 10
    return int.from_bytes(buffer[offset : offset + 10], "big")


def _forget_pool() -> None:
    global _pool
    _pool = threading.local()


os.register_at_fork(after_in_child=_forget_pool)

PERSON_NUMBER_PREFIX = "nf-"


def new_id(now_ms: int | None = None) -> str:
    """A random 128-bit id whose first 48 bits are the time in ms (UUIDv7-like), as 32 hex chars.

    Time-ordered ids keep B-tree inserts at the end of the index, which keeps bulk writes fast.
    """
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return f"{ms & 0xFFFFFFFFFFFF:012x}{_random_80_bits():020x}"


def person_id_for_number(nf399: str) -> str:
    """The id of the person wearing a bracelet: every station that scans it writes the same record.

    A store holds one incident, so the (normalised) number alone is unique within it.
    """
    return PERSON_NUMBER_PREFIX + nf399
