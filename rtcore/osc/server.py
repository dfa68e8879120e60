"""The OSC server: one UDP socket, a receive thread that answers every datagram (good ones
through the address table, bad ones with ``/rtcore/error``), and the subscribers' push thread.

Flood safety: datagrams are read in bursts of up to :data:`BURST` (non-blocking after the
first); every message of a burst goes through :meth:`Session.batch`, so the whole burst
reaches the engine with one ``Engine.send``. The socket's receive buffer is made large
(:data:`RCVBUF_BYTES`; ``SO_RCVBUFFORCE`` as root, else capped by ``net.core.rmem_max``);
datagrams the kernel still drops are counted through ``SO_RXQ_OVFL`` (Linux).

Bundles: the NTP time tag is turned into CLOCK_MONOTONIC ns with the wall-clock offset
measured when the server starts (``wall_offset_ns``), then into an engine frame with
:meth:`Session.frame_at`; far-ahead events wait in the session's scheduler. A time tag
already past plays at once and is counted as ``late``.
"""
from __future__ import annotations

import errno
import os
import select
import socket
import struct
import sys
import threading
import time
from typing import Any

from .._native import lib
from ..errors import RtCoreError
from . import namespace as ns_json
from . import wire
from .access import AccessList, is_loopback, network_warning, parse_allow_list
from .addresses import (ADDRESSES, AI_ADDRESS, AI_PREFIX, AI_SHORTCUTS, FIXED, MIDI_IN_FIELDS, NODE_ADDRESS,
                        NODE_PREFIX, STATS_FIELDS, Request)
from .spec import OscAddress
from .subscribers import Address, Subscribers

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
BURST = 64                      # datagrams handled per engine send (bounds the added latency to ~2 ms)
RCVBUF_BYTES = 4 * 1024 * 1024
MAX_DATAGRAM = 65507            # largest UDP/IPv4 payload
LOG_PER_SECOND = 10             # error lines logged per second; the rest are counted
RECEIVE_NICE = 10               # the receive thread's nice value (see OscServer._run)
_IP_RECVERR = 11                # Linux: ICMP errors (port unreachable ...) queue on the socket
_SO_RXQ_OVFL = 40               # Linux: each datagram carries the socket's drop counter
_ICMP_ERRNOS = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}
COUNTERS = ("received", "messages", "handled", "errors", "late", "dropped", "replies", "send_errors",
            "subscribers", "subscribers_dropped", "rcvbuf", "denied")
"""``OscServer.counters()`` keys: datagrams received; messages (bundle contents counted
one by one); handled without error; error replies; bundle messages whose time had passed;
datagrams the kernel dropped because the receive buffer was full (Linux only, else 0; known as
of the last datagram read, so a sender's count minus ``received`` is the truth); datagrams sent
(replies and pushes) and failed sends; current subscribers and those dropped as unreachable;
the receive buffer in bytes; datagrams from senders outside the allow list, dropped unread
(not in ``received``)."""


