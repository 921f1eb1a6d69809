"""Record identifiers: derived from the victim number when there is one, time-ordered otherwise."""

from __future__ import annotations

import os
import threading
import time

_POOL_IDS = 4096  # random parts fetched at once: one system call per 4,096 ids
_pool = threading.local()


def _random_hex20() -> str:
    """80 random bits as 20 hex digits, from the operating system's CSPRNG.

    Drawn from a per-thread pool of urandom bytes; a forked child starts with an empty pool.
    """
    pool: str = getattr(_pool, "hex", "")
    offset: int = getattr(_pool, "offset", 0)
    if offset + 20 > len(pool):
        pool, offset = os.urandom(10 * _POOL_IDS).hex(), 0
        _pool.hex = pool
    _pool.offset = offset + 20
    return pool[offset : offset + 20]


def _forget_pool() -> None:
    global _pool
    _pool = threading.local()


os.register_at_fork(after_in_child=_forget_pool)


def new_id(now_ms: int | None = None) -> str:
    """A random 128-bit id whose first 48 bits are the time in ms (UUIDv7-like), as 32 hex chars.

    Time-ordered ids keep B-tree inserts at the end of the index, which keeps bulk writes fast.
    """
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return f"{ms & 0xFFFFFFFFFFFF:012x}{_random_hex20()}"


PERSON_NUMBER_PREFIX = "nf-"


def person_id_for_number(nf399: str, generation: int = 1) -> str:
    """The id of the person wearing a bracelet: every station that scans it writes the same record.

    A store holds one incident, so the (normalised) number alone is unique within it. A number
    whose first id is held by a record that no longer binds it (renumbered, or deleted) goes to a
    new person under the next generation, ``nf-<number>-2``, ``nf-<number>-3``...: still the same
    id on every station that knows the same records (a normalised number never holds a dash).
    """
    if generation < 2:
        return PERSON_NUMBER_PREFIX + nf399
    return f"{PERSON_NUMBER_PREFIX}{nf399}-{generation}"
