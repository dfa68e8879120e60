"""The shared fuzzing harness: coverage-guided fuzzing with atheris (libFuzzer) of one target
per script in this folder, counting inputs and findings instead of stopping at the first one.

A **finding** is any outcome the engine's contract forbids for bad input:

* an exception that is not an :class:`rtcore.errors.RtCoreError` (the documented one-line
  error; its subclasses included) -- the target raised it, or it escaped a catch-all and was
  reported as an "internal error";
* an error message (exception text, a log line, an OSC error reason) with a line break in it;
* a broken post-condition the target checks itself (it raises :class:`Finding`), e.g. an OSC
  datagram that got neither a handled message nor an ``/rtcore/error`` reply;
* a crash of the process (segfault, abort), a hang (longer than ``--timeout``) or running out of
  memory: libFuzzer catches those, writes the input to the findings folder (``crash-*``,
  ``timeout-*``, ``oom-*``) and ends the process with an error status, before the summary line;
  ``benchmarks/fuzz_all.py`` counts each such death as a crash and starts the target again.

Each finding's input is saved under ``--findings`` (``finding-<sha1>`` plus a ``.txt`` with the
traceback) and the first traceback of each distinct finding (exception type + innermost rtcore
frame) is printed.

Every script takes::

    --runs N          inputs to run (seeds included), like -atheris_runs=N
    --seconds S       stop after S seconds (libFuzzer's -max_total_time)
    --timeout S       per-input time limit in seconds: longer counts as a hang (default 10)
    --corpus DIR      keep the corpus here (default: a temporary folder, seeded afresh)
    --findings DIR    where findings go (default: fuzz-findings/<target>)
    --summary PATH    write the summary JSON here (also kept up to date during the run)
    --replay FILE...  run these inputs once each, with full tracebacks, no fuzzing
    --stop-on-finding raise at the first finding (libFuzzer then minimises/records it)

and passes any ``-flag=value`` argument on to libFuzzer (e.g. ``-atheris_runs=1000000``,
``-max_len=4096``, ``-dict=FILE``). The last line printed is ``FUZZ-SUMMARY {json}`` with the keys
of :class:`Tally`.
"""
from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")   # what str.splitlines() splits on
MAX_SAVED_PER_SIGNATURE = 5
STATUS_EVERY_S = 2.0

OneInput = Callable[[bytes], None]


class Finding(Exception):
    """Raised by a target when a post-condition fails. ``signature`` groups equal findings."""

    def __init__(self, signature: str, detail: str = "") -> None:
        super().__init__(f"{signature}: {detail}" if detail else signature)
        self.signature = signature


def has_line_break(text: str) -> bool:
    """True if ``text`` would print on more than one line."""
    return any(c in LINE_BREAKS for c in text)


def check_one_line(text: str, what: str) -> None:
    """Raise :class:`Finding` when ``text`` (an error message, a log line) spans lines."""
    if has_line_break(text):
        raise Finding(f"multi-line {what}", repr(text[:300]))


def signature_of(exc: BaseException) -> str:
    """Exception type and the innermost frame in rtcore/ (else the innermost frame at all)."""
    if isinstance(exc, Finding):
        return exc.signature
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}rtcore{os.sep}" in f.filename]
    where = (ours or frames)[-1] if frames else None
    loc = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
    return f"{type(exc).__name__}{loc}"


@dataclass
class Tally:
    """What a run did. ``findings``: inputs with a finding; ``distinct``: per signature."""

    target: str
    inputs: int = 0
    rejected: int = 0             # inputs answered with a one-line RtCoreError (the documented way)
    findings: int = 0
    distinct: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def run_one(target: OneInput, data: bytes, tally: Tally, on_finding: Callable[[str, BaseException, bytes], None]
            ) -> str | None:
    """Run one input and classify the outcome; the finding's signature, or None."""
    from rtcore.errors import RtCoreError

    tally.inputs += 1
    try:
        target(data)
    except RtCoreError as exc:
        if not has_line_break(str(exc)):
            tally.rejected += 1
            return None
        sig = f"multi-line {type(exc).__name__} message"
        on_finding(sig, exc, data)
        return sig
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - classifying every other outcome is the point
        sig = signature_of(exc)
        on_finding(sig, exc, data)
        return sig
    return None


