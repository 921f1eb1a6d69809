"""``fieldkit drill``: a full-scale incident simulated headless on loopback, with the real parts.

``register(group)`` adds the command to the main click group (``fieldkit.cli.cli``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from fieldkit.i18n import _, set_language


def _set_lang(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    import os

    set_language(value or os.environ.get("FIELDKIT_LANG") or "fr")
    return value


def _figure(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{unit}".replace(",", "\u202f")


def print_report(report: Any) -> None:
    """The drill's report, for people."""
    from fieldkit.domain.triage import LABELS, Category

    echo = click.echo
    config = report.config
    echo(
        _(
            "Drill: {stations} stations, {persons} persons, {outages} outages of {seconds} s,"
            " relay: {relay}, seed {seed}."
        ).format(
            stations=config["stations"],
            persons=config["persons"],
            outages=config["outages"],
            seconds=_figure(config["outage_seconds"]),
            relay=_("yes") if config["relay"] else _("no"),
            seed=config["seed"],
        )
    )
    echo("")
    echo(_("Counts at each node (- : not readable by its role)"))
    columns = ["total", *(c.value for c in Category), "evacuated", "enquiries"]
    titles = [
        _("total"),
        *(_(LABELS[c]) for c in Category),
        _("evacuated"),
        _("enquiries"),
    ]
    echo(f"  {_('node'):<12} {_('role'):<7}" + "".join(f"{t:>11}" for t in titles))
    for node in report.nodes:
        cells = "".join(
            f"{('-' if node.counts.get(c) is None else node.counts[c]):>11}" for c in columns
        )
        echo(f"  {node.name:<12} {node.role:<7}{cells}")
    echo("")
    echo(
        _("Changes made by the stations: {made}; held by the hub: {held}.").format(
            made=report.changes, held=report.hub_changes
        )
    )
    echo(
        _("Lost: {lost}; doubled: {doubled}; altered: {altered}; not written: {unwritten}.").format(
            lost=report.lost,
            doubled=report.doubled,
            altered=report.altered,
            unwritten=report.unwritten,
        )
    )
    off = {name: n for name, n in report.view_mismatches.items() if n}
    echo(
        _("Readable views exact at every station: {answer}.").format(
            answer=_("yes") if not off else ", ".join(f"{k} ({v})" for k, v in off.items())
        )
    )
    echo(
        _("Identical counts at every node that may read them: {answer}.").format(
            answer=_("yes") if not report.count_mismatches else "; ".join(report.count_mismatches)
        )
    )
    for outage in report.outages:
        echo(
            _(
                "Outage of {station}: cut at {down} s, healed at {up} s, converged"
                " {converge} after healing."
            ).format(
                station=outage.station,
                down=_figure(outage.down_at),
                up=_figure(outage.up_at),
                converge=_figure(outage.converge_s, " s", 2)
                if outage.converge_s is not None
                else _("never"),
            )
        )
    if report.after_last_heal_s is not None:
        echo(
            _("Every node converged {seconds} s after the last outage healed.").format(
                seconds=_figure(report.after_last_heal_s)
            )
        )
        if report.slowest:
            echo(
                _("Last to converge: {nodes}.").format(
                    nodes=", ".join(f"{name} {_figure(s, ' s')}" for name, s in report.slowest)
                )
            )
        echo(
            _("Changes the hub wrote itself (its matcher) after that heal: {count}.").format(
                count=report.hub_own_after_heal
            )
        )
    echo(
        _(
            "Incident written in {write} s; every change at the hub after {up} s;"
            " every node converged after {all} s."
        ).format(
            write=_figure(report.write_seconds),
            up=_figure(report.upstream_seconds),
            all=_figure(report.converge_seconds),
        )
    )
    echo(
        _(
            "Throughput: {up} changes/s into the hub; {down} changes/s received by the"
            " stations ({count} in all)."
        ).format(
            up=_figure(report.changes_per_s, digits=0),
            down=_figure(report.downstream_per_s, digits=0),
            count=report.downstream_changes,
        )
    )
    echo(
        _("Hub peak memory (VmHWM): {hub} MB; relay: {relay} MB.").format(
            hub=_figure(report.hub_peak_rss_mb), relay=_figure(report.relay_peak_rss_mb)
        )
    )
    echo(
        _(
            "Hub heartbeats: {pings} pings, {missed} missed, round trip max {max} ms"
            " (99th percentile {p99} ms); on time: {answer}."
        ).format(
            pings=report.pings,
            missed=report.pings_missed,
            max=_figure(report.ping_max_ms, digits=0),
            p99=_figure(report.ping_p99_ms, digits=0),
            answer=_("yes") if report.heartbeats_on_time else _("no"),
        )
    )
    echo(
        _(
            "CIAV console on the hub's store during the load: {count} refreshes, median {p50} ms,"
            " max {max} ms; errors: {errors}."
        ).format(
            count=report.console_refreshes,
            p50=_figure(report.console_p50_ms, digits=0),
            max=_figure(report.console_max_ms, digits=0),
            errors="; ".join(report.console_errors) or _("none"),
        )
    )
    echo(
        _(
            "Agents that went offline unasked and reconnected: {reconnects} times"
            " (see the worker logs: 'hub silent')."
        ).format(reconnects=report.reconnects)
    )
    targets = report.targets()
    echo(
        _(
            "Targets: converged within 10 s of each heal: {converge}; hub peak memory under"
            " 500 MB: {memory}."
        ).format(
            converge=_("yes") if targets["converge_10s"] else _("no"),
            memory=_("yes") if targets["hub_rss_500mb"] else _("no"),
        )
    )
    echo(_("Drill passed.") if report.ok else _("Drill FAILED."))


