"""Schema migrations: registered functions, applied in order, each in its own transaction.

A migration is frozen once released: later schema changes are new migrations, never edits.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[tuple[int, str, Migration]] = []


def migration(version: int, name: str) -> Callable[[Migration], Migration]:
    def register(fn: Migration) -> Migration:
        # In order and without a gap: a store past version N never runs a migration below N.
        if version != len(MIGRATIONS) + 1:
            raise RuntimeError(f"migration {version} registered after {len(MIGRATIONS)}")
        MIGRATIONS.append((version, name, fn))
        MIGRATIONS.sort(key=lambda item: item[0])
        return fn

    return register


def current_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def latest_version() -> int:
    return MIGRATIONS[-1][0] if MIGRATIONS else 0


def migrate(db: sqlite_utils.Database, target: int | None = None) -> list[int]:
    """Apply every migration above the store's version (up to ``target``); returns those applied."""
    applied = []
    goal = latest_version() if target is None else target
    for version, _name, fn in MIGRATIONS:
        if version <= current_version(db) or version > goal:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            fn(db)
            db.execute(f"PRAGMA user_version = {int(version)}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied


# Frozen column lists of version 1 (copied, not derived from the domain specs, so that this
# migration never changes when the specs grow).
_V1_MUTABLE: dict[str, tuple[str, ...]] = {
    "persons": (
        "nf399", "family_name", "given_names", "sex", "birth_date", "apparent_age", "phone",
        "address", "nationality", "x_description", "site", "found_place", "destination",
        "vehicle", "departure_time", "clinical_notes",
    ),
    "witnesses": (
        "family_name", "given_names", "phone", "email", "address", "where", "saw",
        "left_scene", "recontact", "oriented_to", "person_id",
    ),
    "leads": ("person_id", "possible_identity", "source", "note", "status"),
    "enquiries": (
        "enquirer_name", "relation", "phone", "language", "staying_at", "sought_family_name",
        "sought_given_names", "sought_sex", "sought_age", "description", "clothing",
        "sought_phone", "last_place", "last_time", "ante_mortem", "status",
    ),
    "conflict_decisions": ("chosen_change", "note"),
}  # fmt: skip
_V1_FACTS: dict[str, tuple[str, ...]] = {
    "triage_events": ("person_id", "category", "refinement", "at"),
    "care_events": ("person_id", "care_given", "orientation", "notes"),
    "declarations": ("person_id", "text", "clinician", "signed_at", "signature"),
    "certificates": (
        "person_id", "kind", "clinician", "registration", "issued_at", "itt_days",
        "declaration_hash", "fingerprint",
    ),
    "death_stages": ("person_id", "stage", "officer", "at"),
}  # fmt: skip


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@migration(1, "change log, materialised tables, conflicts")
def _v1(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID")
    db.execute("CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
    # The log. rowid is the local apply order; on a hub it is the downstream sequence (hub_seq).
    db.execute(
        """CREATE TABLE changes (
            id INTEGER PRIMARY KEY,
            origin TEXT NOT NULL,
            seq INTEGER NOT NULL,
            hlc INTEGER NOT NULL,
            entity TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            body TEXT NOT NULL,
            author TEXT NOT NULL,
            UNIQUE (origin, seq)
        )"""
    )
    db.execute("CREATE INDEX changes_by_entity ON changes (entity_id)")
    # Per origin: the highest seq such that every seq up to it is held (what may be acknowledged).
    db.execute(
        "CREATE TABLE origins (origin TEXT PRIMARY KEY, contiguous INTEGER NOT NULL,"
        " max_seq INTEGER NOT NULL) WITHOUT ROWID"
    )
    for table, columns in _V1_MUTABLE.items():
        cols = ", ".join(f"{_quote(c)}" for c in columns)
        extra = ""
        if table == "persons":
            extra = (
                ", category TEXT, refinement TEXT, triage_hlc INTEGER, triage_origin TEXT,"
                " death_stage TEXT"
            )
        db.execute(
            f"""CREATE TABLE {table} (
                id TEXT PRIMARY KEY, {cols},
                deleted INTEGER NOT NULL DEFAULT 0, replaced_by TEXT,
                created_hlc INTEGER NOT NULL, created_origin TEXT NOT NULL,
                created_by TEXT NOT NULL, updated_hlc INTEGER NOT NULL,
                clock TEXT NOT NULL{extra}
            )"""
        )
    for table, columns in _V1_FACTS.items():
        cols = ", ".join(f"{_quote(c)}" for c in columns)
        db.execute(
            f"""CREATE TABLE {table} (
                id TEXT PRIMARY KEY, {cols},
                hlc INTEGER NOT NULL, origin TEXT NOT NULL, author TEXT NOT NULL,
                change_id TEXT NOT NULL
            )"""
        )
        db.execute(f"CREATE INDEX {table}_by_person ON {table} (person_id)")
    db.execute("CREATE INDEX persons_by_nf399 ON persons (nf399)")
    db.execute("CREATE INDEX persons_by_category ON persons (category, deleted)")
    db.execute("CREATE INDEX persons_by_created ON persons (created_hlc)")
    db.execute(
        """CREATE TABLE conflicts (
            conflict_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            entity TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            field TEXT NOT NULL,
            change_a TEXT NOT NULL, change_b TEXT NOT NULL,
            value_a TEXT, value_b TEXT,
            author_a TEXT NOT NULL, author_b TEXT NOT NULL,
            origin_a TEXT NOT NULL, origin_b TEXT NOT NULL,
            hlc_a INTEGER NOT NULL, hlc_b INTEGER NOT NULL
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX conflicts_by_entity ON conflicts (entity_id)")


@migration(2, "covering indexes for the bilan and the list of live persons")
def _v2(db: sqlite_utils.Database) -> None:
    # The bilan groups live persons by these four columns: with this partial covering index it
    # reads the index only (about 15x faster at 100,000 persons than scanning the wide rows).
    db.execute(
        "CREATE INDEX persons_bilan ON persons (category, refinement, site, destination)"
        " WHERE deleted = 0 AND replaced_by IS NULL AND category IS NOT NULL"
    )
    db.execute("DROP INDEX IF EXISTS persons_by_category")
    # Counting, paging and filtering the live persons (newest first) by reading this narrow
    # index instead of the wide rows: 15-35 ms at 100,000 persons instead of ~140 ms.
    db.execute(
        "CREATE INDEX persons_search ON persons"
        " (created_hlc, nf399, family_name, given_names, category)"
        " WHERE deleted = 0 AND replaced_by IS NULL"
    )


@migration(3, "sync: enrolled peers, invites, sources, upstream state and acks")
def _v3(db: sqlite_utils.Database) -> None:
    # On a hub: the stations enrolled with it (role as decided at the invite, CURVE public key).
    db.execute(
        """CREATE TABLE sync_peers (
            station_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            public_key TEXT NOT NULL UNIQUE,
            relay INTEGER NOT NULL DEFAULT 0,
            enrolled_at TEXT NOT NULL,
            revoked_at TEXT,
            last_seen TEXT
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX sync_peers_by_name ON sync_peers (name)")
    # On a hub: one-time invites; the key is the invite key pair's public half.
    db.execute(
        """CREATE TABLE sync_invites (
            public_key TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            relay INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT,
            used_by TEXT
        ) WITHOUT ROWID"""
    )
    # Origins whose changes were pushed into this store by a peer: a relay forwards them upstream.
    db.execute(
        "CREATE TABLE sync_sources (origin TEXT PRIMARY KEY, peer TEXT NOT NULL) WITHOUT ROWID"
    )
    # On a station: its upstream (endpoint, hub key and id, downstream cursor) ...
    db.execute("CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
    # ... and what the upstream acknowledged, per origin.
    db.execute(
        "CREATE TABLE sync_acks (origin TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID"
    )


@migration(4, "matching: enquiry outcomes and match candidates")
def _v4(db: sqlite_utils.Database) -> None:
    # Same layout as the mutable tables of version 1 (columns frozen here, not read from specs).
    for table, columns in (
        ("enquiry_outcomes", ("enquiry_id", "outcome", "place")),
        ("match_candidates", ("enquiry_id", "person_id", "score", "reasons", "rank")),
    ):
        cols = ", ".join(_quote(c) for c in columns)
        db.execute(
            f"""CREATE TABLE {table} (
                id TEXT PRIMARY KEY, {cols},
                deleted INTEGER NOT NULL DEFAULT 0, replaced_by TEXT,
                created_hlc INTEGER NOT NULL, created_origin TEXT NOT NULL,
                created_by TEXT NOT NULL, updated_hlc INTEGER NOT NULL,
                clock TEXT NOT NULL
            )"""
        )
        db.execute(f"CREATE INDEX {table}_by_enquiry ON {table} (enquiry_id)")
    db.execute("CREATE INDEX match_candidates_by_person ON match_candidates (person_id)")


@migration(5, "reports: hospital admissions (SI-VIC), audit of person reads, hourly bilan")
def _v5(db: sqlite_utils.Database) -> None:
    # Local to the station, never in the change log: SI-VIC lists imported here (CIAV) ...
    db.execute(
        """CREATE TABLE hospital_admissions (
            id INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL UNIQUE,
            nf399 TEXT,
            family_name TEXT,
            given_names TEXT,
            name_key TEXT,
            birth_date TEXT,
            sex TEXT,
            hospital TEXT,
            admitted_at TEXT,
            source TEXT NOT NULL,
            line INTEGER NOT NULL,
            imported_at TEXT NOT NULL,
            imported_by TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX hospital_admissions_by_nf399 ON hospital_admissions (nf399)")
    db.execute(
        "CREATE INDEX hospital_admissions_by_name ON hospital_admissions (name_key, birth_date)"
    )
    # ... every read of a person record by a CAF or CIAV operator (append-only) ...
    db.execute(
        """CREATE TABLE audit_reads (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            operator TEXT NOT NULL,
            station TEXT NOT NULL,
            role TEXT NOT NULL,
            person_id TEXT NOT NULL,
            purpose TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX audit_reads_by_person ON audit_reads (person_id, id)")
    for action in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER audit_reads_no_{action.lower()} BEFORE {action} ON audit_reads"
            " BEGIN SELECT RAISE(ABORT, 'the audit of reads is append-only'); END"
        )
    # ... and the bilan, one snapshot per hour (the last one taken in that hour).
    db.execute(
        """CREATE TABLE bilan_snapshots (
            hour TEXT PRIMARY KEY,
            taken_at TEXT NOT NULL,
            body TEXT NOT NULL
        ) WITHOUT ROWID"""
    )


@migration(6, "the bulk import writes one index fewer")
def _v6(db: sqlite_utils.Database) -> None:
    # Every query of persons by creation time is on the live persons: the partial index
    # persons_search (created_hlc first) serves them. This one only slowed every insert.
    db.execute("DROP INDEX IF EXISTS persons_by_created")


@migration(7, "enquiries carry the reference a family quotes")
def _v7(db: sqlite_utils.Database) -> None:
    # The desk's station name and its count of enquiries ("CAF-1-0007"), fixed when the enquiry is
    # taken: a number by position in a list changed when another desk's older enquiry arrived.
    db.execute("ALTER TABLE enquiries ADD COLUMN reference TEXT")


@migration(8, "a person's columns fold the records merged into it; a death stage counts as DCD")
def _v8(db: sqlite_utils.Database) -> None:
    # The records merged into a person are found by this (small, partial) index; and "is there
    # any merge at all?" is answered from it without reading the rows.
    db.execute(
        "CREATE INDEX persons_by_merge ON persons (replaced_by) WHERE replaced_by IS NOT NULL"
    )
    # Derived columns written by the earlier rule: the records in a merge (either side) and the
    # persons with a death stage are folded again with the current one.
    from fieldkit.store.materialise import refresh_merge_groups

    ids = {
        row[0]
        for row in db.execute(
            "SELECT id FROM persons WHERE replaced_by IS NOT NULL"
            " UNION SELECT replaced_by FROM persons WHERE replaced_by IS NOT NULL"
            " UNION SELECT person_id FROM death_stages WHERE person_id IS NOT NULL"
        )
    }
    refresh_merge_groups(db, ids, ids)


@migration(9, "witnesses carry when they were recontacted")
def _v9(db: sqlite_utils.Database) -> None:
    # A witness called back leaves the recontact list (left the scene, or asked to be called):
    # without it the list only grew, and nobody could tell who was still to call.
    db.execute("ALTER TABLE witnesses ADD COLUMN recontacted_at TEXT")


@migration(10, "station keys: the certificate signing keys of the PUMP stations, synced")
def _v10(db: sqlite_utils.Database) -> None:
    # Same layout as the fact tables of version 1 (columns frozen here, not read from specs):
    # one row per (station, key), so a station's previous keys stay known.
    columns = ("station_id", "public_key", "station_name", "role", "created_at")
    cols = ", ".join(_quote(c) for c in columns)
    db.execute(
        f"""CREATE TABLE station_keys (
            id TEXT PRIMARY KEY, {cols},
            hlc INTEGER NOT NULL, origin TEXT NOT NULL, author TEXT NOT NULL,
            change_id TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX station_keys_by_station ON station_keys (station_id)")
