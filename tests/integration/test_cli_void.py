"""`fieldkit person delete ID` and `fieldkit person restore ID`, run as real subprocesses on real
encrypted stations: one sentence on refusal, the documented exit codes, the author recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldkit.domain.changes import DELETED
from fieldkit.services.station import open_station
from fieldkit.store import queries
from tests.conftest import PASSPHRASE, env_with_passphrase
from tests.integration.test_cli import fieldkit

NUMBER = "FR075BSPP2026TR000123"
OTHER = "FR075BSPP2026TR000124"


def init(home: Path, role: str, name: str) -> None:
    result = fieldkit(
        "init", "--home", str(home), "--role", role, "--station", name, "--incident", "INC-1"
    )
    assert result.returncode == 0, result.stderr


def add(home: Path, number: str, category: str = "UA") -> str:
    result = fieldkit("person", "add", "--home", str(home), "--nf399", number, "--triage", category)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def total(home: Path) -> int:
    result = fieldkit("bilan", "--home", str(home), "--json")
    assert result.returncode == 0, result.stderr
    return int(json.loads(result.stdout)["total"])


def one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def pma(tmp_path: Path) -> Path:
    home = tmp_path / "pma"
    init(home, "pma", "PMA-1")
    return home


def test_delete_then_restore_by_id_and_by_number_with_the_author(pma: Path):
    kept = add(pma, NUMBER)
    phantom = add(pma, OTHER, "UR")
    env = env_with_passphrase(FIELDKIT_OPERATOR="Dr Void")
    deleted = fieldkit("person", "delete", "--home", str(pma), phantom, env=env)
    assert deleted.returncode == 0, deleted.stderr
    assert OTHER in deleted.stdout and "Dr Void" in deleted.stdout
    assert total(pma) == 1
    again = fieldkit("person", "delete", "--home", str(pma), phantom, env=env)
    assert again.returncode == 2
    assert "déjà" in one_sentence(again.stderr)
    restored = fieldkit("person", "restore", "--home", str(pma), OTHER, env=env)  # by number
    assert restored.returncode == 0, restored.stderr
    assert total(pma) == 2
    by_number = fieldkit("person", "delete", "--home", str(pma), NUMBER, env=env)
    assert by_number.returncode == 0, by_number.stderr
    assert total(pma) == 1
    store = open_station(pma, PASSPHRASE)
    try:
        assert queries.lifecycle_change(store.db, phantom, DELETED, False)[0] == "Dr Void"
        assert queries.lifecycle_change(store.db, kept, DELETED, True)[0] == "Dr Void"
    finally:
        store.close()


def test_refusals_are_one_sentence_with_their_exit_code(pma: Path, tmp_path: Path):
    person_id = add(pma, NUMBER)
    unknown = fieldkit("person", "delete", "--home", str(pma), "no-such-person")
    assert unknown.returncode == 7
    one_sentence(unknown.stderr)
    not_voided = fieldkit("person", "restore", "--home", str(pma), person_id)
    assert not_voided.returncode == 2
    assert "rien à rétablir" in one_sentence(not_voided.stderr)
    caf = tmp_path / "caf"
    init(caf, "caf", "CAF-1")
    denied = fieldkit("person", "delete", "--home", str(caf), person_id)
    assert denied.returncode == 6
    one_sentence(denied.stderr)
    assert total(pma) == 1


def test_restore_is_refused_when_the_number_was_counted_again(pma: Path):
    first = add(pma, NUMBER)
    assert fieldkit("person", "delete", "--home", str(pma), first).returncode == 0
    second = add(pma, NUMBER, "UR")  # the real person wearing that bracelet, counted since
    assert second != first
    refused = fieldkit("person", "restore", "--home", str(pma), first)
    assert refused.returncode == 2
    assert NUMBER in one_sentence(refused.stderr)
    assert total(pma) == 1


def test_help_names_the_commands():
    result = fieldkit("person", "--help")
    assert result.returncode == 0
    assert "delete" in result.stdout and "restore" in result.stdout
