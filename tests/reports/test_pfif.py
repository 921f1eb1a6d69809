"""PFIF 1.4 export checked against the rules of the specification and of DOMAIN.md."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import pytest

from fieldkit.errors import ValidationError
from fieldkit.services.audit import list_reads
from fieldkit.services.persons import merge_duplicate
from fieldkit.services.pfif import NAMESPACE, STATUSES, export_pfif, record_id
from fieldkit.services.police import record_death_stage
from fieldkit.store.store import Store
from tests.conftest import env_with_passphrase
from tests.reports.conftest import AUTHOR, Result, count, run_cli

NS = {"pfif": NAMESPACE}
UTC_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
RECORD_ID = re.compile(r"[a-z0-9.-]+\.[a-z0-9-]+/\S+")
PERSON_REQUIRED = ("person_record_id", "source_date", "full_name")
NOTE_REQUIRED = ("note_record_id", "person_record_id", "author_name", "source_date", "text")
DATE_FIELDS = ("entry_date", "source_date", "expiry_date")


def parse(text: str) -> Any:
    return SafeET.fromstring(text.encode("utf-8"))


def export(store: Store, **options: Any) -> tuple[str, Any]:
    buffer = io.StringIO()
    export_pfif(store, buffer, **options)
    text = buffer.getvalue()
    return text, parse(text)


def field(element: Any, name: str) -> str | None:
    found = element.find(f"pfif:{name}", NS)
    return None if found is None else found.text


def persons_by_name(root: Any) -> dict[str, Any]:
    return {field(p, "full_name"): p for p in root.findall("pfif:person", NS)}


def check_pfif_rules(root: Any) -> None:
    """Every rule of PFIF 1.4 this export must keep."""
    assert root.tag == f"{{{NAMESPACE}}}pfif"
    for person in root.findall("pfif:person", NS):
        for name in PERSON_REQUIRED:
            assert field(person, name), f"person without {name}"
        record_id = field(person, "person_record_id")
        assert RECORD_ID.fullmatch(record_id or ""), record_id
        for name in DATE_FIELDS:
            value = field(person, name)
            assert value is None or UTC_DATE.fullmatch(value), (name, value)
        sex = field(person, "sex")
        assert sex in (None, "female", "male", "other")
        birth = field(person, "date_of_birth")
        assert birth is None or re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", birth)
        for note in person.findall("pfif:note", NS):
            for name in NOTE_REQUIRED:
                assert field(note, name), f"note without {name}"
            assert RECORD_ID.fullmatch(field(note, "note_record_id") or "")
            assert field(note, "person_record_id") == record_id
            for name in DATE_FIELDS:
                value = field(note, name)
                assert value is None or UTC_DATE.fullmatch(value), (name, value)
            assert field(note, "status") in (None, *STATUSES)
            assert field(note, "author_made_contact") in (None, "true", "false")


@pytest.fixture
def scene(police: Store) -> dict[str, str]:
    """A police station holding the living, a DCD not announced and a DCD announced."""
    ids = {
        "alive": count(
            police,
            nf399="FR075BSPP2026TR000001",
            category="UA",
            refinement="EU",
            family_name="Benali",
            given_names="Yasmine",
            sex="F",
            birth_date="1990-04-02",
            destination="HEGP",
        ),  # fmt: skip
        "x": count(
            police,
            category="IMPLIQUE",
            apparent_age="35",
            x_description={"clothing": "veste rouge", "hair": "bruns"},
        ),  # fmt: skip
        "dead_not_announced": count(
            police,
            nf399="FR075BSPP2026TR000002",
            category="DCD",
            family_name="Secretname",
            given_names="Hidden",
        ),  # fmt: skip
        "dead_announced": count(
            police,
            nf399="FR075BSPP2026TR000003",
            category="DCD",
            family_name="Durand",
            given_names="Paul",
            sex="M",
        ),  # fmt: skip
    }
    record_death_stage(police, AUTHOR, ids["dead_not_announced"], "identified", "OPJ Martin")
    record_death_stage(police, AUTHOR, ids["dead_announced"], "identified", "OPJ Martin")
    record_death_stage(police, AUTHOR, ids["dead_announced"], "announced", "OPJ Martin")
    return ids


def test_export_keeps_the_pfif_rules(police: Store, scene: dict[str, str]):
    text, root = export(police, domain="pfif.example.org")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    check_pfif_rules(root)
    persons = persons_by_name(root)
    alive = persons["Yasmine Benali"]
    assert field(alive, "person_record_id") == record_id(
        "pfif.example.org", "INC-TEST", scene["alive"]
    )
    assert field(alive, "family_name") == "Benali"
    assert field(alive, "sex") == "female"
    assert field(alive, "date_of_birth") == "1990-04-02"
    note = alive.find("pfif:note", NS)
    assert field(note, "status") == "believed_alive"
    assert field(note, "last_known_location") == "HEGP"
    x = persons["X"]
    assert field(x, "age") == "35"
    assert "veste rouge" in (field(x, "description") or "")
    # Never exported: the triage category, the victim number.
    assert "FR075BSPP2026TR000001" not in text and ">UA<" not in text and "EU" not in text


def test_believed_dead_only_after_the_announcement(police: Store, scene: dict[str, str]):
    text, root = export(police)
    persons = persons_by_name(root)
    assert sorted(persons) == ["Paul Durand", "X", "Yasmine Benali"]
    announced = persons["Paul Durand"]
    statuses = [field(n, "status") for n in announced.findall("pfif:note", NS)]
    assert statuses == ["believed_dead"]
    # DCD (even identified) but not announced: not a word of it in the export.
    assert "Secretname" not in text and scene["dead_not_announced"] not in text
    dead_notes = [
        n for n in root.iter(f"{{{NAMESPACE}}}note") if field(n, "status") == "believed_dead"
    ]
    assert len(dead_notes) == 1
    # Triage DCD alone (no stage at all) is withheld too.
    lone = count(police, category="DCD", family_name="Lonely")
    text, _root = export(police)
    assert "Lonely" not in text and lone not in text


def test_default_domain_and_stable_ids(police: Store, scene: dict[str, str]):
    first, root = export(police)
    ids = [field(p, "person_record_id") for p in root.findall("pfif:person", NS)]
    assert all(i and i.startswith("inc-test.fieldkit.invalid/") for i in ids)
    second, root2 = export(police)
    assert ids == [field(p, "person_record_id") for p in root2.findall("pfif:person", NS)]
    notes = [field(n, "note_record_id") for n in root.iter(f"{{{NAMESPACE}}}note")]
    assert notes == [field(n, "note_record_id") for n in root2.iter(f"{{{NAMESPACE}}}note")]
    assert len(set(notes)) == len(notes)
    with pytest.raises(ValidationError):
        export(police, domain="not a domain/../x")


def test_hostile_names_are_escaped_and_control_characters_never_reach_the_xml(police: Store):
    hostile = "<b>&amp;</b> O'Brien ]]> <!--x--> &lt;"
    pid = count(police, category="UR", family_name=hostile, given_names="Zoé 李")
    # An old record holding a control character (validation refuses them today).
    police.record("person", pid, {"given_names": "Zo\x01é\x1b 李"}, AUTHOR)
    text, root = export(police)
    check_pfif_rules(root)
    person = root.find("pfif:person", NS)
    assert field(person, "family_name") == hostile
    assert field(person, "given_name") == "Zo\ufffdé\ufffd 李"
    assert "\x01" not in text and "\x1b" not in text


def test_duplicates_are_linked_both_ways(police: Store):
    kept = count(police, category="UR", family_name="Martin", given_names="Léa")
    lost = count(police, category="UR", family_name="Martin", given_names="Lea")
    merge_duplicate(police, AUTHOR, lost, kept)
    _text, root = export(police, domain="pfif.example.org")
    check_pfif_rules(root)
    by_id = {field(p, "person_record_id"): p for p in root.findall("pfif:person", NS)}
    kept_id = record_id("pfif.example.org", "INC-TEST", kept)
    lost_id = record_id("pfif.example.org", "INC-TEST", lost)
    links = {field(n, "linked_person_record_id") for n in by_id[kept_id].findall("pfif:note", NS)}
    assert lost_id in links
    back = [field(n, "linked_person_record_id") for n in by_id[lost_id].findall("pfif:note", NS)]
    assert back == [kept_id]
    assert [field(n, "status") for n in by_id[lost_id].findall("pfif:note", NS)] == [None]


def test_export_at_the_ciav_is_audited(ciav: Store):
    pid = count(ciav, category="UA", family_name="Nguyen")
    export(ciav, operator="agent-7")
    reads = list_reads(ciav, person_id=pid)
    assert [(r.operator, r.person_id) for r in reads] == [("agent-7", pid)]


def test_cli_export_pfif(tmp_path: Path):
    home = tmp_path / "st"
    env = env_with_passphrase()

    def run(*args: str) -> Result:
        return run_cli(*args, "--home", str(home), env=env)

    assert (
        run("init", "--role", "pma", "--station", "PMA-1", "--incident", "ATT 2026").exit_code == 0
    )
    assert run("person", "add", "--triage", "UR", "--family-name", "Éloïse & <Cie>").exit_code == 0
    out = tmp_path / "export.xml"
    result = run("export", "--format", "pfif", "--out", str(out), "--pfif-domain", "Example.ORG")
    assert result.exit_code == 0, result.stderr
    root = parse(out.read_text(encoding="utf-8"))
    check_pfif_rules(root)
    person = root.find("pfif:person", NS)
    assert field(person, "family_name") == "Éloïse & <Cie>"
    assert (field(person, "person_record_id") or "").startswith("example.org/")
    bad = run("export", "--format", "pfif", "--pfif-domain", "no domain")
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr
