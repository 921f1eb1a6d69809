"""A realistic mass-casualty incident, generated tick by tick from a seed.

Pure: no I/O, no clock, no randomness but the seeded generator, so the same seed gives the same
incident (ids included). Each tick is one simulated minute and yields :class:`Action` items, each
one write made at one station: the counts rising at the PMAs (UA/UR/Impliqué/DCD mix, with
refinements), re-triage, evacuations with destination, identities and X descriptions, PUMP
registrations with first declarations and care, police witnesses, identification and announcement
of deaths, family enquiries at the CAF and their outcome.

Two consumers:

- the drill (``fieldkit drill``) runs every tick at full speed and writes each station's actions in
  one ``Store.record_many`` (see :func:`writes_by_station`);
- a live demo can call :meth:`Scenario.step` once every few seconds and write the actions of the
  stations it runs, at the pace of the incident.

The generator follows the doctrine so that the data would pass the services' checks: a death is
identified (identity first) before it is announced; an identity is a real identity or none (X with
a physical description), never a guess; the PUMP does not triage; every number has the NF 399
shape and lies in the ring of bracelets of the PMA that counts it.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fieldkit.domain.triage import Category

ROLES = ("pma", "pump", "police", "caf", "ciav")

# Category mix at the PMAs for a crowd event (Nice 2016: ~30,000 present, 86 dead, ~450 hurt;
# most of the people counted are "Impliqué"). Refinements: UA -> EU|U1, UR -> U2|U3.
CATEGORY_MIX = ((Category.IMPLIQUE.value, 0.86), ("UR", 0.09), ("UA", 0.03), ("DCD", 0.02))
REFINEMENTS = {"UA": ("EU", "U1"), "UR": ("U2", "U3")}
HOSPITALS = (
    "HEGP",
    "Pitié-Salpêtrière",
    "Hôpital Bégin",
    "Lariboisière",
    "Saint-Louis",
    "Hôpital Percy",
    "Georges-Pompidou",
    "CHU Pasteur 2",
    "Hôpital Saint-Roch",
    "Lenval",
)
VEHICLES = ("VSAV", "UMH SMUR", "AR SAMU", "Hélicoptère", "Bus RATP")
# Names in many scripts and spellings (DOMAIN.md: a quarter of the victims in Nice were foreign).
FAMILY_NAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Lefèvre",
    "Garcia",
    "Nguyễn",
    "Ben Salah",
    "Haddad",
    "El Amrani",
    "O'Connor",
    "de La Fontaine",
    "Müller",
    "Kowalski",
    "Иванов",
    "王",
    "محمد",
    "Dos Santos",
    "Saint-Exupéry",
    "Traoré",
    "Diallo",
    "Schmidt",
    "Rossi",
    "Yılmaz",
    "Smith",
)
GIVEN_NAMES = (
    "Jean",
    "Marie",
    "Anne-Sophie",
    "Mohamed",
    "Fatima",
    "Lucas",
    "Léa",
    "Chloé",
    "Karim",
    "Thi Lan",
    "Wei",
    "Олег",
    "Aïcha",
    "José María",
    "Hans",
    "Giulia",
    "Emre",
    "Aminata",
    "John",
    "Zoé",
)
LANGUAGES = ("fr", "en", "ar", "it", "de", "es", "ru", "zh", "tr")
RELATIONS = ("mère", "père", "fils", "fille", "conjoint", "frère", "sœur", "ami", "collègue")
BUILDS = ("mince", "moyenne", "forte")
HAIR = ("bruns courts", "blonds longs", "chauve", "gris", "noirs bouclés", "roux")
CLOTHING = (
    "jean bleu, t-shirt blanc",
    "robe rouge",
    "veste noire, baskets",
    "short beige, chemise à fleurs",
    "maillot de football",
)
PLACES = (
    "Promenade, face au n°12",
    "terrasse du café",
    "entrée de la salle",
    "fosse, près de la scène",
    "trottoir côté mer",
    "station de tramway",
)
SAW = (
    "a vu le camion arriver",
    "a entendu des détonations",
    "a aidé un blessé",
    "a vu deux hommes armés",
    "a fui vers la plage",
)
ORIENTATIONS = ("retour domicile", "CMP de secteur", "urgences psychiatriques", "médecin traitant")


@dataclass(frozen=True)
class StationSpec:
    """A station taking part: its name, role and site (PMAs count at their site)."""

    name: str
    role: str
    site: str = ""


@dataclass(frozen=True)
class Action:
    """One write at one station: set ``values`` on one entity (``Store.record_many`` input)."""

    station: str
    entity: str
    entity_id: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Tick:
    """What happens in one simulated minute."""

    n: int
    at: str  # simulated UTC time of the tick, ``YYYY-MM-DDThh:mm:ssZ``
    actions: tuple[Action, ...]


@dataclass
class _Person:
    person_id: str
    nf399: str | None
    station: str  # where it was counted or registered
    category: str | None
    identified: bool = False
    described: bool = False


@dataclass(order=True)
class _Due:
    tick: int
    order: int
    kind: str = field(compare=False)
    person: _Person | None = field(compare=False, default=None)
    data: Any = field(compare=False, default=None)


class Scenario:
    """An incident of ``persons`` person records over ``ticks`` simulated minutes.

    ``persons`` counts every person record: persons counted at the PMAs and persons seen only at a
    PUMP (no bracelet). Side records scale with it: about 6 % of the persons are seen at a PUMP
    (declaration and care), witnesses are about 4 %, family enquiries about 10 %.
    """

    def __init__(
        self,
        stations: Sequence[StationSpec],
        persons: int,
        *,
        seed: int = 1,
        ticks: int = 120,
        start: datetime | None = None,
        incident_code: str = "BSPP",
    ) -> None:
        if persons < 0:
            raise ValueError("persons must be >= 0")
        if ticks < 1:
            raise ValueError("ticks must be >= 1")
        self.rng = random.Random(seed)
        self.stations = list(stations)
        self.by_role: dict[str, list[StationSpec]] = {r: [] for r in ROLES}
        for spec in self.stations:
            if spec.role not in self.by_role:
                raise ValueError(f"unknown role {spec.role!r}")
            self.by_role[spec.role].append(spec)
        self.total_ticks = ticks
        self.start = start or datetime(2026, 7, 14, 20, 0, tzinfo=UTC)
        self.code = incident_code
        pumps = self.by_role["pump"]
        self.pump_only = round(persons * 0.03) if pumps else 0
        counters = self.by_role["pma"] or [s for s in self.stations if s.role in ("police",)]
        if not counters:  # nobody counts: every person is seen at a PUMP (or nowhere)
            self.pump_only = persons if pumps else 0
        self.counted = persons - self.pump_only if counters else 0
        self.pump_seen = round(persons * 0.03) if pumps else 0  # PMA persons also seen at a PUMP
        self.witnesses = round(persons * 0.04) if self.by_role["police"] else 0
        self.enquiries = round(persons * 0.10) if self.by_role["caf"] else 0
        self._counters = counters
        # arrivals: most in the first half hour, a long tail (people coming forward later)
        self._arrivals = {
            "count": _spread(self.counted, ticks, self.rng, fast=True),
            "pump_only": _spread(self.pump_only, ticks, self.rng, fast=False),
            "witness": _spread(self.witnesses, ticks, self.rng, fast=True),
            "enquiry": _spread(self.enquiries, ticks, self.rng, fast=False),
            "pump_seen": _spread(self.pump_seen, ticks, self.rng, fast=False),
        }
        self._serial: dict[str, int] = {}
        self._ring: dict[str, int] = {}  # first bracelet serial of each counting station
        self._entity: dict[str, str] = {}  # issuing entity printed in its numbers
        expected = self.counted / max(1, len(counters))
        shared = expected * 1.5 + 100 < 10_000 and len(counters) < 90
        for i, spec in enumerate(counters):
            if shared:  # one issuing entity, one block of 10,000 serials per station
                self._entity[spec.name] = incident_code
                self._ring[spec.name] = 100_000 + i * 10_000
            else:  # too many bracelets for shared blocks: one issuing entity per station
                self._entity[spec.name] = f"{incident_code[:1]}{i % 1000:03d}"
                self._ring[spec.name] = 1
        self._counted: list[_Person] = []
        self._queue: list[_Due] = []
        self._order = 0
        self.tick_n = 0

    # -- public API --------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.tick_n >= self.total_ticks and not self._queue

    def step(self) -> Tick | None:
        """The next simulated minute, or None once the incident is over."""
        if self.done:
            return None
        n = self.tick_n
        self.tick_n += 1
        actions: list[Action] = []
        if n < self.total_ticks:
            for _ in range(self._arrivals["count"][n]):
                actions += self._count()
            for _ in range(self._arrivals["pump_only"][n]):
                actions += self._pump_register(None)
            for _ in range(self._arrivals["pump_seen"][n]):
                if self._counted:
                    actions += self._pump_register(self.rng.choice(self._counted))
            for _ in range(self._arrivals["witness"][n]):
                actions += self._witness()
            for _ in range(self._arrivals["enquiry"][n]):
                actions += self._enquiry(n)
        while self._queue and self._queue[0].tick <= n:
            due = heapq.heappop(self._queue)
            actions += self._follow_up(due, n)
        return Tick(n, self._stamp(n), tuple(actions))

    def __iter__(self) -> Iterator[Tick]:
        while (tick := self.step()) is not None:
            yield tick

    # -- helpers ---------------------------------------------------------------------------
    def _stamp(self, n: int, seconds: int = 0) -> str:
        return (self.start + timedelta(minutes=n, seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _id(self) -> str:
        """A time-ordered id like ``new_id`` (UUIDv7-like), drawn from the seeded generator."""
        ms = int(self.start.timestamp() * 1000) + self.tick_n * 60_000 + self._order
        self._order += 1
        return f"{ms & 0xFFFFFFFFFFFF:012x}{self.rng.getrandbits(80):020x}"

    def _later(
        self, kind: str, delay: int, person: _Person | None = None, data: Any = None
    ) -> None:
        self._order += 1
        heapq.heappush(
            self._queue, _Due(self.tick_n + max(1, delay), self._order, kind, person, data)
        )

    def _number(self, station: str) -> str:
        serial = self._ring[station] + self._serial.get(station, 0)
        self._serial[station] = self._serial.get(station, 0) + 1
        return f"FR075{self._entity[station]}2026TR{serial % 1_000_000:06d}"

    def _category(self) -> str:
        roll = self.rng.random()
        for category, share in CATEGORY_MIX:
            if roll < share:
                return category
            roll -= share
        return CATEGORY_MIX[0][0]

    def _identity(self) -> dict[str, Any]:
        year = self.rng.randint(1940, 2015)
        return {
            "family_name": self.rng.choice(FAMILY_NAMES),
            "given_names": self.rng.choice(GIVEN_NAMES),
            "sex": self.rng.choice("FM"),
            "birth_date": f"{year}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}",
        }

    def _description(self) -> dict[str, str]:
        return {
            "sex": self.rng.choice(("F", "M")),
            "apparent_age": str(self.rng.choice((8, 15, 25, 35, 45, 60, 75))),
            "build": self.rng.choice(BUILDS),
            "hair": self.rng.choice(HAIR),
            "clothing": self.rng.choice(CLOTHING),
            "belongings": "sac à dos noir" if self.rng.random() < 0.3 else "aucun",
        }

    # -- events ----------------------------------------------------------------------------
    def _count(self) -> list[Action]:
        spec = self.rng.choice(self._counters)
        number = self._number(spec.name)
        person = _Person("nf-" + number, number, spec.name, self._category())
        self._counted.append(person)
        values: dict[str, Any] = {"nf399": number, "site": spec.site or spec.name}
        values["found_place"] = self.rng.choice(PLACES)
        triage: dict[str, Any] = {"person_id": person.person_id, "category": person.category}
        if person.category in REFINEMENTS and self.rng.random() < 0.8:
            triage["refinement"] = self.rng.choice(REFINEMENTS[str(person.category)])
        triage["at"] = self._stamp(self.tick_n)
        actions = [
            Action(spec.name, "person", person.person_id, values),
            Action(spec.name, "triage", self._id(), triage),
        ]
        category = person.category
        roll = self.rng.random()
        if category in ("UA", "UR"):
            self._later("evacuate", self.rng.randint(5, 40), person)
            if roll < 0.15:
                self._later("retriage", self.rng.randint(2, 30), person)
        elif category == Category.IMPLIQUE and roll < 0.03:
            self._later("retriage", self.rng.randint(2, 60), person)
        if category == "DCD" or (category == "UA" and roll < 0.3):
            self._later("describe", self.rng.randint(1, 10), person)
        elif self.rng.random() < 0.6:
            self._later("identify", self.rng.randint(1, 45), person)
        if category == "DCD" and self.by_role["police"]:
            self._later("identified", self.rng.randint(30, 200), person)
        return actions

    def _follow_up(self, due: _Due, n: int) -> list[Action]:
        person = due.person
        if due.kind == "enquiry_outcome":
            return [Action(due.data[0], "enquiry", due.data[1], {"status": due.data[2]})]
        assert person is not None
        if due.kind == "evacuate":
            values = {
                "destination": self.rng.choice(HOSPITALS),
                "vehicle": f"{self.rng.choice(VEHICLES)} {self.rng.randint(1, 99)}",
                "departure_time": self._stamp(n, self.rng.randint(0, 59)),
            }
            return [Action(person.station, "person", person.person_id, values)]
        if due.kind == "retriage":
            order = [Category.IMPLIQUE.value, "UR", "UA", "DCD"]
            now = person.category or Category.IMPLIQUE.value
            if now == "DCD":  # a death is never re-triaged back
                return []
            step = 1 if self.rng.random() < 0.7 else -1
            category = order[max(0, min(len(order) - 1, order.index(now) + step))]
            if category == now:
                return []
            person.category = category
            triage: dict[str, Any] = {"person_id": person.person_id, "category": category}
            if category in REFINEMENTS:
                triage["refinement"] = self.rng.choice(REFINEMENTS[category])
            triage["at"] = self._stamp(n)
            if category == "DCD" and self.by_role["police"]:
                if not person.identified:
                    self._later("describe", 1, person)
                self._later("identified", self.rng.randint(30, 200), person)
            return [Action(person.station, "triage", self._id(), triage)]
        if due.kind == "identify":
            if person.identified or person.described:
                return []
            person.identified = True
            values = self._identity()
            if self.rng.random() < 0.5:
                values["phone"] = f"+33 6 {self.rng.randint(10, 99)} {self.rng.randint(10, 99)}"
            return [Action(person.station, "person", person.person_id, values)]
        if due.kind == "describe":
            if person.identified:
                return []
            person.described = True
            return [
                Action(
                    person.station,
                    "person",
                    person.person_id,
                    {
                        "family_name": None,
                        "given_names": None,
                        "x_description": self._description(),
                    },
                )
            ]
        if due.kind == "identified":  # identification commission, then an OPJ announces
            police = self.rng.choice(self.by_role["police"]).name
            actions = []
            if not person.identified:
                person.identified = True
                actions.append(Action(police, "person", person.person_id, self._identity()))
            actions.append(self._stage(police, person, "identified", n))
            self._later("announced", self.rng.randint(20, 240), person, police)
            return actions
        if due.kind == "announced":
            return [self._stage(str(due.data), person, "announced", n)]
        raise AssertionError(due.kind)  # pragma: no cover

    def _stage(self, police: str, person: _Person, stage: str, n: int) -> Action:
        values = {
            "person_id": person.person_id,
            "stage": stage,
            "officer": f"OPJ {self.rng.choice(FAMILY_NAMES)}",
            "at": self._stamp(n),
        }
        return Action(police, "death_stage", self._id(), values)

    def _pump_register(self, known: _Person | None) -> list[Action]:
        pump = self.rng.choice(self.by_role["pump"])
        if known is not None and known.nf399:
            person_id = known.person_id
            values: dict[str, Any] = {"nf399": known.nf399}
        else:
            person_id = self._id()
            values = {"site": pump.site or pump.name}
        values.update(self._identity())
        actions = [Action(pump.name, "person", person_id, values)]
        text = f"J'étais {self.rng.choice(PLACES)} quand {self.rng.choice(SAW)}."
        clinician = f"Dr {self.rng.choice(FAMILY_NAMES)}"
        signed_at = self._stamp(self.tick_n, self.rng.randint(0, 59))
        actions.append(
            Action(
                pump.name,
                "declaration",
                self._id(),
                {
                    "person_id": person_id,
                    "text": text,
                    "clinician": clinician,
                    "signed_at": signed_at,
                    # the drill does not sign (no key of the PUMP here): a recognisable stand-in
                    "signature": f"sim-{self.rng.getrandbits(64):016x}",
                },
            )
        )
        if self.rng.random() < 0.8:
            care = {
                "person_id": person_id,
                "care_given": "entretien de soutien, information sur les réactions",
                "orientation": self.rng.choice(ORIENTATIONS),
            }
            actions.append(Action(pump.name, "care", self._id(), care))
        return actions

    def _witness(self) -> list[Action]:
        police = self.rng.choice(self.by_role["police"])
        identity = self._identity()
        left = self.rng.random() < 0.3
        values: dict[str, Any] = {
            "family_name": identity["family_name"],
            "given_names": identity["given_names"],
            "phone": f"+33 6 {self.rng.randint(10, 99)} {self.rng.randint(10, 99)} 00 00",
            "where": self.rng.choice(PLACES),
            "saw": self.rng.choice(SAW),
            "left_scene": left,
            "recontact": left or self.rng.random() < 0.4,
        }
        return [Action(police.name, "witness", self._id(), values)]

    def _enquiry(self, n: int) -> list[Action]:
        caf = self.rng.choice(self.by_role["caf"])
        sought = self._identity()
        enquiry_id = self._id()
        values: dict[str, Any] = {
            "enquirer_name": f"{self.rng.choice(GIVEN_NAMES)} {self.rng.choice(FAMILY_NAMES)}",
            "relation": self.rng.choice(RELATIONS),
            "phone": f"+33 7 {self.rng.randint(10, 99)} {self.rng.randint(10, 99)} 11 22",
            "language": self.rng.choice(LANGUAGES),
            "sought_family_name": sought["family_name"],
            "sought_given_names": sought["given_names"],
            "sought_sex": sought["sex"],
            "sought_age": self.rng.randint(5, 85),
            "clothing": self.rng.choice(CLOTHING),
            "last_place": self.rng.choice(PLACES),
            "last_time": self._stamp(0),
            "status": "open",
        }
        if self.rng.random() < 0.2:
            values["ante_mortem"] = {"tattoos": "ancre, avant-bras gauche", "dentist": "Dr Roux"}
        if self.rng.random() < 0.5:
            outcome = self.rng.choice(("found", "closed"))
            self._later(
                "enquiry_outcome", self.rng.randint(10, 120), data=(caf.name, enquiry_id, outcome)
            )
        return [Action(caf.name, "enquiry", enquiry_id, values)]


def _spread(total: int, ticks: int, rng: random.Random, *, fast: bool) -> list[int]:
    """``total`` arrivals over ``ticks``: a fast rise then a tail (``fast``) or a slower curve."""
    if total <= 0:
        return [0] * ticks
    scale = ticks / (6 if fast else 2.5)
    weights = [math.exp(-i / scale) * (0.9 + 0.2 * rng.random()) for i in range(ticks)]
    norm = sum(weights)
    counts = [int(total * w / norm) for w in weights]
    short = total - sum(counts)
    for i in range(short):
        counts[i % ticks] += 1
    return counts


def writes_by_station(
    actions: Sequence[Action],
) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """The actions of a tick grouped by station, in order: one ``record_many`` per station."""
    grouped: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for action in actions:
        grouped.setdefault(action.station, []).append(
            (action.entity, action.entity_id, dict(action.values))
        )
    return grouped


def station_specs(count: int, *, sites: int | None = None) -> list[StationSpec]:
    """``count`` stations of mixed roles: mostly PMAs, plus police, PUMP and CAF stations.

    1 -> one PMA; 2 adds police; 3 a PUMP; 4 a CAF; beyond, about 1 police and 1 PUMP per 10 and
    1 CAF per 16 stations. PMAs are spread over up to 10 sites.
    """
    if count < 1:
        raise ValueError("at least one station")
    police = 1 if count >= 2 else 0
    pump = 1 if count >= 3 else 0
    caf = 1 if count >= 4 else 0
    if count > 4:
        police = max(police, count // 12)
        pump = max(pump, count // 10)
        caf = max(caf, count // 16)
    pma = count - police - pump - caf
    n_sites = sites or max(1, min(10, pma // 4))
    specs = []
    for i in range(pma):
        site = f"Site {chr(ord('A') + i % n_sites)}"
        specs.append(StationSpec(f"PMA-{i + 1:02d}", "pma", site))
    for i in range(pump):
        specs.append(StationSpec(f"PUMP-{i + 1}", "pump", f"Site {chr(ord('A') + i % n_sites)}"))
    for i in range(police):
        specs.append(StationSpec(f"POLICE-{i + 1}", "police", "Scène"))
    for i in range(caf):
        specs.append(StationSpec(f"CAF-{i + 1}", "caf", "CAF"))
    return specs
