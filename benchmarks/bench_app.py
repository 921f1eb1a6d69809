"""App benchmarks at 100,000 persons: counting latency (Enter to committed and shown), list
filter latency, time from launch to a usable screen after unlock. Each against a baseline
measured in the same run: the bare service call or the unfiltered list."""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from fieldkit.screens.app import FieldkitApp
from fieldkit.screens.home import PersonRows
from fieldkit.screens.person_list import VirtualList
from fieldkit.screens.pma import HomeScreen
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.services.station import init_station, open_station
from fieldkit.store.store import Write

PASSPHRASE = "bench-passphrase"
CATEGORIES = ("UA", "UR", "IMPLIQUE", "DCD")


def _fill(home: Path, count: int) -> None:
    store = init_station(home, PASSPHRASE, role="pma", station_name="PMA-B", incident="B")
    writes: list[Write] = []
    for i in range(count):
        pid = f"nf-FR075BSPP2026TR{i:06d}"
        writes.append(
            Write(
                "person",
                pid,
                {
                    "nf399": f"FR075BSPP2026TR{i:06d}",
                    "family_name": f"Nom{i % 997}",
                    "given_names": "Jean",
                    "site": "PMA-B",
                },
            )
        )
        writes.append(
            Write("triage", f"t{i:08d}", {"person_id": pid, "category": CATEGORIES[i % 4]})
        )
        if len(writes) >= 20_000:
            store.record_many(writes, "bench")
            writes = []
    if writes:
        store.record_many(writes, "bench")
    store.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(home: Path, rounds: int) -> None:
    started = time.perf_counter()
    store = open_station(home, PASSPHRASE)
    unlock_s = time.perf_counter() - started
    app = FieldkitApp(home, store=store, operator="bench")
    launch = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        while not isinstance(app.screen, HomeScreen):
            await pilot.pause(0.01)
        await pilot.pause()
        usable_s = time.perf_counter() - launch
        screen = app.screen
        assert isinstance(screen, HomeScreen)
        ui: list[float] = []
        for i in range(rounds):
            await pilot.press(*f"FR075BSPP2026TR{900_000 + i:06d}", "1")
            t0 = time.perf_counter()
            screen.submit_number(screen.number.value)  # what Enter does
            ui.append(time.perf_counter() - t0)
        base: list[float] = []
        for i in range(rounds):
            t0 = time.perf_counter()
            count_person(
                store,
                "bench",
                PersonInput(nf399=f"FR075BSPP2026TR{950_000 + i:06d}", category="UR"),
            )
            base.append(time.perf_counter() - t0)
        listing = screen.query_one(VirtualList)
        filtered: list[float] = []
        unfiltered: list[float] = []
        for text in ["Nom12", "TR0004", "UA", "zzz", "Jean", "Nom996"]:
            for source, sink in (
                (PersonRows(store, text), filtered),
                (PersonRows(store), unfiltered),
            ):
                t0 = time.perf_counter()
                listing.set_source(source)
                for row in range(40):
                    listing.row(row)
                sink.append(time.perf_counter() - t0)
    ms = 1000
    print(
        f"count (Enter to committed and listed; bilan follows 0.3 s later) at {store_count(home):,}"
        f" persons:"
        f" p50 {statistics.median(ui) * ms:.1f} ms, p99 {_pct(ui, 0.99) * ms:.1f} ms"
        f" (target p99 < 50 ms); bare count_person p50 {statistics.median(base) * ms:.1f} ms,"
        f" ratio {statistics.median(ui) / statistics.median(base):.2f}"
    )
    print(
        f"list filter (SQL match + first 40 rows): median {statistics.median(filtered) * ms:.1f} ms,"
        f" max {max(filtered) * ms:.1f} ms (target < 100 ms); unfiltered list"
        f" {statistics.median(unfiltered) * ms:.1f} ms,"
        f" ratio {statistics.median(filtered) / statistics.median(unfiltered):.2f}"
    )
    print(
        f"launch to usable PMA screen after unlock: {usable_s * ms:.0f} ms (target < 1500 ms);"
        f" unlock itself (KDF {os.environ.get('FIELDKIT_KDF', 'calibrated')}) {unlock_s * ms:.0f} ms"
    )


def store_count(home: Path) -> int:
    store = open_station(home, PASSPHRASE)
    try:
        return int(store.db.execute("SELECT count(*) FROM persons").fetchone()[0])
    finally:
        store.close()


def main(quick: bool = False) -> None:
    os.environ.setdefault("FIELDKIT_KDF", "fast")
    count = 10_000 if quick else 100_000
    with tempfile.TemporaryDirectory(prefix="fieldkit-bench-app-") as tmp:
        home = Path(tmp) / "pma"
        t0 = time.perf_counter()
        _fill(home, count)
        print(f"(filled {count:,} persons in {time.perf_counter() - t0:.1f} s)")
        asyncio.run(_measure(home, 30 if quick else 100))


if __name__ == "__main__":
    main()
