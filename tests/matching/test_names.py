"""Pure matching rules: names across spellings and scripts, scores with reasons, the outcome."""

from __future__ import annotations

import pytest

from fieldkit.domain.matching import (
    ACCEPT,
    REVIEW,
    Candidate,
    MatchIndex,
    Outcome,
    PersonStatus,
    Reason,
    decide,
    decode_reasons,
    encode_reasons,
    enquiry_facts,
    explain,
    latin,
    name_profile,
    outcome_text,
    parse_age,
    person_facts,
    score,
    skeleton,
)

YEAR = 2026


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hélène LEFÈVRE", "helene lefevre"),
        ("Łukasz Żółć", "lukasz zolc"),
        ("Александр", "aleksandr"),
        ("张伟", "zhang wei"),
        ("D'Almeida", "d almeida"),
        ("Al-Hassan", "al hassan"),
        ("[b]x[/b]", "b x b"),
    ],
)
def test_latin(text: str, expected: str) -> None:
    assert latin(text) == expected


@pytest.mark.parametrize(
    "spellings",
    [
        ("mohamed", "muhammad", "mohammed", "mouhamad"),
        ("tchaikovsky", "chaykovskiy", "tschaikowski"),
        ("zhang", "chang"),
        ("aleksandr", "alexandre", "oleksandr"),
        ("youssef", "yusuf", "youcef"),
        ("dupont", "dupond"),
        ("shevchenko", "chevtchenko"),
        ("xu", "hsu"),
        ("law", "lau"),
        ("pavlov", "pawlow"),
        ("walid", "oualid"),
    ],
)
def test_one_sound_one_skeleton(spellings: tuple[str, ...]) -> None:
    assert len({skeleton(s) for s in spellings}) == 1, {s: skeleton(s) for s in spellings}


def test_particles_are_set_aside_but_tell_names_apart() -> None:
    profile = name_profile("Al-Hassan", "Mohammed")
    assert profile.family == ("hassan",) and profile.particles == {"al"}
    enquiry = enquiry_facts(
        "e", {"sought_family_name": "El Hassan", "sought_given_names": "Mohamed"}
    )
    same = score(
        enquiry, person_facts("p", {"family_name": "Al-Hassan", "given_names": "Mohammed"})
    )
    other = score(
        enquiry, person_facts("q", {"family_name": "Abou Hassan", "given_names": "Mohammed"})
    )
    bare = score(enquiry, person_facts("r", {"family_name": "Hassan", "given_names": "Mohammed"}))
    assert same.score > bare.score > other.score


@pytest.mark.parametrize(
    ("sought", "recorded"),
    [
        (("Helene", "LEFEBVRE"), ("Lefèvre", "Hélène")),  # swapped, accents, spelling
        (("Chaikovski", "Sergei"), ("Чайковский", "Сергей")),  # Cyrillic record
        (("Zhang", "Wei"), ("张", "伟")),  # Chinese record
        (("Wei", "Zhang"), ("Zhang", "Wei")),  # Chinese order
        (("Ben Ali", "Kareem"), ("Benali", "Karim")),  # glued particle
        (("de la Fontaine", "Jean-Pierre"), ("De La Fontaine", "Jean Pierre")),
    ],
)
def test_spellings_of_one_person_score_above_the_threshold(
    sought: tuple[str, str], recorded: tuple[str, str]
) -> None:
    enquiry = enquiry_facts(
        "e",
        {
            "sought_family_name": sought[0],
            "sought_given_names": sought[1],
            "sought_sex": "M",
            "sought_age": "40",
        },
    )
    person = person_facts(
        "p",
        {
            "family_name": recorded[0],
            "given_names": recorded[1],
            "sex": "M",
            "birth_date": f"{YEAR - 40}-01-01",
        },
    )
    found = score(enquiry, person, year=YEAR)
    assert found.score >= ACCEPT, found
    assert any(r.code.startswith("name") for r in found.reasons)


def test_sex_and_age_weigh_against() -> None:
    enquiry = enquiry_facts(
        "e",
        {
            "sought_family_name": "Durand",
            "sought_given_names": "Marie",
            "sought_sex": "F",
            "sought_age": 30,
        },
    )
    right = person_facts(
        "a",
        {"family_name": "Durand", "given_names": "Marie", "sex": "F", "birth_date": "1996-01-01"},
    )
    man = person_facts(
        "b",
        {"family_name": "Durand", "given_names": "Marie", "sex": "M", "birth_date": "1996-01-01"},
    )
    old = person_facts(
        "c",
        {"family_name": "Durand", "given_names": "Marie", "sex": "F", "birth_date": "1940-01-01"},
    )
    seen = person_facts(
        "d", {"family_name": "Durand", "given_names": "Marie", "sex": "F", "apparent_age": 35}
    )
    scores = {p.person_id: score(enquiry, p, year=YEAR) for p in (right, man, old, seen)}
    assert scores["a"].score == 100
    assert scores["b"].score < ACCEPT and "sex_differs" in {r.code for r in scores["b"].reasons}
    assert scores["c"].score < ACCEPT and "age_far" in {r.code for r in scores["c"].reasons}
    assert scores["d"].score >= ACCEPT  # an apparent age is only a guess


