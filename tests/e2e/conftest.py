"""End-to-end fixtures: a private JACK server (dummy back end, clocked, no sound card
needed) and a JACK client that records what rtcore plays.

The server gets a name no running server has (rtcore-test-<k>, k the smallest free of 0..7;
see free_server_names) and JACK_DEFAULT_SERVER points this test process at it, so PortAudio
and JACK-Client talk to it and no other JACK server on the machine is disturbed. It is
stopped by its PID at the end of the session.

No JACK client of this process has a Python callback: the recorder's process callback is C,
in a process of its own (jack_helpers.Recorder, benchmarks/jack_probe.c). python-rtmidi keeps
the GIL while it opens or closes a JACK client, a server round trip that waits for the graph
to finish its cycle: a Python process callback in this process would wait for that GIL.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from rtcore.devices import quiet_stderr

sys.path.insert(0, str(Path(__file__).resolve().parent))     # for `import jack_helpers` in the tests
from jack_helpers import PERIOD, SAMPLE_RATE, Recorder  # noqa: E402


SERVER_SLOTS = 8          # jackd2's server registry (/dev/shm/jack-shm-registry) has 8 slots


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if this test process dies without its teardown
    (killed by a timeout, say), so no server outlives the session."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except Exception:
        pass


def _wait_for_server(name: str, proc: subprocess.Popen, log: Path, timeout: float = 15.0) -> None:
    import jack

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        time.sleep(0.1)                   # (first: a jackd whose name is taken exits in this time)
        if proc.poll() is not None:
            raise RuntimeError(f"jackd exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with quiet_stderr():          # libjack complains on stderr while the server boots
                c = jack.Client("rtcore-probe", servername=name, no_start_server=True)
        except jack.JackError as exc:
            last = exc
            continue
        c.close()
        if proc.poll() is not None:       # that was another session's server of this name
            raise RuntimeError(f"jackd exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        return
    raise RuntimeError(f"jackd '{name}' did not accept clients within {timeout:.0f} s ({last}):\n"
                       f"{log.read_text(errors='replace')}")


def _server_running(name: str) -> bool:
    import jack

    try:
        with quiet_stderr():          # libjack complains when no server answers
            c = jack.Client("rtcore-name-probe", servername=name, no_start_server=True)
    except jack.JackError:
        return False
    c.close()
    return True


def free_server_names() -> list[str]:
    """``rtcore-test-<k>`` for each k in 0..7 with no server of that name running, smallest
    first, then ``rtcore-test-<pid>``. jackd2 keeps server names in a registry of 8 slots and
    a killed jackd leaks its slot unless a server of the same name runs again: names reused
    from session to session reclaim them (PID names would fill the registry, a killed
    session at a time: then no jackd starts, "Too many servers")."""
    names = [f"rtcore-test-{k}" for k in range(SERVER_SLOTS)]
    return [n for n in names if not _server_running(n)] + [f"rtcore-test-{os.getpid()}"]


def _start_jackd(jackd: str, name: str, log: Path) -> subprocess.Popen:
    with open(log, "wb") as fh:
        return subprocess.Popen([jackd, "-n", name, "--no-realtime", "-d", "dummy", "-r", str(SAMPLE_RATE),
                                 "-p", str(PERIOD)], stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()                 # by PID, never by name
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def jack_server():
    """Start `jackd --no-realtime -d dummy -r 48000 -p 128` under a unique name; yield the
    name. Skips only when jackd is not installed."""
    jackd = shutil.which("jackd")
    if jackd is None:
        pytest.skip("jackd is not installed (apt-get install jackd2): the live e2e tests need a JACK server")
    pytest.importorskip("jack", reason="JACK-Client is not installed (pip install JACK-Client)")
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    logdir = Path(tempfile.mkdtemp(prefix="rtcore-jackd-"))
    log = logdir / "jackd.log"
    proc = None
    try:
        # another session may take the same free name at the same moment: then our jackd
        # exits at once ("already active") and the next name is tried
        for name in free_server_names():
            proc = _start_jackd(jackd, name, log)
            try:
                _wait_for_server(name, proc, log)
                break
            except RuntimeError:
                exited = proc.poll() is not None
                _stop(proc)
                proc = None
                if not exited:               # it runs but accepts no client: not a name clash
                    raise
        if proc is None:
            raise RuntimeError(f"no jackd would start:\n{log.read_text(errors='replace')}")
        os.environ["JACK_DEFAULT_SERVER"] = name     # PortAudio's JACK host API and libjack read it
        os.environ["JACK_NO_START_SERVER"] = "1"     # never let a client spawn a server of its own
        yield name
    finally:
        if proc is not None:
            _stop(proc)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(logdir, ignore_errors=True)


@pytest.fixture(scope="session")
def _session_recorder(jack_server):
    # One recorder for the whole session. Its process callback is C (in its own process), so
    # it is closed before the server stops (pytest tears this fixture down first); close()
    # kills the probe by its PID if it does not quit in time.
    r = Recorder(jack_server)
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def recorder(_session_recorder):
    """The session's recorder, disarmed and with no connections at the start of each test."""
    r = _session_recorder
    r.reset()
    yield r
    r.reset()
