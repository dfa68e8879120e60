"""cffi builder for rtcore's C core (API mode).

The cdef is derived from csrc/rtcore.h itself -- declarations verbatim, every
``#define RT_*`` as a constant whose value the C compiler supplies -- so the
Python declarations cannot drift from the header.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"


def header_cdef(header: Path) -> str:
    text = header.read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)       # block comments
    text = re.sub(r"//[^\n]*", "", text)
    out: list[str] = []
    skip_brace = False
    for line in text.splitlines():
        s = line.strip()
        m = re.match(r"#define\s+(RT_\w+)\s+\S", s)
        if m and m.group(1) not in ("RTCORE_H",):
            out.append(f"#define {m.group(1)} ...")
            continue
        if s.startswith("#"):
            continue
        if s == 'extern "C" {':
            skip_brace = True
            continue
        if s == "}" and skip_brace:
            skip_brace = False
            continue
        out.append(line)
    return "\n".join(out)


ORT_HEADER = "onnxruntime_c_api.h"


def ort_include_dir() -> Path:
    """Folder holding ONNX Runtime's C header (csrc/infer.c needs it; no PyPI wheel ships it).

    Looks in $RTCORE_ORT_INCLUDE, <source tree>/build/ort/include, /usr/include/onnxruntime; if
    none has it, runs tools/fetch_ort_header.sh once (Debian trixie's libonnxruntime-dev, via
    apt-get download under a scratch apt configuration) and looks again.
    """
    local = ROOT / "build" / "ort" / "include"
    env = os.environ.get("RTCORE_ORT_INCLUDE")
    candidates = ([Path(env)] if env else []) + [local, Path("/usr/include/onnxruntime")]
    for d in candidates:
        if (d / ORT_HEADER).is_file():
            return d
    script = ROOT / "tools" / "fetch_ort_header.sh"
    if script.is_file():
        print(f"rtcore: {ORT_HEADER} not found; running {script}", file=sys.stderr)
        subprocess.run(["sh", str(script), str(local)], check=False)
        if (local / ORT_HEADER).is_file():
            return local
    sys.exit(f"rtcore build: {ORT_HEADER} not found (looked in "
             f"{', '.join(str(d) for d in candidates)}); run 'make ort-header' (or, as root, "
             f"tools/fetch_ort_header.sh) or set RTCORE_ORT_INCLUDE to a folder that has it")


def pkg_config(package: str, hint: str) -> tuple[list[str], list[str], list[str]]:
    """(include dirs, library dirs, libraries) of a pkg-config package; exits with a one-line
    hint when it is not installed."""
    try:
        cflags = subprocess.run(["pkg-config", "--cflags-only-I", package], check=True,
                                capture_output=True, text=True).stdout.split()
        libs = subprocess.run(["pkg-config", "--libs", package], check=True,
                              capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        sys.exit(f"rtcore build: {package} not found by pkg-config; {hint}")
    return ([f[2:] for f in cflags if f.startswith("-I")], [f[2:] for f in libs if f.startswith("-L")],
            [f[2:] for f in libs if f.startswith("-l")])


# LV2 hosting (csrc/host_lv2.c) links lilv; LADSPA needs only ladspa.h (ladspa-sdk) and dlopen
LILV_INC, LILV_LIBDIRS, LILV_LIBS = pkg_config("lilv-0", "apt-get install liblilv-dev lv2-dev (or `make system`)")
if not Path("/usr/include/ladspa.h").is_file() and not os.environ.get("RTCORE_LADSPA_INCLUDE"):
    sys.exit("rtcore build: ladspa.h not found; apt-get install ladspa-sdk (or `make system`), or set "
             "RTCORE_LADSPA_INCLUDE to its folder")


def c_sources() -> list[str]:
    files = sorted(CSRC.glob("*.c")) + sorted((CSRC / "nodes").glob("*.c"))
    return [os.path.relpath(f, ROOT) for f in files]


ffibuilder = FFI()
ffibuilder.cdef(header_cdef(CSRC / "rtcore.h"))
ffibuilder.set_source(
    "rtcore._rtcore",
    '#include "rtcore.h"',
    sources=c_sources(),
    include_dirs=[str(CSRC), str(ort_include_dir())] + LILV_INC
    + ([os.environ["RTCORE_LADSPA_INCLUDE"]] if os.environ.get("RTCORE_LADSPA_INCLUDE") else []),
    library_dirs=LILV_LIBDIRS,
    libraries=["portaudio", "m", "pthread", "dl"] + [lib for lib in LILV_LIBS if lib not in ("m", "pthread", "dl")],
    extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter",
                        "-fno-math-errno", "-fopenmp-simd", "-fvisibility=hidden"],
)

if __name__ == "__main__":
    os.chdir(ROOT)
    ffibuilder.compile(verbose=False)
