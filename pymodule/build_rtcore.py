"""cffi builder for rtcore's C core (API mode).

The cdef is derived from csrc/rtcore.h itself -- declarations verbatim, every
``#define RT_*`` as a constant whose value the C compiler supplies -- so the
Python declarations cannot drift from the header.
"""
from __future__ import annotations

import os
import re
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


def c_sources() -> list[str]:
    files = sorted(CSRC.glob("*.c")) + sorted((CSRC / "nodes").glob("*.c"))
    return [os.path.relpath(f, ROOT) for f in files]


ffibuilder = FFI()
ffibuilder.cdef(header_cdef(CSRC / "rtcore.h"))
ffibuilder.set_source(
    "rtcore._rtcore",
    '#include "rtcore.h"',
    sources=c_sources(),
    include_dirs=[str(CSRC)],
    libraries=["portaudio", "m", "pthread"],
    extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter",
                        "-fno-math-errno", "-fopenmp-simd", "-fvisibility=hidden"],
)

if __name__ == "__main__":
    os.chdir(ROOT)
    ffibuilder.compile(verbose=False)
