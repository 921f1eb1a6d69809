"""Acceptance 1: stations record while the hub is down; `sync --once` converges; each store holds
exactly what its role may read; every frame sent to the CAF station is decoded and inspected."""

from __future__ import annotations

from pathlib import Path

import msgspec

from fieldkit.domain.changes import Change
from fieldkit.domain.ids import new_id
from fieldkit.domain.secrecy import project
from fieldkit.services.persons import PersonInput, count_person
from fieldkit.sync import wire
from fieldkit.sync.hub import Hub
from fieldkit.sync.state import Peer
from tests.sync.conftest import run_cli

SECRET_WORDS = (
    b"MartinPMA",
    b"MartinPUMP",
    b"MartinPOL",
    b"MartinCIAV",
    b"DCD",
    b"announced",
    b"bar du coin",
    b"Witnessname",
)


def _record_everything(pma, pump, police, caf, ciav) -> None:
    for i in range(6):
        count_person(
            pma,
            "op",
            PersonInput(
                nf399=f"FR075BSPP2026TR{i:06d}",
                category=("UA", "UR", "DCD")[i % 3],
                refinement="EU" if i % 3 == 0 else None,
                family_name="MartinPMA",
                given_names="Jean",
                destination="HEGP",
            ),
        )
    pma.record("person", "nf-FR075BSPP2026TR000000", {"clinical_notes": "fracture"}, "doc")
    seen = count_person(
        pump,
        "psy",
        PersonInput(
            nf399="FR075BSPP2026TR000001",
            category="UR",
            family_name="MartinPUMP",
            given_names="Anne",
        ),
    )
    pump.record(
        "declaration",
        new_id(),
        {
            "person_id": seen.person_id,
            "text": "I was at the bar du coin",
            "clinician": "Dr Psy",
            "signed_at": "2026-01-01T22:00:00Z",
        },
        "psy",
    )
    pump.record(
        "certificate",
        new_id(),
        {"person_id": seen.person_id, "kind": "cmi", "clinician": "Dr Psy", "itt_days": 3},
        "psy",
    )
    pump.record(
        "care",
        new_id(),
        {"person_id": seen.person_id, "care_given": "defusing", "notes": "anxious"},
        "psy",
    )
    count_person(
        police,
        "opj",
        PersonInput(
            nf399="FR075BSPP2026TR000100",
            category="DCD",
            family_name="MartinPOL",
            given_names="Paul",
        ),
    )
    police.record(
        "witness",
        new_id(),
        {"family_name": "Witnessname", "given_names": "W", "saw": "a car"},
        "opj",
    )
    police.record(
        "lead",
        new_id(),
        {
            "person_id": "nf-FR075BSPP2026TR000002",
            "possible_identity": "MartinPOL",
            "source": "wallet",
        },
        "opj",
    )
    police.record(
        "death_stage",
        new_id(),
        {"person_id": "nf-FR075BSPP2026TR000100", "stage": "identified"},
        "opj",
    )
    police.record(
        "death_stage",
        new_id(),
        {"person_id": "nf-FR075BSPP2026TR000100", "stage": "announced"},
        "opj",
    )
    for name in ("Durand", "Petit"):
        caf.record(
            "enquiry",
            new_id(),
            {
                "enquirer_name": "Famille",
                "relation": "mother",
                "phone": "+33600000000",
                "sought_family_name": name,
            },
            "caf-op",
        )
    count_person(
        ciav,
        "agent",
        PersonInput(nf399="FR075BSPP2026TR000200", category="UR", family_name="MartinCIAV"),
    )
    ciav.record(
        "enquiry",
        new_id(),
        {"enquirer_name": "Call centre", "sought_family_name": "Leroy"},
        "agent",
    )


def _key(change: Change) -> tuple[str, bytes]:
    return change.change_id, msgspec.json.encode([change.values, dict(change.base)], order="sorted")