@click.command("drill")
@click.option(
    "--stations",
    type=click.IntRange(1, 500),
    default=10,
    show_default=True,
    help="Stations of mixed roles (mostly PMA, plus PUMP, police and CAF).",
)
@click.option(
    "--persons",
    type=click.IntRange(0, 1_000_000),
    default=5000,
    show_default=True,
    help="Person records in the incident.",
)
@click.option("--relay", is_flag=True, help="Put the PMAs of site A behind a relay.")
@click.option(
    "--outages",
    type=click.IntRange(0, 100),
    default=1,
    show_default=True,
    help="Stations whose link is cut for a while, then heals.",
)
@click.option(
    "--outage-seconds",
    type=click.FloatRange(0.5, 600),
    default=5.0,
    show_default=True,
    help="How long each cut link stays down.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the incident.")
@click.option(
    "--ticks",
    type=click.IntRange(1, 10_000),
    default=120,
    show_default=True,
    help="Simulated minutes over which persons arrive.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 32),
    default=3,
    show_default=True,
    help="Worker processes hosting the stations.",
)
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Run in this folder and keep the stores, the logs and the stores' passphrase (in"
    " PASSPHRASE) (default: a temporary folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--inject-loss", is_flag=True, hidden=True, help="Tests: lose one change at the hub.")
@click.option(
    "--lang",
    type=click.Choice(["fr", "en"]),
    default=None,
    callback=_set_lang,
    expose_value=False,
    is_eager=True,
    help="Language of the report.",
)
def drill_command(
    stations: int,
    persons: int,
    relay: bool,
    outages: int,
    outage_seconds: float,
    seed: int,
    ticks: int,
    workers: int,
    keep: Path | None,
    as_json: bool,
    inject_loss: bool,
) -> None:
    """Simulate a full incident headless on loopback (real stores, hub, relay and agents),
    then check that nothing was lost or doubled and that every node agrees."""
    from fieldkit.sim.drill import DrillConfig, run_drill

    def progress(text: str) -> None:
        click.echo(text, err=True)

    config = DrillConfig(
        stations=stations,
        persons=persons,
        relay=relay,
        outages=outages,
        outage_seconds=outage_seconds,
        seed=seed,
        ticks=ticks,
        workers=workers,
        folder=keep,
        keep=keep is not None,
        inject="loss" if inject_loss else None,
        progress=progress,
    )
    report = run_drill(config)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
    else:
        print_report(report)
    if not report.ok:
        click.echo(
            _("Error: the drill found lost, doubled or differing data, or did not converge."),
            err=True,
        )
        sys.exit(1)


def register(group: click.Group) -> None:
    """Add ``drill`` to ``group`` (idempotent)."""
    group.add_command(drill_command)