def test_an_x_person_is_matched_on_description_only_below_the_threshold() -> None:
    enquiry = enquiry_facts(
        "e",
        {"sought_family_name": "Roy", "sought_sex": "M", "clothing": "green jacket, anchor tattoo"},
    )
    x = person_facts(
        "x", {"sex": "M", "x_description": {"clothing": "green jacket", "tattoos": "anchor"}}
    )
    index = MatchIndex()
    index.upsert(x)
    found = index.search(enquiry, year=YEAR)
    assert [c.person_id for c in found] == ["x"]
    assert found[0].score < ACCEPT
    assert {"x_person", "description"} <= {r.code for r in found[0].reasons}


def test_index_updates_and_removals() -> None:
    index = MatchIndex()
    index.upsert(person_facts("p", {"family_name": "Petit", "given_names": "Léa"}))
    enquiry = enquiry_facts("e", {"sought_family_name": "Petit", "sought_given_names": "Lea"})
    assert [c.person_id for c in index.search(enquiry)] == ["p"]
    index.upsert(person_facts("p", {"family_name": "Grand", "given_names": "Paul"}))
    assert index.search(enquiry) == []
    index.remove("p")
    index.remove("p")  # twice: no error
    assert len(index) == 0 and not index.postings


def test_reasons_round_trip_and_explain_in_french() -> None:
    reasons = (Reason("name_swapped", "100/93", 88.5), Reason("sex_same", "F", 3.0))
    text = encode_reasons(reasons)
    assert decode_reasons(text) == list(reasons)
    assert decode_reasons(None) == []
    assert explain(reasons[1]) == "même sexe F (+3)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(34, (34, 0)), ("34", (34, 0)), ("about 30", (30, 0)), ("30-35", (30, 5)), ("35 à 30", (30, 5)),
     ("old", (None, 0)), (True, (None, 0)), (200, (None, 0))],
)  # fmt: skip
def test_parse_age(value: object, expected: tuple[int | None, int]) -> None:
    assert parse_age(value) == expected


def _c(person_id: str, value: float, *codes: str, lead: bool = False) -> Candidate:
    return Candidate(person_id, value, tuple(Reason(c) for c in codes), lead)


ALIVE = PersonStatus("UR", None, "HEGP")


@pytest.mark.parametrize(
    ("candidates", "status", "expected"),
    [
        ([], {}, (Outcome.NONE, None)),
        ([_c("p", REVIEW - 1)], {"p": ALIVE}, (Outcome.NONE, None)),
        ([_c("p", ACCEPT - 1)], {"p": ALIVE}, (Outcome.OFFICER, None)),  # a lead for an officer
        ([_c("p", 99)], {"p": ALIVE}, (Outcome.FOUND, "HEGP")),
        ([_c("p", 99), _c("q", 97)], {"p": ALIVE}, (Outcome.OFFICER, None)),  # too close
        ([_c("p", 99, "age_far")], {"p": ALIVE}, (Outcome.OFFICER, None)),
        ([_c("p", 99, lead=True)], {"p": ALIVE}, (Outcome.OFFICER, None)),
        ([_c("p", 99)], {"p": PersonStatus("DCD", None, "IML")}, (Outcome.OFFICER, None)),
        ([_c("p", 99)], {"p": PersonStatus("DCD", "identified", None)}, (Outcome.OFFICER, None)),
        ([_c("p", 99)], {"p": PersonStatus("DCD", "announced", "IML")}, (Outcome.ANNOUNCED, None)),
        ([_c("p", 99)], {"p": PersonStatus("UA", None, None)}, (Outcome.OFFICER, None)),
        ([_c("p", 99)], {}, (Outcome.OFFICER, None)),
    ],
)
def test_decide(candidates, status, expected) -> None:
    assert decide(candidates, status) == expected


def test_outcome_sentences_say_dead_only_once_announced() -> None:
    assert "décès" in outcome_text("announced")
    for code in ("found", "officer", "none", "garbage"):
        text = outcome_text(code, "HEGP").lower()
        for word in ("dcd", "décéd", "mort", "dead", "death", "décès"):
            assert word not in text, (code, text)
    assert outcome_text("found", None) == outcome_text("officer")  # no place: an officer
    assert outcome_text("found", "HEGP") == "Retrouvé(e), pris(e) en charge à HEGP."
