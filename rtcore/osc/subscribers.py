"""OSC subscribers: control surfaces that asked (``/rtcore/subscribe``) to be told about
parameter changes, meters and stats, and the thread that pushes those to them.

* Parameter changes come from :meth:`Session.add_param_listener` (any source: OSC, MIDI CC,
  snapshots, reloads). They are coalesced: at most every :data:`PARAM_FLUSH_S` each changed
  parameter is sent once, with its latest value (a flood of sets cannot flood subscribers).
* Meters: ``/rtcore/meter/<node> f f f f`` = peak L, peak R, RMS L, RMS R of the node's last
  block in dBFS (floor :data:`METER_FLOOR_DB` = silence), at each subscriber's rate.
* Stats: ``/rtcore/stats`` name/value pairs every :data:`STATS_PERIOD_S`.
* On subscribing, and after the patch changes (reload), every parameter is sent once.

Messages go to the subscriber's host at the port it sent from, or at the port it named
(surfaces that listen on another port than they send from).

A subscriber that has gone away is noticed from send failures and ICMP "port unreachable"
reports (see the server); after :data:`MAX_SEND_ERRORS` of them with no datagram from it in
between it is dropped (at 30 Hz meters: well under a second).
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import ParamRangeError, RtCoreError
from . import wire
from .spec import NODE_PREFIX

Address = tuple[str, int]

MAX_SUBSCRIBERS = 8
DEFAULT_RATE_HZ = 30.0
RATE_RANGE_HZ = (1.0, 100.0)
STATS_PERIOD_S = 1.0
PARAM_FLUSH_S = 0.010
MAX_SEND_ERRORS = 10
METER_FLOOR_DB = -120.0


def to_dbfs(x: float) -> float:
    """Linear amplitude -> dBFS, floored at :data:`METER_FLOOR_DB`."""
    return 20.0 * math.log10(x) if x > 10 ** (METER_FLOOR_DB / 20) else METER_FLOOR_DB


@dataclass
class Subscriber:
    """One subscriber: where it listens and its meter ``rate`` (Hz); due times are
    ``time.monotonic()`` seconds."""

    address: Address
    source: Address
    rate: float
    next_meter: float = 0.0
    next_stats: float = 0.0
    errors: int = 0
    sync: bool = True           # send every parameter's value on the next push


class Subscribers:
    """The subscriber list and its push thread. ``send(datagram, address) -> bool`` sends one
    datagram (False on failure); ``stats_args()`` gives the stats pairs; ``log`` takes one line."""

    def __init__(self, session, send: Callable[[bytes, Address], bool], stats_args: Callable[[], list],
                 log: Callable[[str], None]) -> None:
        self.session = session
        self._send = send
        self._stats_args = stats_args
        self._log = log
        self._lock = threading.Lock()
        self._subs: dict[Address, Subscriber] = {}
        self._pending: dict[tuple[str, str], float] = {}
        self._patch = session.patch
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtcore-osc-push", daemon=True)
        self.dropped = 0            # subscribers dropped as unreachable

    # ---- registry (receive thread) -------------------------------------------------------
    def add(self, source: Address, rate: float | None = None, port: int | None = None) -> float:
        """Subscribe the sender ``source`` (or change its rate) to be sent to at ``port``
        (None = the port it sent from); returns the meter rate in Hz."""
        rate = DEFAULT_RATE_HZ if rate is None else float(rate)
        lo, hi = RATE_RANGE_HZ
        if not (lo <= rate <= hi):
            raise ParamRangeError(f"rate {rate:g} Hz is out of range {lo:g}..{hi:g} Hz")
        if port is not None and not (1 <= port <= 65535):
            raise ParamRangeError(f"port {port} is out of range 1..65535")
        address = (source[0], source[1] if port is None else int(port))
        with self._lock:
            sub = self._subs.get(address)
            if sub is None:
                if len(self._subs) >= MAX_SUBSCRIBERS:
                    raise RtCoreError(f"too many subscribers ({MAX_SUBSCRIBERS}); "
                                      f"another one must /rtcore/unsubscribe first")
                self._subs[address] = Subscriber(address, source, rate)
            else:
                sub.rate, sub.errors, sub.source, sub.sync = rate, 0, source, True
        return rate

    def remove(self, source: Address, port: int | None = None) -> bool:
        """Unsubscribe what ``source`` subscribed (or the subscriber at its host and ``port``)."""
        def mine(a: Address, s: Subscriber) -> bool:
            return a == (source[0], port) if port is not None else (s.source == source or a == source)

        with self._lock:
            gone = [a for a, s in self._subs.items() if mine(a, s)]
            for a in gone:
                del self._subs[a]
        return bool(gone)

    def __len__(self) -> int:
        return len(self._subs)

    def seen(self, source: Address) -> None:
        """A datagram came from ``source``: it is alive."""
        if self._subs:
            with self._lock:
                for s in self._subs.values():
                    if s.source == source or s.address == source:
                        s.errors = 0

    def failed(self, address: Address) -> None:
        """Sending to ``address`` failed or it reported "unreachable"."""
        with self._lock:
            sub = self._subs.get(address)
            if sub is None:
                return
            sub.errors += 1
            if sub.errors < MAX_SEND_ERRORS:
                return
            del self._subs[address]
            self.dropped += 1
        self._log(f"OSC subscriber {address[0]}:{address[1]} dropped: unreachable")

    def on_param(self, node: str, param: str, value: float) -> None:
        """Session parameter listener (any thread): remember the latest value."""
        if not self._subs:
            return
        with self._lock:
            self._pending[(node, param)] = value

    # ---- push thread -----------------------------------------------------------------------
    def start(self) -> None:
        self.session.add_param_listener(self.on_param)
        self._thread.start()

    def close(self) -> None:
        self.session.remove_param_listener(self.on_param)
        self._quit.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        while not self._quit.is_set():
            try:
                wait = self._push_once(time.monotonic())
            except Exception as exc:  # noqa: BLE001 - the pusher must survive (engine closed, ...)
                self._log(f"OSC push: {type(exc).__name__}: {exc}")
                wait = 0.1
            self._quit.wait(wait)

    def _push_once(self, now: float) -> float:
        """Send what is due at ``now``; return seconds until the next thing is due."""
        with self._lock:
            subs = list(self._subs.values())
            changes, self._pending = self._pending, {}
            syncing = [s for s in subs if s.sync]
            rest = [s for s in subs if not s.sync]
            reloaded = self.session.patch is not self._patch
            if reloaded:
                # reloaded: everyone gets every value, on the next tick (the session resets its
                # values just after swapping the patch)
                self._patch = self.session.patch
                for s in subs:
                    s.sync = True
        if not subs:
            return 0.05
        if syncing:
            everything = {(n, p): v for n, vals in self.session.params().items() for p, v in vals.items()}
            self._broadcast([self._param_msg(n, p, v) for (n, p), v in everything.items()], syncing)
            if not reloaded:
                for s in syncing:
                    s.sync = False
        if changes:
            self._broadcast([self._param_msg(n, p, v) for (n, p), v in changes.items()], rest)
        due = [s for s in subs if now >= s.next_meter]
        if due:
            meters = self.session.engine.meters()
            msgs = [wire.build(f"/rtcore/meter/{name}", *(to_dbfs(x) for x in m)) for name, m in meters.items()]
            self._broadcast(msgs, due)
            for s in due:
                nxt = s.next_meter + 1.0 / s.rate
                s.next_meter = nxt if nxt > now else now + 1.0 / s.rate
        due = [s for s in subs if now >= s.next_stats]
        if due:
            self._broadcast([wire.build("/rtcore/stats", *self._stats_args())], due)
            for s in due:
                s.next_stats = now + STATS_PERIOD_S
        nxt = min(min(s.next_meter, s.next_stats) for s in subs)
        return max(0.0, min(PARAM_FLUSH_S, nxt - time.monotonic()))

    @staticmethod
    def _param_msg(node: str, param: str, value: float) -> bytes:
        return wire.build(f"{NODE_PREFIX}{node}/{param}", float(value))

    def _broadcast(self, msgs: list[bytes], subs: list[Subscriber]) -> None:
        for s in subs:
            for m in msgs:
                if not self._send(m, s.address):
                    self.failed(s.address)
                    break
