"""Subprocess for the crash test: counts persons forever, printing each number once committed."""

from __future__ import annotations

import sys
from pathlib import Path

from fieldkit.services.persons import PersonInput, count_person
from fieldkit.services.station import open_station


def main() -> None:
    home, passphrase, start = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    store = open_station(home, passphrase)
    serial = start
    while True:
        number = f"FR075BSPP2026TR{serial:06d}"
        count_person(
            store, "crash-test", PersonInput(nf399=number, category="UR", family_name="Nom")
        )
        sys.stdout.write(number + "\n")
        sys.stdout.flush()
        serial += 1


if __name__ == "__main__":
    main()
