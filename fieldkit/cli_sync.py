"""Sync commands: ``hub serve|invite|revoke``, ``join``, ``sync``. Thin: parse, call, print.

``register(group)`` adds them to the main click group (``fieldkit.cli.cli``);
``python -m fieldkit.cli_sync ...`` runs the main group with them.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from fieldkit.cli import _open, station_options
from fieldkit.errors import FieldkitError
from fieldkit.i18n import _

log = logging.getLogger("fieldkit.sync.hub")
MATCHER_LOG_EVERY = 10.0  # seconds between the matcher's lines in a hub's log


def _hourly_bilan(store: Any) -> None:
    """The hub keeps the CIAV's hourly bilan history, console open or not."""
    from fieldkit.services import bilan_history

    try:
        bilan_history.ensure_hourly(store)
    except Exception:  # the history waits for the next minute; serving goes on
        log.exception("hourly bilan snapshot failed")


def _log_to_stderr(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("fieldkit")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def _until_signal(stop: threading.Event) -> None:
    def handler(_signum: int, _frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


@click.group()
def hub() -> None:
    """Run this station as a hub: serve, invite and revoke stations."""


@hub.command("serve")
@station_options
@click.option("--bind", required=True, help="Address to listen on, e.g. tcp://0.0.0.0:7700.")
@click.option(
    "--advertise",
    default=None,
    help="Address written in invites (default: the bound address).",
)
@click.option("--verbose", is_flag=True, help="Log every exchange.")
def hub_serve(
    home: Path, passphrase_file: Path | None, bind: str, advertise: str | None, verbose: bool
) -> None:
    """Serve stations until interrupted (also relays upstream if this station joined a hub)."""
    from fieldkit.services.matching import Matcher
    from fieldkit.sync.agent import Agent
    from fieldkit.sync.enrol import check_endpoint, set_hub_endpoint, station_keypair
    from fieldkit.sync.hub import Hub
    from fieldkit.sync.state import SyncState

    check_endpoint(bind)
    store = _open(home, passphrase_file)
    stop = threading.Event()
    _until_signal(stop)
    _log_to_stderr(verbose)
    relaying = SyncState(store).upstream() is not None
    # The CIAV hub matches families' enquiries (the composition root hands it the matcher);
    # a relay only passes changes on.
    matcher = (
        Matcher(store, freeze_when_loaded=True) if store.role == "ciav" and not relaying else None
    )
    server = Hub(store, bind, after_apply=matcher.step if matcher is not None else None)
    agent = None
    try:
        endpoint = server.start()
        set_hub_endpoint(store, check_endpoint(advertise) if advertise else endpoint)
        click.echo(
            _("Hub {name} listening on {endpoint}.").format(
                name=store.meta.get("station_name"), endpoint=endpoint
            ),
            err=True,
        )
        click.echo(_("Hub key: {key}").format(key=station_keypair(store)[0]), err=True)
        click.echo(f"endpoint={endpoint}", err=False)
        sys.stdout.flush()
        upstream = SyncState(store).upstream()
        if upstream is not None:
            agent = Agent(store)
            agent.start()
            click.echo(
                _("Relaying to hub {name} at {endpoint}.").format(
                    name=upstream.hub_name, endpoint=upstream.endpoint
                ),
                err=True,
            )
        snapshot_due = 0.0
        told_at = time.monotonic()
        while not stop.is_set() and not server.wait(0.2):
            if matcher is not None and time.monotonic() - told_at >= MATCHER_LOG_EVERY:
                told_at = time.monotonic()
                log.info("%s; hub log at %d", matcher.describe(), SyncState(store).top())
            if time.monotonic() >= snapshot_due and store.role == "ciav":
                snapshot_due = time.monotonic() + 60
                _hourly_bilan(store)
    finally:
        if agent is not None:
            agent.stop()
        server.stop()
        store.close()


@hub.command("invite")
@station_options
@click.option("--role", required=True, help="Role of the station: pma, pump, police, caf, ciav.")
@click.option("--station", "station_name", required=True, help="Name of the station, e.g. PMA-2.")
@click.option(
    "--png",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the QR code as a PNG file.",
)
@click.option(
    "--relay", is_flag=True, help="The station is a relay: it may forward others' changes."
)
@click.option(
    "--endpoint", default=None, help="Hub address in the token (default: from 'hub serve')."
)
def hub_invite(
    home: Path,
    passphrase_file: Path | None,
    role: str,
    station_name: str,
    png: Path | None,
    relay: bool,
    endpoint: str | None,
) -> None:
    """Print a one-time enrolment token and its QR code."""
    from fieldkit.sync.enrol import create_invite, hub_endpoint, render_qr, write_png

    store = _open(home, passphrase_file)
    try:
        address = endpoint or hub_endpoint(store)
        if not address:
            raise FieldkitError(
                _(
                    "The hub address is not known yet: run 'fieldkit hub serve --bind"
                    " tcp://HOST:PORT' once, or pass --endpoint."
                )
            )
        token = create_invite(store, role, station_name, address, relay=relay)
    finally:
        store.close()
    click.echo(
        _("One-time invite for station {name} ({role}), valid 24 h:").format(
            name=station_name, role=role.lower()
        )
    )
    click.echo(token)
    click.echo(render_qr(token))
    if png is not None:
        try:
            write_png(token, png)
        except OSError as exc:
            raise FieldkitError(
                _("Cannot write {path}: {reason}.").format(path=png, reason=exc.strerror)
            ) from None
        click.echo(_("QR code written to {path}.").format(path=png), err=True)


@hub.command("revoke")
@station_options
@click.option("--station", "station_name", required=True, help="Name of the station to revoke.")
def hub_revoke(home: Path, passphrase_file: Path | None, station_name: str) -> None:
    """Revoke a station: the hub refuses it from its next handshake or message."""
    from fieldkit.sync.enrol import revoke

    store = _open(home, passphrase_file)
    try:
        revoke(store, station_name)
    finally:
        store.close()
    click.echo(_("Station {name} revoked.").format(name=station_name))


@hub.command("peers")
@station_options
def hub_peers(home: Path, passphrase_file: Path | None) -> None:
    """List the stations enrolled with this hub."""
    from fieldkit.sync.state import SyncState

    store = _open(home, passphrase_file)
    try:
        peers = SyncState(store).peers()
    finally:
        store.close()
    for peer in peers:
        state = _("revoked") if peer.revoked else _("enrolled")
        relay = " relay" if peer.relay else ""
        click.echo(f"{peer.name:<20} {peer.role:<7} {state}{relay}  {peer.station_id}")


@click.command("join")
@station_options
@click.argument("token")
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 3600),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the hub.",
)
def join_command(home: Path, passphrase_file: Path | None, token: str, timeout: float) -> None:
    """Enrol this station with a hub, using the token printed by 'hub invite'."""
    from fieldkit.sync.enrol import join

    store = _open(home, passphrase_file)
    try:
        upstream = join(store, token, timeout=timeout)
    finally:
        store.close()
    click.echo(
        _("Enrolled with hub {name} at {endpoint}.").format(
            name=upstream.hub_name, endpoint=upstream.endpoint
        )
    )


