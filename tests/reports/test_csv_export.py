"""The CSV export opens right in a French spreadsheet: UTF-8 with BOM, ';', the expected columns."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fieldkit.services.exchange import CSV_COLUMNS, export_text
from fieldkit.store.store import Store
from tests.conftest import env_with_passphrase
from tests.reports.conftest import count, run_cli

NAMES = ("Müller-Ñúñez", "Éloïse Anaïs", "李小龙", 'Ø\'Brien; "cité"')
EXPECTED_COLUMNS = [
    "id", "nf399", "category", "refinement", "international", "identity", "family_name",
    "given_names", "sex", "birth_date", "apparent_age", "description", "site", "found_place",
    "destination", "vehicle", "departure_time", "death_stage", "created_at", "created_by",
]  # fmt: skip


def read_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM: a spreadsheet would show mojibake"
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_csv_has_bom_semicolons_columns_and_accents(pma: Store):
    count(pma, nf399="FR075BSPP2026TR000001", category="UA", refinement="EU",
          family_name=NAMES[0], given_names=NAMES[1], destination="Hôpital Bégin")  # fmt: skip
    count(pma, category="IMPLIQUE", family_name=NAMES[2], given_names=NAMES[3])
    count(pma, category="UR", x_description={"clothing": "manteau rouge"})
    data = export_text(pma, "csv").encode("utf-8")
    rows = read_rows(data)
    assert rows[0] == EXPECTED_COLUMNS == list(CSV_COLUMNS)
    assert data.splitlines()[0].count(b";") == len(EXPECTED_COLUMNS) - 1
    assert all(len(row) == len(EXPECTED_COLUMNS) for row in rows)
    by_family = {row[6]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    first = by_family[NAMES[0]]
    assert first["given_names"] == NAMES[1]
    assert first["identity"] == f"{NAMES[0]} {NAMES[1]}"
    assert (first["category"], first["refinement"], first["international"]) == (
        "UA",
        "EU",
        "T1 red",
    )
    assert first["destination"] == "Hôpital Bégin"
    assert by_family[NAMES[2]]["given_names"] == NAMES[3]  # the ';' and quotes survive
    x = by_family[""]
    assert x["identity"] == "X" and "manteau rouge" in x["description"]


def test_cli_csv_file_opens_with_accents(tmp_path: Path):
    home, out = tmp_path / "st", tmp_path / "export.csv"
    env = env_with_passphrase()
    assert run_cli("init", "--home", str(home), "--role", "pma", "--station", "PMA-1",
                   "--incident", "I", env=env).exit_code == 0  # fmt: skip
    added = run_cli("person", "add", "--home", str(home), "--triage", "UR",
                    "--family-name", "Lefèvre", "--given-names", "Anaïs", env=env)  # fmt: skip
    assert added.exit_code == 0, added.stderr
    result = run_cli("export", "--home", str(home), "--format", "csv", "--out", str(out), env=env)
    assert result.exit_code == 0, result.stderr
    rows = read_rows(out.read_bytes())
    assert rows[0] == EXPECTED_COLUMNS
    assert rows[1][rows[0].index("identity")] == "Lefèvre Anaïs"
    assert out.read_bytes().endswith(b"\r\n")
