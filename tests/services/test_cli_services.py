"""The commands of the field services, run as real subprocesses on real encrypted stations."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import env_with_passphrase

NUMBER = "FR075BSPP2026TR000123"


def fieldkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``fieldkit`` with the service commands registered (``python -m fieldkit.cli_services``)."""
    return subprocess.run(
        [sys.executable, "-m", "fieldkit.cli_services", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else env_with_passphrase(),
        timeout=60,
    )


def ok(*args: str) -> str:
    result = fieldkit(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def refused(*args: str, code: int | None = None) -> str:
    result = fieldkit(*args)
    assert result.returncode != 0, result.stdout
    if code is not None:
        assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def init(home: Path, role: str, name: str) -> str:
    return ok("init", "--home", str(home), "--role", role, "--station", name, "--incident", "INC-1")


def test_pump_issues_a_certificate_that_verifies_offline(tmp_path: Path):
    home = tmp_path / "pump"
    init(home, "pump", "PUMP-1")
    h = ("--home", str(home))
    person_id = ok("person", "register", *h, "--nf399", NUMBER, "--family-name", "Benali")
    assert person_id == f"nf-{NUMBER}"
    ok("declaration", "add", *h, "--nf399", NUMBER, "--text", "En terrasse", "--clinician", "Dr M")
    line = refused("declaration", "add", *h, "--person", person_id, "--text", "Ailleurs",
                   "--clinician", "Dr M", code=2)  # fmt: skip
    assert "déjà une première déclaration" in line
    ok("care", "add", *h, "--nf399", NUMBER, "--care", "Écoute", "--orientation", "CMP")
    out = tmp_path / "certificat.pdf"
    certificate_id = ok(
        "certificate", "issue", *h, "--nf399", NUMBER, "--clinician", "Dr Martin",
        "--registration", "10001234567", "--itt", "2", "--findings", "Sidération",
        "--out", str(out),
    )  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{32}", certificate_id)
    data = out.read_bytes()

    verified = ok("certificate", "verify", *h, str(out))
    assert verified.startswith(f"Certificat {certificate_id} valide")
    payload = re.search(rb"/Keywords \((FKC1\.[A-Za-z0-9_-]+)\)", data)
    assert payload is not None
    assert ok("certificate", "verify", *h, payload.group(1).decode()).startswith("Certificat")

    altered = tmp_path / "altered.pdf"
    altered.write_bytes(data[:800] + bytes([data[800] ^ 0x20]) + data[801:])
    line = refused("certificate", "verify", *h, str(altered), code=9)
    assert line.startswith("Erreur : Le fichier ne correspond pas à sa signature")

    # Offline, without the station: the keys it was given (here another station's only).
    station_id, key = ok("certificate", "key", *h).split()
    other = tmp_path / "other"
    init(other, "police", "POLICE-1")
    other_id, other_key = ok("certificate", "key", "--home", str(other)).split()
    signers = tmp_path / "signers.json"
    signers.write_text(json.dumps({other_id: other_key}))
    line = refused("certificate", "verify", "--signers", str(signers), str(out), code=9)
    assert "ne fait pas partie des postes connus" in line and station_id in line
    line = refused("certificate", "verify", "--home", str(other), payload.group(1).decode())
    assert "ne fait pas partie des postes connus" in line
    ok("certificate", "trust", "--home", str(other), station_id, key)
    assert ok("certificate", "verify", "--home", str(other), str(out)).startswith("Certificat")
    signers.write_text(json.dumps({station_id: key}))
    ok("certificate", "verify", "--signers", str(signers), "--lang", "en", str(out))

    assert "Ce n'est pas un code" in refused("certificate", "verify", *h, "FKC1.xyz")
    assert "Impossible de lire" in refused("certificate", "verify", *h, str(tmp_path / "none"))
    signers.write_text("[1, 2]")
    assert "objet JSON" in refused("certificate", "verify", "--signers", str(signers), str(out))


def test_police_witnesses_and_death_stages(tmp_path: Path):
    home = tmp_path / "police"
    init(home, "police", "POLICE-1")
    h = ("--home", str(home))
    ok("person", "add", *h, "--nf399", NUMBER, "--triage", "DCD", "--family-name", "Martin")
    witness_id = ok(
        "witness", "add", *h, "--family-name", "Okafor", "--given-names", "Chidi",
        "--phone", "06 12 34 56 78", "--where", "Terrasse", "--saw", "Un camion",
        "--left-scene", "--recontact", "--oriented-to", "CAF",
    )  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{32}", witness_id)
    ok("witness", "add", *h, "--family-name", "Stay", "--where", "Bar")
    rows = [json.loads(line) for line in ok("witness", "recontact", *h, "--json").splitlines()]
    assert [r["family_name"] for r in rows] == ["Okafor"] and rows[0]["phone"] == "06 12 34 56 78"
    line = refused(
        "witness", "add", *h, "--family-name", "X pouvant être Dupont", "--where", "Bar", code=2
    )
    assert "supposition" in line
    assert "nom" in refused("witness", "add", *h, "--where", "Bar", code=2)

    stage = ("person", "stage", *h, "--nf399", NUMBER)
    line = refused(*stage, "announced", "--officer", "OPJ Leroy", code=2)
    assert "avant que la commission d'identification" in line
    assert "identifié" in ok(*stage, "identified", "--officer", "Cdt Durand")
    assert "annoncé par OPJ Leroy" in ok(*stage, "announced", "--officer", "OPJ Leroy")
    assert "déjà enregistré" in refused(*stage, "announced", "--officer", "OPJ Leroy")
    assert "Indiquez soit" in refused("person", "stage", *h, "identified", "--officer", "A")

    ok("person", "add", *h, "--nf399", "FR075BSPP2026TR000124", "--triage", "DCD")
    lead_id = ok("lead", "add", *h, "--nf399", "FR075BSPP2026TR000124",
                 "--identity", "Peut-être Dupont", "--source", "Sa sœur")  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{32}", lead_id)
    line = refused("lead", "add", *h, "--nf399", "FR075BSPP2026TR000999", "--identity", "D",
                   "--source", "S", code=7)  # fmt: skip
    assert "Aucune personne avec le numéro victime" in line


def test_police_commands_refused_at_the_pump(tmp_path: Path):
    home = tmp_path / "pump"
    init(home, "pump", "PUMP-1")
    h = ("--home", str(home))
    ok("person", "register", *h, "--nf399", NUMBER)
    line = refused("person", "stage", *h, "--nf399", NUMBER, "identified", "--officer", "A",
                   code=6)  # fmt: skip
    assert "Seul un poste de police" in line
    assert "Seul un poste de police" in refused(
        "witness", "add", *h, "--family-name", "A", "--where", "B", code=6
    )
    line = refused("certificate", "issue", *h, "--nf399", NUMBER, "--clinician", "Dr M",
                   "--registration", "1", "--itt", "1", "--out", str(tmp_path / "c.pdf"))  # fmt: skip
    assert "première déclaration" in line
    assert not (tmp_path / "c.pdf").exists()


def test_help_of_every_service_command():
    for command in (
        ("certificate", "verify"),
        ("certificate", "issue"),
        ("witness", "add"),
        ("person", "stage"),
        ("person", "register"),
        ("declaration", "add"),
        ("lead", "add"),
    ):
        result = fieldkit(*command, "--help")
        assert result.returncode == 0 and "--home" in result.stdout, command


def test_the_caf_records_and_lists_enquiries_from_the_command_line(tmp_path: Path):
    home = tmp_path / "caf"
    init(home, "caf", "CAF-1")
    h = ("--home", str(home))
    enquiry_id = ok("enquiry", "add", *h, "--enquirer-name", "Mme Benali", "--relation", "mère",
                    "--phone", "+33 6 12 34 56 78", "--sought-family-name", "Benali",
                    "--sought-given-names", "Karim", "--sought-age", "30-35")  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{32}", enquiry_id)
    # A family that cannot be called back: one sentence, nothing written.
    line = refused("enquiry", "add", *h, "--enquirer-name", "M. Petit",
                   "--sought-family-name", "Petit", code=2)  # fmt: skip
    assert "rappeler" in line
    listed = [json.loads(row) for row in ok("enquiry", "list", *h, "--json").splitlines()]
    assert [row["id"] for row in listed] == [enquiry_id]
    assert listed[0]["sought_given_names"] == "Karim" and listed[0]["status"] == "open"
    assert (listed[0]["outcome"], listed[0]["outcome_text"]) == (
        "none",
        "Pas encore d'information.",
    )
    assert listed[0]["reference"] == "CAF-1-0001"
    assert ok("enquiry", "list", *h).split("\t")[:4] == [
        enquiry_id,
        "CAF-1-0001",
        "Benali Karim",
        "open",
    ]


def test_a_pma_may_neither_record_nor_read_enquiries(tmp_path: Path):
    home = tmp_path / "pma"
    init(home, "pma", "PMA-1")
    h = ("--home", str(home))
    refused("enquiry", "add", *h, "--enquirer-name", "A", "--phone", "+33 6 12 34 56 78",
            "--sought-family-name", "Benali")  # fmt: skip
    refused("enquiry", "list", *h)
