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
from fieldkit.errors import ValidationError
from fieldkit.i18n import _

# --- SI-VIC hospital cross-check -----------------------------------------------------------------

SIVIC_COLUMNS = """\b
Accepted columns (first line; French or English; any order; others ignored):
  victim number   nf399, numero, numero SINUS, victim number
  family name     nom, nom de famille, family name, last name
  given names     prenom, prenoms, given names, first name
  birth date      date de naissance, DDN, birth date, date of birth
  sex             sexe, sex
  hospital        etablissement, hopital, hospital
  admission date  date d'admission, admission, admission date
Separator ';', ',' or tab; UTF-8 with or without BOM, else Latin-1 (Windows).
Each row needs a victim number or a family name. See docs/sivic.md.
"""


@click.group(
    "sivic",
    help="SI-VIC hospital lists crossed with the persons counted in the field (CIAV).\n\n"
    + SIVIC_COLUMNS,
)
def sivic() -> None:
    pass


@sivic.command(
    "import",
    help="Import a SI-VIC admissions list (CSV); bad lines are refused, the others kept.\n\n"
    + SIVIC_COLUMNS,
)
@station_options
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def sivic_import(home: Path, passphrase_file: Path | None, file: Path, as_json: bool) -> None:
    from fieldkit.services.sivic import import_admissions

    store = _open(home, passphrase_file)
    try:
        result = import_admissions(store, _operator(), file)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(
            _(
                "{imported} admissions imported, {duplicates} already known, {refused} lines"
                " refused."
            ).format(imported=result.imported, duplicates=result.duplicates, refused=result.refused)
        )
        if result.ignored_columns:
            click.echo(
                _("Columns ignored: {columns}.").format(
                    columns=", ".join(_printable(c) for c in result.ignored_columns)
                )
            )
    for error in result.errors:
        click.echo(_printable(error), err=True)
    if result.refused > len(result.errors):
        click.echo(
            _("... and {count} more lines refused.").format(
                count=result.refused - len(result.errors)
            ),
            err=True,
        )
    if result.refused:
        click.get_current_context().exit(ValidationError.exit_code)


@sivic.command("report")
@station_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def sivic_report(home: Path, passphrase_file: Path | None, as_json: bool) -> None:
    """Counted and admitted, evacuated but not admitted, admitted without a field number."""
    from fieldkit.services.sivic import cross_check

    store = _open(home, passphrase_file)
    try:
        result = cross_check(store, _operator())
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(_("{count} admissions imported.").format(count=result.admissions))
    sections = (
        (_("Counted and admitted"), result.counted_and_admitted),
        (_("Evacuated but not admitted"), result.evacuated_not_admitted),
        (_("Admitted without a field number"), result.admitted_without_field_number),
    )
    for title, rows in sections:
        click.echo(f"{title}: {len(rows)}")
        for row in rows:
            name = " ".join(p for p in (row.get("family_name"), row.get("given_names")) if p)
            place = row.get("hospital") or row.get("destination") or ""
            values = (row.get("nf399") or "-", name or "X", place, row.get("admitted_at"))
            click.echo("  " + "  ".join(_printable(v) for v in values if v))


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


# --- bilan: hourly history, CSV, PDF -------------------------------------------------------------


def bilan_reports(
    home: Path,
    passphrase_file: Path | None,
    *,
    as_json: bool,
    history: bool,
    csv_out: Path | None,
    pdf_out: Path | None,
    snapshot: bool,
) -> None:
    """``fieldkit bilan --history/--csv/--pdf/--snapshot`` (called by ``fieldkit.cli.bilan``)."""
    import shutil

    from fieldkit.services import bilan_history as bh

    if csv_out is not None and not history:
        raise ValidationError(_("--csv goes with --history."))
    store = _open(home, passphrase_file)
    try:
        # The history always includes the current hour.
        taken = bh.take_snapshot(store) if snapshot else bh.ensure_hourly(store)
        snapshots = bh.history(store)
        if pdf_out is not None:
            bh.write_pdf(store, pdf_out)
            click.echo(_("Bilan written to {path}.").format(path=pdf_out), err=True)
    finally:
        store.close()
    if csv_out is not None:
        _write_csv(csv_out, snapshots)
        click.echo(
            _("{count} hours written to {path}.").format(count=len(snapshots), path=csv_out),
            err=True,
        )
    if snapshot and not history:
        if taken is not None:
            click.echo(
                _("Snapshot of {hour} recorded: total {total}.").format(
                    hour=taken.hour, total=taken.bilan.total
                )
            )
        return
    if not history:
        return
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in snapshots], ensure_ascii=False, indent=2))
        return
    if csv_out is None:
        width = shutil.get_terminal_size((100, 24)).columns
        for line in bh.render_chart(snapshots, width=width):
            click.echo(line)


def _write_csv(path: Path, snapshots: list[Any]) -> None:
    from fieldkit.errors import FieldkitError
    from fieldkit.services.bilan_history import export_history_csv

    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            export_history_csv(snapshots, handle)
    except OSError as exc:
        raise FieldkitError(
            _("Cannot write {path}: {reason}.").format(path=path, reason=exc.strerror or exc)
        ) from None


# --- registration ------------------------------------------------------------------------------


def register(group: click.Group) -> None:
    """Add the commands of the reports to ``group`` (idempotent)."""
    for command in (audit_command, sivic):
        if command.name not in group.commands:
            group.add_command(command)
