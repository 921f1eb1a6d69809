"""The command line contract, run as a real subprocess on real encrypted files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE, env_with_passphrase

NUMBER = "FR075BSPP2026TR000123"


def fieldkit(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "fieldkit", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else env_with_passphrase(),
        input=input,
        timeout=60,
    )


@pytest.fixture
def station(tmp_path: Path) -> Path:
    home = tmp_path / "pma"
    result = fieldkit(
        "init", "--home", str(home), "--role", "pma", "--station", "PMA-1", "--incident", "INC-1"
    )
    assert result.returncode == 0, result.stderr
    return home


def test_init_add_and_bilan_and_nothing_readable_on_disk(station: Path):
    added = fieldkit(
        "person",
        "add",
        "--home",
        str(station),
        "--nf399",
        NUMBER,
        "--triage",
        "UA",
        "--family-name",
        "Dupont",
    )
    assert added.returncode == 0, added.stderr
    person_id = added.stdout.strip()
    assert person_id.endswith(NUMBER)
    bilan = fieldkit("bilan", "--json", "--home", str(station))
    assert bilan.returncode == 0, bilan.stderr
    counts = json.loads(bilan.stdout)
    assert counts["total"] == 1 and counts["by_category"]["UA"] == 1
    files = [p for p in station.iterdir() if p.name.startswith("station.db")]
    assert any(p.name == "station.db" for p in files)
    for path in files:  # the store, its -wal and -shm if present
        assert b"Dupont" not in path.read_bytes(), path.name
        assert NUMBER.encode() not in path.read_bytes(), path.name


def test_wrong_passphrase_is_one_sentence_and_no_traceback(station: Path):
    env = env_with_passphrase(FIELDKIT_PASSPHRASE="not the passphrase")
    result = fieldkit("bilan", "--home", str(station), env=env)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "phrase secrète" in lines[0].lower()


def test_flipped_bytes_are_reported_as_damage_not_as_an_empty_store(station: Path):
    assert (
        fieldkit(
            "person", "add", "--home", str(station), "--nf399", NUMBER, "--triage", "UR"
        ).returncode
        == 0
    )
    db = station / "station.db"
    data = bytearray(db.read_bytes())
    for offset in range(4096 + 100, 4096 + 164):  # inside page 2
        data[offset] ^= 0xFF
    for offset in range(200, 232):  # and page 1
        data[offset] ^= 0xFF
    db.write_bytes(bytes(data))
    result = fieldkit("bilan", "--json", "--home", str(station))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "endommag" in result.stderr.lower()
    assert '"total": 0' not in result.stdout


def test_invalid_number_is_refused_with_the_expected_shape(station: Path):
    result = fieldkit(
        "person", "add", "--home", str(station), "--nf399", "FR075-12", "--triage", "UA"
    )
    assert result.returncode != 0
    assert "FR075BSPP2026TR000123" in result.stderr  # the message shows the expected shape
    assert "Traceback" not in result.stderr


def test_guessed_identity_is_refused(station: Path):
    result = fieldkit(
        "person",
        "add",
        "--home",
        str(station),
        "--nf399",
        NUMBER,
        "--triage",
        "UA",
        "--family-name",
        "X pouvant être Dupont",
    )
    assert result.returncode != 0
    assert "piste" in result.stderr.lower()


def test_export_csv_and_jsonl_then_import_into_another_station(station: Path, tmp_path: Path):
    assert (
        fieldkit(
            "person",
            "add",
            "--home",
            str(station),
            "--nf399",
            NUMBER,
            "--triage",
            "UA",
            "--refinement",
            "EU",
            "--family-name",
            "Benaïssa",
            "--given-names",
            "Zoé",
        ).returncode
        == 0
    )
    csv_file = tmp_path / "out.csv"
    result = fieldkit("export", "--format", "csv", "--out", str(csv_file), "--home", str(station))
    assert result.returncode == 0, result.stderr
    raw = csv_file.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    header, row = text.splitlines()[:2]
    assert header.split(";")[:3] == ["id", "nf399", "category"]
    assert "Benaïssa" in row and ";UA;EU;T1 red;" in row
    jsonl = fieldkit("export", "--format", "jsonl", "--home", str(station))
    [record] = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert record["family_name"] == "Benaïssa" and record["category"] == "UA"

    other = tmp_path / "ciav"
    assert (
        fieldkit(
            "init",
            "--home",
            str(other),
            "--role",
            "ciav",
            "--station",
            "CIAV",
            "--incident",
            "INC-1",
        ).returncode
        == 0
    )
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl.stdout, encoding="utf-8")
    imported = fieldkit("import", str(source), "--home", str(other))
    assert imported.returncode == 0, imported.stderr
    again = fieldkit("import", str(source), "--home", str(other))  # idempotent
    assert again.returncode == 0, again.stderr
    counts = json.loads(fieldkit("bilan", "--json", "--home", str(other)).stdout)
    assert counts["by_refinement"] == {"EU": 1} and counts["total"] == 1


def test_import_with_a_bad_line_imports_nothing_and_names_the_line(station: Path, tmp_path: Path):
    source = tmp_path / "bad.jsonl"
    source.write_text(
        json.dumps({"nf399": NUMBER, "category": "UA"})
        + "\n"
        + json.dumps({"nf399": "nope", "category": "UA"})
        + "\n",
        encoding="utf-8",
    )
    result = fieldkit("import", str(source), "--home", str(station))
    assert result.returncode != 0
    assert "2" in result.stderr.split(":")[1] or "ligne 2" in result.stderr.lower()
    counts = json.loads(fieldkit("bilan", "--json", "--home", str(station)).stdout)
    assert counts["total"] == 0


def test_no_passphrase_without_a_terminal_is_a_clear_error(station: Path):
    env = env_with_passphrase()
    env.pop("FIELDKIT_PASSPHRASE")
    result = fieldkit("bilan", "--home", str(station), env=env, input="")
    assert result.returncode != 0
    assert "FIELDKIT_PASSPHRASE" in result.stderr


def test_passphrase_file_is_read(station: Path, tmp_path: Path):
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    env = env_with_passphrase()
    env.pop("FIELDKIT_PASSPHRASE")
    result = fieldkit("bilan", "--home", str(station), "--passphrase-file", str(secret), env=env)
    assert result.returncode == 0, result.stderr


def test_english_messages_with_lang_en(station: Path):
    result = fieldkit(
        "person", "add", "--home", str(station), "--lang", "en", "--nf399", "bad", "--triage", "UA"
    )
    assert result.returncode != 0
    assert "Error:" in result.stderr


def test_missing_station_says_how_to_create_one(tmp_path: Path):
    result = fieldkit("bilan", "--home", str(tmp_path / "nothing"))
    assert result.returncode != 0
    assert "fieldkit init" in result.stderr


def test_station_options_before_the_command_are_the_command_s(tmp_path: Path):
    home = tmp_path / "given-first"
    made = fieldkit(
        "--home", str(home), "init", "--role", "pma", "--station", "PMA-1", "--incident", "I"
    )
    assert made.returncode == 0, made.stderr
    assert (home / "station.db").is_file()
    added = fieldkit("--home", str(home), "person", "add", "--nf399", NUMBER, "--triage", "UR")
    assert added.returncode == 0, added.stderr
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE)
    env = env_with_passphrase()
    del env["FIELDKIT_PASSPHRASE"]
    counted = fieldkit(
        "--home", str(home), "--passphrase-file", str(passphrase), "bilan", "--json", env=env
    )
    assert counted.returncode == 0, counted.stderr
    assert json.loads(counted.stdout)["by_category"]["UR"] == 1
    # the command's own option wins over the group's
    other = tmp_path / "other"
    assert fieldkit("--home", str(home), "init", "--home", str(other), "--role", "pma",
                    "--station", "PMA-2", "--incident", "I").returncode == 0  # fmt: skip
    assert (other / "station.db").is_file()


def test_lang_before_the_command_is_the_command_s(tmp_path: Path):
    nowhere = str(tmp_path / "nowhere")
    english = fieldkit("--lang", "en", "bilan", "--home", nowhere)
    assert english.returncode != 0
    assert english.stderr.startswith("Error: ") and "Erreur" not in english.stderr
    french = fieldkit("--lang", "en", "bilan", "--home", nowhere, "--lang", "fr")
    assert french.stderr.startswith("Erreur : ")


def test_a_library_warning_never_reaches_the_terminal():
    code = "import logging, fieldkit; logging.getLogger('fieldkit.sync.agent').warning('noise')"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr == ""


def test_hostile_files_are_refused_in_one_sentence(station: Path, tmp_path: Path):
    import os

    home = ("--home", str(station))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in (str(fifo), "/dev/zero"):
        result = fieldkit("import", *home, target)
        assert result.returncode != 0 and result.stderr.startswith("Erreur : "), result.stderr
        assert "n'est pas un fichier ordinaire" in result.stderr
        assert len(result.stderr.splitlines()) == 1
        verified = fieldkit("certificate", "verify", *home, target)
        assert verified.returncode != 0 and "n'est pas un fichier ordinaire" in verified.stderr
    env = env_with_passphrase()
    del env["FIELDKIT_PASSPHRASE"]
    zero = fieldkit("bilan", *home, "--passphrase-file", "/dev/zero", env=env)
    assert zero.returncode != 0 and "n'est pas un fichier ordinaire" in zero.stderr
    latin1 = tmp_path / "pass.txt"
    latin1.write_bytes("phrase secrète".encode("latin-1"))
    bad = fieldkit("bilan", *home, "--passphrase-file", str(latin1), env=env)
    assert bad.returncode != 0 and "n'est pas du texte UTF-8" in bad.stderr
    nested = tmp_path / "nested.jsonl"
    nested.write_text("[" * 5000 + "]" * 5000 + "\n")
    deep = fieldkit("import", *home, str(nested))
    assert deep.stderr.strip() == "Erreur : La ligne 1 n'est pas du JSON valide.", deep.stderr
    nowhere = fieldkit("export", *home, "--out", str(tmp_path / "missing" / "x.csv"))
    assert nowhere.returncode != 0 and nowhere.stderr.startswith("Erreur : Impossible d'écrire")
    assert "Traceback" not in nowhere.stderr


def test_an_error_never_sends_escape_sequences_to_the_terminal(station: Path, tmp_path: Path):
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text(json.dumps({"nf399": NUMBER, "\x1b[2J\x1b]0;pwned\x07": "x" * 60000}) + "\n")
    result = fieldkit("import", "--home", str(station), str(hostile))
    assert result.returncode != 0
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "\\x1b[2J" in result.stderr
    assert len(result.stderr) < 1000
