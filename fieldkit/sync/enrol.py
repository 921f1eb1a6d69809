"""Enrolment: the station's CURVE keys, invite tokens (text + QR), join and revoke."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import zmq
from zmq.utils import z85

from fieldkit.domain.model import Role
from fieldkit.errors import NotFound, SyncError, ValidationError
from fieldkit.i18n import _
from fieldkit.store.store import Store
from fieldkit.sync import wire
from fieldkit.sync.state import Peer, SyncState, Upstream

TOKEN_PREFIX = "FK1-"
CURVE_SECRET = "curve_secret"  # name of the station's CURVE secret key in the store's secrets
JOIN_TIMEOUT = 10.0


def station_keypair(store: Store) -> tuple[str, str]:
    """This station's CURVE key pair (Z85 public, Z85 secret), created once, kept in the store."""
    with store.lock:
        secret = store.get_secret(CURVE_SECRET)
        if secret is None:
            _public, secret = zmq.curve_keypair()
            store.set_secret(CURVE_SECRET, secret)
    return zmq.curve_public(secret).decode("ascii"), secret.decode("ascii")


@dataclass(frozen=True)
class Invitation:
    """What an invite token carries."""

    endpoint: str
    hub_key: str  # Z85 public key of the hub
    secret: str  # Z85 secret key of the one-time invite key pair
    role: str
    name: str
    incident: str

    @property
    def public(self) -> str:
        return zmq.curve_public(self.secret.encode("ascii")).decode("ascii")


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=4).digest()


def encode_token(invitation: Invitation) -> str:
    payload = msgspec.msgpack.encode(
        [
            1,
            invitation.endpoint,
            z85.decode(invitation.hub_key),
            z85.decode(invitation.secret),
            invitation.role,
            invitation.name,
            invitation.incident,
        ]
    )
    raw = payload + _checksum(payload)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _bad_token() -> ValidationError:
    return ValidationError(_("This enrolment token is not valid: check that it was copied whole."))


