"""Matching quality on a synthetic population (2,000 persons, 200 enquiries): recall@1, recall@5
and the share of enquiries whose rank-1 candidate is someone else and yet above the threshold.
The full-size run (10,000 / 1,000) is in benchmarks/bench_matching.py."""

from __future__ import annotations

import pytest

from tests.matching.synthetic import evaluate, population


@pytest.mark.parametrize("seed", [7, 23])
def test_recall_and_wrong_acceptances_meet_the_targets(seed: int) -> None:
    people, asked = population(2_000, 200, seed=seed)
    quality = evaluate(people, asked)
    assert quality.present >= 150  # some enquiries seek someone who is not in the records
    assert quality.recall_at_5 >= 0.95, quality.misses
    assert quality.recall_at_1 >= 0.85
    assert quality.wrong_above <= 0.01, quality.wrong
    assert quality.wrong_accepted <= quality.wrong_above


def test_the_generator_makes_the_noise_it_claims() -> None:
    people, asked = population(500, 200, seed=3)
    noise = [n for e in asked for n in e.noise]
    for kind in ("accents", "typo", "swapped", "upper", "age_range"):
        assert noise.count(kind) >= 5, kind
    scripts = "".join(str(p.values.get("family_name", "")) for p in people)
    assert any("\u0400" <= ch <= "\u04ff" for ch in scripts)  # Cyrillic records
    assert any("\u4e00" <= ch <= "\u9fff" for ch in scripts)  # Chinese records
    assert sum(e.sought is None for e in asked) >= 10
