"""SI-VIC cross-check: importing hospital lists (good rows kept, bad rows named) and the report."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fieldkit.errors import PermissionDenied, ValidationError
from fieldkit.services.audit import list_reads
from fieldkit.services.sivic import (
    MAX_REPORTED_ERRORS,
    admissions,
    cross_check,
    import_admissions,
)
from fieldkit.store.store import Store
from tests.conftest import env_with_passphrase
from tests.reports.conftest import AUTHOR, Result, count, run_cli

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
N1, N2, N3, N9 = (f"FR075BSPP2026TR00000{i}" for i in (1, 2, 3, 9))


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def imported(store: Store, path: Path):  # noqa: ANN201
    return import_admissions(store, AUTHOR, path, now=NOW)


def test_french_headers_semicolons_utf8_bom(ciav: Store, tmp_path: Path):
    csv_text = (
        "N° SINUS;Nom;Prénom;Date de naissance;Établissement;Date d'admission;Service\r\n"
        f"{N1};Benali;Yasmine;02/04/1990;HEGP;25/11/2026 01:10;Réa\r\n"
        ";Müller-Ñúñez;Zoé;1985-12-31;Pitié-Salpêtrière;2026-11-25T00:55:00Z;Urgences\r\n"
    )
    result = imported(ciav, write(tmp_path / "a.csv", "\ufeff" + csv_text))
    assert (result.imported, result.refused, result.errors) == (2, 0, [])
    assert result.ignored_columns == ["Service"]
    rows = admissions(ciav)
    assert rows[0]["nf399"] == N1 and rows[0]["birth_date"] == "1990-04-02"
    assert rows[1]["family_name"] == "Müller-Ñúñez" and rows[1]["hospital"] == "Pitié-Salpêtrière"
    assert rows[1]["admitted_at"] == "2026-11-25T00:55:00Z"


def test_english_headers_commas_latin1(ciav: Store, tmp_path: Path):
    csv_text = (
        "Family name,Given names,Date of birth,Hospital,Admission date,Victim number\n"
        "Lefèvre,Anaïs,1970-01-01,Hôpital Bégin,2026-11-25,\n"
    )
    result = imported(ciav, write(tmp_path / "b.csv", csv_text, "latin-1"))
    assert (result.imported, result.refused) == (1, 0)
    row = admissions(ciav)[0]
    assert (row["family_name"], row["given_names"], row["hospital"]) == (
        "Lefèvre", "Anaïs", "Hôpital Bégin",
    )  # fmt: skip
    assert row["admitted_at"] == "2026-11-25" and row["nf399"] is None


def test_bad_rows_are_named_by_line_and_the_rest_is_imported(ciav: Store, tmp_path: Path):
    first = write(tmp_path / "first.csv", f"nf399;nom\n{N3};Durand\n")
    assert imported(ciav, first).imported == 1
    csv_text = (
        "nf399;nom;prenom;date de naissance;etablissement;date d'admission\n"
        f"{N1};Benali;Yasmine;1990-04-02;HEGP;25/11/2026 01:10\n"
        "NOT-A-NUMBER;Martin;Léa;;HEGP;\n"
        ";Inconnu;;;;\n"
        f"{N2};Bad\x1bname;;;HEGP;\n"
        f"{N2};Dupont;;31/02/1990;HEGP;\n"
        f"{N2};Dupont;;;HEGP;2030-01-01 10:00\n"
        f"{N2};Dupont;;;{'H' * 5000};\n"
        f'{N2};"Dupont;;\n'
        "\n"
        f"{N2};Dupont;Jean;;Bichat;25/11/2026 02:00\n"
    )
    result = imported(ciav, write(tmp_path / "c.csv", csv_text))
    assert result.imported == 3
    lines = [error.split(":")[0].strip() for error in result.errors]
    assert lines == [f"Ligne {n}" for n in (3, 4, 5, 6, 7, 8)], result.errors
    assert result.refused == 6
    for error in result.errors:
        assert "\n" not in error and error.endswith(".")
    # The row with a stray quote is kept (the quote takes the rest of its own line only).
    assert {r["nf399"] for r in admissions(ciav)} == {N1, N2, N3}
    assert len(admissions(ciav)) == 4


def test_reimport_adds_nothing(ciav: Store, tmp_path: Path):
    path = write(
        tmp_path / "d.csv", f"nf399;nom;etablissement\n{N1};Benali;HEGP\n{N1};Benali;HEGP\n"
    )
    result = imported(ciav, path)
    assert (result.imported, result.duplicates) == (1, 1)
    again = imported(ciav, path)
    assert (again.imported, again.duplicates) == (0, 2)
    assert len(admissions(ciav)) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "vide"),
        (b"a;b;c\n1;2;3\n", "en-tête"),
        (b"\x00\x01\x02binary\x00", "CSV"),
        (b"nf399;nom\n" + b"x" * 5000 + b"\n", None),
    ],
)
def test_hostile_files_are_refused_whole_or_bounded(
    ciav: Store, tmp_path: Path, content: bytes, message: str | None
):
    path = tmp_path / "e.csv"
    path.write_bytes(content)
    if message is None:
        result = imported(ciav, path)
        assert (result.imported, result.refused) == (0, 1)
        return
    with pytest.raises(ValidationError) as caught:
        imported(ciav, path)
    assert message in caught.value.message or message in caught.value.message.lower()


def test_huge_file_refused_before_reading(ciav: Store, tmp_path: Path, monkeypatch):
    from fieldkit.services import sivic

    monkeypatch.setattr(sivic, "MAX_FILE_BYTES", 1000)
    path = write(tmp_path / "f.csv", "nf399;nom\n" + f"{N1};Benali\n" * 200)
    with pytest.raises(ValidationError, match="Mo|MB"):
        imported(ciav, path)
    assert admissions(ciav) == []


def test_many_bad_rows_report_a_bounded_list(ciav: Store, tmp_path: Path):
    path = write(tmp_path / "g.csv", "nf399;nom\n" + "BAD;Benali\n" * 300 + f"{N1};Benali\n")
    result = imported(ciav, path)
    assert result.imported == 1 and result.refused == 300
    assert len(result.errors) == MAX_REPORTED_ERRORS


def test_only_the_ciav_imports(pma: Store, tmp_path: Path):
    with pytest.raises(PermissionDenied):
        imported(pma, write(tmp_path / "h.csv", f"nf399;nom\n{N1};Benali\n"))


def test_cross_check_three_lists(ciav: Store, tmp_path: Path):
    admitted_by_number = count(
        ciav, nf399=N1, category="UA", family_name="Benali", destination="HEGP"
    )
    admitted_by_name = count(
        ciav, nf399=N2, category="UR", family_name="Müller", given_names="Zoé",
        birth_date="1985-12-31", destination="Pitié",
    )  # fmt: skip
    not_admitted = count(ciav, nf399=N3, category="UR", family_name="Durand", destination="Bichat")
    count(ciav, category="IMPLIQUE", family_name="Sansdest")  # not evacuated: in no list
    count(ciav, category="DCD", destination="IML")  # DCD: not expected at a hospital
    csv_text = (
        "numero;nom;prenom;ddn;hopital;admission\n"
        f"{N1};BENALI;;;HEGP;25/11/2026 01:10\n"
        ";MULLER;Zoe;31/12/1985;Pitié-Salpêtrière;25/11/2026 01:20\n"
        ";Inconnu;;;Bégin;25/11/2026 02:00\n"
        f"{N9};Martin;Léa;;Bégin;25/11/2026 02:05\n"
    )
    assert imported(ciav, write(tmp_path / "i.csv", csv_text)).imported == 4
    report = cross_check(ciav, "agent-9")
    assert report.admissions == 4
    admitted = {r["person_id"]: r["matched_by"] for r in report.counted_and_admitted}
    assert admitted == {admitted_by_number: "nf399", admitted_by_name: "name_birth_date"}
    assert [r["person_id"] for r in report.evacuated_not_admitted] == [not_admitted]
    unknown = report.admitted_without_field_number
    assert [(r["nf399"], r["family_name"], r["line"]) for r in unknown] == [
        (None, None, 4),
        (N9, "Martin", 5),
    ]
    # Every person shown was recorded in the audit of reads.
    read = {r.person_id for r in list_reads(ciav, operator="agent-9")}
    assert read == {admitted_by_number, admitted_by_name, not_admitted}


def test_same_name_and_birth_date_twice_is_not_guessed(ciav: Store, tmp_path: Path):
    count(ciav, category="UR", family_name="Martin", given_names="Léa", birth_date="1990-01-01")
    count(ciav, category="UR", family_name="Martin", given_names="Léa", birth_date="1990-01-01")
    imported(ciav, write(tmp_path / "j.csv", "nom;prenom;ddn\nMartin;Léa;01/01/1990\n"))
    report = cross_check(ciav, "agent")
    assert report.counted_and_admitted == []
    assert len(report.admitted_without_field_number) == 1


def test_cli_import_and_report(tmp_path: Path):
    home = tmp_path / "ciav"
    env = env_with_passphrase(FIELDKIT_OPERATOR="agent-cli")

    def run(*args: str) -> Result:
        return run_cli(*args, "--home", str(home), env=env)

    assert run("init", "--role", "ciav", "--station", "CIAV-1", "--incident", "I").exit_code == 0
    added = run("person", "add", "--nf399", N1, "--triage", "UA", "--destination", "HEGP")
    assert added.exit_code == 0, added.stderr
    person_id = added.stdout.strip()
    path = write(tmp_path / "k.csv", f"nf399;nom;etablissement\n{N1};Benali;HEGP\nBAD;X;Y\n")
    result = run("sivic", "import", str(path))
    assert result.exit_code == 2
    assert "1 admissions importées" in result.stdout or "1 admission" in result.stdout
    assert result.stderr.strip().startswith("Ligne 3")
    report = run("sivic", "report", "--json")
    assert report.exit_code == 0, report.stderr
    data = json.loads(report.stdout)
    assert [r["person_id"] for r in data["counted_and_admitted"]] == [person_id]
    text = run("sivic", "report")
    assert "Comptés et admis: 1" in text.stdout and N1 in text.stdout
    audit = run("audit", "--person", person_id, "--json")
    reads = json.loads(audit.stdout)
    assert reads and reads[0]["operator"] == "agent-cli" and reads[0]["person_id"] == person_id
    missing = run("sivic", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code != 0 and len(missing.stderr.strip().splitlines()) == 1


def test_utf16_tab_separated_from_a_spreadsheet(ciav: Store, tmp_path: Path):
    text = "Numéro SINUS\tNom\tPrénom\tHôpital\r\nFR075APHP2026HP000012\tÇelik\tŞule\tBégin\r\n"
    path = tmp_path / "u16.txt"
    path.write_bytes(text.encode("utf-16"))  # with its BOM, as spreadsheets write it
    result = imported(ciav, path)
    assert (result.imported, result.refused) == (1, 0), result.errors
    row = admissions(ciav)[0]
    assert (row["nf399"], row["family_name"], row["given_names"], row["hospital"]) == (
        "FR075APHP2026HP000012", "Çelik", "Şule", "Bégin",
    )  # fmt: skip


def test_a_line_separator_inside_a_cell_does_not_split_the_row(ciav: Store, tmp_path: Path):
    csv_text = (
        "nf399;nom;prenom;etablissement;date d'admission\n"
        f"{N1};Du\u2028pont;Jean;HEGP;25/11/2026 01:10\n"
        f"{N2};Martin;Léa;HEGP;0001-01-01T00:00:00+05:00\n"
    )
    result = imported(ciav, write(tmp_path / "s.csv", csv_text))
    assert result.imported == 0 and result.refused == 2, result.errors
    assert result.errors[0].startswith("Ligne 2")  # the whole row, refused for its character
    assert result.errors[1].startswith("Ligne 3") and "pas comprise" in result.errors[1]
    assert admissions(ciav) == []