def test_offline_recording_then_sync_once_converges_with_role_filtering(
    make_station, cli_group, tmp_path: Path
) -> None:
    ciav = make_station("ciav", "CIAV")
    stations = {
        role: make_station(role, name)
        for role, name in (
            ("pma", "PMA-1"),
            ("pump", "PUMP-1"),
            ("police", "POL-1"),
            ("caf", "CAF-1"),
        )
    }
    frames_to: dict[str, list[bytes]] = {}

    def tap(peer: Peer | None, frame: bytes) -> None:
        if peer is not None:
            frames_to.setdefault(peer.role, []).append(frame)

    hub = Hub(ciav, "tcp://127.0.0.1:*", tap=tap)
    endpoint = hub.start()
    try:
        for role, store in stations.items():
            name = store.meta["station_name"]
            invited = run_cli(
                cli_group,
                "hub",
                "invite",
                "--home",
                str(tmp_path / "CIAV"),
                "--role",
                role,
                "--station",
                name,
                "--endpoint",
                endpoint,
            )
            assert invited.exit_code == 0, invited.output
            token = next(line for line in invited.output.splitlines() if line.startswith("FK1-"))
            joined = run_cli(cli_group, "join", "--home", str(tmp_path / name), token)
            assert joined.exit_code == 0, joined.output
    finally:
        hub.stop()

    # The hub is down: everybody keeps working, and a sync attempt fails cleanly.
    _record_everything(stations["pma"], stations["pump"], stations["police"], stations["caf"], ciav)
    down = run_cli(cli_group, "sync", "--once", "--timeout", "1", "--home", str(tmp_path / "PMA-1"))
    assert down.exit_code == 8, down.output

    hub = Hub(ciav, endpoint, tap=tap)
    hub.start()
    try:
        for _round in range(2):
            for store in stations.values():
                done = run_cli(
                    cli_group,
                    "sync",
                    "--once",
                    "--timeout",
                    "20",
                    "--home",
                    str(tmp_path / store.meta["station_name"]),
                )
                assert done.exit_code == 0, done.output
    finally:
        hub.stop()

    # The hub holds the union of everything recorded, once.
    union = {
        c.change_id: c
        for s in [*stations.values(), ciav]
        for c in s.all_changes()
        if c.origin == s.station_id
    }
    held = ciav.all_changes()
    assert len(held) == len(union) == len({c.change_id for c in held})
    assert {_key(c) for c in held} == {_key(c) for c in union.values()}

    # Each station holds exactly its own changes plus what its role may read of the others'.
    for role, store in stations.items():
        expected = {_key(c) for c in union.values() if c.origin == store.station_id}
        for change in union.values():
            projected = project(change, role, store.station_id)
            if projected is not None:
                expected.add(_key(projected))
        assert {_key(c) for c in store.all_changes()} == expected, role

    def count(store, sql: str) -> int:
        return store.db.execute(sql).fetchone()[0]

    pma, pump, police, caf = (stations[r] for r in ("pma", "pump", "police", "caf"))
    assert (
        count(
            pma,
            "select count(*) from persons where family_name is not null and family_name != 'MartinPMA'",
        )
        == 0
    )
    assert count(pma, "select count(*) from triage_events") == 6 + 1 + 1 + 1  # its own + others'
    assert (
        count(pma, "select count(*) from declarations")
        + count(pma, "select count(*) from witnesses")
        == 0
    )
    assert count(pump, "select count(*) from triage_events where refinement is not null") == 0
    assert count(pump, "select count(*) from declarations") == 1
    assert count(police, "select count(*) from persons where clinical_notes is not null") == 0
    assert count(police, "select count(*) from care_events") == 0
    assert count(police, "select count(*) from declarations where text like '%bar du coin%'") == 1
    assert count(ciav, "select count(*) from declarations") == 1  # the hub itself holds everything
    for table in (
        "persons",
        "triage_events",
        "witnesses",
        "leads",
        "death_stages",
        "declarations",
        "certificates",
        "care_events",
    ):
        assert count(caf, f"select count(*) from {table}") == 0, table
    assert count(caf, "select count(*) from enquiries") == 3

    # On the wire: every frame the hub sent to the CAF station, decoded and inspected.
    assert len(frames_to["caf"]) >= 4
    kinds = set()
    received = 0
    for frame in frames_to["caf"]:
        message = wire.decode_for_station(frame)
        kinds.add(type(message).__name__)
        for word in SECRET_WORDS:
            assert word not in frame
        if isinstance(message, wire.Changes):
            assert all(
                c.entity == "enquiry" and c.origin != caf.station_id for c in message.changes
            )
            received += len(message.changes)
    assert {"Welcome", "Changes", "Ack"} <= kinds
    assert received == 1  # the CIAV's enquiry
