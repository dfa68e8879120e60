"""A private ``jackd -d dummy`` that can be killed mid-performance and started again under the same
name -- for the fault-survival test (tests/e2e/test_faults_live.py) and benchmarks/faults.py.

Always stopped and killed by its PID, never by name. Its name is one of ``rtcore-fault-<k>``
(k = 0..7, the first with no server running; jackd2's server registry has 8 slots and a killed
jackd's slot is reclaimed by the next server of the same name, so reusing names keeps the registry
from filling up).
"""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

SAMPLE_RATE = 48000
PERIOD = 128
NAME_SLOTS = 8


def _die_with_parent() -> None:
    """preexec_fn: jackd gets SIGTERM if this process dies without stopping it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except Exception:
        pass


def _client_opens(name: str) -> bool:
    """A JACK client (no callbacks, never activated) can connect to server ``name`` now."""
    import jack

    from rtcore.devices import quiet_stderr

    try:
        with quiet_stderr():              # libjack complains on stderr when no server answers
            c = jack.Client("rtcore-fault-probe", servername=name, no_start_server=True)
    except jack.JackError:
        return False
    c.close()
    return True


class KillableJackd:
    """``jackd -n NAME --no-realtime -d dummy -r 48000 -p PERIOD``. :meth:`start` (again after
    :meth:`kill`: the same name), :meth:`kill` (SIGKILL by default: the server vanishes without a
    goodbye), :meth:`stop`. ``log`` collects its output across restarts."""

    def __init__(self, name: str | None = None, period: int = PERIOD, workdir: Path | None = None) -> None:
        self.period = int(period)
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="rtcore-faults-"))
        self.log = self.workdir / "jackd.log"
        self.proc: subprocess.Popen | None = None
        self.name = name or self._free_name()

    @staticmethod
    def _free_name() -> str:
        for k in range(NAME_SLOTS):
            if not _client_opens(f"rtcore-fault-{k}"):
                return f"rtcore-fault-{k}"
        return f"rtcore-fault-{os.getpid()}"

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self, timeout: float = 15.0) -> None:
        """Start the server and wait until it accepts clients (RuntimeError with its log if not)."""
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self) -> None:
        """Start the server and return at once (:meth:`wait_ready` waits for it). Call it from a
        thread that outlives the server: the server gets SIGTERM when the *thread* that started
        it ends (PR_SET_PDEATHSIG), so that no server outlives a test that was killed."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"jackd '{self.name}' is already running (pid {self.proc.pid})")
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(["jackd", "-n", self.name, "--no-realtime", "-d", "dummy",
                                          "-r", str(SAMPLE_RATE), "-p", str(self.period)],
                                         stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         preexec_fn=_die_with_parent)

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Wait until the spawned server accepts clients (RuntimeError with its log if not)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.1)               # (first: a jackd whose name is taken exits in this time)
            if self.proc.poll() is not None:
                break
            if _client_opens(self.name):
                return
        code = self.proc.poll()
        self.stop()
        raise RuntimeError(f"jackd '{self.name}' did not start (exit {code}):\n"
                           f"{self.log.read_text(errors='replace')[-1500:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the server by its PID (the audio server dies mid-performance) and reap it."""
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"jackd '{self.name}' is not running")
        self.proc.send_signal(sig)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM by PID (SIGKILL after 10 s); nothing when it is not running."""
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)

    def __enter__(self) -> "KillableJackd":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
