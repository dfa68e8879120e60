"""Run every fuzz target (tests/fuzz/fuzz_<target>.py, atheris) for N inputs each, one after
the other, and report inputs run and crashes per target: a table, and with ``--json PATH`` the
flat keys ``fuzz_inputs_<target>``, ``fuzz_crashes_<target>``, ``fuzz_seconds_<target>``.

Crashes = inputs with a finding (see tests/fuzz/_harness.py: an exception other than the
one-line RtCoreError, a multi-line message, a broken post-condition) plus process deaths
(segfault, hang past ``--timeout``, out of memory). After a death the target is started again on
the same corpus for the inputs still to run (at most ``--max-restarts`` times), so one bad input
does not end a long run. Findings and each target's log go to ``--findings`` (default
fuzz-findings/).

    python benchmarks/fuzz_all.py --runs 1000000 --json bench-results/fuzz.json
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, print_table, write_json

TARGETS = ("patch", "osc", "midi", "midifile", "wav")


def run_target(target: str, runs: int, seconds: float, timeout: int, findings: Path, corpus: Path,
               max_restarts: int) -> dict:
    """Fuzz one target until ``runs`` inputs (or ``seconds``) are done; its totals."""
    script = ROOT / "tests" / "fuzz" / f"fuzz_{target}.py"
    log = findings / f"{target}.log"
    total = {"inputs": 0, "findings": 0, "deaths": 0, "rejected": 0, "seconds": 0.0, "distinct": {}, "reasons": []}
    t0 = time.monotonic()
    with log.open("w") as out:
        while True:
            left_runs = runs - total["inputs"] if runs else 0
            left_s = seconds - (time.monotonic() - t0) if seconds else 0.0
            if (runs and left_runs <= 0) or (seconds and left_s < 1):
                break
            summary = Path(tempfile.mkstemp(prefix=f"fuzz-{target}-", suffix=".json")[1])
            cmd = [sys.executable, str(script), "--corpus", str(corpus), "--findings", str(findings / target),
                   "--summary", str(summary), f"--timeout={timeout}"]
            cmd += [f"--runs={left_runs}"] if runs else []
            cmd += [f"--seconds={left_s:.0f}"] if seconds else []
            out.write(f"$ {' '.join(cmd)}\n")
            out.flush()
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
            try:
                s = json.loads(summary.read_text())
                summarised = True
            except (OSError, ValueError):
                s = {"inputs": 0, "findings": 0, "rejected": 0, "distinct": {}}
                summarised = False
            summary.unlink(missing_ok=True)
            total["inputs"] += s["inputs"]
            total["findings"] += s["findings"]
            total["rejected"] += s["rejected"]
            for k, v in s["distinct"].items():
                total["distinct"][k] = total["distinct"].get(k, 0) + v
            # a clean end: exit status 0 and the summary written (libFuzzer prints its recommended
            # dictionary after our FUZZ-SUMMARY line, so the log's tail need not show it)
            finished = proc.returncode == 0 and summarised
            if finished:
                break
            total["deaths"] += 1
            total["reasons"].append(death_reason(log, proc.returncode))
            if total["deaths"] > max_restarts:
                break
    total["seconds"] = time.monotonic() - t0
    return total


def tail(path: Path, n: int) -> str:
    data = path.read_bytes()
    return data[-n:].decode("utf-8", "replace")


def death_reason(log: Path, code: int) -> str:
    """libFuzzer's SUMMARY line (deadly signal, timeout, out-of-memory ...), else the exit code."""
    lines = [ln for ln in tail(log, 20000).splitlines() if ln.startswith("SUMMARY: libFuzzer:")]
    return lines[-1].split(":", 2)[2].strip() if lines else f"exit code {code}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=100000, help="inputs per target (0 = use --seconds)")
    ap.add_argument("--seconds", type=float, default=0.0, help="time per target instead of --runs")
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset of " + ",".join(TARGETS))
    ap.add_argument("--timeout", type=int, default=10, help="per-input time limit (s): longer is a hang")
    ap.add_argument("--findings", type=Path, default=ROOT / "fuzz-findings")
    ap.add_argument("--max-restarts", type=int, default=20)
    ap.add_argument("--json", metavar="PATH", help="write the figures as flat JSON")
    args = ap.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        ap.error(f"unknown target(s) {', '.join(unknown)} (targets: {', '.join(TARGETS)})")
    if not args.runs and not args.seconds:
        ap.error("give --runs N or --seconds S")
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("error: atheris is not installed (pip install -e '.[test]')", file=sys.stderr)
        return 2
    args.findings.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float | int] = {}
    rows = []
    for t in targets:
        corpus = Path(tempfile.mkdtemp(prefix=f"rtcore-fuzz-corpus-{t}-"))
        try:
            r = run_target(t, args.runs, args.seconds, args.timeout, args.findings, corpus, args.max_restarts)
        finally:
            shutil.rmtree(corpus, ignore_errors=True)
        crashes = r["findings"] + r["deaths"]
        figures[f"fuzz_inputs_{t}"] = r["inputs"]
        figures[f"fuzz_crashes_{t}"] = crashes
        figures[f"fuzz_seconds_{t}"] = round(r["seconds"], 1)
        rate = r["inputs"] / r["seconds"] if r["seconds"] else 0.0
        rows.append([t, r["inputs"], crashes, r["deaths"], len(r["distinct"]), r["rejected"], r["seconds"], rate])
        for sig, n in sorted(r["distinct"].items()):
            print(f"  {t}: {n} x {sig}")
        for reason in r["reasons"]:
            print(f"  {t}: process died: {reason}")
    print_table("Fuzzing (atheris): inputs and crashes per target",
                ["target", "inputs", "crashes", "deaths", "distinct", "rejected", "seconds", "inputs/s"], rows)
    print(f"\nfindings and logs: {args.findings}")
    write_json(args.json, figures)
    return 1 if any(figures[f"fuzz_crashes_{t}"] for t in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
