"""Matching benchmarks: quality on a synthetic population, and the time to match one enquiry
against 100,000 persons, against a naive baseline measured in the same run (one rapidfuzz scan
of every name, WRatio, in rapidfuzz's C loop, before any detailed scoring)."""

from __future__ import annotations

import statistics
import time

from rapidfuzz import fuzz, process

from fieldkit.domain.matching import ACCEPT, MatchIndex, enquiry_facts, person_facts
from tests.matching.synthetic import evaluate, population


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def quality(persons: int, enquiries: int, seeds: tuple[int, ...]) -> None:
    print(f"quality: {persons:,} persons, {enquiries:,} enquiries, threshold {ACCEPT:g}")
    for seed in seeds:
        people, asked = population(persons, enquiries, seed=seed)
        started = time.perf_counter()
        q = evaluate(people, asked)
        elapsed = time.perf_counter() - started
        print(
            f"  seed {seed:>2}: recall@1 {q.recall_at_1:.3f}  recall@5 {q.recall_at_5:.3f}"
            f"  wrong rank-1 above threshold {q.wrong_above:.2%}"
            f"  (taken by the acceptance rule {q.wrong_accepted:.2%};"
            f" right person taken {q.taken_right:.0%})"
            f"  [{q.present} of {q.enquiries} sought persons recorded; {elapsed:.1f} s]"
        )
    print("  targets: recall@5 >= 0.95, wrong rank-1 above threshold <= 1 %")


def speed(persons: int, rounds: int) -> None:
    people, asked = population(persons, rounds, seed=5)
    started = time.perf_counter()
    index = MatchIndex()
    for person in people:
        index.upsert(person_facts(person.person_id, person.values))
    built = time.perf_counter() - started
    queries = [enquiry_facts(e.enquiry_id, e.values) for e in asked]
    for query in queries[:5]:  # warm caches
        index.search(query)
    ours: list[float] = []
    for query in queries:
        t0 = time.perf_counter()
        index.search(query)
        ours.append((time.perf_counter() - t0) * 1000)
    names = [p.name.text for p in index.persons.values()]
    naive: list[float] = []
    for query in queries[: max(10, rounds // 5)]:
        t0 = time.perf_counter()
        process.extract(query.name.text, names, scorer=fuzz.WRatio, limit=5)
        naive.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    sample = people[: min(1000, len(people))]
    for person in sample:
        index.upsert(person_facts(person.person_id, person.values))
    update = (time.perf_counter() - t0) / len(sample) * 1e6
    ours_median, naive_median = statistics.median(ours), statistics.median(naive)
    print(f"speed: one enquiry against {persons:,} persons (index built in {built:.1f} s)")
    print(
        f"  indexed match   median {ours_median:6.2f} ms  p95 {_pct(ours, 0.95):6.2f} ms"
        "  (target < 20 ms)"
    )
    print(f"  naive rapidfuzz median {naive_median:6.2f} ms  (WRatio scan of every name)")
    print(f"  ratio naive / indexed: {naive_median / ours_median:.1f}x")
    print(f"  incremental update of one person: {update:.0f} us")


def main(quick: bool = False) -> None:
    if quick:
        quality(2_000, 200, (7, 23))
        speed(20_000, 100)
        hub(10_000, 500, 1_000)
    else:
        quality(10_000, 1_000, (7, 11, 23))
        speed(100_000, 300)
        hub(100_000, 5_000, 5_000)


def hub(persons: int, enquiries: int, pushed: int) -> None:
    """The hub's matcher on a real encrypted store: first load, then a push of new persons.

    The hub calls :meth:`Matcher.step` between frames, so the longest step is how long the hub
    may keep a station waiting."""
    import tempfile
    from pathlib import Path

    from fieldkit.domain.ids import new_id
    from fieldkit.services.matching import Matcher
    from fieldkit.services.station import init_station
    from fieldkit.store.store import Write

    people, asked = population(persons + pushed, enquiries, seed=9, absent=0.3)
    with tempfile.TemporaryDirectory() as tmp:
        store = init_station(
            Path(tmp) / "hub", "bench-passphrase", role="ciav", station_name="CIAV", incident="B"
        )

        def write(batch: list) -> None:
            writes: list[Write] = []
            for person in batch:
                writes.append(Write("person", person.person_id, person.values))
                writes.append(
                    Write("triage", new_id(), {"person_id": person.person_id, "category": "UR"})
                )
            for start in range(0, len(writes), 20_000):
                store.record_many(writes[start : start + 20_000], "bench")

        write(people[:persons])
        store.record_many([Write("enquiry", e.enquiry_id, e.values) for e in asked], "bench")

        def until_idle(matcher: Matcher) -> tuple[float, float, int]:
            steps: list[float] = []
            started = time.perf_counter()
            more = True
            while more:
                t0 = time.perf_counter()
                more = matcher.step()
                steps.append(time.perf_counter() - t0)
            return time.perf_counter() - started, max(steps), len(steps)

        matcher = Matcher(store, freeze_when_loaded=True)  # as `hub serve` runs it
        total, longest, count = until_idle(matcher)
        print(
            f"hub matcher: {persons:,} persons, {enquiries:,} enquiries: first load and match"
            f" {total:.1f} s in {count} steps, longest step {longest * 1000:.0f} ms"
        )
        written = matcher.written
        write(people[persons:])
        total, longest, count = until_idle(matcher)
        print(
            f"  then {pushed:,} new persons: absorbed in {total:.2f} s, {count} steps, longest"
            f" step {longest * 1000:.0f} ms, {matcher.written - written} changes written"
        )
        store.close()


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv[1:])
