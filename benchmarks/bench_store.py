"""Store benchmarks: durable commits vs plain sqlite3, bulk import, bilan at 100,000 persons."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import sqlite_utils

from fieldkit.services.exchange import import_jsonl
from fieldkit.services.station import init_station
from fieldkit.store.connection import connect
from fieldkit.store.queries import bilan
from fieldkit.store.store import Store

CATEGORIES = ("UA", "UR", "IMPLIQUE", "DCD")


def _plain_store(path: Path, synchronous: str) -> Store:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA foreign_keys=ON")
    store = Store(sqlite_utils.Database(conn))
    store.set_meta(station_id="BENCH", role="pma", station_name="B", incident="B", site="S")
    return store


def _encrypted_store(path: Path, synchronous: str) -> Store:
    store = Store(connect(path, os.urandom(32), create=True, synchronous=synchronous))
    store.set_meta(station_id="BENCH", role="pma", station_name="B", incident="B", site="S")
    return store


def _commits_per_second(store: Store, count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        store.record("person", f"nf-FR075BSPP2026TR{i:06d}", {"family_name": "Dupont"}, "bench")
    return count / (time.perf_counter() - started)


def bench_durable_commits(folder: Path, count: int) -> None:
    plain = _commits_per_second(_plain_store(folder / "plain.db", "FULL"), count)
    encrypted = _commits_per_second(_encrypted_store(folder / "enc.db", "FULL"), count)
    print(
        f"durable single-change commits (synchronous=FULL, {count} commits):"
        f" SQLCipher store {encrypted:,.0f}/s, plain sqlite3 same schema {plain:,.0f}/s,"
        f" ratio {encrypted / plain:.2f} (target >= 0.4)"
    )


def _write_import_file(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            record = {
                "type": "person",
                "nf399": f"FR075BSPP2026TR{i:06d}",
                "category": CATEGORIES[i % 4],
                "family_name": f"Nom{i % 997}",
                "given_names": "Jean",
                "sex": "M" if i % 2 else "F",
                "site": f"Site {i % 10}",
            }
            if i % 3 == 0:
                record["destination"] = f"Hôpital {i % 7}"
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


IMPORT_RUNS = 3  # imports into fresh stores: the median, with the spread (this machine is shared)


def bench_import_and_bilan(folder: Path, count: int, imports: int = IMPORT_RUNS) -> None:
    source = folder / "persons.jsonl"
    _write_import_file(source, count)
    times = []
    for run in range(imports):
        home = folder / f"ciav{run}"
        store = init_station(home, "bench-passphrase", role="ciav", station_name="C", incident="B")
        started = time.perf_counter()
        import_jsonl(store, "bench", source)
        times.append(time.perf_counter() - started)
        if run < imports - 1:  # the last store stays for the bilan
            store.close()
            shutil.rmtree(home)
    median = statistics.median(times)
    print(
        f"bulk import of {count:,} persons (JSONL, validated, encrypted), median of {imports} runs:"
        f" {median:.2f} s, {count / median:,.0f} persons/s (target >= 20,000/s);"
        f" runs {', '.join(f'{count / t:,.0f}' for t in times)} persons/s"
    )
    runs = []
    for _ in range(7):
        started = time.perf_counter()
        result = bilan(store.db)
        runs.append(time.perf_counter() - started)
    assert result.total == count
    plain_runs = []
    for _ in range(7):
        started = time.perf_counter()
        store.db.execute("SELECT sum(length(clock)) FROM persons").fetchone()
        plain_runs.append(time.perf_counter() - started)
    print(
        f"bilan over {count:,} persons: median {statistics.median(runs) * 1000:.1f} ms"
        f" (target < 50 ms); baseline one scan of the rows"
        f" {statistics.median(plain_runs) * 1000:.1f} ms,"
        f" ratio {statistics.median(runs) / statistics.median(plain_runs):.1f}"
    )
    store.close()


def main(quick: bool = False) -> None:
    os.environ.setdefault("FIELDKIT_KDF", "fast")
    with tempfile.TemporaryDirectory(prefix="fieldkit-bench-") as tmp:
        folder = Path(tmp)
        bench_durable_commits(folder, 300 if quick else 2000)
        bench_import_and_bilan(folder, 10_000 if quick else 100_000)


if __name__ == "__main__":
    main()
