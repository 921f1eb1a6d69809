"""Hourly bilan: snapshots in the store, the terminal chart, CSV and PDF, and the commands."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fieldkit.services import bilan_history as bh
from fieldkit.store.queries import Bilan
from fieldkit.store.store import Store
from tests.conftest import env_with_passphrase
from tests.reports.conftest import count, run_cli

T0 = datetime(2026, 11, 25, 21, 40, tzinfo=UTC)


def snap(hour: datetime, **counts: int) -> bh.Snapshot:
    by_category = {c: counts.get(c, 0) for c in ("UA", "UR", "IMPLIQUE", "DCD")}
    bilan = Bilan(total=sum(by_category.values()), by_category=by_category)
    return bh.Snapshot(bh.hour_of(hour), bh.hour_of(hour), bilan)


def test_one_snapshot_per_hour_the_last_one_wins(pma: Store):
    count(pma, category="UA", destination="HEGP")
    first = bh.take_snapshot(pma, T0)
    assert first.hour == "2026-11-25T21:00:00Z" and first.bilan.total == 1
    count(pma, category="UR")
    bh.take_snapshot(pma, T0 + timedelta(minutes=15))
    assert bh.ensure_hourly(pma, T0 + timedelta(minutes=18)) is None  # this hour is taken
    count(pma, category="DCD")
    later = bh.ensure_hourly(pma, T0 + timedelta(hours=2))
    assert later is not None and later.hour == "2026-11-25T23:00:00Z"
    history = bh.history(pma)
    assert [s.hour for s in history] == ["2026-11-25T21:00:00Z", "2026-11-25T23:00:00Z"]
    assert [s.bilan.total for s in history] == [2, 3]
    assert history[0].bilan.by_category == {"UA": 1, "UR": 1, "IMPLIQUE": 0, "DCD": 0}
    assert history[1].bilan.by_destination == {"HEGP": 1} and history[1].bilan.evacuated == 1
    assert [s.hour for s in bh.history(pma, since=T0 + timedelta(hours=1))] == [history[1].hour]


def test_series_fills_the_hours_without_snapshot():
    hours, values = bh.series([snap(T0, UA=2), snap(T0 + timedelta(hours=3), UA=5, DCD=1)])
    assert len(hours) == 4
    assert values["UA"] == [2, None, None, 5]
    assert values["DCD"] == [0, None, None, 1]
    assert list(values) == ["UA", "UR", "IMPLIQUE", "DCD"]


def test_sparkline_heights():
    assert bh.sparkline([0, 1, 4, 8, None]) == " ▁▄█·"
    assert bh.sparkline([3, 3]) == "██"
    assert bh.sparkline([]) == ""


def test_chart_is_text_lines_that_fit_the_width():
    snapshots = [snap(T0 + timedelta(hours=h), UA=h, UR=2 * h, IMPLIQUE=h // 2) for h in range(30)]
    lines = bh.render_chart(snapshots, width=60)
    assert all(len(line) <= 60 for line in lines), lines
    assert lines[0].startswith("Bilan par heure")
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert set(rows) == {"UA", "UR", "Impliqué", "DCD", "Total"}
    assert rows["UR"].split()[-3] == "58"  # last value
    assert "█" in rows["UA"] and "▁" in rows["UA"]
    assert rows["DCD"].split()[-3] == "0"
    assert any(ch.isdigit() for ch in lines[-1])  # hour marks
    assert bh.render_chart([]) == ["Aucun bilan horaire enregistré pour l'instant."]


def test_history_csv_for_a_french_spreadsheet(pma: Store):
    count(pma, category="UA", destination="Hôpital Bégin")
    count(pma, category="UR", refinement="U2", destination='=HYPERLINK("x")')
    bh.take_snapshot(pma, T0)
    buffer = io.StringIO()
    assert bh.export_history_csv(bh.history(pma), buffer) == 1
    data = buffer.getvalue()
    assert data.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(data[1:], newline=""), delimiter=";"))
    header, row = rows
    assert header[:8] == ["hour", "taken_at", "total", "evacuated", "UA", "UR", "IMPLIQUE", "DCD"]
    record = dict(zip(header, row, strict=True))
    assert record["hour"] == "2026-11-25T21:00:00Z" and record["total"] == "2"
    assert record["destination: Hôpital Bégin"] == "1" and record["U2"] == "1"
    assert any(h.endswith('=HYPERLINK("x")') for h in header)
    assert all(not cell.startswith("=") for cell in header + row)


def test_pdf_holds_the_bilan_and_the_history(pma: Store, tmp_path: Path):
    count(pma, category="UA", destination="HEGP")
    count(pma, category="IMPLIQUE", family_name="李")
    for hours in range(5):
        bh.take_snapshot(pma, T0 + timedelta(hours=hours))
    out = bh.write_pdf(pma, tmp_path / "sub" / "bilan.pdf", now=T0)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]
    assert len(data) > 2000
    assert not list(out.parent.glob(".*tmp"))


def test_cli_bilan_history_csv_and_pdf(tmp_path: Path):
    home = tmp_path / "st"
    env = env_with_passphrase()
    h = ("--home", str(home))
    assert run_cli("init", *h, "--role", "pma", "--station", "PMA-1", "--incident", "I",
                   env=env).exit_code == 0  # fmt: skip
    assert run_cli("person", "add", *h, "--triage", "UA", env=env).exit_code == 0
    taken = run_cli("bilan", *h, "--snapshot", env=env)
    assert taken.exit_code == 0 and "total 1" in taken.stdout
    chart = run_cli("bilan", *h, "--history", env=env)
    assert chart.exit_code == 0, chart.stderr
    assert "UA" in chart.stdout and "Total" in chart.stdout
    as_json = json.loads(run_cli("bilan", *h, "--history", "--json", env=env).stdout)
    assert len(as_json) == 1 and as_json[0]["by_category"]["UA"] == 1
    out_csv = tmp_path / "history.csv"
    result = run_cli("bilan", *h, "--history", "--csv", str(out_csv), env=env)
    assert result.exit_code == 0 and out_csv.read_bytes().startswith(b"\xef\xbb\xbfhour;")
    out_pdf = tmp_path / "bilan.pdf"
    result = run_cli("bilan", *h, "--pdf", str(out_pdf), env=env)
    assert result.exit_code == 0 and out_pdf.read_bytes().startswith(b"%PDF-")
    refused = run_cli("bilan", *h, "--csv", str(out_csv), env=env)
    assert refused.exit_code == 2 and "--history" in refused.stderr
    plain = json.loads(run_cli("bilan", *h, "--json", env=env).stdout)
    assert plain["by_category"]["UA"] == 1


def test_chart_by_site_and_destination():
    first = bh.Snapshot("2026-11-25T21:00:00Z", "x", Bilan(total=3, by_site={"Bataclan": 3}))
    second = bh.Snapshot(
        "2026-11-25T22:00:00Z", "x", Bilan(total=9, by_site={"Bataclan": 5, "Stade": 4})
    )
    lines = bh.render_chart([first, second], group="by_site", width=70)
    rows = {line.split()[0]: line.split() for line in lines[1:-1] if line.strip()}
    assert rows["Bataclan"][-3] == "5" and rows["Stade"][-3] == "4"
    assert rows["Stade"][1] == "█"  # 0 then 4: a blank then a full block


def test_the_pdf_is_never_renamed_over_a_device_or_a_folder(tmp_path) -> None:
    from fieldkit.errors import FieldkitError
    from fieldkit.services.files import replaceable_target

    for target in (Path("/dev/null"), tmp_path):
        with pytest.raises(FieldkitError) as refused:
            replaceable_target(target)
        assert "n'est pas un fichier ordinaire" in refused.value.message
    assert replaceable_target(tmp_path / "bilan.pdf") == tmp_path / "bilan.pdf"
    assert Path("/dev/null").exists() and not Path("/dev/null").is_file()
