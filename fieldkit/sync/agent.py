"""The station agent: a CURVE DEALER towards the hub, in a background thread or run once.

A session is ``hello`` -> ``welcome``, then pushes (at most ``WINDOW`` batches awaiting their ack)
and pulls (one at a time), with a ``ping`` every second. Nothing heard from the hub for
``offline_after`` seconds: the station is offline, closes the socket and reconnects with back-off;
the next ``welcome`` says where to resume. See docs/sync-protocol.md.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import zmq

from fieldkit.domain.changes import Change
from fieldkit.domain.values import values_problem
from fieldkit.errors import SyncError
from fieldkit.i18n import _
from fieldkit.store.store import Store
from fieldkit.sync import wire
from fieldkit.sync.enrol import client_socket, refusal_message, station_keypair
from fieldkit.sync.state import SyncState, Upstream

log = logging.getLogger("fieldkit.sync.agent")

HEARTBEAT = 1.0  # seconds between pings
OFFLINE_AFTER = 2.5  # seconds without a frame from the hub: offline
BACKOFF = (0.5, 8.0)  # first and longest wait before reconnecting
REQUEST_TIMEOUT = 15.0  # an ack or a pull answer awaited longer: restart the session
WINDOW = 4  # push batches awaiting their ack
PUSH_COUNT = 1000  # changes per push batch (also cut at wire.BATCH_BYTES)
PULL_LIMIT = 2000  # changes asked per pull
MARKS_EVERY = 0.25  # seconds between looks at the local log for new changes to push


@dataclass(frozen=True)
class SyncStatus:
    """What the UI shows: ``offline · 37 waiting``, ``synced 4 s ago``."""

    online: bool = False
    waiting: int = 0
    last_sync: float | None = None  # time.time() of the last ack or pull
    error: str | None = None  # why the hub refused this station, if it did

    def describe(self, now: float | None = None) -> str:
        if self.error:
            return self.error
        if not self.online:
            return _("offline · {count} waiting").format(count=self.waiting)
        if self.waiting:
            return _("online · {count} waiting").format(count=self.waiting)
        if self.last_sync is None:
            return _("online")
        ago = max(0, int((now if now is not None else time.time()) - self.last_sync))
        return _("synced {seconds} s ago").format(seconds=ago)


@dataclass
class SyncReport:
    """What one ``run_once`` did."""

    pushed: int = 0  # changes newly acknowledged by the hub
    pulled: int = 0  # changes received and stored
    duration: float = 0.0


class _Fatal(Exception):
    """The hub refused this station (revoked, other incident or version ...)."""


class _Session:
    """The state of one connection, from ``hello`` to its end."""

    def __init__(
        self, agent: Agent, upstream: Upstream, pull: bool = True, once: bool = False
    ) -> None:
        self.agent = agent
        self.pull = pull
        self.once = once
        self.blocked: str | None = None  # why the hub refused a push: none more this session
        self.store = agent.store
        self.state = agent.state
        self.upstream = upstream
        self.welcomed = False
        self.hub_id = upstream.hub_id
        self.acked: dict[str, int] = {}
        self.next_send: dict[str, int] = {}
        self.inflight: dict[int, tuple[float, dict[str, int]]] = {}
        self.batch_n = 0
        self.cursor = 0
        self.hub_top = 0
        self.pull_sent: float | None = None
        self.pull_more = False
        self.marks: dict[str, tuple[int, int]] = {}
        self.marks_at = 0.0
        self.report = SyncReport()

    # -- incoming ----------------------------------------------------------------------
    def handle(self, message: wire.ToStation) -> None:
        if isinstance(message, wire.Welcome):
            self._welcome(message)
        elif isinstance(message, wire.Ack):
            self._ack(message)
        elif isinstance(message, wire.Changes):
            self._changes(message)
        elif isinstance(message, wire.Pong):
            self.hub_top = max(self.hub_top, message.top)
        elif isinstance(message, wire.Error):
            self._error(message)

    def _welcome(self, message: wire.Welcome) -> None:
        if message.v not in wire.SUPPORTED_VERSIONS:
            raise _Fatal(refusal_message("version"))
        self.hub_id = message.hub_id
        self.cursor = self.state.cursor(message.hub_id)
        if message.top < self.cursor:  # another or a restored hub: start again (idempotent)
            self.cursor = 0
        self.hub_top = message.top
        sources = self.state.source_origins()
        self.acked = {o: message.heads.get(o, 0) for o in sources}
        self.next_send = dict(self.acked)
        self.state.record_acks({o: h for o, h in self.acked.items() if h})
        self.welcomed = True
        self.agent._online(True)

    def _ack(self, message: wire.Ack) -> None:
        sent = self.inflight.pop(message.n, None)
        if sent is None:
            return  # an answer to an earlier session or a duplicate
        newly = 0
        for origin, head in message.heads.items():
            before = self.acked.get(origin, 0)
            if head > before:
                newly += head - before
                self.acked[origin] = head
        self.report.pushed += newly
        self.hub_top = max(self.hub_top, message.top)
        self.state.record_acks(message.heads)
        self.agent._synced()
        if not self.inflight:
            self._refresh_marks(force=True)
            for origin, sent_to in self.next_send.items():
                contiguous = self.marks.get(origin, (0, 0))[0]
                acked = self.acked.get(origin, 0)
                if acked < contiguous and sent_to > acked:  # a gap at the hub: send again
                    self.next_send[origin] = acked

    def _changes(self, message: wire.Changes) -> None:
        if self.pull_sent is None or message.cursor != self.cursor:
            return  # late duplicate
        changes: list[Change] = []
        for change in message.changes:
            # A change a station would refuse to push (a value its field may not hold) is not
            # stored either, whoever the hub got it from: logged and skipped, never a crash.
            reason = values_problem(change.entity, change.values)
            if reason is not None:
                log.warning(
                    "refused change from the hub: %s:%d: %s", change.origin, change.seq, reason
                )
                continue
            changes.append(wire.from_wire(change))
        with self.store.transaction():
            result = self.store.apply(changes) if changes else None
            self.state.set_cursor(self.hub_id, message.next)
        self.cursor = message.next
        self.pull_sent = None
        self.pull_more = message.more
        if result is not None:
            self.report.pulled += result.applied
        self.agent._synced()

    def _error(self, message: wire.Error) -> None:
        log.warning("hub refused: %s (%s)", message.code, message.detail)
        if message.code == "role" and not self.once:
            # A change this station's role may not record: sending it again will not help. The
            # running agent says so, sends nothing more in this session and keeps pulling.
            self.blocked = refusal_message(message.code, message.detail)
            if message.n is not None:
                self.inflight.pop(message.n, None)
            self.agent._update(error=self.blocked)
            return
        if message.code in (
            "version",
            "revoked",
            "incident",
            "refused",
            "origin",
            "invalid",
            "role",
            "relay",
        ):
            raise _Fatal(refusal_message(message.code, message.detail))
        if message.n is not None and message.n in self.inflight:
            raise _Fatal(refusal_message(message.code, message.detail))

    # -- outgoing ----------------------------------------------------------------------
    def _refresh_marks(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.marks_at >= MARKS_EVERY:
            self.marks = self.state.local_marks(self.state.source_origins())
            self.marks_at = now
            for origin in self.marks:
                self.next_send.setdefault(origin, self.acked.get(origin, 0))

    def _to_push(self) -> bool:
        return any(self.next_send.get(o, 0) < m for o, (_c, m) in self.marks.items())

    def pump(self, sock: zmq.Socket, now: float) -> None:
        self._refresh_marks()
        while self.blocked is None and len(self.inflight) < WINDOW and self._to_push():
            if not self._push_some(sock, now):
                break
        if not self.pull:
            return
        if self.pull_sent is None and (self.pull_more or self.hub_top > self.cursor):
            self.agent._send(sock, wire.encode(wire.Pull(self.cursor, PULL_LIMIT)))
            self.pull_sent = now

    def _push_some(self, sock: zmq.Socket, now: float) -> bool:
        changes: list[Change] = []
        with self.store.lock:
            for origin in sorted(self.marks):
                start = self.next_send.get(origin, 0)
                if start >= self.marks[origin][1]:
                    continue
                changes += self.store.changes_after(origin, start, PUSH_COUNT - len(changes))
                if len(changes) >= PUSH_COUNT:
                    break
        if not changes:
            for origin, (_c, max_seq) in self.marks.items():
                self.next_send[origin] = max(self.next_send.get(origin, 0), max_seq)
            return False
        for batch in wire.cut_batches(changes, max_count=PUSH_COUNT):
            if len(self.inflight) >= WINDOW:
                break
            top: dict[str, int] = {}
            count = len(batch)
            for change in changes[:count]:
                top[change.origin] = max(top.get(change.origin, 0), change.seq)
            changes = changes[count:]
            self.batch_n += 1
            self.inflight[self.batch_n] = (now, top)
            self.agent._send(sock, wire.encode_push(self.batch_n, batch))
            self.agent.sent += count
            for origin, seq in top.items():
                self.next_send[origin] = max(self.next_send.get(origin, 0), seq)
        return True

    def overdue(self, now: float) -> bool:
        oldest = min((sent for sent, _ in self.inflight.values()), default=now)
        pulled = self.pull_sent if self.pull_sent is not None else now
        return now - min(oldest, pulled) > REQUEST_TIMEOUT

    def idle(self) -> bool:
        if not self.welcomed or self.inflight:
            return False
        if self.pull and (
            self.pull_sent is not None or self.pull_more or self.hub_top > self.cursor
        ):
            return False
        self._refresh_marks(force=True)
        return not self._to_push()


class Agent:
    """Syncs ``store`` with its upstream hub; ``start()`` runs it in a background thread."""

    def __init__(
        self,
        store: Store,
        *,
        heartbeat: float = HEARTBEAT,
        offline_after: float = OFFLINE_AFTER,
        backoff: tuple[float, float] = BACKOFF,
        on_status: Callable[[SyncStatus], None] | None = None,
    ) -> None:
        self.store = store
        self.state = SyncState(store)
        self.heartbeat = heartbeat
        self.offline_after = offline_after
        self.backoff = backoff
        self.on_status = on_status
        self._status = SyncStatus()
        self._status_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._context: zmq.Context | None = None
        self._backoff = backoff[0]
        self.sessions = 0  # connections opened
        self.sent = 0  # changes sent in push batches (resends included)

    # -- status ------------------------------------------------------------------------
    def status(self) -> SyncStatus:
        with self._status_lock:
            return self._status

    def _update(self, **changes: object) -> None:
        with self._status_lock:
            new = replace(self._status, **changes)  # type: ignore[arg-type]
            changed = new != self._status
            self._status = new
        if changed and self.on_status is not None:
            try:
                self.on_status(new)
            except Exception:
                log.exception("status callback failed")

    def _online(self, online: bool) -> None:
        if online:
            self._backoff = self.backoff[0]
            self._update(online=True, error=None, waiting=self.state.waiting())
        else:
            self._update(online=False, waiting=self.state.waiting())

    def _synced(self) -> None:
        self._update(last_sync=time.time(), waiting=self.state.waiting())

    # -- background thread -------------------------------------------------------------
    def start(self) -> None:
        if self.state.upstream() is None:
            raise SyncError(
                _("This station is not enrolled with a hub: use 'fieldkit join TOKEN' first.")
            )
        self._stop.clear()
        self._update(waiting=self.state.waiting())
        self._thread = threading.Thread(target=self._main, name="fieldkit-agent", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _main(self) -> None:
        context = zmq.Context()
        try:
            while not self._stop.is_set():
                try:
                    outcome = self._session(context, once=False, deadline=None)[0]
                except _Fatal as fatal:
                    self._update(error=str(fatal))
                    self._backoff = self.backoff[1]
                    outcome = "fatal"
                except Exception:
                    log.exception("sync session failed")
                    outcome = "error"
                if outcome == "stopped":
                    break
                self._online(False)
                self._sleep_backoff(None)
        finally:
            with contextlib.suppress(Exception):  # the store may be closed already at shutdown
                self._online(False)
            context.term()

    def _sleep_backoff(self, deadline: float | None) -> None:
        wait = self._backoff * random.uniform(0.8, 1.2)
        self._backoff = min(self._backoff * 2, self.backoff[1])
        end = time.monotonic() + wait
        if deadline is not None:
            end = min(end, deadline)
        while not self._stop.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            self._update(waiting=self.state.waiting())
            self._stop.wait(min(left, 0.5))

    # -- once --------------------------------------------------------------------------
    def run_once(self, timeout: float = 60.0, *, pull: bool = True) -> SyncReport:
        """Push and pull until both sides are idle, then return (SyncError on failure).

        ``pull=False`` only pushes (benchmarks, a quick upload before shutting down)."""
        if self.state.upstream() is None:
            raise SyncError(
                _("This station is not enrolled with a hub: use 'fieldkit join TOKEN' first.")
            )
        started = time.monotonic()
        deadline = started + timeout
        total = SyncReport()
        context = zmq.Context()
        try:
            while True:
                try:
                    outcome, report = self._session(
                        context, once=True, deadline=deadline, pull=pull
                    )
                except _Fatal as fatal:
                    self._update(error=str(fatal))
                    raise SyncError(str(fatal)) from None
                total.pushed += report.pushed
                total.pulled += report.pulled
                if outcome == "idle":
                    total.duration = time.monotonic() - started
                    return total
                self._online(False)
                if time.monotonic() >= deadline or outcome == "stopped":
                    raise SyncError(
                        _(
                            "Sync did not finish within {seconds} s: the hub may be unreachable."
                        ).format(seconds=f"{timeout:g}")
                    )
                self._sleep_backoff(deadline)
        finally:
            with contextlib.suppress(Exception):  # the store may be closed already at shutdown
                self._online(False)
            context.term()

    # -- one session -------------------------------------------------------------------
    def _send(self, sock: zmq.Socket, payload: bytes) -> None:
        try:
            sock.send(payload, zmq.NOBLOCK)
        except zmq.Again:
            log.debug("send dropped: queue full")

    def _session(
        self, context: zmq.Context, *, once: bool, deadline: float | None, pull: bool = True
    ) -> tuple[str, SyncReport]:
        upstream = self.state.upstream()
        if upstream is None:
            raise _Fatal(
                _("This station is not enrolled with a hub: use 'fieldkit join TOKEN' first.")
            )
        public, secret = station_keypair(self.store)
        sock = client_socket(context, upstream.server_key, public, secret)
        monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        session = _Session(self, upstream, pull, once)
        self.sessions += 1
        try:
            sock.connect(upstream.endpoint)
            self._send(
                sock,
                wire.encode(
                    wire.Hello(
                        wire.PROTOCOL_VERSION,
                        self.store.station_id,
                        self.store.meta.get("incident", ""),
                        self.state.acks(),
                    )
                ),
            )
            return self._converse(sock, monitor, session, once, deadline), session.report
        finally:
            sock.disable_monitor()
            monitor.close(linger=0)
            sock.close(linger=0)

    def _converse(
        self,
        sock: zmq.Socket,
        monitor: zmq.Socket,
        session: _Session,
        once: bool,
        deadline: float | None,
    ) -> str:
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        last_heard = last_ping = last_status = time.monotonic()
        while True:
            if self._stop.is_set():
                return "stopped"
            events = dict(poller.poll(50))
            now = time.monotonic()
            if monitor in events:
                monitor.recv_multipart()
                raise _Fatal(refusal_message("refused"))
            if sock in events:
                for _count in range(64):
                    try:
                        frame = sock.recv(zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    last_heard = now
                    try:
                        message = wire.decode_for_station(frame.buffer)
                    except wire.WireError as exc:
                        log.warning("rejected frame from the hub: %s", exc.reason)
                        continue
                    session.handle(message)
                    # applying a big batch takes time: that is this station working, not the hub
                    # falling silent (a busy CPU made agents drop a live link and reconnect)
                    last_heard = time.monotonic()
            now = time.monotonic()
            if deadline is not None and now > deadline:
                return "timeout"
            if now - last_status >= 0.5:  # local writes change what is waiting
                self._update(waiting=self.state.waiting())
                last_status = now
            if now - last_heard > self.offline_after:
                log.info("hub silent for %.1f s: offline", now - last_heard)
                return "offline"
            if not session.welcomed:
                continue
            if now - last_ping >= self.heartbeat:
                self._send(sock, wire.encode(wire.Ping(int(now))))
                last_ping = now
            session.pump(sock, now)
            if once and session.idle():
                return "idle"
            if session.overdue(now):
                log.info("no answer from the hub in %.0f s: new session", REQUEST_TIMEOUT)
                return "offline"
