"""The command line: parses, calls services, prints. Errors: one sentence on stderr, exit != 0."""

from __future__ import annotations

import functools
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fieldkit.errors import FieldkitError, StoreDamaged
from fieldkit.i18n import _, set_language

PASSPHRASE_ENV = "FIELDKIT_PASSPHRASE"


def default_home() -> Path:
    env = os.environ.get("FIELDKIT_HOME")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("fieldkit"))


def read_passphrase(passphrase_file: Path | None, *, confirm: bool = False) -> str:
    """The passphrase from --passphrase-file, FIELDKIT_PASSPHRASE, or a prompt on a terminal."""
    if passphrase_file is not None:
        from fieldkit.services.files import read_limited

        try:
            return read_limited(passphrase_file, 64 * 1024).decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise FieldkitError(
                _("The passphrase file {path} is not UTF-8 text.").format(path=passphrase_file)
            ) from None
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    if not sys.stdin.isatty():
        raise FieldkitError(
            _("No passphrase given: set FIELDKIT_PASSPHRASE or use --passphrase-file.")
        )
    return str(
        click.prompt(_("Passphrase"), hide_input=True, confirmation_prompt=confirm, err=True)
    )


MESSAGE_MAX = 600  # characters of an error sentence shown (a value can be 60,000 long)


def printable(message: str) -> str:
    """An error sentence safe for a terminal: control characters (escape sequences that would
    clear the screen or retitle the window), bidi overrides and line separators shown as escapes,
    and a long one cut."""
    shown = "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in message
    )
    return shown if len(shown) <= MESSAGE_MAX else shown[: MESSAGE_MAX - 1] + "…"


def _is_db_error(exc: BaseException) -> bool:
    return type(exc).__name__ in ("DatabaseError", "OperationalError", "IntegrityError")


class FieldkitGroup(click.Group):
    """Turns every FieldkitError (and a damaged store) into one sentence and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FieldkitError as exc:
            click.echo(_("Error: {message}").format(message=printable(exc.message)), err=True)
            ctx.exit(exc.exit_code)
        except Exception as exc:
            from fieldkit.store.connection import is_store_damage, not_damaged

            home = Path(ctx.meta.get("fieldkit.home") or default_home())
            said = not_damaged(exc, home / "station.db") if _is_db_error(exc) else None
            if said is not None:  # a full disk, a read-only folder, a busy store: not damage
                click.echo(_("Error: {message}").format(message=said.message), err=True)
                ctx.exit(said.exit_code)
            if is_store_damage(exc):
                click.echo(
                    _("Error: {message}").format(
                        message=StoreDamaged(
                            _("The store file is damaged and cannot be read.")
                        ).message
                    ),
                    err=True,
                )
                ctx.exit(StoreDamaged.exit_code)
            raise


def _set_lang(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    # "fieldkit --lang en bilan" means English as much as "fieldkit bilan --lang en": a command
    # given no --lang keeps the one its group was given.
    shared = ctx.meta
    if value:
        shared["fieldkit.lang"] = value
    set_language(shared.get("fieldkit.lang") or os.environ.get("FIELDKIT_LANG") or "fr")
    return value


def station_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--home, --passphrase-file and --lang on every command."""

    @click.option(
        "--home",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Station folder (default: FIELDKIT_HOME or the user data folder).",
    )
    @click.option(
        "--passphrase-file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Read the passphrase from this file (else FIELDKIT_PASSPHRASE, else a prompt).",
    )
    @click.option(
        "--lang",
        type=click.Choice(["fr", "en"]),
        default=None,
        expose_value=False,
        is_eager=True,
        callback=_set_lang,
        help="Interface language (default: fr).",
    )
    @functools.wraps(fn)
    def wrapper(*args: Any, home: Path | None, passphrase_file: Path | None, **kwargs: Any) -> Any:
        # "fieldkit --home DIR import F" means DIR as much as "fieldkit import --home DIR F":
        # what the group was given goes to its command, unless the command is given its own.
        shared = click.get_current_context().meta
        home = home or shared.get("fieldkit.home")
        passphrase_file = passphrase_file or shared.get("fieldkit.passphrase_file")
        shared["fieldkit.home"], shared["fieldkit.passphrase_file"] = home, passphrase_file
        return fn(*args, home=home or default_home(), passphrase_file=passphrase_file, **kwargs)

    return wrapper


def _operator() -> str:
    return os.environ.get("FIELDKIT_OPERATOR") or f"cli:{getpass.getuser()}"


def _open(home: Path, passphrase_file: Path | None):  # noqa: ANN202
    from fieldkit.services.station import open_station

    return open_station(home, read_passphrase(passphrase_file))