class Fuzzer:
    """One fuzz target. ``make_target()`` imports and sets up what it fuzzes (after the coverage
    instrumentation is installed) and returns the one-input function. ``seeds(dir)`` writes the
    seed corpus. ``instrument``: top-level modules whose code atheris instruments for coverage.
    ``max_len``: default longest input (bytes); ``dictionary``: libFuzzer dictionary tokens."""

    def __init__(self, name: str, make_target: Callable[[], OneInput], seeds: Callable[[Path], None],
                 instrument: tuple[str, ...] = ("rtcore",), max_len: int = 4096,
                 dictionary: tuple[bytes, ...] = ()) -> None:
        self.name = name
        self.make_target = make_target
        self.seeds = seeds
        self.instrument = instrument
        self.max_len = max_len
        self.dictionary = dictionary
        self.tally = Tally(name)
        self._printed: set[str] = set()
        self._saved: dict[str, int] = {}
        self._findings_dir = Path("fuzz-findings") / name
        self._summary: Path | None = None
        self._stop_on_finding = False
        self._t0 = time.monotonic()
        self._last_status = 0.0

    # ---- outcome bookkeeping -----------------------------------------------------------------
    def _on_finding(self, sig: str, exc: BaseException, data: bytes) -> None:
        t = self.tally
        t.findings += 1
        t.distinct[sig] = t.distinct.get(sig, 0) + 1
        tb = "".join(traceback.format_exception(exc))
        if self._saved.get(sig, 0) < MAX_SAVED_PER_SIGNATURE:
            self._saved[sig] = self._saved.get(sig, 0) + 1
            self._findings_dir.mkdir(parents=True, exist_ok=True)
            stem = self._findings_dir / f"finding-{hashlib.sha1(data).hexdigest()}"
            stem.write_bytes(data)
            stem.with_suffix(".txt").write_text(f"{sig}\ninput: {data[:200]!r}\n\n{tb}")
        if sig not in self._printed:
            self._printed.add(sig)
            print(f"\n=== fuzz {self.name}: finding '{sig}' on input {data[:120]!r}\n{tb}", file=sys.stderr, flush=True)
        if self._stop_on_finding:
            raise exc

    def _write_status(self) -> None:
        self.tally.seconds = round(time.monotonic() - self._t0, 3)
        if self._summary is not None:
            self._summary.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._summary.with_name(self._summary.name + ".tmp")
            tmp.write_text(json.dumps(self.summary(), sort_keys=True) + "\n")
            tmp.replace(self._summary)

    def summary(self) -> dict:
        return asdict(self.tally)

    def _finish(self) -> None:
        self._write_status()
        t = self.tally
        rate = t.inputs / t.seconds if t.seconds else 0.0
        print(f"\nfuzz {self.name}: {t.inputs} inputs, {t.findings} crashes/findings "
              f"({len(t.distinct)} distinct), {t.rejected} rejected with a one-line error, "
              f"{t.seconds:.1f} s ({rate:.0f} inputs/s)", flush=True)
        for sig, n in sorted(t.distinct.items()):
            print(f"  {n:7d}  {sig}", flush=True)
        print("FUZZ-SUMMARY " + json.dumps(self.summary(), sort_keys=True), flush=True)

    # ---- entry point -------------------------------------------------------------------------
    def main(self, argv: list[str] | None = None) -> int:
        argv = list(sys.argv[1:] if argv is None else argv)
        ap = argparse.ArgumentParser(description=f"Fuzz rtcore's {self.name} handling (atheris).")
        ap.add_argument("--runs", type=int, default=0, help="inputs to run, seeds included (0 = no limit)")
        ap.add_argument("--seconds", type=float, default=0.0, help="stop after this many seconds")
        ap.add_argument("--timeout", type=int, default=10, help="per-input time limit (s): longer is a hang")
        ap.add_argument("--corpus", type=Path, help="corpus folder (default: a fresh temporary one)")
        ap.add_argument("--findings", type=Path, help="findings folder (default: fuzz-findings/<target>)")
        ap.add_argument("--summary", type=Path, help="write the summary JSON here")
        ap.add_argument("--replay", type=Path, nargs="+", help="run these inputs once each, tracebacks shown")
        ap.add_argument("--stop-on-finding", action="store_true")
        ours, libfuzzer = ap.parse_known_args(argv)
        bad = [a for a in libfuzzer if not a.startswith("-") or a.startswith("--")]
        if bad:
            ap.error(f"unrecognised arguments: {' '.join(bad)} (libFuzzer flags look like -name=value)")
        if ours.findings:
            self._findings_dir = ours.findings
        self._summary = ours.summary
        self._stop_on_finding = ours.stop_on_finding
        if ours.replay:
            return self._replay(ours.replay)

        import atheris

        with atheris.instrument_imports(include=list(self.instrument)):
            one_input = self.make_target()
        corpus = ours.corpus or Path(tempfile.mkdtemp(prefix=f"rtcore-fuzz-{self.name}-"))
        corpus.mkdir(parents=True, exist_ok=True)
        self.seeds(corpus)
        workdir = Path(tempfile.mkdtemp(prefix=f"rtcore-fuzz-{self.name}-lf-"))
        args = [sys.argv[0], f"-timeout={ours.timeout}", f"-max_len={self.max_len}",
                f"-artifact_prefix={self._findings_dir.resolve()}/", "-print_final_stats=0"]
        if ours.runs:
            args.append(f"-atheris_runs={ours.runs}")
        if ours.seconds:
            args.append(f"-max_total_time={max(1, int(round(ours.seconds)))}")
        if self.dictionary:
            dict_file = workdir / "tokens.dict"
            dict_file.write_text("".join(f'"{_dict_escape(tok)}"\n' for tok in self.dictionary))
            args.append(f"-dict={dict_file}")
        args += libfuzzer + [str(corpus)]
        self._findings_dir.mkdir(parents=True, exist_ok=True)

        def test_one_input(data: bytes) -> None:
            run_one(one_input, data, self.tally, self._on_finding)
            now = time.monotonic()
            if now - self._last_status >= STATUS_EVERY_S:
                self._last_status = now
                self._write_status()

        def at_exit() -> None:
            self._finish()
            if ours.corpus is None:
                shutil.rmtree(corpus, ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)

        atexit.register(at_exit)
        self._t0 = time.monotonic()
        atheris.Setup(args, test_one_input)
        atheris.Fuzz()          # exits the process (the summary is printed at exit)
        return 0

    def _replay(self, files: list[Path]) -> int:
        one_input = self.make_target()
        self._stop_on_finding = False
        for f in files:
            data = f.read_bytes()
            sig = run_one(one_input, data, self.tally, self._on_finding)
            print(f"{f}: {sig or 'ok'}")
        self._finish()
        return 1 if self.tally.findings else 0


def _dict_escape(token: bytes) -> str:
    """A libFuzzer dictionary string: printable ASCII as is, the rest as \\xNN."""
    return "".join(chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\x{b:02X}" for b in token)
