"""Hybrid logical clock: wall time in milliseconds plus a counter, packed in one integer.

A packed value orders like ``(wall_ms, counter)``. Every local event and every received change
advances the clock, so causally later changes always carry a larger value even when the laptop's
clock is wrong, and a station whose clock runs ahead never stalls the others: it only pulls their
clocks forward.
"""

from __future__ import annotations

import time
from collections.abc import Callable

COUNTER_BITS = 16
COUNTER_MAX = (1 << COUNTER_BITS) - 1


def pack(wall_ms: int, counter: int) -> int:
    return (wall_ms << COUNTER_BITS) | counter


def unpack(value: int) -> tuple[int, int]:
    return value >> COUNTER_BITS, value & COUNTER_MAX


def wall_seconds(value: int) -> float:
    """The wall-clock part of a packed value, in seconds since the epoch."""
    return (value >> COUNTER_BITS) / 1000.0


class HybridClock:
    """A hybrid logical clock; ``now_ms`` is injectable so tests can skew it."""

    def __init__(self, last: int = 0, now_ms: Callable[[], int] | None = None) -> None:
        self._last = last
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)

    @property
    def last(self) -> int:
        return self._last

    def tick(self) -> int:
        """A new timestamp for a local event."""
        wall, counter = unpack(self._last)
        physical = self._now_ms()
        if physical > wall:
            self._last = pack(physical, 0)
        else:
            self._last = self._bump(wall, counter)
        return self._last

    def tick_many(self, count: int) -> range:
        """``count`` new timestamps for local events, in order (one clock reading for all).

        Consecutive values: the counter carries into the millisecond, so a large batch may run a
        few milliseconds ahead of the wall clock, as ``tick`` would under the same load.
        """
        if count <= 0:
            return range(0)
        first = self.tick()
        self._last = first + count - 1
        return range(first, first + count)

    def receive(self, remote: int) -> int:
        """Advance past a timestamp received from another station."""
        if remote > self._last:
            r_wall, r_counter = unpack(remote)
            physical = self._now_ms()
            if physical > r_wall:
                self._last = pack(physical, 0)
            else:
                self._last = self._bump(r_wall, r_counter)
        return self._last

    @staticmethod
    def _bump(wall: int, counter: int) -> int:
        if counter >= COUNTER_MAX:
            return pack(wall + 1, 0)
        return pack(wall, counter + 1)
