"""Opening an encrypted SQLCipher store through sqlite-utils (DESIGN.md 3).

sqlite-utils looks for ``pysqlite3`` before the standard ``sqlite3``; aliasing the ``sqlcipher3``
module under that name makes it build connections, and catch exceptions, from SQLCipher's module.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from fieldkit.errors import FieldkitError, StoreDamaged, StoreMissing
from fieldkit.i18n import _


def sqlcipher_dbapi() -> ModuleType:
    """The SQLCipher DB-API module, registered as ``pysqlite3`` for sqlite-utils."""
    import sqlcipher3.dbapi2 as dbapi

    sys.modules.setdefault("pysqlite3", sys.modules["sqlcipher3"])
    sys.modules.setdefault("pysqlite3.dbapi2", dbapi)
    return dbapi


_dbapi = sqlcipher_dbapi()
import sqlite_utils  # noqa: E402  (must follow the alias above)

CACHE_KIB = 48 * 1024
BUSY_TIMEOUT_MS = 10_000
SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

_DAMAGE_MARKERS = (
    "file is not a database",
    "database disk image is malformed",
    "file is encrypted",
    "malformed",
    "hmac check failed",
)


def is_store_damage(exc: BaseException) -> bool:
    """True when ``exc`` says the store file cannot be decrypted or parsed."""
    if isinstance(exc, StoreDamaged):
        return True
    if not isinstance(exc, _dbapi.DatabaseError) and type(exc).__name__ != "DatabaseError":
        return False
    text = str(exc).lower()
    return any(marker in text for marker in _DAMAGE_MARKERS)


def _damaged() -> StoreDamaged:
    return StoreDamaged(_("The store file is damaged and cannot be read."))


def connect(
    db_path: Path,
    data_key: bytes,
    *,
    create: bool = False,
    synchronous: str = "NORMAL",
) -> sqlite_utils.Database:
    """Open (or with ``create``, create) the encrypted store at ``db_path`` with the raw key."""
    if len(data_key) != 32:
        raise ValueError("data key must be 32 bytes")
    if synchronous.upper() not in SYNCHRONOUS:
        raise ValueError(f"unknown synchronous mode {synchronous!r}")
    db_path = Path(db_path)
    if not create and not db_path.exists():
        raise StoreMissing(_("No store at {path}.").format(path=db_path))
    if create and db_path.exists() and db_path.stat().st_size > 0:
        raise FieldkitError(_("A store already exists at {path}.").format(path=db_path))
    conn: Any = _dbapi.connect(str(db_path), isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = \"x'{data_key.hex()}'\"")
        # The probe: with a wrong key or a damaged header SQLCipher fails here.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA temp_store = MEMORY")
    except _dbapi.DatabaseError as exc:
        conn.close()
        if create:
            raise
        raise (not_damaged(exc, db_path) or _damaged()) from exc
    return sqlite_utils.Database(conn)


def not_damaged(exc: BaseException, db_path: Path) -> FieldkitError | None:
    """What a store error really says when it is not damage: a full disk, a folder that cannot
    be written, a store another program holds (the data is intact: say so, not "damaged")."""
    text = str(exc).lower()
    if "disk is full" in text or "disk i/o error" in text:
        return FieldkitError(
            _(
                "The disk holding {path} is full or failing: free some space and try again;"
                " what was saved is kept."
            ).format(path=db_path)
        )
    if "readonly" in text or "unable to open" in text or "access permission" in text:
        return FieldkitError(
            _(
                "The store {path} cannot be written: its folder is read-only or not yours;"
                " what was saved is kept."
            ).format(path=db_path)
        )
    if "locked" in text:
        return FieldkitError(
            _(
                "The station's store is busy: another fieldkit program is writing to it; try"
                " again when it has finished."
            )
        )
    return None


def integrity_errors(db: sqlite_utils.Database) -> list[str]:
    """Problems found by SQLite's integrity check and SQLCipher's page HMAC check (empty if sound)."""
    problems = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
    problems = [p for p in problems if p != "ok"]
    try:
        problems += [f"cipher: {row[0]}" for row in db.execute("PRAGMA cipher_integrity_check")]
    except _dbapi.DatabaseError as exc:  # pragma: no cover - depends on the SQLCipher build
        problems.append(f"cipher: {exc}")
    return problems