def measure_wall_offset() -> int:
    """``time.time_ns() - CLOCK_MONOTONIC ns`` (best of 5 tight readings)."""
    best = None
    for _ in range(5):
        a = lib.rt_monotonic_ns()
        w = time.time_ns()
        b = lib.rt_monotonic_ns()
        if best is None or b - a < best[0]:
            best = (b - a, w - (a + b) // 2)
    return best[1]  # type: ignore[index]


class OscServer:
    """OSC over UDP (IPv4) for ``session`` on ``host``:``port`` (port 0 = any free port; see
    :attr:`address`; host "0.0.0.0" for surfaces on the network). :meth:`start` binds (one-line
    :class:`RtCoreError` if the port is taken) and starts the threads; :meth:`close` stops them.
    One start per server. Usable as a context manager.

    ``allow``: the only senders answered -- an :class:`~rtcore.osc.access.AccessList`, IPv4
    networks, or ``"CIDR[,CIDR...]"``; datagrams from elsewhere are dropped unread (counter
    ``denied``) and nothing is sent there. None (the default) answers everyone who can reach
    the address: on a non-loopback address :meth:`start` logs :func:`network_warning`."""

    def __init__(self, session, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 allow: AccessList | str | list | tuple | None = None) -> None:
        self.session = session
        self.host = host
        self.port = int(port)
        if allow is None or isinstance(allow, AccessList):
            self.access = allow
        else:
            self.access = parse_allow_list(allow) if isinstance(allow, str) else AccessList(allow)
        self.addresses: tuple[OscAddress, ...] = ADDRESSES
        self.wall_offset_ns = measure_wall_offset()      # measured again by start()
        self.subscribers = Subscribers(session, self._send, self.stats_args, self._log)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._quit = threading.Event()
        self._c = {k: 0 for k in COUNTERS}
        self._send_lock = threading.Lock()
        self._err_lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._log_window = (0.0, 0, 0)      # (start s, lines logged, lines suppressed)
        self._outbox: list[tuple[bytes, Address]] | None = None   # replies held until a burst's events are sent
        self._routes_for: Any = None
        self._routes: dict[str, tuple[str, str]] = {}
        self._ai_routes: dict[str, tuple[str, str]] = {}

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "OscServer":
        if self._thread is not None or self._quit.is_set():
            raise RtCoreError("this OSC server was already started (make a new one)")
        if not 0 <= self.port <= 65535:
            raise RtCoreError(f"OSC port {self.port} is out of range 0..65535 (0 = any free port)")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise RtCoreError(f"OSC port {self.port} is in use (--osc-port to choose another)") from None
            raise RtCoreError(f"OSC: cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if opt is None:
                continue
            try:
                sock.setsockopt(socket.SOL_SOCKET, opt, RCVBUF_BYTES)
                break
            except OSError:
                continue
        if sys.platform.startswith("linux"):
            sock.setsockopt(socket.SOL_IP, _IP_RECVERR, 1)
            sock.setsockopt(socket.SOL_SOCKET, _SO_RXQ_OVFL, 1)
        sock.setblocking(False)
        self.wall_offset_ns = measure_wall_offset()
        self._sock = sock
        self._c["rcvbuf"] = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        self._thread = threading.Thread(target=self._run, name="rtcore-osc", daemon=True)
        self._thread.start()
        self.subscribers.start()
        if self.open_to_network:
            self.session.log(f"WARNING: {self.network_warning()}")
        self.session.add_counters("osc", self.counters)
        return self

    def close(self) -> None:
        """Stop the threads and close the socket. Safe to call twice."""
        self._quit.set()
        self.subscribers.close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> "OscServer":
        return self.start() if self._sock is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound."""
        if self._sock is None:
            raise RtCoreError("the OSC server is not started")
        host, port = self._sock.getsockname()[:2]
        return host, port

    @property
    def open_to_network(self) -> bool:
        """Started on a non-loopback address with no allow list: anyone who reaches it controls
        the engine."""
        return self._sock is not None and self.access is None and not is_loopback(self.address[0])

    def network_warning(self) -> str:
        """The one-line warning logged when :attr:`open_to_network`."""
        return network_warning(*self.address)

    # ---- counters, stats, namespace, subscriptions (used by the handlers) ---------------------
    def counters(self) -> dict[str, int]:
        """See :data:`COUNTERS`."""
        c = dict(self._c)
        c["subscribers"] = len(self.subscribers)
        c["subscribers_dropped"] = self.subscribers.dropped
        return c

    def stats_args(self) -> list[Any]:
        """The stats pairs: ``name, value, ...`` (engine :data:`STATS_FIELDS`, then ``osc_*``,
        then ``midi_in_*``)."""
        st = self.session.engine.stats()
        out: list[Any] = []
        for name in STATS_FIELDS:
            # "tempo": the BPM /transport/tempo reports; "transport_tempo": the engine's (stats.tempo)
            v = self.session.tempo if name == "tempo" else (st.tempo if name == "transport_tempo" else getattr(st, name))
            out += [name, float(v) if isinstance(v, float) else int(v)]
        for name, v in self.counters().items():
            out += [f"osc_{name}", int(v)]
        midi_in = self.session.surface_counters().get("midi_in", {})
        for name in MIDI_IN_FIELDS:
            out += [f"midi_in_{name}", int(midi_in.get(name, 0))]
        return out

    def namespace(self, node: str | None = None) -> str:
        return ns_json.namespace_json(self.session, self.addresses, node)

    def subscribe(self, sender: Address, rate: float | None = None, port: int | None = None) -> float:
        return self.subscribers.add(sender, rate, port)

    def unsubscribe(self, sender: Address, port: int | None = None) -> bool:
        return self.subscribers.remove(sender, port)

    # ---- the receive thread ------------------------------------------------------------------
    def _run(self) -> None:
        # A flood keeps this thread busy for as long as it lasts. At nice 10 it cannot starve
        # what makes the music when the CPUs are short: the AI's inference thread (nice 5), the
        # audio callback of a server without real-time scheduling (nice 0). A flood then costs
        # OSC messages (dropped by the kernel, counted), not the music. Linux: per thread.
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), RECEIVE_NICE)
        except (AttributeError, OSError):
            pass
        sock = self._sock
        assert sock is not None
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLERR)
        while not self._quit.is_set():
            try:
                ready = poller.poll(100)
            except InterruptedError:
                continue
            if not ready:
                continue
            if ready[0][1] & select.POLLERR:
                self._read_icmp_errors()
            burst = self._read_burst(sock)
            if not burst:
                continue
            self._outbox = []
            try:
                with self.session.batch():
                    for data, sender, arrival in burst:
                        try:
                            self._datagram(data, sender, arrival)
                        except Exception as exc:  # noqa: BLE001 - the server thread must survive anything
                            self._error(sender, "?", f"internal error: {type(exc).__name__}: {exc}")
            except Exception as exc:  # noqa: BLE001 - e.g. the engine closed under the batch
                self._log(f"OSC: {type(exc).__name__}: {exc}")
            finally:    # answers leave once the burst's events are with the engine
                outbox, self._outbox = self._outbox, None
                for dgram, dest in outbox:
                    self._send(dgram, dest)

    def _read_burst(self, sock: socket.socket) -> list[tuple[bytes, Address, int]]:
        burst: list[tuple[bytes, Address, int]] = []
        while len(burst) < BURST:
            try:    # each datagram carries the socket's drop count when it was queued (if any)
                data, anc, _flags, sender = sock.recvmsg(MAX_DATAGRAM + 1, 64)
                for level, kind, value in anc:
                    if level == socket.SOL_SOCKET and kind == _SO_RXQ_OVFL and len(value) >= 4:
                        self._c["dropped"] = struct.unpack("=I", value[:4])[0]
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:      # an ICMP error reported on this socket
                if exc.errno in _ICMP_ERRNOS:
                    self._read_icmp_errors()
                    continue
                self._log(f"OSC socket: {exc.strerror or exc}")
                break
            if self.access is not None and not self.access.allows(sender[0]):
                self._c["denied"] += 1          # not parsed, not answered, not logged (a flood stays cheap)
                continue
            burst.append((data, sender[:2], lib.rt_monotonic_ns()))
        return burst

    def _read_icmp_errors(self) -> None:
        """Drain the socket's error queue: each entry names a destination that was unreachable."""
        sock = self._sock
        if sock is None or not hasattr(socket, "MSG_ERRQUEUE"):
            return
        with self._err_lock:
            while True:
                try:
                    _data, _anc, _flags, dest = sock.recvmsg(1, 512, socket.MSG_ERRQUEUE)
                except OSError:
                    return
                if dest:
                    self.subscribers.failed(dest[:2])

    def _datagram(self, data: bytes, sender: Address, arrival_ns: int) -> None:
        self._c["received"] += 1
        self.subscribers.seen(sender)
        if data.startswith(b"/"):
            self._message(data, sender, self.session.event_time(arrival_ns))
        elif data.startswith(wire.BUNDLE_PREFIX):
            try:
                items = wire.split_bundle(data)
            except wire.OscFormatError as exc:
                self._error(sender, exc.address, exc.reason)
                return
            if not items:           # valid OSC, but the sender would hear nothing back at all
                self._error(sender, "?", "empty bundle: it holds no messages")
                return
            times: dict[int, tuple[int | None, bool]] = {}
            for timetag, element in items:
                if timetag not in times:
                    times[timetag] = self._bundle_time(timetag, arrival_ns)
                t, late = times[timetag]
                if late:
                    self._c["late"] += 1
                self._message(element, sender, t)
        elif not data:
            self._error(sender, "?", "empty datagram")
        else:
            self._error(sender, "?", f"not OSC: a message starts with '/', a bundle with '#bundle' (got {data[:8]!r})")

    def _bundle_time(self, timetag: int, arrival_ns: int) -> tuple[int | None, bool]:
        """(engine frame or None = at once, late?) for a bundle's NTP time tag."""
        if timetag == wire.IMMEDIATELY:
            return self.session.event_time(arrival_ns), False
        mono = wire.ntp_to_unix_ns(timetag) - self.wall_offset_ns
        if mono <= lib.rt_monotonic_ns():
            return None, True
        return self.session.frame_at(mono), False

    def _message(self, data: bytes, sender: Address, time: int | None) -> None:
        self._c["messages"] += 1
        address = "?"
        try:
            msg = wire.parse_message(data)
            address = msg.address
            entry, target = self._route(address)
            args = entry.convert(address, msg.tags, msg.args)
            reply = entry.handler(self, Request(address, args, time if entry.timed else None, sender, target))
        except wire.OscFormatError as exc:
            self._error(sender, exc.address, exc.reason)
            return
        except RtCoreError as exc:
            self._error(sender, address, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the server
            self._error(sender, address, f"internal error: {type(exc).__name__}: {exc}")
            return
        self._c["handled"] += 1
        if reply is not None:
            dgram = wire.build("/rtcore/reply", address, *reply)
            if len(dgram) > MAX_DATAGRAM:
                self._error(sender, address, f"the reply ({len(dgram)} bytes) does not fit one UDP datagram")
                return
            self._answer(dgram, sender)

    def _route(self, address: str) -> tuple[OscAddress, tuple[str, str] | None]:
        entry = FIXED.get(address)
        if entry is not None:
            return entry, None
        self._refresh_routes()
        target = self._routes.get(address)
        if target is not None:
            return NODE_ADDRESS, target
        target = self._ai_routes.get(address)
        if target is not None:
            return AI_ADDRESS, target
        if address.startswith(NODE_PREFIX):
            parts = address[len(NODE_PREFIX):].split("/")
            if len(parts) != 2 or not all(parts):
                raise wire.OscFormatError(address, "a node address is /rtcore/node/<name>/<param>")
            self.session.param_info(parts[0], parts[1])    # raises naming the nodes / parameters
            return NODE_ADDRESS, (parts[0], parts[1])
        if address.startswith(AI_PREFIX):
            if address[len(AI_PREFIX):] not in AI_SHORTCUTS:
                raise wire.OscFormatError(address, f"unknown AI shortcut (shortcuts: {', '.join(AI_SHORTCUTS)})")
            raise RtCoreError(f"patch '{self.session.patch.name}' has no ai node")
        raise wire.OscFormatError(address, "unknown address (every address: /rtcore/namespace)")

    def _refresh_routes(self) -> None:
        """Address -> (node, param) for the current patch, rebuilt when the patch changes."""
        patch = self.session.patch
        if patch is self._routes_for:
            return
        from ..params import node_types
        types = node_types()
        nodes = self.session.nodes()
        self._routes = {f"{NODE_PREFIX}{n}/{p}": (n, p) for n, typ in nodes.items() for p in types[typ].param_names()}
        ai = ns_json.ai_node(self.session)
        self._ai_routes = {} if ai is None else {AI_PREFIX + s: (ai, p) for s, p in AI_SHORTCUTS.items()}
        self._routes_for = patch

    # ---- sending and errors ------------------------------------------------------------------
    def _send(self, dgram: bytes, dest: Address) -> bool:
        """Send one datagram; False if ``dest`` cannot be reached (the caller may drop it)."""
        sock = self._sock
        if sock is None or (self.access is not None and not self.access.allows(dest[0])):
            return False                # never send outside the allow list (e.g. a subscriber's port elsewhere)
        try:
            sock.sendto(dgram, dest)
        except (BlockingIOError, InterruptedError):
            with self._send_lock:
                self._c["send_errors"] += 1
            return True             # our own buffer is full: not the destination's fault
        except OSError as exc:
            with self._send_lock:
                self._c["send_errors"] += 1
            if exc.errno == errno.ECONNREFUSED:     # a queued ICMP error for an earlier datagram
                self._read_icmp_errors()
                return True
            return False
        with self._send_lock:
            self._c["replies"] += 1
        return True

    def _answer(self, dgram: bytes, dest: Address) -> None:
        """A reply or error: held while a burst is handled, else sent now."""
        if self._outbox is not None:
            self._outbox.append((dgram, dest))
        else:
            self._send(dgram, dest)

    def _error(self, sender: Address, address: str, reason: str) -> None:
        """Answer ``/rtcore/error <address> <reason>`` and log one line."""
        self._c["errors"] += 1
        reason = " ".join(str(reason).split()) or "error"
        self._answer(wire.build("/rtcore/error", address, reason), sender)
        self._log(f"OSC {address} from {sender[0]}:{sender[1]}: {reason}")

    def _log(self, line: str) -> None:
        """session.log, at most :data:`LOG_PER_SECOND` lines a second (a flood of bad datagrams
        must not flood the log); the rest are counted and summarised."""
        now = time.monotonic()
        summary = None
        with self._log_lock:
            start, n, suppressed = self._log_window
            if now - start >= 1.0:
                if suppressed:
                    summary = f"OSC: {suppressed} more error(s) in the last second were not logged"
                start, n, suppressed = now, 0, 0
            if n >= LOG_PER_SECOND:
                self._log_window = (start, n, suppressed + 1)
                line = ""
            else:
                self._log_window = (start, n + 1, suppressed)
        if summary:
            self.session.log(summary)
        if line:
            self.session.log(line)
