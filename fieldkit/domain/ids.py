"""Record identifiers: derived from the victim number when there is one, time-ordered otherwise."""

from __future__ import annotations

import random
import time

_random = random.SystemRandom()

PERSON_NUMBER_PREFIX = "nf-"


def new_id(now_ms: int | None = None) -> str:
    """A random 128-bit id whose first 48 bits are the time in ms (UUIDv7-like), as 32 hex chars.

    Time-ordered ids keep B-tree inserts at the end of the index, which keeps bulk writes fast.
    """
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return f"{ms & 0xFFFFFFFFFFFF:012x}{_random.getrandbits(80):020x}"


def person_id_for_number(nf399: str) -> str:
    """The id of the person wearing a bracelet: every station that scans it writes the same record.

    A store holds one incident, so the (normalised) number alone is unique within it.
    """
    return PERSON_NUMBER_PREFIX + nf399
