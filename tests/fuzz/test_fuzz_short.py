"""CI budget of the fuzzers: every target runs a few thousand inputs (about 5-10 s each, a fixed
libFuzzer seed so a failure reproduces) and must report zero findings; plus checks that the
harness counts findings and that the structured patch inputs really are valid TOML that reaches
the patch semantics. The long runs: ``python benchmarks/fuzz_all.py --runs 1000000``."""
from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

atheris = pytest.importorskip("atheris")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import Finding, Tally, run_one  # noqa: E402

BUDGET = {"patch": 4000, "osc": 4000, "midi": 8000, "midifile": 6000, "wav": 8000}   # inputs per target


@pytest.mark.parametrize("target", list(BUDGET))
def test_fuzz_target_short_run_finds_nothing(target, tmp_path):
    summary = tmp_path / "summary.json"
    cmd = [sys.executable, str(HERE / f"fuzz_{target}.py"), f"--runs={BUDGET[target]}", "--timeout=10",
           "--summary", str(summary), "--findings", str(tmp_path / "findings"), "-seed=20261130"]
    env = dict(os.environ, PYTHONHASHSEED="0")          # with -seed: the same inputs every run
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0 and "FUZZ-SUMMARY" in proc.stdout, f"the fuzzer died:\n{tail}"
    s = json.loads(summary.read_text())
    assert s["inputs"] == BUDGET[target]
    assert s["findings"] == 0, f"findings {s['distinct']} (inputs in {tmp_path}/findings):\n{tail}"


def test_harness_classifies_outcomes():
    from rtcore.errors import NotFoundError, PatchError

    seen: list[str] = []
    tally = Tally("t")
    record = lambda sig, exc, data: seen.append(sig)  # noqa: E731

    def target(data: bytes) -> None:
        if data == b"ok":
            return
        if data == b"rejected":
            raise PatchError("p.toml: [engine]: unknown key 'x'")
        if data == b"two lines":
            raise NotFoundError("no node 'a\nb'")          # escaped by RtCoreError: still one line
        if data == b"post":
            raise Finding("post-condition broken")
        {}["missing"]                                       # a KeyError: a bug

    bug = f"KeyError at test_fuzz_short.py:{_line_of('missing')}"
    outcomes = [run_one(target, d, tally, record) for d in (b"ok", b"rejected", b"two lines", b"post", b"bug")]
    assert outcomes == [None, None, None, "post-condition broken", bug]
    assert tally.inputs == 5 and tally.rejected == 2 and seen == ["post-condition broken", bug]


def test_harness_counts_a_multi_line_message_that_escaped_the_escaping():
    from rtcore.errors import RtCoreError

    class Raw(RtCoreError):
        def __str__(self) -> str:                           # bypasses the one-line constructor
            return "line one\nline two"

    def target(data: bytes) -> None:
        raise Raw("x")

    tally, seen = Tally("t"), []
    assert run_one(target, b"", tally, lambda s, e, d: seen.append(s)) == "multi-line Raw message"
    assert tally.rejected == 0 and seen == ["multi-line Raw message"]


def _line_of(marker: str) -> int:
    for i, line in enumerate(Path(__file__).read_text().splitlines(), 1):
        if f'{{}}["{marker}"]' in line:
            return i
    raise AssertionError(marker)


def test_structured_patch_inputs_are_valid_toml_that_often_loads():
    """The structured generator writes TOML that parses back to the same document, and a good
    share of its patches pass every check (so the fuzzer exercises semantics, not only syntax)."""
    import tomllib

    import fuzz_patch
    from _gen import Gen
    from _tomlgen import dumps
    from rtcore.params import node_types

    one_input = fuzz_patch.make_target()
    rng = random.Random(7)
    loaded = 0
    for _ in range(300):
        data = bytes([0x81]) + rng.randbytes(rng.randrange(40, 1500))
        g = Gen.from_fdp(atheris.FuzzedDataProvider(data[1:]))
        doc, _sidecar = fuzz_patch.PatchDoc(g, node_types()).build()
        text = dumps(doc, inline=lambda: g.chance(4))
        assert _same(tomllib.loads(text), doc), text
        try:
            one_input(data)
            loaded += 1
        except Exception:  # noqa: BLE001 - rejected patches are expected; findings are tested above
            pass
    assert loaded >= 60, f"only {loaded} of 300 structured patches loaded"


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def test_fuzz_all_runner_writes_its_json(tmp_path):
    """benchmarks/fuzz_all.py (the long runs) on a tiny budget: the table and the flat JSON keys."""
    out = tmp_path / "fuzz.json"
    cmd = [sys.executable, str(HERE.parents[1] / "benchmarks" / "fuzz_all.py"), "--runs", "300",
           "--targets", "midi,wav", "--findings", str(tmp_path / "findings"), "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(out.read_text())
    assert figures["fuzz_inputs_midi"] == 300 and figures["fuzz_inputs_wav"] == 300
    assert figures["fuzz_crashes_midi"] == 0 and figures["fuzz_crashes_wav"] == 0
    assert "inputs/s" in proc.stdout and (tmp_path / "findings" / "midi.log").is_file()
