"""The hub: a CURVE ROUTER that takes acknowledged pushes and serves role-filtered pulls.

Everything runs in one background thread (:meth:`Hub.start`), plus pyzmq's ZAP authenticator
thread whose allow-list is read from the store at each handshake. The protocol is in
docs/sync-protocol.md; every rejected frame is logged with its reason and never stops the loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import zmq
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils import z85
from zmq.utils.monitor import recv_monitor_message

from fieldkit.domain.authority import station_key_refusal, writable_by_entity, write_refusal
from fieldkit.domain.changes import Change
from fieldkit.domain.model import HUB_WRITTEN, STATION_KEY
from fieldkit.domain.secrecy import project, readable_fields
from fieldkit.errors import SyncError
from fieldkit.i18n import _
from fieldkit.store import materialise
from fieldkit.store.store import Store
from fieldkit.sync import wire
from fieldkit.sync.enrol import serves_role, station_keypair
from fieldkit.sync.state import Invite, Peer, SyncState, utc_stamp_of

log = logging.getLogger("fieldkit.sync.hub")

ZAP_DOMAIN = b"fieldkit"
SCAN_WINDOW = 20_000  # hub sequences examined by one pull
DRAIN = 64  # messages handled before looking at the stop flag and the monitor again
CACHE_LIMIT = 200_000  # encoded projections kept (hub sequence, role) -> bytes
MAX_CLOCK_AHEAD_MS = 30 * 24 * 3600 * 1000  # a change dated further ahead is refused (see docs)
SEEN_FLUSH_S = 5.0  # how often the hub writes when each station was last heard
IDLE_HOOK = 1.0  # seconds: the after-apply hook also runs this often (the hub's own writes)


class _Rejected(Exception):
    def __init__(self, code: str, reason: str, n: int | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.n = n


class _KeyCheck:
    """The ZAP callback: enrolled, non-revoked keys and live invites, read at each handshake."""

    def __init__(self, state: SyncState) -> None:
        self.state = state

    def callback(self, domain: str, key: bytes) -> bool:
        try:
            allowed, why = self.state.key_status(key.decode("ascii"))
        except Exception:  # never let the authenticator thread die
            log.exception("handshake check failed")
            return False
        if allowed:
            log.debug("handshake accepted: %s", why)
        else:
            log.warning("handshake refused: %s (key %s)", why, key[:8].decode("ascii", "replace"))
        return allowed


_HANDSHAKE_EVENTS: dict[int, str] = {
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "handshake failed",
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "handshake protocol error",
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "authentication refused",
}


class Hub:
    """Serve the sync protocol for ``store`` on ``bind`` (e.g. ``tcp://0.0.0.0:7700``)."""

    def __init__(
        self,
        store: Store,
        bind: str,
        *,
        tap: Callable[[Peer | None, bytes], None] | None = None,
        after_apply: Callable[[], bool] | None = None,
    ) -> None:
        """``tap`` (tests, diagnostics) sees every reply frame and the peer it goes to.

        ``after_apply`` (the matcher, given by the composition root) runs in the hub's thread
        at start, after pushes were committed and acknowledged, and every second (for what the
        hub's own station recorded), between frames; it does a short slice of work and returns
        True while it has more, so it is called again at once.
        """
        self.store = store
        self.tap = tap
        self.after_apply = after_apply
        self._work = after_apply is not None
        self._idle_hook_at = 0.0
        self.bind = bind
        self.state = SyncState(store)
        self.endpoint: str | None = None
        self.rejections: Counter[str] = Counter()
        self.handled = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._cache: dict[tuple[int, str], Any] = {}
        # station id -> (last message, protocol version, downstream cursor): the console's table
        self._seen: dict[str, tuple[float, int | None, int | None]] = {}
        self._seen_dirty: set[str] = set()
        self._seen_flushed = 0.0
        self._hub_id = store.station_id
        self._incident = store.meta.get("incident", "")
        self._name = store.meta.get("station_name", "hub")

    # -- life cycle ----------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> str:
        """Bind and serve in a background thread; returns the bound endpoint."""
        self._thread = threading.Thread(target=self._run, name="fieldkit-hub", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise SyncError(_("The hub did not start in time."))
        if self._error is not None:
            raise SyncError(
                _("Cannot listen on {bind}: {reason}.").format(bind=self.bind, reason=self._error)
            )
        assert self.endpoint is not None
        return self.endpoint

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block while the hub runs; True once it has stopped."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        context = zmq.Context()
        auth: ThreadAuthenticator | None = None
        sock: zmq.Socket | None = None
        monitor: zmq.Socket | None = None
        try:
            with self.store.lock:
                # Acks promise durability: commit with a full fsync on this connection.
                self.store.db.execute("PRAGMA synchronous = FULL")
            public, secret = station_keypair(self.store)
            auth = ThreadAuthenticator(context, log=logging.getLogger("fieldkit.sync.auth"))
            auth.start()
            auth.configure_curve_callback(
                ZAP_DOMAIN.decode(), credentials_provider=_KeyCheck(self.state)
            )
            sock = context.socket(zmq.ROUTER)
            sock.linger = 0
            sock.curve_server = True
            sock.curve_publickey = public.encode("ascii")
            sock.curve_secretkey = secret.encode("ascii")
            sock.zap_domain = ZAP_DOMAIN
            sock.maxmsgsize = wire.HARD_FRAME_LIMIT
            sock.sndhwm = 200
            sock.rcvhwm = 200
            sock.heartbeat_ivl = 1000
            sock.heartbeat_timeout = 3000
            sock.heartbeat_ttl = 3000
            sock.router_handover = True
            monitor = sock.get_monitor_socket(
                zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                | zmq.EVENT_HANDSHAKE_FAILED_AUTH
            )
            sock.bind(self.bind)
            self.endpoint = str(sock.getsockopt_string(zmq.LAST_ENDPOINT))
        except Exception as exc:
            self._error = exc
            self._ready.set()
            self._close(context, auth, sock, monitor)
            return
        self._ready.set()
        log.info("hub %s listening on %s", self._name, self.endpoint)
        try:
            self._loop(sock, monitor)
        finally:
            self._close(context, auth, sock, monitor)
            log.info("hub %s stopped", self._name)

    @staticmethod
    def _close(
        context: zmq.Context,
        auth: ThreadAuthenticator | None,
        sock: zmq.Socket | None,
        monitor: zmq.Socket | None,
    ) -> None:
        if sock is not None:
            if monitor is not None:
                sock.disable_monitor()
                monitor.close(linger=0)
            sock.close(linger=0)
        if auth is not None:
            auth.stop()
        context.term()

    def _loop(self, sock: zmq.Socket, monitor: zmq.Socket) -> None:
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        while not self._stop.is_set():
            self._flush_seen()
            events = dict(poller.poll(0 if self._work else 100))
            if monitor in events:
                self._monitor_events(monitor)
            if self._work or (
                self.after_apply is not None and time.monotonic() >= self._idle_hook_at
            ):
                self._after_apply()
            if sock not in events:
                continue
            for _count in range(DRAIN):
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                try:
                    self._handle(sock, frames)
                except Exception:  # a bug must not stop the hub for everyone
                    log.exception("error while handling a frame")
                self.handled += 1

    @property
    def busy(self) -> bool:
        """True while the after-apply hook has work left (tests wait for it)."""
        return self._work

    def _after_apply(self) -> None:
        assert self.after_apply is not None
        self._idle_hook_at = time.monotonic() + IDLE_HOOK
        try:
            self._work = bool(self.after_apply())
        except Exception:  # a bug there must not stop the hub
            log.exception("error in the hub's after-apply hook")
            self._work = False

    def _monitor_events(self, monitor: zmq.Socket) -> None:
        while monitor.poll(0):
            event = recv_monitor_message(monitor)
            kind = int(event["event"])
            what = _HANDSHAKE_EVENTS.get(kind)
            if what is None:
                continue
            value = event["value"]
            if kind == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL and value in (
                zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
            ):
                what = "client without CURVE refused (mechanism mismatch)"
            elif kind == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
                what = f"{what} (code {int(value):#x})"
            elif kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                what = f"{what} (ZAP status {value})"
            else:
                what = (
                    f"{what} ({zmq.strerror(int(value))}; a client without CURVE or a broken link)"
                )
            self.rejections["handshake"] += 1
            log.warning("connection refused: %s", what)

    def _flush_seen(self, every: float = SEEN_FLUSH_S) -> None:
        """Write when each station was last heard (and its version, cursor), every few s."""
        if not self._seen_dirty or time.monotonic() - self._seen_flushed < every:
            return
        self._seen_flushed = time.monotonic()
        seen = {station: self._seen[station] for station in self._seen_dirty}
        self._seen_dirty = set()
        try:
            self.state.record_seen(
                {
                    station: (utc_stamp_of(at), version, cursor)
                    for station, (at, version, cursor) in seen.items()
                }
            )
        except Exception:  # the table is for the console: never stop the hub for it
            log.exception("could not record when stations were last seen")

    def _note_seen(self, peer: Peer, version: int | None = None, cursor: int | None = None) -> None:
        _at, old_version, old_cursor = self._seen.get(peer.station_id, (0.0, None, None))
        self._seen[peer.station_id] = (
            time.time(),
            version if version is not None else old_version,
            cursor if cursor is not None else old_cursor,
        )
        self._seen_dirty.add(peer.station_id)

    # -- one frame ---------------------------------------------------------------------
    def _send(self, sock: zmq.Socket, ident: bytes, payload: bytes) -> None:
        try:
            sock.send_multipart([ident, payload], zmq.NOBLOCK)
        except zmq.Again:  # that station's queue is full: it will ask again
            log.debug("reply dropped: queue full")

    def _handle(self, sock: zmq.Socket, frames: Sequence[zmq.Frame]) -> None:
        ident = frames[0].bytes
        if len(frames) < 2:
            return
        key = str(frames[1].get("User-Id") or "")
        peer = self.state.peer_by_key(key) if key else None
        who = peer.name if peer is not None else f"key {str(key)[:8]}"
        try:
            if len(frames) != 2:
                raise _Rejected("malformed", f"{len(frames) - 1} frames in one message")
            if peer is not None and peer.revoked:
                raise _Rejected("revoked", "revoked station")
            try:
                message = wire.decode_for_hub(frames[1].buffer)
            except wire.WireError as exc:
                raise _Rejected("malformed", exc.reason) from None
            if peer is not None:
                reply = self._from_peer(peer, message)
            else:
                invite = self.state.invite(key) if key else None
                if invite is None or not isinstance(message, wire.Join):
                    raise _Rejected("refused", f"{type(message).__name__} from a key not enrolled")
                reply = self._join(invite, message)
        except _Rejected as rejected:
            self.rejections[rejected.code] += 1
            log.warning("rejected frame from %s: %s", who, rejected.reason)
            reply = wire.encode(wire.Error(rejected.code, rejected.reason[:1000], rejected.n))
        if self.tap is not None:
            self.tap(peer, reply)
        self._send(sock, ident, reply)

    def _from_peer(self, peer: Peer, message: wire.ToHub) -> bytes:
        self._note_seen(peer, version=message.v if isinstance(message, wire.Hello) else None)
        if isinstance(message, wire.Push):
            return self._push(peer, message)
        if isinstance(message, wire.Pull):
            return self._pull(peer, message)
        if isinstance(message, wire.Ping):
            return wire.encode(wire.Pong(message.n, self.state.top()))
        if isinstance(message, wire.Hello):
            return self._hello(peer, message)
        raise _Rejected("refused", "station already enrolled")

    # -- commands ----------------------------------------------------------------------
    def _check_version(self, version: int) -> None:
        if version not in wire.SUPPORTED_VERSIONS:
            supported = ", ".join(str(v) for v in wire.SUPPORTED_VERSIONS)
            raise _Rejected("version", f"protocol version {version} not supported ({supported})")

    def _hello(self, peer: Peer, message: wire.Hello) -> bytes:
        self._check_version(message.v)
        if message.incident != self._incident:
            raise _Rejected("incident", f"incident {message.incident[:80]!r} is not this hub's")
        if message.station_id != peer.station_id:
            raise _Rejected("refused", "station id does not match the enrolled key")
        self.state.touch(peer.station_id)
        log.info("station %s (%s) connected", peer.name, peer.role)
        return wire.encode(
            wire.Welcome(
                wire.PROTOCOL_VERSION, self._hub_id, self._incident, self.state.heads(), self._top()
            )
        )

    def _top(self) -> int:
        return self.state.top()

    def _push(self, peer: Peer, message: wire.Push) -> bytes:
        origins = {c.origin for c in message.changes}
        if peer.relay:
            forbidden = origins & ((self.state.peer_ids() - {peer.station_id}) | {self._hub_id})
        else:
            forbidden = origins - {peer.station_id}
        if forbidden:
            raise _Rejected(
                "origin", f"changes of origin {sorted(forbidden)[0][:64]!r} refused", message.n
            )
        if not serves_role(self.store, peer.role):
            raise _Rejected(
                "relay",
                f"a {self.store.role} relay takes no changes from a {peer.role} station",
                message.n,
            )
        latest = (time.time_ns() // 1_000_000 + MAX_CLOCK_AHEAD_MS) << 16
        # What the sender's enrolled role may write (a relay takes pushes only from stations of
        # its own role, so the relay's role stands for every origin it forwards).
        writable = writable_by_entity(peer.role)
        refused: tuple[int, str] | None = None  # the first change the role may not write
        for index, change in enumerate(message.changes):
            reason = wire.invalid_reason(change)
            if reason is None and change.hlc > latest:
                reason = "clock more than 30 days ahead"
            if reason is None and change.entity in HUB_WRITTEN:
                reason = f"{change.entity} is written by the hub only"
            if reason is not None:
                raise _Rejected("invalid", f"{change.origin}:{change.seq}: {reason}", message.n)
            if refused is None:
                allowed = writable.get(change.entity)
                why = None
                if allowed is None or not change.values.keys() <= allowed:
                    why = write_refusal(peer.role, change.entity, change.values)
                elif change.entity == STATION_KEY.name:
                    # a station publishes only its own key: never one under another's id
                    why = station_key_refusal(change.origin, change.entity_id, change.values)
                if why is not None:
                    refused = (index, f"{change.origin}:{change.seq}: {why}")
        # A change the role may not write is refused with every change after it in the batch;
        # those before it are the station's to record: stored, then the refusal is answered
        # (the next welcome's heads tell the station what the hub holds).
        kept = message.changes if refused is None else message.changes[: refused[0]]
        kept_origins = origins if refused is None else {c.origin for c in kept}
        changes = [wire.from_wire(c) for c in kept]
        try:
            with self.store.transaction():
                result = self.store.apply(changes)
                self.state.add_sources(kept_origins, peer.station_id)
                heads = self.state.heads(kept_origins)
        except Exception as exc:
            log.exception("push from %s could not be applied", peer.name)
            raise _Rejected("invalid", f"batch could not be stored: {exc}", message.n) from None
        if result.applied and self.after_apply is not None:
            self._work = True
        if result.applied:
            log.debug(
                "%s pushed %d changes (%d duplicates)", peer.name, result.applied, result.duplicates
            )
        if refused is not None:
            raise _Rejected("role", refused[1], message.n)
        return wire.encode(wire.Ack(message.n, heads, self._top()))

    def _pull(self, peer: Peer, message: wire.Pull) -> bytes:
        entities = sorted(
            e for e in _entities() if readable_fields(peer.role, e)
        )  # what this role may read at all
        cursor = message.cursor
        limit = message.limit
        top = self._top()
        upper = min(top, cursor + SCAN_WINDOW)
        rows: list[Any] = []
        if entities and upper > cursor:
            marks = ",".join("?" * len(entities))
            with self.store.lock:
                rows = self.store.db.execute(
                    "SELECT id, origin, seq, hlc, entity, entity_id, body, author FROM changes"
                    f" WHERE id > ? AND id <= ? AND origin != ? AND entity IN ({marks})"
                    " ORDER BY id LIMIT ?",
                    [cursor, upper, peer.station_id, *entities, limit + 1],
                ).fetchall()
        raws: list[Any] = []
        size = 0
        next_cursor = upper
        more = upper < top
        for row in rows:
            raw = self._projected(row, peer)
            if raw is None:
                continue
            if len(raws) >= limit or (raws and size + len(raw) > wire.BATCH_BYTES):
                more = True
                next_cursor = row[0] - 1
                break
            raws.append(raw)
            size += len(raw)
        else:
            if len(rows) > limit:  # the scan stopped at its row limit, not at ``upper``
                more = True
                next_cursor = rows[-1][0]
        self._note_seen(peer, cursor=max(cursor, next_cursor))  # where it stands once served
        return wire.encode_changes(cursor, max(cursor, next_cursor), more, raws)

    def _projected(self, row: Sequence[Any], peer: Peer) -> Any:
        key = (row[0], peer.role)
        cached = self._cache.get(key, False)
        if cached is not False:
            return cached
        change: Change = materialise.row_to_change(row[1:])
        projected = project(change, peer.role, peer.station_id)
        raw = wire.encode_change(projected) if projected is not None else None
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = raw
        return raw

    def _join(self, invite: Invite, message: wire.Join) -> bytes:
        self._check_version(message.v)
        if invite.used or invite.expired:
            raise _Rejected("refused", f"invite for {invite.name} used or expired")
        if message.incident != self._incident:
            raise _Rejected("incident", "another incident")
        if message.role != invite.role or message.name != invite.name:
            raise _Rejected("refused", f"invite is for {invite.name} ({invite.role})")
        if not serves_role(self.store, invite.role):
            raise _Rejected("relay", f"a {self.store.role} relay enrols no {invite.role} station")
        try:
            if len(wire_key := message.key.encode("ascii")) != 40:
                raise ValueError
            z85.decode(wire_key)
        except (ValueError, UnicodeError):
            raise _Rejected("refused", "not a CURVE public key") from None
        existing = self.state.peer_by_id(message.station_id) or self.state.peer_by_key(message.key)
        if existing is not None and not existing.revoked:
            raise _Rejected("refused", f"station {existing.name} is already enrolled")
        peer = self.state.enrol(invite, message.station_id, message.name, invite.role, message.key)
        log.info("enrolled station %s (%s)", peer.name, peer.role)
        return wire.encode(
            wire.Joined(wire.PROTOCOL_VERSION, self._hub_id, self._name, self._incident, peer.role)
        )


def _entities() -> list[str]:
    from fieldkit.domain.model import ENTITIES

    return list(ENTITIES)
