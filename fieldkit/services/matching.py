"""Matching family enquiries against the person records of a store (the hub's matcher).

:class:`Matcher` keeps every live person of a store in an in-memory :class:`MatchIndex` and every
enquiry in a reverse index, follows the store's change log from a cursor, and after each batch of
new changes rematches only the enquiries they may affect: a person recorded or edited, a triage
event, a death stage, a lead, an enquiry. It writes, with the store's own origin and only when
something changed:

- ``enquiry_outcome`` (one per enquiry): the neutral outcome a family may be told (CAF, police,
  CIAV read it);
- ``match_candidate`` (up to five per enquiry): person, score, reasons, rank (police and CIAV
  only: the role filter never sends them to a CAF).

Work is cut in slices (:meth:`Matcher.step` returns after about ``budget`` seconds and says whether
more remains), so the hub that calls it between frames stays responsive even while it loads
100,000 persons or absorbs a push of thousands.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec

from fieldkit.domain.changes import DELETED, REPLACED_BY
from fieldkit.domain.matching import (
    FLOOR,
    KEEP,
    Candidate,
    EnquiryFacts,
    MatchIndex,
    Outcome,
    PersonFacts,
    PersonStatus,
    decide,
    decode_reasons,
    encode_reasons,
    enquiry_facts,
    explain,
    name_similarity,
    outcome_text,
    person_facts,
    quick_pass,
    score,
)
from fieldkit.errors import PermissionDenied
from fieldkit.i18n import _
from fieldkit.store import queries
from fieldkit.store.store import Store, Write

log = logging.getLogger("fieldkit.services.matching")

AUTHOR = "matcher"
LOAD_CHUNK = 1_000  # persons loaded per slice
LOG_CHUNK = 100  # log rows scanned per slice
PENDING_HIGH = 256  # enquiries waiting above which the log is not read further for now
NAMED_EXTRA = 12.1  # the most sex, age and description add to a named person's name (+ rounding)
REVERSE_CUT = 60.0  # quick similarity under which a new person is not scored against an enquiry
REMATCH_CHUNK = 16  # enquiries rematched per write transaction
RECHECK_CHUNK = 256  # enquiries whose outcome alone is decided again, per write transaction
WATCHED = ("person", "triage", "death_stage", "lead", "enquiry")
CANDIDATE_READERS = {"police", "ciav"}
_LIVE = "deleted = 0 AND replaced_by IS NULL"
_decode = msgspec.json.decode


def outcome_id(enquiry_id: str) -> str:
    return "eo-" + enquiry_id


def candidate_id(enquiry_id: str, person_id: str) -> str:
    digest = hashlib.blake2b(f"{enquiry_id}\x00{person_id}".encode(), digest_size=12).hexdigest()
    return "mc-" + digest


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class Held:
    """A candidate as written in the store (to write again only what changed)."""

    score: float
    reasons: str
    rank: int


class Matcher:
    """Incremental matching over one store. Not thread-safe: one thread calls :meth:`step`."""

    def __init__(
        self, store: Store, *, author: str = AUTHOR, freeze_when_loaded: bool = False
    ) -> None:
        """``freeze_when_loaded``: once every person is in memory, hand the process's objects to
        the garbage collector's permanent generation (``gc.freeze``), for a long-running hub
        process only. A full collection otherwise walks the hundred thousand persons loaded and
        paused the hub for most of a second now and then (its longest step at 100,000 persons
        went from about 850 ms to about 250 ms)."""
        self.store = store
        self.author = author
        self.freeze_when_loaded = freeze_when_loaded
        self._reset()

    def _reset(self) -> None:
        self.index = MatchIndex()
        self.enquiries: dict[str, EnquiryFacts] = {}
        self._enquiry_keys: dict[str, frozenset[str]] = {}
        self._enquiry_postings: dict[str, set[str]] = {}
        self._held: dict[str, dict[str, Held]] = {}  # enquiry -> person -> candidate written
        self._bars: dict[str, float] = {}  # enquiry -> what a newcomer must beat (see _bar)
        self._outcomes: dict[str, tuple[str, str | None]] = {}
        self._by_person: dict[str, set[str]] = {}  # person -> enquiries listing it
        self._dirty: dict[str, None] = {}  # enquiries to rematch, in order
        # enquiries whose candidates stand but one of whose persons changed status (a triage, a
        # death stage, an evacuation): only their outcome is decided again, without a search
        self._recheck: dict[str, None] = {}
        self._found: dict[str, list[Candidate]] = {}  # enquiry -> its candidates now
        # enquiries a new or changed person may enter, with that person's score: merged into the
        # candidates the enquiry has (no new search: nobody else's score moved)
        self._offers: dict[str, dict[str, tuple[PersonFacts, Candidate]]] = {}
        self._closed: set[str] = set()  # closed enquiries: left as they are
        self.cursor = 0
        self._loaded = False
        self._phase = "persons"  # what the initial load reads next: persons, then enquiries
        self._load_from = ""  # id to resume the initial load after
        self.rematched = 0
        self.rechecked = 0
        self.merged = 0
        self.written = 0
        self.busy_s = 0.0  # seconds spent in step(), all told

    def describe(self) -> str:
        """One line for the hub's log: what the matcher did so far and what it has left."""
        return (
            f"matcher: {self.rematched} searches, {self.merged} merges,"
            f" {self.rechecked} outcome checks,"
            f" {self.written} writes, {self.busy_s:.1f} s busy; {self.pending} enquiries waiting,"
            f" log read up to {self.cursor}"
        )

    # -- the work loop ---------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self._loaded

    @property
    def pending(self) -> int:
        return len(self._dirty) + len(self._offers) + len(self._recheck)

    def step(self, budget: float = 0.05) -> bool:
        """Do about ``budget`` seconds of work; True while more remains."""
        began = time.perf_counter()
        try:
            return self._step(began + budget)
        finally:
            self.busy_s += time.perf_counter() - began

    def _step(self, deadline: float) -> bool:
        if not self._loaded:
            self._load_slice()
            return True
        more = True
        while True:
            # Read the log on, unless enough is waiting: what was found is worked off first, so
            # a long burst of arrivals never leaves every enquiry waiting until it is all read.
            if more and self.pending < PENDING_HIGH:
                more = self._scan_log()
            if self.pending:
                self._work_some()
            elif not more:
                return False
            if time.perf_counter() >= deadline:
                return more or bool(self.pending)

    def _work_some(self) -> None:
        """One write transaction's worth: a few searches, or many merges and outcome checks."""
        batch = list(itertools.islice(self._dirty, REMATCH_CHUNK))
        for enquiry_id in batch:
            del self._dirty[enquiry_id]
        # the offers to the enquiries searched now join their search; the others wait for theirs
        offers = {e: self._offers.pop(e) for e in batch if e in self._offers}
        room = RECHECK_CHUNK - len(batch) * (RECHECK_CHUNK // REMATCH_CHUNK)
        waiting = (e for e in self._offers if e not in self._dirty)
        for enquiry_id in list(itertools.islice(waiting, max(room, 0))):
            offers[enquiry_id] = self._offers.pop(enquiry_id)
        room -= len(offers)
        recheck = list(itertools.islice(self._recheck, max(room, 0)))
        for enquiry_id in recheck:
            del self._recheck[enquiry_id]
        self._rematch(batch, recheck, offers)

    def run_until_idle(self, budget: float = 0.05) -> None:
        """Work until nothing is left (tests, the CLI, a station without a hub loop)."""
        while self.step(budget):
            pass

    # -- loading -------------------------------------------------------------------------
    def _load_slice(self) -> None:
        """Load persons, then enquiries, a chunk per call; then what was written before."""
        store = self.store
        table = "persons" if self._phase == "persons" else "enquiries"
        with store.lock:
            if not self._load_from and self._phase == "persons":
                row = store.db.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()
                self.cursor = int(row[0])  # changes after this are scanned again: harmless
            rows = store.db.execute(
                f"SELECT * FROM {table} WHERE id > ? AND {_LIVE} ORDER BY id LIMIT ?",
                [self._load_from, LOAD_CHUNK],
            )
            columns = [d[0] for d in rows.description]
            records = [dict(zip(columns, r, strict=True)) for r in rows.fetchall()]
            leads = self._leads_of([p["id"] for p in records]) if table == "persons" else {}
        for record in records:
            if table == "persons":
                facts = _facts(record, leads.get(record["id"], ()))
                if facts is not None:
                    self.index.upsert(facts)
            else:
                self._set_enquiry(record["id"], record)
        if len(records) == LOAD_CHUNK:
            self._load_from = records[-1]["id"]
            return
        self._load_from = ""
        if self._phase == "persons":
            self._phase = "enquiries"
            return
        self._load_rest()
        self._loaded = True
        if self.freeze_when_loaded:
            gc.freeze()
        log.info("matcher loaded %d persons, %d enquiries", len(self.index), len(self.enquiries))

    def _load_rest(self) -> None:
        db = self.store.db
        with self.store.lock:
            for row in db.query(
                "SELECT enquiry_id, person_id, score, reasons, rank FROM match_candidates"
                " WHERE deleted = 0"
            ):
                if row["enquiry_id"] and row["person_id"]:
                    self._hold(
                        row["enquiry_id"],
                        row["person_id"],
                        Held(float(row["score"] or 0), row["reasons"] or "", int(row["rank"] or 0)),
                    )
            for row in db.query("SELECT enquiry_id, outcome, place FROM enquiry_outcomes"):
                if row["enquiry_id"]:
                    self._outcomes[row["enquiry_id"]] = (row["outcome"], row["place"])
        # Whatever happened while no matcher ran: every enquiry is looked at once.
        self._dirty.update(dict.fromkeys(sorted(self.enquiries)))
        self._dirty.update(dict.fromkeys(sorted(set(self._held) - set(self.enquiries))))

    def _leads_of(self, person_ids: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for chunk in _chunks(person_ids):
            marks = ",".join("?" * len(chunk))
            for person_id, identity in self.store.db.execute(
                f"SELECT person_id, possible_identity FROM leads WHERE person_id IN ({marks})"
                f" AND {_LIVE} AND coalesce(status, 'open') != 'dismissed'",
                chunk,
            ):
                if identity:
                    found.setdefault(person_id, []).append(identity)
        return found

    # -- following the log ---------------------------------------------------------------
    def _scan_log(self) -> bool:
        marks = ",".join("?" * len(WATCHED))
        with self.store.lock:
            rows = self.store.db.execute(
                f"SELECT id, entity, entity_id, body FROM changes WHERE id > ? AND entity IN ({marks})"
                " ORDER BY id LIMIT ?",
                [self.cursor, *WATCHED, LOG_CHUNK],
            ).fetchall()
            top = self.store.db.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()[0]
        if not rows:
            self.cursor = max(self.cursor, int(top))
            return False
        persons: set[str] = set()
        statuses: set[str] = set()
        enquiries: set[str] = set()
        leads: set[str] = set()
        merges: set[str] = set()  # persons merged into another, or taken out of a merge
        for _row_id, entity, entity_id, body in rows:
            if entity == "person":
                persons.add(entity_id)
                if REPLACED_BY in _decode(body).get("v", {}):
                    merges.add(entity_id)
            elif entity == "enquiry":
                enquiries.add(entity_id)
            elif entity == "lead":
                leads.add(entity_id)
            else:  # triage, death_stage: facts naming a person
                person_id = _decode(body).get("v", {}).get("person_id")
                if isinstance(person_id, str):
                    statuses.add(person_id)
        if leads:
            persons |= self._lead_persons(sorted(leads))
        # A person's status folds the records merged into it: what happens to one of those (a
        # triage, a death stage, the merge itself or its undoing) is news for the record kept.
        statuses |= self._merge_heads(statuses | persons, merges)
        changed = self._refresh_persons(sorted(persons))
        for person_id in sorted(statuses | persons):
            listing = sorted(self._by_person.get(person_id, ()))
            if person_id in changed:  # its score may have moved: search again
                self._dirty.update(dict.fromkeys(listing))
            else:  # same facts, new status or place: the outcome alone may differ
                self._recheck.update(dict.fromkeys(e for e in listing if e not in self._dirty))
        self._refresh_enquiries(sorted(enquiries))
        # Only now past these rows: had reading them failed, they are read again (a person of
        # this batch is never left unmatched, its family told "no information yet").
        self.cursor = int(rows[-1][0])
        return len(rows) == LOG_CHUNK

    def _merge_heads(self, person_ids: set[str], merges: set[str]) -> set[str]:
        """The records that ``person_ids`` are merged into, up the chain, and for ``merges``
        every record they were ever merged into (an undone merge changes the record it left)."""
        db = self.store.db
        found: set[str] = set()
        with self.store.lock:
            if (
                not merges
                and not db.execute(
                    "SELECT 1 FROM persons WHERE replaced_by IS NOT NULL LIMIT 1"
                ).fetchone()
            ):
                return found  # no merge anywhere
            starts: set[str] = set()
            for person_id in sorted(merges):
                for (body,) in db.execute(
                    "SELECT body FROM changes WHERE entity_id = ? AND entity = 'person'",
                    [person_id],
                ):
                    target = _decode(body).get("v", {}).get(REPLACED_BY)
                    if isinstance(target, str):
                        starts.add(target)
            ids = sorted(person_ids)
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                starts.update(
                    r[0]
                    for r in db.execute(
                        f"SELECT replaced_by FROM persons WHERE id IN ({marks})"
                        " AND replaced_by IS NOT NULL",
                        chunk,
                    )
                )
            for start in sorted(starts):
                current: str | None = start
                while current is not None and current not in found:
                    found.add(current)
                    row = db.execute(
                        "SELECT replaced_by FROM persons WHERE id = ?", [current]
                    ).fetchone()
                    current = row[0] if row else None
        return found

    def _lead_persons(self, lead_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(lead_ids):
            marks = ",".join("?" * len(chunk))
            with self.store.lock:
                found |= {
                    r[0]
                    for r in self.store.db.execute(
                        f"SELECT person_id FROM leads WHERE id IN ({marks})", chunk
                    )
                    if r[0]
                }
        return found

    def _rows_by_id(self, table: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The rows of ``table`` among ``ids`` (the caller holds the store's lock)."""
        rows: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for row in self.store.db.query(f"SELECT * FROM {table} WHERE id IN ({marks})", chunk):
                rows[row["id"]] = row
        return rows

    def _refresh_persons(self, person_ids: list[str]) -> set[str]:
        """Read these persons again; returns those whose matching facts changed."""
        if not person_ids:
            return set()
        changed: set[str] = set()
        with self.store.lock:
            rows = self._rows_by_id("persons", person_ids)
            leads = self._leads_of(person_ids)
        for person_id in person_ids:
            person = rows.get(person_id)
            if person is None or person["deleted"] or person["replaced_by"]:
                self.index.remove(person_id)
                changed.add(person_id)
                continue
            facts = _facts(person, leads.get(person_id, ()))
            if facts is None:  # unreadable: out of the index (logged)
                self.index.remove(person_id)
                changed.add(person_id)
                continue
            if self.index.persons.get(person_id) == facts:
                continue  # an evacuation, a site: nothing a search looks at
            changed.add(person_id)
            self.index.upsert(facts)
            self._mark_enquiries_near(facts)
        return changed

    def _mark_enquiries_near(self, person: PersonFacts) -> None:
        """Mark the enquiries this person could now enter the candidates of."""
        near: set[str] = set()
        for key in self.index.keys_of(person.person_id):
            near |= self._enquiry_postings.get(key, set())
        ids = sorted(
            e
            for e in near
            if e in self.enquiries
            and person.person_id not in self._held.get(e, {})  # marked through _by_person
        )
        named = not (person.is_x or person.lead_names)
        if len(ids) > 4 and named:
            kept = quick_pass(
                person.name, [self.enquiries[e].name for e in ids], limit=None, cutoff=REVERSE_CUT
            )
            ids = [ids[i] for i in sorted(kept)]
        year = date.today().year
        bars = self._bars
        for enquiry_id in ids:
            bar = bars.get(enquiry_id)
            if bar is None:
                bar = bars[enquiry_id] = self._bar(enquiry_id)
            enquiry = self.enquiries[enquiry_id]
            # The name is most of a score: when it cannot lift this person over the bar, the
            # rest (sex, age, description) need not be weighed.
            if named and name_similarity(enquiry.name, person.name)[0] + NAMED_EXTRA < bar:
                continue
            found = score(enquiry, person, year=year)
            if found.score < FLOOR:
                continue
            if bar == FLOOR or found.score > bar:
                self._offers.setdefault(enquiry_id, {})[person.person_id] = (person, found)
                if enquiry_id not in self._found:  # never searched yet: its search takes it
                    self._dirty[enquiry_id] = None

    def _refresh_enquiries(self, enquiry_ids: list[str]) -> None:
        if not enquiry_ids:
            return
        with self.store.lock:
            rows = self._rows_by_id("enquiries", enquiry_ids)
        for enquiry_id in enquiry_ids:
            enquiry = rows.get(enquiry_id)
            before = self.enquiries.get(enquiry_id)
            if enquiry is None or enquiry["deleted"] or enquiry["replaced_by"]:
                self._drop_enquiry(enquiry_id)
            else:
                self._set_enquiry(enquiry_id, enquiry)
            after = self.enquiries.get(enquiry_id)
            if after is not None and after == before and enquiry_id in self._found:
                continue  # its status or the enquirer's details: nothing a search reads
            self._dirty[enquiry_id] = None

    def _set_enquiry(self, enquiry_id: str, row: Mapping[str, Any]) -> None:
        self._drop_enquiry(enquiry_id)
        if row.get("status") == "closed":
            self._closed.add(enquiry_id)
            return
        self._closed.discard(enquiry_id)
        try:
            facts = enquiry_facts(enquiry_id, _plain(row))
        except Exception:  # a value no station writes (stored before the hub checked values)
            log.warning("matcher: enquiry %s cannot be read: left out", enquiry_id, exc_info=True)
            return
        keys = frozenset(facts.keys())
        self.enquiries[enquiry_id] = facts
        self._enquiry_keys[enquiry_id] = keys
        for key in keys:
            self._enquiry_postings.setdefault(key, set()).add(enquiry_id)

    def _drop_enquiry(self, enquiry_id: str) -> None:
        self.enquiries.pop(enquiry_id, None)
        for key in self._enquiry_keys.pop(enquiry_id, ()):
            posting = self._enquiry_postings.get(key)
            if posting is not None:
                posting.discard(enquiry_id)
                if not posting:
                    del self._enquiry_postings[key]

    # -- rematching ----------------------------------------------------------------------
    def candidates(self, enquiry_id: str) -> list[Candidate]:
        """The current best candidates of one enquiry (computed, not read from the store)."""
        facts = self.enquiries.get(enquiry_id)
        return self.index.search(facts) if facts is not None else []

    def _rematch(
        self,
        enquiry_ids: list[str],
        recheck: Iterable[str] = (),
        offers: Mapping[str, Mapping[str, tuple[PersonFacts, Candidate]]] | None = None,
    ) -> None:
        """Search ``enquiry_ids`` again; merge ``offers`` into the candidates of the others;
        decide the outcome of ``recheck`` on the candidates they have.

        A search is approximate (it scores the persons sharing the most name keys): what it
        finds is merged with the persons offered and those held, scored again, so a candidate
        found once is never lost to a search that did not look at it, only to a better one.
        """
        writes: list[Write] = []
        offers = offers or {}
        year = date.today().year
        searched = set(enquiry_ids)
        for enquiry_id, offered in offers.items():
            if enquiry_id in searched:
                continue
            facts = self.enquiries.get(enquiry_id)
            current = self._found.get(enquiry_id)
            if enquiry_id in self._closed or facts is None or current is None:
                continue
            self.merged += 1
            found = _merged(current, offered.values(), self.index.persons)
            writes.extend(self._candidate_writes(enquiry_id, found))
            self._found[enquiry_id] = found
            if found[:2] != current[:2]:  # the outcome reads the first two only
                writes.extend(self._outcome_writes(enquiry_id, found))
        for enquiry_id in enquiry_ids:
            if enquiry_id in self._closed:
                continue
            self.rematched += 1
            facts = self.enquiries.get(enquiry_id)
            if facts is None:
                writes.extend(self._candidate_writes(enquiry_id, []))
                self._found.pop(enquiry_id, None)
                continue
            persons = self.index.persons
            again = [
                (person, score(facts, person, year=year))
                for person in map(persons.get, self._held.get(enquiry_id, {}))
                if person is not None
            ]
            again += offers.get(enquiry_id, {}).values()
            found = _merged(self.index.search(facts, year=year), again, persons)
            writes.extend(self._candidate_writes(enquiry_id, found))
            self._found[enquiry_id] = found
            writes.extend(self._outcome_writes(enquiry_id, found))
        for enquiry_id in recheck:
            found_before = self._found.get(enquiry_id)
            if enquiry_id in self._closed or found_before is None:
                continue
            self.rechecked += 1
            writes.extend(self._outcome_writes(enquiry_id, found_before))
        if writes:
            try:
                self.store.record_many(writes, self.author)
            except Exception:
                self._reset()  # memory is now ahead of the store: read it all again
                raise
            self.written += len(writes)

    def _outcome_writes(self, enquiry_id: str, found: list[Candidate]) -> list[Write]:
        with self.store.lock:
            status = {c.person_id: self._status(c.person_id) for c in found[:2]}
        outcome, place = decide(found, status)
        current = (outcome.value, place)
        if self._outcomes.get(enquiry_id) == current:
            return []
        self._outcomes[enquiry_id] = current
        values = {"enquiry_id": enquiry_id, "outcome": outcome.value, "place": place}
        return [Write("enquiry_outcome", outcome_id(enquiry_id), values)]

    def _candidate_writes(self, enquiry_id: str, found: list[Candidate]) -> list[Write]:
        held = self._held.get(enquiry_id, {})
        wanted = {c.person_id: Held(c.score, encode_reasons(c.reasons), c.rank) for c in found}
        writes: list[Write] = []
        for person_id, new in wanted.items():
            old = held.get(person_id)
            if old is not None and (old.score, old.reasons) == (new.score, new.reasons):
                # only its rank moved (a better candidate arrived): readers rank by score, so
                # rewriting it would send every such shuffle to the police and CIAV for nothing
                continue
            values: dict[str, Any] = {
                "enquiry_id": enquiry_id,
                "person_id": person_id,
                "score": new.score,
                "reasons": new.reasons,
                "rank": new.rank,
            }
            if person_id not in held:
                values[DELETED] = False
            writes.append(Write("match_candidate", candidate_id(enquiry_id, person_id), values))
            self._hold(enquiry_id, person_id, new)
        for person_id in sorted(set(held) - set(wanted)):
            writes.append(
                Write("match_candidate", candidate_id(enquiry_id, person_id), {DELETED: True})
            )
            self._unhold(enquiry_id, person_id)
        return writes

    def _bar(self, enquiry_id: str) -> float:
        """The score a person must beat to enter this enquiry's candidates (FLOOR: reach)."""
        held = self._held.get(enquiry_id, {})
        return min(h.score for h in held.values()) if len(held) >= KEEP else FLOOR

    def _hold(self, enquiry_id: str, person_id: str, held: Held) -> None:
        self._bars.pop(enquiry_id, None)
        self._held.setdefault(enquiry_id, {})[person_id] = held
        self._by_person.setdefault(person_id, set()).add(enquiry_id)

    def _unhold(self, enquiry_id: str, person_id: str) -> None:
        self._bars.pop(enquiry_id, None)
        self._held.get(enquiry_id, {}).pop(person_id, None)
        if not self._held.get(enquiry_id):
            self._held.pop(enquiry_id, None)
        listed = self._by_person.get(person_id)
        if listed is not None:
            listed.discard(enquiry_id)
            if not listed:
                del self._by_person[person_id]

    def _status(self, person_id: str) -> PersonStatus:
        db = self.store.db
        row = db.execute(
            "SELECT category, death_stage, destination, site FROM persons WHERE id = ?",
            [person_id],
        ).fetchone()
        if row is None:
            return PersonStatus(None, None, None)
        category, stage, destination, site = row  # folded over the duplicates merged into it
        group = queries.merged_group(db, person_id)
        marks = ",".join("?" * len(group))
        open_leads = (
            db.execute(
                f"SELECT 1 FROM leads WHERE person_id IN ({marks}) AND {_LIVE}"
                " AND coalesce(status, 'open') = 'open' LIMIT 1",
                group,
            ).fetchone()
            is not None
        )
        return PersonStatus(category, stage, destination or site, open_leads)


def _merged(
    current: list[Candidate],
    offered: Iterable[tuple[PersonFacts, Candidate]],
    persons: Mapping[str, PersonFacts],
) -> list[Candidate]:
    """The best ``KEEP`` of an enquiry's candidates and the persons offered to it, ranked.

    An offer is taken only if the person's facts are still those it was scored on: a person
    deleted or merged away since is not taken, and one edited since was offered again (or not,
    if it no longer comes close).
    """
    taken = {c.person_id: c for c in current}
    for facts, candidate in offered:
        if candidate.score >= FLOOR and persons.get(candidate.person_id) is facts:
            taken[candidate.person_id] = candidate
    ranked = sorted(taken.values(), key=lambda c: (-c.score, c.person_id))[:KEEP]
    return [
        Candidate(c.person_id, c.score, c.reasons, c.via_lead, rank)
        for rank, c in enumerate(ranked, start=1)
    ]


# Fields the matcher reads as text: a number there (stored by a station before the hub checked
# values) is read as its text, never a crash.
_TEXT_FIELDS = (
    "family_name",
    "given_names",
    "sex",
    "birth_date",
    "sought_family_name",
    "sought_given_names",
    "sought_sex",
    "description",
    "clothing",
)


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with its JSON columns (descriptions, ante-mortem details) decoded."""
    values = dict(row)
    for name in _TEXT_FIELDS:
        value = values.get(name)
        if value is not None and not isinstance(value, str):
            values[name] = str(value)
    for name in ("x_description", "ante_mortem"):
        text = values.get(name)
        if isinstance(text, str) and text[:1] in ("{", "["):
            with contextlib.suppress(msgspec.DecodeError):
                values[name] = _decode(text)
    return values


def _facts(row: Mapping[str, Any], leads: Iterable[str]) -> PersonFacts | None:
    """The matching facts of a person row; None (logged) when a stored value cannot be read."""
    try:
        return person_facts(row["id"], _plain(row), tuple(leads))
    except Exception:  # a value no station writes (stored before the hub checked values)
        log.warning("matcher: person %s cannot be read: left out", row.get("id"), exc_info=True)
        return None


# --- reading what the matcher wrote --------------------------------------------------------


@dataclass(frozen=True)
class CandidateView:
    """A match candidate as police and CIAV screens show it."""

    enquiry_id: str
    person_id: str
    rank: int
    score: float
    reasons: tuple[str, ...]  # each explained in the user's language
    family_name: str | None
    given_names: str | None
    nf399: str | None


def candidates_for(store: Store, enquiry_id: str) -> list[CandidateView]:
    """The candidates recorded for an enquiry, best first (police and CIAV stations only)."""
    if store.role not in CANDIDATE_READERS:
        raise PermissionDenied(_("This station's role may not read match candidates."))
    rows = store.db.query(
        "SELECT c.person_id, c.rank, c.score, c.reasons, p.family_name, p.given_names, p.nf399"
        " FROM match_candidates c LEFT JOIN persons p ON p.id = c.person_id"
        " WHERE c.enquiry_id = ? AND c.deleted = 0 ORDER BY c.score DESC, c.person_id",
        [enquiry_id],
    )
    return [
        CandidateView(
            enquiry_id,
            row["person_id"],
            rank,  # by score: the stored rank is the one it had when last written
            float(row["score"] or 0),
            tuple(explain(r) for r in decode_reasons(row["reasons"])),
            row["family_name"],
            row["given_names"],
            row["nf399"],
        )
        for rank, row in enumerate(rows, start=1)
    ]


__all__ = [
    "Matcher",
    "CandidateView",
    "candidates_for",
    "candidate_id",
    "outcome_id",
    "Outcome",
    "outcome_text",
]
