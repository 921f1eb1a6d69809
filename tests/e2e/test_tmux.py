"""End to end: the real `fieldkit` in a real terminal (tmux): unlock, sign in, count three
persons by typing, quit; then `fieldkit export` finds them."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fieldkit.services.station import init_station
from tests.conftest import PASSPHRASE, env_with_passphrase

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

NUMBERS = ["FR075BSPP2026TR000201", "FR075BSPP2026TR000202", "FR02ASAMU2026TR000203"]


def tmux(*args: str, socket: str) -> str:
    result = subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, check=True
    )
    return result.stdout


def wait_for(socket: str, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", "e2e", socket=socket)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")


def test_unlock_count_three_quit_and_export(tmp_path: Path):
    home = tmp_path / "pma"
    init_station(home, PASSPHRASE, role="pma", station_name="PMA-E2E", incident="E2E").close()
    socket = f"fieldkit-e2e-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if k != "FIELDKIT_PASSPHRASE"}
    command = " ".join(
        shlex.quote(part) for part in [sys.executable, "-m", "fieldkit", "--home", str(home)]
    )
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k.startswith("FIELDKIT"))
    tmux(
        "new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30",
        f"env TERM=xterm-256color {exports} {command}; sleep 30",
        socket=socket,
    )  # fmt: skip
    try:
        wait_for(socket, "Déverrouiller le poste")
        tmux("send-keys", "-t", "e2e", "-l", PASSPHRASE, socket=socket)
        tmux("send-keys", "-t", "e2e", "Enter", socket=socket)
        wait_for(socket, "Service ou matricule")
        tmux("send-keys", "-t", "e2e", "-l", "Agent E2E", socket=socket)
        for _ in range(2):  # name -> service -> signed in
            tmux("send-keys", "-t", "e2e", "Enter", socket=socket)
            time.sleep(0.3)
        wait_for(socket, "N° victime")
        for number, key in zip(NUMBERS, ["1", "2", "3"], strict=True):
            tmux("send-keys", "-t", "e2e", "-l", number + key, socket=socket)
            tmux("send-keys", "-t", "e2e", "Enter", socket=socket)
            wait_for(socket, f"Compté {number}")
        wait_for(socket, "total 3")
        tmux("send-keys", "-t", "e2e", "C-q", socket=socket)
        time.sleep(1.0)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    result = subprocess.run(
        [sys.executable, "-m", "fieldkit", "export", "--format", "jsonl", "--home", str(home)],
        capture_output=True,
        text=True,
        env=env_with_passphrase(),
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    found = {(r["nf399"], r["category"], r.get("created_by")) for r in records}
    assert found == {
        (NUMBERS[0], "UA", "Agent E2E"),
        (NUMBERS[1], "UR", "Agent E2E"),
        (NUMBERS[2], "IMPLIQUE", "Agent E2E"),
    }


def _demo_in_tmux(tmp_path: Path, socket: str, width: int, height: int) -> Path:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    command = " ".join(shlex.quote(part) for part in [sys.executable, "-m", "fieldkit", "demo"])
    tmux(
        "new-session", "-d", "-s", "e2e", "-x", str(width), "-y", str(height),
        f"env TERM=xterm-256color TMPDIR={shlex.quote(str(scratch))} {command};"
        f" echo EXIT=$?; sleep 30",
        socket=socket,
    )  # fmt: skip
    return scratch


def test_make_run_demo_opens_the_console_with_data_flowing_and_cleans_up(tmp_path: Path):
    socket = f"fieldkit-demo-{os.getpid()}"
    scratch = _demo_in_tmux(tmp_path, socket, 120, 40)
    try:
        wait_for(socket, "Conflits à arbitrer", timeout=60)
        wait_for(socket, "concentrateur", timeout=30)
        deadline = time.monotonic() + 60
        screen = ""
        while time.monotonic() < deadline:  # counts rising at the PMAs reach the console
            screen = tmux("capture-pane", "-p", "-t", "e2e", socket=socket)
            totals = [int(w) for w in screen.replace("total", " total ").split("total")[1:2]
                      for w in w.split()[:1] if w.isdigit()]  # fmt: skip
            if totals and totals[0] > 0:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"no person reached the console; the screen was:\n{screen}")
        assert list(scratch.iterdir())  # the demo's stores live in the temporary folder
        tmux("send-keys", "-t", "e2e", "C-q", socket=socket)
        wait_for(socket, "EXIT=0", timeout=30)
        assert list(scratch.iterdir()) == []  # and it is gone once the demo ends
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def test_demo_in_a_small_terminal_says_so(tmp_path: Path):
    socket = f"fieldkit-small-{os.getpid()}"
    _demo_in_tmux(tmp_path, socket, 70, 20)
    try:
        screen = wait_for(socket, "EXIT=2", timeout=30)
        assert "70x20" in screen and "80x24" in screen
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