@click.command("sync")
@station_options
@click.option("--once", is_flag=True, help="Push and pull until idle, then exit.")
@click.option(
    "--timeout",
    type=float,
    default=None,
    help="Give up after S seconds (--once: default 60; otherwise run S seconds).",
)
def sync_command(
    home: Path, passphrase_file: Path | None, once: bool, timeout: float | None
) -> None:
    """Sync with the hub: in the background until interrupted, or once."""
    from fieldkit.sync.agent import Agent

    store = _open(home, passphrase_file)
    try:
        agent = Agent(store)
        if once:
            report = agent.run_once(timeout=timeout if timeout is not None else 60.0)
            click.echo(
                _("Sync done: {pushed} changes sent, {pulled} received.").format(
                    pushed=report.pushed, pulled=report.pulled
                )
            )
            return
        stop = threading.Event()
        _until_signal(stop)
        shown: list[str] = []

        def show(status: Any) -> None:
            text = status.describe()
            if not shown or shown[-1] != text:
                shown.append(text)
                click.echo(text, err=True)

        agent.on_status = show
        agent.start()
        end = time.monotonic() + timeout if timeout is not None else None
        try:
            while not stop.wait(0.2):
                if end is not None and time.monotonic() >= end:
                    break
        finally:
            agent.stop()
    finally:
        store.close()


def register(group: click.Group) -> None:
    """Add the sync commands to ``group`` (idempotent)."""
    group.add_command(hub)
    group.add_command(join_command)
    group.add_command(sync_command)


def main() -> None:  # pragma: no cover - entry point for subprocesses and tests
    from fieldkit.cli import cli

    register(cli)
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