def decode_token(text: str) -> Invitation:
    """The invitation in a token (whitespace ignored); ValidationError when damaged."""
    token = "".join(text.split())
    if not token.upper().startswith(TOKEN_PREFIX):
        raise _bad_token()
    body = token[len(TOKEN_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError):
        raise _bad_token() from None
    payload, check = raw[:-4], raw[-4:]
    if len(raw) < 8 or _checksum(payload) != check:
        raise _bad_token()
    try:
        items: Any = msgspec.msgpack.decode(payload)
        version, endpoint, hub_key, secret, role, name, incident = items
        if version != 1 or len(hub_key) != 32 or len(secret) != 32:
            raise ValueError
        return Invitation(
            check_endpoint(str(endpoint)),  # "tcp://" alone made zmq raise on connect
            z85.encode(hub_key).decode("ascii"),
            z85.encode(secret).decode("ascii"),
            str(role),
            str(name),
            str(incident),
        )
    except (ValueError, TypeError, msgspec.DecodeError):
        raise _bad_token() from None


def render_qr(text: str) -> str:
    """A QR code of ``text`` in terminal half-blocks."""
    import qrcode

    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(text)
    code.make(fit=True)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()


def write_png(text: str, path: Path) -> None:
    import qrcode
    import qrcode.image.pure

    image = qrcode.make(text, image_factory=qrcode.image.pure.PyPNGImage, box_size=8, border=4)
    with path.open("wb") as handle:
        image.save(handle)


# tcp://HOST:PORT (a name, IPv4 or [IPv6]; a port), or ipc://PATH: what zmq can connect to.
_ENDPOINT = re.compile(
    r"tcp://(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.*_-]+):(?:[0-9]{1,5}|\*)|ipc://[^\s]+"
)


def check_endpoint(endpoint: str) -> str:
    endpoint = endpoint.strip()
    if not _ENDPOINT.fullmatch(endpoint) or len(endpoint) > 200:
        raise ValidationError(
            _("The hub address must look like tcp://HOST:PORT."), field="endpoint"
        )
    return endpoint


def hub_endpoint(store: Store) -> str | None:
    """The address stations use to reach this hub (remembered by ``hub serve``)."""
    with store.lock:
        row = store.db.execute("SELECT value FROM sync_state WHERE key = 'hub_endpoint'").fetchone()
    return row[0] if row else None


def set_hub_endpoint(store: Store, endpoint: str) -> None:
    with store.transaction():
        store.db.execute(
            "INSERT OR REPLACE INTO sync_state (key, value) VALUES ('hub_endpoint', ?)", [endpoint]
        )


def serves_role(store: Store, role: str) -> bool:
    """May this station, as a hub, enrol a station of ``role`` and store what it pushes?

    A hub stores whole what its stations push, and a station only ever holds what its role may
    read (DOMAIN.md): so a relay (any hub but the central one) serves only stations of its own
    role. The central hub, a CIAV station enrolled with no hub, serves every role.
    """
    if role == store.role:
        return True
    return store.role == Role.CIAV.value and not SyncState(store).has_upstream()


def create_invite(store: Store, role: str, name: str, endpoint: str, relay: bool = False) -> str:
    """Record a one-time invite for station ``name`` with ``role``; returns its token."""
    try:
        parsed = Role(role.strip().lower())
    except ValueError:
        raise ValidationError(
            _("Unknown role {role}: choose one of pma, pump, police, caf, ciav.").format(role=role),
            field="role",
        ) from None
    if not serves_role(store, parsed.value):
        raise ValidationError(
            _(
                "A {own} relay enrols only {own} stations (it would hold what a {role} station"
                " records): invite this station from the CIAV hub."
            ).format(own=store.role, role=parsed.value),
            field="role",
        )
    name = name.strip()
    if not name:
        raise ValidationError(_("The station needs a name."), field="station_name")
    if len(name) > 40 or not name.isprintable():
        raise ValidationError(
            _("A station name is at most 40 printable characters, such as PMA-2."),
            field="station_name",
        )
    state = SyncState(store)
    live = state.peer_by_name(name)
    if live is not None and not live.revoked:
        raise ValidationError(
            _("Station {name} is already enrolled: revoke it first.").format(name=name)
        )
    hub_key, _secret = station_keypair(store)
    invite_public, invite_secret = zmq.curve_keypair()
    state.add_invite(invite_public.decode("ascii"), name, parsed.value, relay)
    return encode_token(
        Invitation(
            check_endpoint(endpoint),
            hub_key,
            invite_secret.decode("ascii"),
            parsed.value,
            name,
            store.meta.get("incident", ""),
        )
    )


def revoke(store: Store, name: str) -> list[Peer]:
    """Revoke station ``name``: its next handshake is refused, and so is every later message."""
    peers = SyncState(store).revoke(name.strip())
    if not peers:
        raise NotFound(_("No enrolled station named {name}.").format(name=name))
    return peers


def client_socket(context: zmq.Context, server_key: str, public: str, secret: str) -> zmq.Socket:
    """A CURVE DEALER towards a hub."""
    sock = context.socket(zmq.DEALER)
    sock.linger = 0
    sock.curve_serverkey = server_key.encode("ascii")
    sock.curve_publickey = public.encode("ascii")
    sock.curve_secretkey = secret.encode("ascii")
    sock.maxmsgsize = wire.HARD_FRAME_LIMIT
    sock.heartbeat_ivl = 1000
    sock.heartbeat_timeout = 3000
    sock.heartbeat_ttl = 3000
    sock.reconnect_ivl = 200
    sock.reconnect_ivl_max = 2000
    return sock


def refusal_message(code: str, detail: str = "") -> str:
    """A sentence for the user from a hub's error code."""
    messages = {
        "version": _("The hub speaks another version of the sync protocol: update fieldkit."),
        "incident": _("The hub belongs to another incident."),
        "revoked": _("This station was revoked by the hub."),
        "refused": _("The hub refused this station: the invite was used, expired or revoked."),
        "origin": _("The hub refused changes this station may not send."),
        "invalid": _(
            "The hub refused an invalid change, which stays on this station: report it to the"
            " CIAV ({detail})."
        ).format(detail=detail[:200]),
        "role": _(
            "The hub refused a change this station's role may not record, so nothing more is"
            " sent: report it to the CIAV ({detail})."
        ).format(detail=detail[:200]),
        "relay": _(
            "This relay serves only stations of its own role and refused this one: enrol it"
            " with the CIAV hub instead."
        ),
    }
    return messages.get(code) or _("The hub refused the request ({code}).").format(code=code)


def join(
    store: Store,
    token: str,
    *,
    timeout: float = JOIN_TIMEOUT,
    context: zmq.Context | None = None,
) -> Upstream:
    """Enrol this station with the hub of ``token``; stores the hub's address and key."""
    invitation = decode_token(token)
    own_role = store.role
    if invitation.role != own_role:
        raise ValidationError(
            _("This token is for a {role} station, but this station is {own}.").format(
                role=invitation.role, own=own_role
            )
        )
    own_name = store.meta.get("station_name", "")
    if invitation.name != own_name:
        raise ValidationError(
            _("This token is for station {name}, but this station is {own}.").format(
                name=invitation.name, own=own_name
            )
        )
    own_incident = store.meta.get("incident", "")
    if invitation.incident != own_incident:
        raise ValidationError(
            _("This token is for incident {incident}, but this station belongs to {own}.").format(
                incident=invitation.incident, own=own_incident
            )
        )
    others = sorted(
        {p.role for p in SyncState(store).peers() if not p.revoked and p.role != own_role}
    )
    if others:
        raise ValidationError(
            _(
                "This station serves {roles} stations as a hub, and a relay may serve only its"
                " own role: revoke them before joining a hub."
            ).format(roles=", ".join(others))
        )
    public, _secret = station_keypair(store)
    ctx = context or zmq.Context()
    sock = client_socket(ctx, invitation.hub_key, invitation.public, invitation.secret)
    monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    try:
        sock.connect(invitation.endpoint)
        sock.send(
            wire.encode(
                wire.Join(
                    wire.PROTOCOL_VERSION,
                    store.station_id,
                    own_name,
                    own_role,
                    own_incident,
                    public,
                )
            )
        )
        reply = _await_reply(sock, monitor, timeout, invitation.endpoint)
    finally:
        sock.disable_monitor()
        monitor.close(linger=0)
        sock.close(linger=0)
        if context is None:
            ctx.term()
    if isinstance(reply, wire.Error):
        raise SyncError(refusal_message(reply.code, reply.detail))
    if not isinstance(reply, wire.Joined):
        raise SyncError(_("The hub answered something unexpected; try again."))
    upstream = Upstream(invitation.endpoint, invitation.hub_key, reply.hub_id, reply.hub_name)
    SyncState(store).set_upstream(upstream)
    return upstream


def _await_reply(
    sock: zmq.Socket, monitor: zmq.Socket, timeout: float, endpoint: str
) -> wire.ToStation:
    deadline = time.monotonic() + timeout
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(monitor, zmq.POLLIN)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SyncError(
                _(
                    "The hub at {endpoint} did not answer: check the network, or ask for a new invite."
                ).format(endpoint=endpoint)
            )
        events = dict(poller.poll(int(left * 1000) + 1))
        if monitor in events:
            monitor.recv_multipart()
            raise SyncError(refusal_message("refused"))
        if sock in events:
            try:
                return wire.decode_for_station(sock.recv())
            except wire.WireError:
                continue
