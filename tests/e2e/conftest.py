"""End-to-end fixtures: a private JACK server (dummy back end, clocked, no sound card
needed) and a JACK client that records what rtcore plays.

The server gets a unique name (rtcore-test-<pid>) and JACK_DEFAULT_SERVER points this
test process at it, so PortAudio and JACK-Client talk to it and no other JACK server
on the machine is disturbed. It is stopped by its PID at the end of the session.
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


_CLOSE_AFTER_SERVER: list[Recorder] = []


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
        if proc.poll() is not None:
            raise RuntimeError(f"jackd exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with quiet_stderr():          # libjack complains on stderr while the server boots
                c = jack.Client("rtcore-probe", servername=name, no_start_server=True)
        except jack.JackError as exc:
            last = exc
            time.sleep(0.1)
            continue
        c.close()
        return
    raise RuntimeError(f"jackd '{name}' did not accept clients within {timeout:.0f} s ({last}):\n"
                       f"{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def jack_server():
    """Start `jackd --no-realtime -d dummy -r 48000 -p 128` under a unique name; yield the
    name. Skips only when jackd is not installed."""
    jackd = shutil.which("jackd")
    if jackd is None:
        pytest.skip("jackd is not installed (apt-get install jackd2): the live e2e tests need a JACK server")
    pytest.importorskip("jack", reason="JACK-Client is not installed (pip install JACK-Client)")
    name = f"rtcore-test-{os.getpid()}"
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_DEFAULT_SERVER"] = name     # PortAudio's JACK host API and libjack read it
    os.environ["JACK_NO_START_SERVER"] = "1"     # never let a client spawn a server of its own
    logdir = Path(tempfile.mkdtemp(prefix="rtcore-jackd-"))
    log = logdir / "jackd.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([jackd, "-n", name, "--no-realtime", "-d", "dummy", "-r", str(SAMPLE_RATE),
                                 "-p", str(PERIOD)], stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    try:
        _wait_for_server(name, proc, log)
        yield name
    finally:
        if proc.poll() is None:
            proc.terminate()                 # by PID, never by name
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        while _CLOSE_AFTER_SERVER:           # quick and safe once the server is gone
            _CLOSE_AFTER_SERVER.pop().close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(logdir, ignore_errors=True)


@pytest.fixture(scope="session")
def _session_recorder(jack_server):
    # One recorder for the whole session, closed only after the server is gone (see
    # jack_server): deactivating a client whose process callback is Python makes libjack
    # cancel that thread, which can hang the interpreter if it is inside Python then.
    r = Recorder(jack_server)
    _CLOSE_AFTER_SERVER.append(r)
    return r


@pytest.fixture
def recorder(_session_recorder):
    """The session's recorder, disarmed and with no connections at the start of each test."""
    r = _session_recorder
    r.reset()
    yield r
    r.reset()
