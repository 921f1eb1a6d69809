"""The sync commands: hub serve (real subprocess), invite (+ PNG), join, sync, peers, revoke."""

from __future__ import annotations

from pathlib import Path

from fieldkit.services.persons import PersonInput, count_person
from fieldkit.sync.enrol import decode_token
from tests.sync.conftest import run_cli


def test_hub_serve_invite_join_sync_revoke(
    make_station, hub_process, cli_group, tmp_path: Path
) -> None:
    make_station("ciav", "CIAV")
    pma = make_station("pma", "PMA-1")
    make_station("caf", "CAF-1")
    ciav_home, pma_home = str(tmp_path / "CIAV"), str(tmp_path / "PMA-1")

    no_address = run_cli(
        cli_group, "hub", "invite", "--home", ciav_home, "--role", "pma", "--station", "PMA-1"
    )
    assert no_address.exit_code == 1 and "hub serve" in no_address.output

    hub = hub_process(ciav_home)
    png = tmp_path / "invite.png"
    invited = run_cli(
        cli_group,
        "hub",
        "invite",
        "--home",
        ciav_home,
        "--role",
        "pma",
        "--station",
        "PMA-1",
        "--png",
        str(png),
    )
    assert invited.exit_code == 0, invited.output
    token = next(line for line in invited.output.splitlines() if line.startswith("FK1-"))
    assert decode_token(token).endpoint == hub.endpoint  # remembered by hub serve
    assert "▀" in invited.output or "▄" in invited.output  # the QR code in half-blocks
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    wrong_role = run_cli(cli_group, "join", "--home", str(tmp_path / "CAF-1"), token)
    assert wrong_role.exit_code == 2 and "pma" in wrong_role.output
    damaged = run_cli(cli_group, "join", "--home", pma_home, token[:-3] + "AAA")
    assert damaged.exit_code == 2 and "jeton" in damaged.output
    joined = run_cli(cli_group, "join", "--home", pma_home, token)
    assert joined.exit_code == 0, joined.output
    again = run_cli(cli_group, "join", "--home", pma_home, token)  # one-time
    assert again.exit_code == 8

    count_person(pma, "op", PersonInput(nf399="FR075BSPP2026TR000001", category="UA"))
    synced = run_cli(cli_group, "sync", "--once", "--home", pma_home, "--timeout", "10")
    assert synced.exit_code == 0, synced.output
    assert "2 modifications envoyées" in synced.output
    count_person(pma, "op", PersonInput(nf399="FR075BSPP2026TR000002", category="UR"))
    background = run_cli(cli_group, "sync", "--home", pma_home, "--timeout", "1.5")
    assert background.exit_code == 0, background.output
    assert "synchronisé il y a" in background.output
    peers = run_cli(cli_group, "hub", "peers", "--home", ciav_home)
    assert "PMA-1" in peers.output and "inscrit" in peers.output

    revoked = run_cli(cli_group, "hub", "revoke", "--home", ciav_home, "--station", "PMA-1")
    assert revoked.exit_code == 0 and "révoqué" in revoked.output
    unknown = run_cli(cli_group, "hub", "revoke", "--home", ciav_home, "--station", "NOPE")
    assert unknown.exit_code == 7
    refused = run_cli(cli_group, "sync", "--once", "--home", pma_home, "--timeout", "10")
    assert refused.exit_code == 8 and "refusé" in refused.output

    english = run_cli(
        cli_group, "sync", "--once", "--home", pma_home, "--lang", "en", "--timeout", "3"
    )
    assert "The hub refused this station" in english.output
    assert hub.stop() == 0
    log = hub.log()
    assert "enrolled station PMA-1 (pma)" in log
    assert "handshake refused: invite for PMA-1 already used" in log
    assert "handshake refused: revoked station PMA-1" in log
    assert "station PMA-1 (pma) connected" in log
