"""Crash safety: a writer killed with SIGKILL loses nothing it reported as saved."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fieldkit.services.station import open_station
from fieldkit.store import queries
from fieldkit.store.connection import integrity_errors
from tests.conftest import PASSPHRASE

WRITER = Path(__file__).with_name("crash_writer.py")


@pytest.mark.slow
def test_sigkill_mid_run_loses_no_reported_person(make_station, tmp_path: Path):
    store = make_station(role="pma", name="PMA-CRASH")
    home = tmp_path / "PMA-CRASH"
    store.close()
    rng = random.Random(1234)
    reported: list[str] = []
    serial = 1
    for _round in range(8):
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(home), PASSPHRASE, str(serial)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()  # wait until it is really writing
        assert first, proc.stderr.read() if proc.stderr else ""
        reported.append(first.strip())
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        reported += [line for line in rest.splitlines() if line.strip()]
        serial = int(reported[-1][-6:]) + 100  # skip numbers possibly committed but not reported

        reopened = open_station(home, PASSPHRASE)
        try:
            assert integrity_errors(reopened.db) == []
            for number in reported:
                assert queries.person_by_number(reopened.db, number) is not None, number
            # the log and the tables agree: every logged seq is contiguous (no torn write)
            high = reopened.high_water()[reopened.station_id]
            assert high == reopened._max_seq(reopened.station_id)
        finally:
            reopened.close()
    assert len(reported) > 8
