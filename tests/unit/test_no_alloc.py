"""No allocation on the audio thread: a build-time hook (ld --wrap) counts every malloc,
calloc, realloc, posix_memalign, aligned_alloc and free made by rtcore's C code while
rt_engine_process() runs, across note storms, parameter sweeps and graph swaps (plain ones and
hot reloads that keep all or some of the nodes' state)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"
sys.path.insert(0, str(ROOT / "pymodule"))
from build_rtcore import ort_include_dir, pkg_config  # noqa: E402  (infer.c: ONNX Runtime's header)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the C harness")
def test_process_never_allocates(tmp_path):
    sources = sorted(CSRC.glob("*.c")) + sorted((CSRC / "nodes").glob("*.c"))
    exe = tmp_path / "alloc_check"
    wraps = ",".join(f"--wrap={f}" for f in ("malloc", "calloc", "realloc", "free",
                                             "posix_memalign", "aligned_alloc"))
    inc, libdirs, libs = pkg_config("lilv-0", "liblilv-dev is needed")        # csrc/host_lv2.c
    cmd = ["gcc", "-O2", "-std=gnu11", "-fopenmp-simd", "-I", str(CSRC), "-I", str(ort_include_dir()),
           *[f"-I{d}" for d in inc], str(ROOT / "tests/c/alloc_check.c"), *map(str, sources), f"-Wl,{wraps}",
           *[f"-L{d}" for d in libdirs], *[f"-l{x}" for x in libs], "-lportaudio", "-lm", "-lpthread", "-ldl",
           "-o", str(exe)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    args = [str(exe)]
    model = ROOT / "models" / "chorale.onnx"
    try:
        from rtcore.accompany.infer import ort_library_path
        if model.exists():
            args += [str(ort_library_path()), str(model)]    # the AI node plays, on its thread path
    except Exception:  # noqa: BLE001 - without onnxruntime the AI node stays silent
        pass
    run = subprocess.run(args, capture_output=True, text=True, timeout=300)
    print(run.stdout, run.stderr)
    assert "allocations during process: 0, frees during process: 0" in run.stdout
    assert run.returncode == 0
    assert "graph swaps: 13" in run.stdout     # the first graph + 12 swaps during the run
    # 4 swaps keep every node, 4 keep every other one (the rest crossfade in): the state moves
    # and the input crossfades ran inside process() too
    import re
    kept, partial = map(int, re.search(r"kept their state across swaps: (\d+) \(swaps keeping only some: (\d+)\)",
                                       run.stdout).groups())
    assert kept > 0 and partial >= 4, run.stdout
    journaled = int(re.search(r"journal records: (\d+) audio", run.stdout).group(1))
    assert journaled > 1000, run.stdout                  # the recorder's copy ran inside process()
    plugins = int(re.search(r"plugins loaded: (\d+)", run.stdout).group(1))
    if Path("/usr/lib/ladspa/cmt.so").exists() and Path("/usr/lib/lv2/mda.lv2").exists():
        assert plugins == 4, run.stdout          # LADSPA and LV2 nodes ran in process() too
    if len(args) > 1:
        steps = int(re.search(r"AI steps: (\d+)", run.stdout).group(1))
        assert steps > 100, run.stdout                       # the AI really ran in process()
