"""Audit of reads at CAF and CIAV stations: who read which person record, and when."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from fieldkit.errors import ValidationError
from fieldkit.services.audit import count_reads, list_reads, record_read, record_reads
from fieldkit.store.store import Store


def test_reads_at_the_ciav_are_recorded_newest_first(ciav: Store):
    at = datetime(2026, 11, 25, 13, 5, 7, tzinfo=UTC)
    assert record_read(ciav, "agent-1", "p-1", "fiche", at=at)
    assert record_read(ciav, "agent-2", "p-2", "appel famille")
    assert record_read(ciav, "agent-1", "p-1", "fiche")
    reads = list_reads(ciav)
    assert [(r.operator, r.person_id) for r in reads] == [
        ("agent-1", "p-1"),
        ("agent-2", "p-2"),
        ("agent-1", "p-1"),
    ]
    first = reads[-1]
    assert first.at == "2026-11-25T13:05:07Z"
    assert (first.station, first.role, first.purpose) == ("CIAV-1", "ciav", "fiche")
    assert [r.person_id for r in list_reads(ciav, person_id="p-2")] == ["p-2"]
    assert len(list_reads(ciav, operator="agent-1")) == 2
    assert count_reads(ciav) == 3 and count_reads(ciav, "p-1") == 2


def test_reads_at_the_caf_are_recorded_in_batches(caf: Store):
    assert record_reads(caf, "accueil-3", ["a", "b", "c"], "liste") == 3
    assert {r.person_id for r in list_reads(caf)} == {"a", "b", "c"}


def test_other_roles_are_not_audited(pma: Store):
    assert not record_read(pma, "secouriste", "p-1", "fiche")
    assert list_reads(pma) == []


def test_the_audit_is_append_only(ciav: Store):
    record_read(ciav, "agent-1", "p-1", "fiche")
    with pytest.raises(Exception, match="append-only"):
        ciav.db.execute("UPDATE audit_reads SET operator = 'someone else'")
    with pytest.raises(Exception, match="append-only"):
        ciav.db.execute("DELETE FROM audit_reads")
    assert [r.operator for r in list_reads(ciav)] == ["agent-1"]


@pytest.mark.parametrize(
    ("operator", "person_id", "purpose"),
    [("", "p-1", None), ("agent\x1b[31m", "p-1", None), ("agent", "", None),
     ("agent", "p-1", "x" * 500), ("agent", "p\n1", None)],
)  # fmt: skip
def test_bad_values_are_refused_and_nothing_is_recorded(
    ciav: Store, operator: str, person_id: str, purpose: str | None
):
    with pytest.raises(ValidationError):
        record_read(ciav, operator, person_id, purpose)
    assert count_reads(ciav) == 0


def test_a_bad_id_in_a_batch_records_none_of_it(ciav: Store):
    with pytest.raises(ValidationError):
        record_reads(ciav, "agent", ["ok-1", "ok-2", "bad\x00"], "liste")
    assert count_reads(ciav) == 0


def test_cli_audit_lists_reads_and_shows_controls_escaped(tmp_path):
    from tests.conftest import env_with_passphrase
    from tests.reports.conftest import run_cli

    home = tmp_path / "ciav"
    h = ("--home", str(home))
    env = env_with_passphrase(FIELDKIT_OPERATOR="agent-42")
    assert run_cli("init", *h, "--role", "ciav", "--station", "CIAV-1", "--incident", "I",
                   env=env).exit_code == 0  # fmt: skip
    assert "Aucune consultation" in run_cli("audit", *h, env=env).stdout
    person_id = run_cli("person", "add", *h, "--triage", "UR", env=env).stdout.strip()
    assert run_cli("export", *h, "--format", "pfif", env=env).exit_code == 0
    listed = run_cli("audit", *h, "--person", person_id, env=env)
    assert listed.exit_code == 0
    assert person_id in listed.stdout and "agent-42" in listed.stdout
    assert "Export PFIF" in listed.stdout
    assert run_cli("audit", *h, "--person", "someone-else", env=env).stdout.startswith("Aucune")


def test_csv_and_jsonl_exports_at_the_caf_and_ciav_are_audited(tmp_path):
    from tests.conftest import env_with_passphrase
    from tests.reports.conftest import run_cli

    env = env_with_passphrase(FIELDKIT_OPERATOR="agent-5")
    for role in ("ciav", "pma"):
        h = ("--home", str(tmp_path / role))
        assert run_cli("init", *h, "--role", role, "--station", "S-1", "--incident", "I",
                       env=env).exit_code == 0  # fmt: skip
        ids = {run_cli("person", "add", *h, "--triage", t, env=env).stdout.strip()
               for t in ("UA", "UR")}  # fmt: skip
        for fmt in ("csv", "jsonl"):
            assert run_cli("export", *h, "--format", fmt, env=env).exit_code == 0
        reads = json.loads(run_cli("audit", *h, "--json", env=env).stdout)
        if role == "ciav":
            assert len(reads) == 4 and {r["person_id"] for r in reads} == ids
            assert {r["purpose"] for r in reads} == {"Export (csv)", "Export (jsonl)"}
        else:
            assert reads == []