@click.group(cls=FieldkitGroup, invoke_without_command=True)
@station_options
@click.pass_context
def cli(ctx: click.Context, home: Path, passphrase_file: Path | None) -> None:
    """fieldkit: count, identify and look after the people caught in a mass-casualty event."""
    if ctx.invoked_subcommand is None:
        from fieldkit.bootstrap import run_app

        run_app(home=home, passphrase_file=passphrase_file)


@cli.command()
@station_options
@click.option("--role", required=True, help="pma, pump, police, caf or ciav.")
@click.option("--station", "station_name", required=True, help="Station name, e.g. PMA-1.")
@click.option("--incident", required=True, help="Incident identifier shared by all stations.")
@click.option("--site", default=None, help="Site of this station (default: its name).")
@click.option("--number-pattern", default=None, help="Regular expression of victim numbers.")
@click.option(
    "--range",
    "ranges",
    multiple=True,
    help="Registered bracelet range FIRST-LAST or FIRST+COUNT (repeatable).",
)
def init(
    home: Path,
    passphrase_file: Path | None,
    role: str,
    station_name: str,
    incident: str,
    site: str | None,
    number_pattern: str | None,
    ranges: tuple[str, ...],
) -> None:
    """Create an encrypted station store."""
    from fieldkit.services.station import init_station

    passphrase = read_passphrase(passphrase_file, confirm=True)
    store = init_station(
        home,
        passphrase,
        role=role,
        station_name=station_name,
        incident=incident,
        site=site,
        number_pattern=number_pattern,
        ranges=list(ranges),
    )
    click.echo(
        _("Station {name} ({role}) created in {home}.").format(
            name=store.meta["station_name"], role=store.role, home=home
        )
    )
    store.close()


@cli.group()
def person() -> None:
    """Persons: count, void a count made by mistake, restore it, stages."""


@person.command("add")
@station_options
@click.option("--nf399", default=None, help="Victim number (bracelet).")
@click.option("--triage", "category", required=True, help="UA, UR, IMPLIQUE or DCD.")
@click.option("--refinement", default=None, help="EU/U1 (UA) or U2/U3 (UR).")
@click.option("--family-name", default=None)
@click.option("--given-names", default=None)
@click.option("--sex", default=None, help="F, M or U.")
@click.option("--birth-date", default=None, help="YYYY-MM-DD.")
@click.option("--apparent-age", default=None)
@click.option("--description", default=None, help="Physical description of an X person.")
@click.option("--destination", default=None, help="Evacuation destination.")
@click.option("--confirm-outside-range", is_flag=True, help="Accept a number outside the ranges.")
def person_add(
    home: Path,
    passphrase_file: Path | None,
    nf399: str | None,
    category: str,
    refinement: str | None,
    family_name: str | None,
    given_names: str | None,
    sex: str | None,
    birth_date: str | None,
    apparent_age: str | None,
    description: str | None,
    destination: str | None,
    confirm_outside_range: bool,
) -> None:
    """Count a person; prints the person's id."""
    from fieldkit.services.persons import PersonInput, count_person

    store = _open(home, passphrase_file)
    try:
        result = count_person(
            store,
            _operator(),
            PersonInput(
                nf399=nf399,
                category=category,
                refinement=refinement,
                family_name=family_name,
                given_names=given_names,
                sex=sex,
                birth_date=birth_date,
                apparent_age=apparent_age,
                x_description={"clothing": description} if description else None,
                destination=destination,
            ),
            confirmed_outside=confirm_outside_range,
        )
    finally:
        store.close()
    click.echo(result.person_id)


@person.command("delete")
@station_options
@click.argument("person_ref", metavar="ID")
def person_delete(home: Path, passphrase_file: Path | None, person_ref: str) -> None:
    """Void a count made by mistake (ID: the person id, or the victim number): the record leaves
    the counts and lists; nothing is destroyed and `person restore ID` brings it back."""
    from fieldkit.services import persons

    store = _open(home, passphrase_file)
    operator = _operator()
    try:
        persons.require_writer(store)
        row = persons.find_person(store, person_ref)
        persons.void_count(store, operator, row["id"])
    finally:
        store.close()
    click.echo(
        _(
            "Count of {person} voided by {operator}: fieldkit person restore {id} brings it back."
        ).format(person=persons.shown(row), operator=operator, id=row["id"])
    )


@person.command("restore")
@station_options
@click.argument("person_ref", metavar="ID")
def person_restore(home: Path, passphrase_file: Path | None, person_ref: str) -> None:
    """Bring a voided record back into the counts and lists (ID: the person id, or the victim
    number of the latest voided record)."""
    from fieldkit.services import persons

    store = _open(home, passphrase_file)
    operator = _operator()
    try:
        persons.require_writer(store)
        row = persons.find_person(store, person_ref)
        persons.restore_count(store, operator, row["id"])
    finally:
        store.close()
    click.echo(
        _("Count of {person} restored by {operator}.").format(
            person=persons.shown(row), operator=operator
        )
    )


