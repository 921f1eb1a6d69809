"""Commands of the reports: SI-VIC hospital cross-check, audit of reads, bilan history and PDF.

``register(group)`` adds them to the ``fieldkit`` click group (``fieldkit.cli.cli``).
Thin like ``fieldkit.cli``: parse, call a service, print; errors are one sentence on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from fieldkit.cli import _open, _operator, station_options
from fieldkit.i18n import _

# --- audit of reads ----------------------------------------------------------------------------


@click.command("audit")
@station_options
@click.option("--person", "person_id", default=None, help="Only the reads of this person id.")
@click.option("--operator", default=None, help="Only the reads by this operator.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def audit_command(
    home: Path,
    passphrase_file: Path | None,
    person_id: str | None,
    operator: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Reads of person records at this CAF or CIAV station: who, when, which record."""
    from fieldkit.services.audit import list_reads

    store = _open(home, passphrase_file)
    try:
        reads = list_reads(store, person_id=person_id, operator=operator, limit=limit)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reads], ensure_ascii=False, indent=2))
        return
    if not reads:
        click.echo(_("No read recorded."))
        return
    for read in reads:
        click.echo(
            f"{read.at}  {_printable(read.operator):<20} {_printable(read.person_id):<36}"
            f" {_printable(read.purpose)}"
        )


def _printable(value: Any) -> str:
    """A value for the terminal: escape sequences and other controls shown, never obeyed."""
    text = str(value if value is not None else "")
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


# --- registration ------------------------------------------------------------------------------


def register(group: click.Group) -> None:
    """Add the commands of the reports to ``group`` (idempotent)."""
    for command in (audit_command,):
        if command.name not in group.commands:
            group.add_command(command)
