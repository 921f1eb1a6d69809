"""Matching family enquiries against person records: names across spellings and scripts.

Pure: no I/O. The pieces, from the bottom up:

- :func:`name_profile` turns a family name and given names typed in any script into normalised
  Latin tokens (transliteration with ``anyascii``, accents and case dropped, particles such as
  *de*, *van*, *al-*, *ben* set aside) plus a phonetic *skeleton* per token that is the same for
  the usual transliterations of one name (Mohamed / Muhammad / Mehmet, Tchaikovsky /
  Chaykovskiy, Zhang / Chang, Aleksandr / Alexandre);
- :func:`score` compares an enquiry with a person: name similarity (rapidfuzz) straight and with
  family and given names swapped, sex, age against a birth date or an apparent age, description;
  every point comes with a :class:`Reason`;
- :class:`MatchIndex` keeps persons in memory behind blocking keys (skeletons, their consonant
  sets, compact names) so that one enquiry is compared with a few hundred persons instead of
  100,000, and is updated person by person;
- :func:`decide` turns the ranked candidates and what is known of the best one into the neutral
  outcome a family may be told (DOMAIN.md: never a death before it was announced).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any

from anyascii import anyascii
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler

from fieldkit.i18n import N_, _

# --- thresholds --------------------------------------------------------------------------------

ACCEPT = 92.0  # a candidate at or above this score is taken as the person sought
REVIEW = 80.0  # a best candidate at or above this, not accepted, is for an officer to look at
MARGIN = 6.0  # ... unless a second one is within this many points (then an officer decides)
FLOOR = 55.0  # candidates below this are not kept at all
NAME_WEIGHT = 0.94  # the name brings at most 94 points; sex and age the rest
KEEP = 5  # candidates kept per enquiry
NAME_PAIRS_REMEMBERED = 1 << 16  # name comparisons kept (a few MB)
POOL = 400  # persons sharing the most blocking-key weight with an enquiry ...
QUICK = 25  # ... of which the best by a quick name comparison are scored in detail

# Particles set aside from names (compared both with and without them).
PARTICLES = frozenset(
    {
        "de", "du", "des", "d", "la", "le", "les", "l", "van", "von", "der", "den", "ter",
        "ten", "het", "da", "das", "dos", "do", "di", "del", "della", "dei", "y", "e", "al",
        "el", "ul", "ben", "bin", "bint", "ibn", "abu", "abou", "ould", "ait", "mac", "mc",
        "st", "saint", "sainte",
    }
)  # fmt: skip
_VOWELS = frozenset("aeiouy")
# Spellings of one particle: "Ben Ali" and "Ibn Ali" may be one name, "Abou Ali" is another.
_PARTICLE_CLASS = {
    **dict.fromkeys(("ben", "bin", "ibn", "bint"), "ben"),
    **dict.fromkeys(("al", "el", "ul"), "al"),
    **dict.fromkeys(("abu", "abou"), "abu"),
    **dict.fromkeys(("de", "d", "du", "des"), "de"),
    **dict.fromkeys(("le", "la", "les", "l"), "le"),
    **dict.fromkeys(("van", "von"), "van"),
    **dict.fromkeys(("mac", "mc"), "mac"),
    **dict.fromkeys(("st", "saint", "sainte"), "st"),
}


# --- normalisation -----------------------------------------------------------------------------


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return 0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FA1F


@lru_cache(maxsize=65536)
def latin(text: str) -> str:
    """``text`` in lowercase ASCII words: any script transliterated, accents and marks dropped.

    Each Chinese character becomes its own syllable ("张伟" -> "zhang wei").
    """
    if text.isascii():
        ascii_text = text
    else:
        parts = []
        for ch in unicodedata.normalize("NFC", text):
            if ch.isascii():
                parts.append(ch)
            elif _is_cjk(ch):
                parts.append(" " + anyascii(ch) + " ")
            else:
                parts.append(anyascii(ch))
        ascii_text = "".join(parts)
    return " ".join(re.findall(r"[a-z0-9]+", ascii_text.lower()))


# Ordered rewrites that make the usual transliterations of one sound the same letter.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"^ou(?=[aeiy])", "w"),  # Oualid = Walid
        (r"(?<=[aeiouy])h(?![aeiouy])", ""),  # Chih-chiang, Mahmoud / Mahmud stay apart
        (r"aw$", "au"),  # Law = Lau (a final -ow is German for -ov: Pawlow)
        (r"(?<=[bcdfgkpt])w", "u"),  # Hwang = Huang, Kwok
        (r"^x", "s"),  # Xu = Su (pinyin)
        (r"^hs", "s"),  # Hsu (Wade-Giles)
        (r"x", "ks"),
        (r"tsch|tch|dzh|dj|sch|sh|ch|zh|j", "J"),  # Tchaikovsky, Chaykovskiy, Djamel, Jamal
        (r"kh", "h"),
        (r"gh", "g"),
        (r"ph", "f"),
        (r"th", "t"),
        (r"gu(?=[aeiouy])", "g"),  # Serguei
        (r"c(?=[eiy])", "s"),  # Youcef, Francois
        (r"ck|qu|q|c|k", "k"),
        (r"w", "v"),
        (r"tz|ts|z", "s"),
        (r"ou|oo|u", "u"),
        (r"h$", ""),  # Fatimah
        (r"d$", "t"),  # Dupond, Mohamed
    )
)


@lru_cache(maxsize=131072)
def skeleton(token: str) -> str:
    """A phonetic key of one lowercase ASCII token: rewritten consonants, no vowels, no doubles."""
    text = token
    for pattern, repl in _REWRITES:
        text = pattern.sub(repl, text)
    out: list[str] = []
    for ch in text:
        if ch in _VOWELS or ch.isdigit():
            continue
        if out and out[-1] == ch:
            continue
        out.append(ch)
    return "".join(out).lower() or token[:1]


@dataclass(frozen=True, slots=True)
class NameProfile:
    """A name as the matcher sees it."""

    family: tuple[str, ...]  # tokens without particles
    given: tuple[str, ...]
    family_all: tuple[str, ...]  # tokens with particles
    particles: frozenset[str]  # classes of the family name's particles
    given_particles: frozenset[str]  # ... and of particles typed among the given names
    family_compact: str  # family tokens with particles, glued ("benali")
    given_compact: str
    family_skeleton: str
    given_skeleton: str
    text: str  # every token, sorted ("hassan mohammed"): for the quick first pass
    sound: str  # their skeletons, sorted
    glued: str  # family name with its particles and given names, each glued, sorted
    empty: bool

    def keys(self) -> set[str]:
        """Blocking keys: any shared key makes a person a candidate for an enquiry."""
        found: set[str] = set()
        for token in (*self.family, *self.given):
            if len(token) < 2:
                continue
            skel = skeleton(token)
            found.add("s:" + skel)
            found.add("c:" + "".join(sorted(set(skel))))  # typos that swap or drop a consonant
        for compact in (self.family_compact, self.given_compact):
            if compact:
                found.add("s:" + skeleton(compact))
        return found


def _tokens(text: str | None) -> tuple[str, ...]:
    return tuple(latin(text).split()) if text else ()


@lru_cache(maxsize=65536)
def name_profile(family_name: str | None, given_names: str | None) -> NameProfile:
    family_all = _tokens(family_name)
    given_all = _tokens(given_names)
    family = tuple(t for t in family_all if t not in PARTICLES) or family_all
    given = tuple(t for t in given_all if t not in PARTICLES) or given_all
    family_compact = "".join(family_all)
    given_compact = "".join(given)
    tokens = (*family, *given)
    particles = frozenset(_PARTICLE_CLASS.get(t, t) for t in family_all if t in PARTICLES)
    given_particles = frozenset(_PARTICLE_CLASS.get(t, t) for t in given_all if t in PARTICLES)
    return NameProfile(
        family,
        given,
        family_all,
        particles if family != family_all else frozenset(),
        given_particles if given != given_all else frozenset(),
        family_compact,
        given_compact,
        skeleton("".join(family)) if family else "",
        skeleton(given_compact) if given else "",
        " ".join(sorted(tokens)),
        " ".join(sorted(skeleton(t) for t in tokens)),
        " ".join(sorted(t for t in (family_compact, given_compact) if t)),
        not tokens,
    )


def _part_similarity(
    q_tokens: tuple[str, ...],
    q_compact: str,
    q_skel: str,
    p_tokens: tuple[str, ...],
    p_compact: str,
    p_skel: str,
) -> float:
    """0-100: how alike two name parts are (spelling, token order, sound)."""
    q_text, p_text = " ".join(q_tokens), " ".join(p_tokens)
    q_glued, p_glued = "".join(q_tokens), "".join(p_tokens)
    spelled = max(
        fuzz.ratio(q_glued, p_glued),
        fuzz.ratio(q_compact, p_compact),
        fuzz.token_sort_ratio(q_text, p_text),
        JaroWinkler.normalized_similarity(q_glued, p_glued) * 100 - 10,
    )
    if q_skel and q_skel == p_skel:
        sound = 100.0
    else:
        sound = fuzz.ratio(q_skel, p_skel) if q_skel and p_skel else 0.0
    # A short skeleton ("mn" for Manon and Mann) says little: its weight grows with its length.
    weight = (0.0, 0.1, 0.3, 0.5)[min(len(q_skel), len(p_skel), 3)]
    return max(spelled, (1 - weight) * spelled + weight * sound)


def _both(first: float, second: float) -> float:
    """Two parts must both agree: the weaker one weighs most."""
    return 0.35 * max(first, second) + 0.65 * min(first, second)


def _particle_cost(query: frozenset[str], person: frozenset[str]) -> float:
    """Particles that differ (Ben / Abou) make another name; one left out costs less."""
    if query == person:
        return 0.0
    return 12.0 if query and person and not (query & person) else 3.0


def name_similarity(query: NameProfile, person: NameProfile) -> tuple[float, tuple[Reason, ...]]:
    """0-100 and why: the best of the straight, swapped and whole-name comparisons.

    Remembered for the last pairs of names seen: the same names meet again and again (common
    family names, a family's several enquiries, every arrival compared with every enquiry).
    """
    if query.empty or person.empty:
        return 0.0, ()
    return _name_similarity(query, person)


@lru_cache(maxsize=NAME_PAIRS_REMEMBERED)
def _name_similarity(query: NameProfile, person: NameProfile) -> tuple[float, tuple[Reason, ...]]:

    def part(q_side: str, p_side: str) -> float | None:
        q = query.family if q_side == "f" else query.given
        p = person.family if p_side == "f" else person.given
        if not q or not p:
            return None
        return _part_similarity(
            q,
            query.family_compact if q_side == "f" else query.given_compact,
            query.family_skeleton if q_side == "f" else query.given_skeleton,
            p,
            person.family_compact if p_side == "f" else person.given_compact,
            person.family_skeleton if p_side == "f" else person.given_skeleton,
        )

    options: list[tuple[float, str, str]] = []
    fam, giv = part("f", "f"), part("g", "g")
    # A particle belongs to the name whichever field it was typed in.
    straight_cost = swapped_cost = _particle_cost(
        query.particles | query.given_particles, person.particles | person.given_particles
    )
    if fam is not None:
        fam -= straight_cost
    if fam is not None and giv is not None:
        options.append((_both(fam, giv), "name", f"{fam:.0f}/{giv:.0f}"))
    elif fam is not None:
        options.append((fam * 0.8, "family_only", f"{fam:.0f}"))
    elif giv is not None:
        options.append((giv * 0.7, "given_only", f"{giv:.0f}"))
    fam_x, giv_x = part("f", "g"), part("g", "f")
    if giv_x is not None:
        giv_x -= swapped_cost
    if fam_x is not None and giv_x is not None:
        options.append((_both(fam_x, giv_x) - 1.5, "name_swapped", f"{fam_x:.0f}/{giv_x:.0f}"))
    elif fam_x is not None and giv is None:
        options.append((fam_x * 0.75, "family_only", f"{fam_x:.0f}"))
    q_all = " ".join(sorted((*query.family, *query.given)))
    p_all = " ".join(sorted((*person.family, *person.given)))
    if q_all and p_all and len(query.family) + len(query.given) >= 2:
        whole = fuzz.ratio(q_all.replace(" ", ""), p_all.replace(" ", ""))
        whole -= min(straight_cost, swapped_cost)
        options.append((whole * 0.95, "name_tokens", f"{whole:.0f}"))
    if not options:
        return 0.0, ()
    best, code, detail = max(options, key=lambda item: item[0])
    best *= NAME_WEIGHT
    return best, (Reason(code, detail, round(best, 1)),)


# --- facts ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason behind a score: a code, a detail (numbers, values) and the points it weighs."""

    code: str
    detail: str = ""
    points: float = 0.0

    def encode(self) -> str:
        return f"{self.code}={self.detail}({self.points:+g})"


REASON_LABELS: dict[str, str] = {
    "name": N_("family and given names alike (family/given similarity)"),
    "name_swapped": N_("family and given names alike once swapped"),
    "name_tokens": N_("the same name words in another order or field"),
    "family_only": N_("family name alike (no given name to compare)"),
    "given_only": N_("given names alike (no family name to compare)"),
    "lead": N_("possible identity written in a police lead"),
    "age_unknown": N_("no age given by the family"),
    "sex_same": N_("same sex"),
    "sex_differs": N_("different sex"),
    "age_close": N_("age fits the birth date"),
    "age_far": N_("age does not fit the birth date"),
    "apparent_age_close": N_("age fits the apparent age"),
    "apparent_age_far": N_("age far from the apparent age"),
    "description": N_("description words in common"),
    "x_person": N_("unidentified person (X) compared by description only"),
}


def encode_reasons(reasons: Iterable[Reason]) -> str:
    """Reasons as one line of text (the ``reasons`` field of a match candidate)."""
    return "; ".join(r.encode() for r in reasons)


_REASON = re.compile(r"(\w+)=([^;]*?)\(([-+0-9.e]+)\)")


def decode_reasons(text: str | None) -> list[Reason]:
    if not text:
        return []
    return [Reason(m[1], m[2], float(m[3])) for m in _REASON.finditer(text)]


def explain(reason: Reason) -> str:
    """A reason in the user's language, e.g. ``same sex (+3)``."""
    label = _(REASON_LABELS[reason.code]) if reason.code in REASON_LABELS else reason.code
    detail = f" {reason.detail}" if reason.detail else ""
    return f"{label}{detail} ({reason.points:+g})"


_STOPWORDS = frozenset(
    {
        "a", "an", "and", "the", "with", "of", "in", "on", "le", "la", "les", "un", "une",
        "des", "de", "du", "et", "avec", "sur", "au", "aux", "en", "il", "elle", "porte",
        "portait", "wearing", "wears", "has", "est",
    }
)  # fmt: skip


def description_words(*texts: Any) -> frozenset[str]:
    """The meaningful words of descriptions (maps, lists or text), folded to Latin lowercase."""
    words: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            words.update(w for w in latin(value).split() if len(w) > 2 and w not in _STOPWORDS)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    for text in texts:
        walk(text)
    return frozenset(words)


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What the matcher knows of one person record."""

    person_id: str
    name: NameProfile
    sex: str | None = None  # F, M, U
    birth_year: int | None = None
    apparent_age: int | None = None
    words: frozenset[str] = frozenset()
    lead_names: tuple[NameProfile, ...] = ()  # possible identities from police leads

    @property
    def is_x(self) -> bool:
        return self.name.empty

    def keys(self) -> set[str]:
        found = self.name.keys()
        for lead in self.lead_names:
            found |= lead.keys()
        if self.is_x:  # an X person is found through the words of its description
            found |= {"w:" + word for word in self.words}
        return found


@dataclass(frozen=True, slots=True)
class EnquiryFacts:
    """What a family said about the person they seek."""

    enquiry_id: str
    name: NameProfile
    sex: str | None = None
    age: int | None = None
    age_span: int = 0  # "30-35": age 30, span 5
    words: frozenset[str] = frozenset()

    def keys(self) -> set[str]:
        return self.name.keys() | {"w:" + word for word in self.words}


_AGE = re.compile(r"(\d{1,3})(?:\s*(?:-|a|à|to|/)\s*(\d{1,3}))?")


def parse_age(value: Any) -> tuple[int | None, int]:
    """An age as families give it: 34, "34", "about 30", "30-35" -> (age, span)."""
    if isinstance(value, bool):
        return None, 0
    if isinstance(value, int):
        return (value, 0) if 0 <= value <= 120 else (None, 0)
    if not isinstance(value, str):
        return None, 0
    found = _AGE.search(value)
    if not found:
        return None, 0
    low = int(found[1])
    high = int(found[2]) if found[2] else low
    if high < low:
        low, high = high, low
    if not 0 <= low <= 120:
        return None, 0
    return low, min(high - low, 30)


def birth_year(value: Any) -> int | None:
    if isinstance(value, str) and len(value) >= 4 and value[:4].isdigit():
        return int(value[:4])
    return None


def person_facts(
    person_id: str,
    row: Mapping[str, Any],
    lead_identities: Sequence[str] = (),
) -> PersonFacts:
    """Facts from a person row (the ``persons`` table or a dict with the same fields)."""
    description = row.get("x_description")
    age = row.get("apparent_age")
    return PersonFacts(
        person_id,
        name_profile(row.get("family_name"), row.get("given_names")),
        row.get("sex"),
        birth_year(row.get("birth_date")),
        age if isinstance(age, int) and not isinstance(age, bool) else None,
        description_words(description) if description else frozenset(),
        tuple(name_profile(text, None) for text in lead_identities if text),
    )


def enquiry_facts(enquiry_id: str, row: Mapping[str, Any]) -> EnquiryFacts:
    age, span = parse_age(row.get("sought_age"))
    sex = row.get("sought_sex")
    return EnquiryFacts(
        enquiry_id,
        name_profile(row.get("sought_family_name"), row.get("sought_given_names")),
        sex if sex in ("F", "M", "U") else None,
        age,
        span,
        description_words(row.get("description"), row.get("clothing"), row.get("ante_mortem")),
    )


# --- scoring -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    person_id: str
    score: float
    reasons: tuple[Reason, ...]
    via_lead: bool = False
    rank: int = 0


def score(enquiry: EnquiryFacts, person: PersonFacts, *, year: int | None = None) -> Candidate:
    """How well ``person`` fits ``enquiry`` (0-100) and why."""
    year = year or date.today().year
    reasons: list[Reason] = []
    via_lead = False
    total, name_reasons = name_similarity(enquiry.name, person.name)
    for lead in person.lead_names:
        lead_score, lead_reasons = name_similarity(enquiry.name, lead)
        lead_score -= 2  # a possible identity, not an established one
        if lead_score > total:
            total, name_reasons, via_lead = lead_score, lead_reasons, True
    reasons.extend(name_reasons)
    if via_lead:
        reasons.append(Reason("lead", "", 0.0))
    if person.is_x and not via_lead:
        total = 35.0  # only the description and the body can speak for an X person
        reasons.append(Reason("x_person", "", 35.0))
    if enquiry.sex in ("F", "M") and person.sex in ("F", "M"):
        if enquiry.sex == person.sex:
            reasons.append(Reason("sex_same", person.sex, 3.0))
            total += 3.0
        else:
            reasons.append(Reason("sex_differs", f"{enquiry.sex}/{person.sex}", -30.0))
            total -= 30.0
    if enquiry.age is None:
        reasons.append(Reason("age_unknown", "", -6.0))  # less evidence: namesakes stay apart
        total -= 6.0
    else:
        if person.birth_year is not None:
            actual = year - person.birth_year
            gap = _gap(enquiry.age, enquiry.age_span, actual, 1)
            if gap == 0:
                reasons.append(Reason("age_close", f"{enquiry.age}/{actual}", 3.0))
                total += 3.0
            else:
                points = -min(25.0, 4.0 * gap)
                reasons.append(Reason("age_far", f"{enquiry.age}/{actual}", points))
                total += points
        elif person.apparent_age is not None:
            gap = _gap(enquiry.age, enquiry.age_span, person.apparent_age, 8)
            if gap == 0:
                reasons.append(
                    Reason("apparent_age_close", f"{enquiry.age}/~{person.apparent_age}", 2.0)
                )
                total += 2.0
            else:
                points = -min(20.0, 2.0 * gap)
                reasons.append(
                    Reason("apparent_age_far", f"{enquiry.age}/~{person.apparent_age}", points)
                )
                total += points
    if enquiry.words and person.words:
        common = enquiry.words & person.words
        if common:
            weight = 30.0 if person.is_x and not via_lead else 6.0
            points = round(
                weight * len(common) / math.sqrt(len(enquiry.words) * len(person.words)), 1
            )
            shown = ",".join(sorted(common)[:6])
            reasons.append(Reason("description", shown, points))
            total += points
    total = max(0.0, min(100.0, total))
    return Candidate(person.person_id, round(total, 1), tuple(reasons), via_lead)


def _gap(age: int, span: int, actual: int, tolerance: int) -> int:
    """Years outside ``[age - tolerance, age + span + tolerance]``."""
    low, high = age - tolerance, age + span + tolerance
    if actual < low:
        return low - actual
    if actual > high:
        return actual - high
    return 0


# --- the index ------------------------------------------------------------------------------------


@dataclass
class MatchIndex:
    """Persons in memory behind blocking keys; updated one person at a time."""

    persons: dict[str, PersonFacts] = field(default_factory=dict)
    postings: dict[str, set[str]] = field(default_factory=dict)
    _keys: dict[str, frozenset[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.persons)

    def upsert(self, person: PersonFacts) -> None:
        self.remove(person.person_id)
        keys = frozenset(person.keys())
        self.persons[person.person_id] = person
        self._keys[person.person_id] = keys
        for key in keys:
            self.postings.setdefault(key, set()).add(person.person_id)

    def keys_of(self, person_id: str) -> frozenset[str]:
        return self._keys.get(person_id, frozenset())

    def remove(self, person_id: str) -> None:
        keys = self._keys.pop(person_id, None)
        self.persons.pop(person_id, None)
        if keys is None:
            return
        for key in keys:
            posting = self.postings.get(key)
            if posting is not None:
                posting.discard(person_id)
                if not posting:
                    del self.postings[key]

    def pool(self, keys: Iterable[str], limit: int = POOL) -> list[str]:
        """The persons sharing the most (and the rarest) keys with a query."""
        total = max(len(self.persons), 1)
        weights: dict[str, float] = {}
        for key in keys:
            posting = self.postings.get(key)
            if not posting:
                continue
            weight = math.log(1 + total / len(posting))
            for person_id in posting:
                weights[person_id] = weights.get(person_id, 0.0) + weight
        if len(weights) <= limit:
            return list(weights)
        return sorted(weights, key=weights.__getitem__, reverse=True)[:limit]

    def search(
        self, enquiry: EnquiryFacts, *, keep: int = KEEP, year: int | None = None
    ) -> list[Candidate]:
        """The best candidates for ``enquiry``, ranked from 1, each with its reasons."""
        year = year or date.today().year
        pooled = [self.persons[person_id] for person_id in self.pool(enquiry.keys())]
        named = [p for p in pooled if not p.is_x and not p.lead_names]
        if len(named) > QUICK:
            # Sex and a birth date far from the age given weigh heavily against a person: when
            # the pool is crowded, leave those out before the quick pass.
            named = [p for p in named if _plausible(enquiry, p, year)]
        others = [p for p in pooled if p.is_x or p.lead_names]
        if len(named) > QUICK and not enquiry.name.empty:
            chosen = quick_pass(enquiry.name, [p.name for p in named], limit=QUICK)
            named = [named[i] for i in sorted(chosen)]
        scored = [score(enquiry, person, year=year) for person in (*named, *others[:QUICK])]
        scored = [c for c in scored if c.score >= FLOOR]
        scored.sort(key=lambda c: (-c.score, c.person_id))
        return [
            Candidate(c.person_id, c.score, c.reasons, c.via_lead, rank)
            for rank, c in enumerate(scored[:keep], start=1)
        ]


def quick_pass(
    name: NameProfile,
    names: Sequence[NameProfile],
    *,
    limit: int | None = QUICK,
    cutoff: float = 0.0,
) -> set[int]:
    """Positions in ``names`` worth a detailed score: the best by a quick comparison in
    rapidfuzz's C loop of sorted tokens (so swapped names agree), sorted skeletons and glued
    names."""
    chosen: set[int] = set()
    for field_name in ("text", "sound", "glued"):
        query = getattr(name, field_name)
        choices = [getattr(other, field_name) for other in names]
        for _choice, _value, position in process.extract(
            query, choices, scorer=fuzz.token_sort_ratio, limit=limit, score_cutoff=cutoff
        ):
            chosen.add(position)
    return chosen


def _plausible(enquiry: EnquiryFacts, person: PersonFacts, year: int) -> bool:
    if enquiry.sex in ("F", "M") and person.sex in ("F", "M") and enquiry.sex != person.sex:
        return False
    if enquiry.age is not None and person.birth_year is not None:
        return _gap(enquiry.age, enquiry.age_span, year - person.birth_year, 1) <= 6
    return True


# --- the outcome a family may be told ------------------------------------------------------------


class Outcome(StrEnum):
    FOUND = "found"  # found, cared for at <place>
    OFFICER = "officer"  # an officer will speak with you
    ANNOUNCED = "announced"  # the death was announced in person by an officer (after that only)
    NONE = "none"  # no information yet


OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.FOUND: N_("Found, cared for at {place}."),
    Outcome.OFFICER: N_("An officer will speak with you."),
    # Only once an OPJ announced the death in person may the CAF read it (DOMAIN.md).
    Outcome.ANNOUNCED: N_(
        "The death was announced to the family in person by a police officer; an officer remains"
        " available to speak with you."
    ),
    Outcome.NONE: N_("No information yet."),
}


def outcome_text(outcome: str, place: str | None = None) -> str:
    """The sentence a CAF operator reads to a family, in the user's language."""
    try:
        parsed = Outcome(outcome)
    except ValueError:
        parsed = Outcome.NONE
    if parsed is Outcome.FOUND and not place:
        parsed = Outcome.OFFICER
    return _(OUTCOME_LABELS[parsed]).format(place=place or "")


@dataclass(frozen=True, slots=True)
class PersonStatus:
    """What decides the outcome once a person is taken as the one sought."""

    category: str | None  # UA, UR, Impliqué, DCD or None
    death_stage: str | None  # identified, announced or None
    place: str | None  # destination (evacuated) or station site
    open_leads: bool = False


CONTRADICTIONS = frozenset({"sex_differs", "age_far", "apparent_age_far"})


def accepted(candidates: Sequence[Candidate]) -> Candidate | None:
    """The candidate taken as the person sought, or None: none good enough, two too close, or
    the best one contradicted by the sex or the age (a person must look at those)."""
    if not candidates or candidates[0].score < ACCEPT:
        return None
    if len(candidates) > 1 and candidates[1].score >= candidates[0].score - MARGIN:
        return None
    if any(reason.code in CONTRADICTIONS for reason in candidates[0].reasons):
        return None
    return candidates[0]


def decide(
    candidates: Sequence[Candidate], status: Mapping[str, PersonStatus]
) -> tuple[Outcome, str | None]:
    """The neutral outcome for a family, and the place when they may be told it.

    - no candidate worth a look: *no information yet*;
    - a candidate worth a look but not good enough to be taken, two candidates too close, a match through a police lead or an X person, a person whose
      death is recorded but not announced, a person without a known place: *an officer will
      speak with you* (the same words whatever the reason, so they imply nothing);
    - a death announced by an OPJ: the family has been told in person; the CAF may say so;
    - otherwise: *found, cared for at <place>*.
    """
    best = candidates[0] if candidates else None
    if best is None or best.score < REVIEW:
        return Outcome.NONE, None
    chosen = accepted(candidates)
    if chosen is None or chosen.via_lead:
        return Outcome.OFFICER, None
    info = status.get(chosen.person_id)
    if info is None:
        return Outcome.OFFICER, None
    if info.death_stage == "announced":
        return Outcome.ANNOUNCED, None
    if info.category == "DCD" or info.death_stage or info.open_leads:
        return Outcome.OFFICER, None
    if any(r.code == "x_person" for r in chosen.reasons):
        return Outcome.OFFICER, None
    if not info.place:
        return Outcome.OFFICER, None
    return Outcome.FOUND, info.place