@cli.command("import")
@station_options
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def import_(home: Path, passphrase_file: Path | None, file: Path) -> None:
    """Import records in the export's JSONL shape (all or none)."""
    from fieldkit.services.exchange import import_jsonl

    store = _open(home, passphrase_file)
    try:
        count = import_jsonl(store, _operator(), file)
    finally:
        store.close()
    click.echo(_("{count} records imported.").format(count=count))


@cli.command()
@station_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "pfif"]),
    default="jsonl",
    show_default=True,
)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option(
    "--pfif-domain",
    default=None,
    help="PFIF: domain of the record ids (default: the station's setting, else the incident).",
)
def export(
    home: Path, passphrase_file: Path | None, fmt: str, out: Path | None, pfif_domain: str | None
) -> None:
    """Export what this station may read (CSV: UTF-8 with BOM, ';'; PFIF 1.4 XML)."""
    from fieldkit.services.exchange import export_csv, export_jsonl

    store = _open(home, passphrase_file)
    try:
        writer: Callable[[Any, Any], int] = export_csv if fmt == "csv" else export_jsonl
        if fmt == "pfif":  # audits the reads itself (it leaves some persons out)
            from fieldkit.services.pfif import export_pfif

            writer = functools.partial(export_pfif, domain=pfif_domain, operator=_operator())
        else:
            from fieldkit.services.audit import record_export

            record_export(store, _operator(), _("Export ({format})").format(format=fmt))
        if out is None:
            writer(store, sys.stdout)
        else:
            try:
                with out.open("w", encoding="utf-8", newline="") as handle:
                    count = writer(store, handle)
            except OSError as exc:
                raise FieldkitError(
                    _("Cannot write {path}: {reason}.").format(path=out, reason=exc.strerror)
                ) from None
            click.echo(
                _("{count} records written to {path}.").format(count=count, path=out), err=True
            )
    finally:
        store.close()


@cli.command()
@station_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--history", is_flag=True, help="The hourly history of the bilan, with a chart.")
@click.option(
    "--csv",
    "csv_out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="With --history: write the hourly history to this CSV file.",
)
@click.option(
    "--pdf",
    "pdf_out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the current bilan and the hourly history to this PDF file.",
)
@click.option("--snapshot", is_flag=True, help="Record the bilan as this hour's snapshot (cron).")
def bilan(
    home: Path,
    passphrase_file: Path | None,
    as_json: bool,
    history: bool,
    csv_out: Path | None,
    pdf_out: Path | None,
    snapshot: bool,
) -> None:
    """Counts by category, refinement, site and destination."""
    from fieldkit.store.queries import bilan as compute

    if history or csv_out or pdf_out or snapshot:
        from fieldkit.cli_reports import bilan_reports

        bilan_reports(
            home,
            passphrase_file,
            as_json=as_json,
            history=history,
            csv_out=csv_out,
            pdf_out=pdf_out,
            snapshot=snapshot,
        )
        return
    store = _open(home, passphrase_file)
    try:
        result = compute(store.db)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(_("Total: {total}").format(total=result.total))
    for title, counts in (
        (_("By category"), result.by_category),
        (_("By refinement"), result.by_refinement),
        (_("By site"), result.by_site),
        (_("By destination"), result.by_destination),
    ):
        click.echo(title)
        for key, value in counts.items():
            click.echo(f"  {key:<24} {value:>7}")


@cli.command()
@click.option("--quick", is_flag=True, help="Smaller sizes, for a quick look.")
def bench(quick: bool) -> None:
    """Benchmarks, printed as figures and ratios against baselines measured in the same run."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks").is_dir():
        raise FieldkitError(_("The benchmarks are only available from a source checkout."))
    sys.path.insert(0, str(root))
    from benchmarks.runner import run_all

    run_all(quick=quick)


@cli.command()
@click.option("--lang", type=click.Choice(["fr", "en"]), default=None, callback=_set_lang)
@click.option("--script", is_flag=True, help="Print a scripted run instead of opening the app.")
def demo(lang: str | None, script: bool) -> None:
    """A whole incident on this machine: CIAV hub, relay, five stations (temporary folder)."""
    from fieldkit.demo import run_demo

    code = run_demo(script=script)
    if code:
        raise SystemExit(code)


def main() -> None:  # pragma: no cover - console entry point
    cli()


from fieldkit.cli_services import register as _register_services  # noqa: E402

_register_services(cli)

from fieldkit.cli_sync import register as _register_sync  # noqa: E402

_register_sync(cli)

from fieldkit.cli_reports import register as _register_reports  # noqa: E402

_register_reports(cli)

from fieldkit.cli_drill import register as _register_drill  # noqa: E402

_register_drill(cli)
