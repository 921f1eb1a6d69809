"""The encrypted store: sqlite-utils on SQLCipher, the key sidecar, damage and passphrase change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldkit.errors import (
    FieldkitError,
    StoreDamaged,
    StoreMissing,
    ValidationError,
    WrongPassphrase,
)
from fieldkit.store import keys
from fieldkit.store.connection import connect, integrity_errors, is_store_damage
from fieldkit.store.migrations import migrate

SECRET = "Dupont-Ézéchiel-ثابت"


def _new(tmp_path: Path, passphrase: str = "correct horse battery"):
    key = keys.create_keyfile(tmp_path / "s.keys", passphrase)
    return key, connect(tmp_path / "s.db", key, create=True)


def test_sqlite_utils_features_work_on_sqlcipher(tmp_path: Path):
    _, db = _new(tmp_path)
    table = db["things"]
    table.upsert({"id": 1, "name": "a"}, pk="id")
    table.upsert({"id": 1, "name": "b", "extra": 3}, pk="id", alter=True)
    assert list(table.rows) == [{"id": 1, "name": "b", "extra": 3}]
    row = db.execute("INSERT INTO things (id, name) VALUES (2, 'c') RETURNING id, name").fetchone()
    assert tuple(row) == (2, "c")
    db["things"].drop()
    db["things"].drop(ignore=True)
    assert "things" not in db.table_names()
    # sqlite-utils catches SQLCipher's exception classes (the pysqlite3 alias is in place).
    import sqlite_utils.db

    assert sqlite_utils.db.sqlite3.__name__.startswith("sqlcipher3")


def test_no_plaintext_in_the_file_or_wal(tmp_path: Path):
    _, db = _new(tmp_path)
    db["t"].insert({"name": SECRET})
    raw = (tmp_path / "s.db").read_bytes() + (tmp_path / "s.db-wal").read_bytes()
    assert SECRET.encode() not in raw
    assert b"SQLite format 3" not in raw[:16]


def test_reopen_with_the_unwrapped_key(tmp_path: Path):
    _, db = _new(tmp_path)
    db["t"].insert({"name": SECRET})
    db.close()
    key = keys.unlock_keyfile(tmp_path / "s.keys", "correct horse battery")
    assert list(connect(tmp_path / "s.db", key)["t"].rows) == [{"name": SECRET}]


def test_wrong_passphrase_is_refused(tmp_path: Path):
    _new(tmp_path)
    with pytest.raises(WrongPassphrase) as info:
        keys.unlock_keyfile(tmp_path / "s.keys", "not the passphrase")
    assert "phrase secrète" in info.value.message.lower()


def test_wrong_key_is_damage_and_sqlcipher_stays_silent(tmp_path: Path):
    """SQLCipher logs to stderr by default; a subprocess shows nothing is written over the TUI."""
    _, db = _new(tmp_path)
    db["t"].insert({"name": "x"})
    db.close()
    code = (
        "import os, sys; from pathlib import Path\n"
        "from fieldkit.store.connection import connect\n"
        "from fieldkit.errors import StoreDamaged\n"
        f"try:\n    connect(Path({str(tmp_path / 's.db')!r}), os.urandom(32))\n"
        "except StoreDamaged:\n    print('damaged')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "damaged"
    assert result.stderr == ""


@pytest.mark.parametrize("field", ["salt", "wrapped_key", "nonce", "params"])
def test_tampered_sidecar_is_refused(tmp_path: Path, field: str):
    _new(tmp_path)
    path = tmp_path / "s.keys"
    doc = json.loads(path.read_text())
    if field == "params":
        doc["params"]["iterations"] += 1
    else:
        raw = bytearray(__import__("base64").b64decode(doc[field]))
        raw[0] ^= 1
        doc[field] = __import__("base64").b64encode(bytes(raw)).decode()
    path.write_text(json.dumps(doc))
    with pytest.raises((WrongPassphrase, StoreDamaged)):
        keys.unlock_keyfile(path, "correct horse battery")


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b"x" * 100_000, b'{"format": 1}'])
def test_garbage_sidecar_is_damage(tmp_path: Path, content: bytes):
    (tmp_path / "s.keys").write_bytes(content)
    with pytest.raises(StoreDamaged):
        keys.unlock_keyfile(tmp_path / "s.keys", "correct horse battery")


def test_hostile_kdf_parameters_are_refused_before_deriving(tmp_path: Path):
    _new(tmp_path)
    path = tmp_path / "s.keys"
    doc = json.loads(path.read_text())
    doc["params"]["memory_kib"] = 1 << 40
    path.write_text(json.dumps(doc))
    with pytest.raises(StoreDamaged):
        keys.unlock_keyfile(path, "correct horse battery")


def test_missing_sidecar(tmp_path: Path):
    with pytest.raises(StoreMissing):
        keys.unlock_keyfile(tmp_path / "none.keys", "correct horse battery")


def test_sidecar_is_private(tmp_path: Path):
    _new(tmp_path)
    assert (tmp_path / "s.keys").stat().st_mode & 0o077 == 0


def test_flipped_bytes_in_the_store_are_damage(tmp_path: Path):
    key, db = _new(tmp_path)
    migrate(db)
    db["t"].insert_all({"n": i, "pad": "y" * 200} for i in range(2000))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    path = tmp_path / "s.db"
    data = bytearray(path.read_bytes())
    for offset in range(4096 * 3, len(data), 4096 * 7):
        data[offset + 100] ^= 0xFF
    path.write_bytes(bytes(data))
    db = connect(path, key)
    with pytest.raises(Exception) as info:
        list(db["t"].rows)
    assert is_store_damage(info.value)


def test_flipped_first_page_is_damage_at_open(tmp_path: Path):
    key, db = _new(tmp_path)
    db["t"].insert({"n": 1})
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    path = tmp_path / "s.db"
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(StoreDamaged):
        connect(path, key)


def test_integrity_check_of_a_sound_store_is_empty(tmp_path: Path):
    _, db = _new(tmp_path)
    migrate(db)
    assert integrity_errors(db) == []


def test_passphrase_change_rewraps_the_same_key(tmp_path: Path):
    key, db = _new(tmp_path)
    db["t"].insert({"n": 1})
    db.close()
    keys.change_passphrase(tmp_path / "s.keys", "correct horse battery", "another long phrase")
    with pytest.raises(WrongPassphrase):
        keys.unlock_keyfile(tmp_path / "s.keys", "correct horse battery")
    assert keys.unlock_keyfile(tmp_path / "s.keys", "another long phrase") == key
    with pytest.raises(WrongPassphrase):
        keys.change_passphrase(tmp_path / "s.keys", "wrong one!", "yet another phrase")
    with pytest.raises(ValidationError) as info:
        keys.change_passphrase(tmp_path / "s.keys", "another long phrase", "short")
    assert "8" in info.value.message


def test_calibration_reaches_the_target(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FIELDKIT_KDF")
    params = keys.calibrate(0.05)
    assert params.memory_kib >= 65536 and params.iterations >= 1


def test_migrations_from_empty_and_rerun(tmp_path: Path):
    _, db = _new(tmp_path)
    migrate(db)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = set(db.table_names())
    migrate(db)
    assert db.execute("PRAGMA user_version").fetchone()[0] == version >= 1
    assert set(db.table_names()) == tables
    assert {"changes", "persons", "triage_events", "meta"} <= tables


def test_creating_over_an_existing_store_is_refused(tmp_path: Path):
    key, db = _new(tmp_path)
    db["t"].insert({"n": 1})
    db.close()
    with pytest.raises(FieldkitError):
        connect(tmp_path / "s.db", os.urandom(32), create=True)


@pytest.mark.parametrize(
    ("error", "said"),
    [
        ("database or disk is full", "est plein ou défaillant"),
        ("disk I/O error", "est plein ou défaillant"),
        ("attempt to write a readonly database", "en lecture seule"),
        ("unable to open database file", "en lecture seule"),
        ("database is locked", "sont occupées"),
    ],
)
def test_a_full_disk_or_a_read_only_folder_is_not_called_damage(
    tmp_path: Path, error: str, said: str
) -> None:
    from fieldkit.store import connection

    exc = connection._dbapi.OperationalError(error)
    told = connection.not_damaged(exc, tmp_path / "station.db")
    assert told is not None and said in told.message
    assert "endommagé" not in told.message
    assert (
        connection.not_damaged(connection._dbapi.DatabaseError("file is not a database"), tmp_path)
        is None
    )
