"""Audit of rtcore's own sources: no shell (``shell=True``, ``os.system``, ``os.popen``) and no
``eval``/``exec``/``compile`` anywhere in rtcore/, so patch files and OSC messages can never
become commands or code. The scanner reads the syntax tree (comments and strings do not count)
and is itself tested on snippets that must be caught."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rtcore"
SHELL_FUNCTIONS = {"system", "popen"}          # os.system, os.popen: a shell runs the string
CODE_BUILTINS = {"eval", "exec", "compile"}     # a string becomes Python code


def forbidden(source: str, filename: str = "<snippet>") -> list[str]:
    """Every forbidden construct in ``source``: "file:line: what"."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    found.append(f"{where}: shell={ast.unparse(kw.value)}")
            f = node.func
            if isinstance(f, ast.Name) and f.id in CODE_BUILTINS:
                found.append(f"{where}: {f.id}()")
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                if f.value.id == "os" and f.attr in SHELL_FUNCTIONS:
                    found.append(f"{where}: os.{f.attr}()")
                if f.value.id == "builtins" and f.attr in CODE_BUILTINS:
                    found.append(f"{where}: builtins.{f.attr}()")
        elif isinstance(node, ast.ImportFrom):
            names = {a.name for a in node.names}
            if node.module == "os" and names & SHELL_FUNCTIONS:
                found.append(f"{where}: from os import {', '.join(sorted(names & SHELL_FUNCTIONS))}")
            if node.module == "builtins" and names & CODE_BUILTINS:
                found.append(f"{where}: from builtins import {', '.join(sorted(names & CODE_BUILTINS))}")
    return found


def test_rtcore_sources_run_no_shell_and_no_eval():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 30 and PACKAGE / "osc" / "server.py" in files      # the scan sees the whole package
    found = [hit for f in files for hit in forbidden(f.read_text("utf-8"), str(f.relative_to(PACKAGE.parent)))]
    assert found == [], "shell or eval/exec in rtcore/: " + "; ".join(found)


@pytest.mark.parametrize("snippet, expect", [
    ("import subprocess\nsubprocess.run('ls', shell=True)", "shell=True"),
    ("import subprocess as sp\nsp.Popen(cmd, shell=flag)", "shell=flag"),
    ("import os\nos.system('rm -rf /')", "os.system()"),
    ("import os\nos.popen(text).read()", "os.popen()"),
    ("from os import system\nsystem(x)", "from os import system"),
    ("eval(msg.args[0])", "eval()"),
    ("exec(patch_text)", "exec()"),
    ("code = compile(src, 'x', 'exec')", "compile()"),
    ("import builtins\nbuiltins.eval(x)", "builtins.eval()"),
    ("from builtins import exec as run", "from builtins import exec"),
])
def test_the_scanner_catches_each_forbidden_construct(snippet, expect):
    hits = forbidden(snippet)
    assert len(hits) == 1 and hits[0].endswith(expect), hits


@pytest.mark.parametrize("snippet", [
    "import subprocess\nsubprocess.run(['gcc', '-v'], shell=False)",
    "import re\nre.compile('x')",
    "model.eval()",                         # torch's eval mode: a method, not the builtin
    "# os.system('x') in a comment\ns = 'eval(1)'",
])
def test_the_scanner_allows_what_is_harmless(snippet):
    assert forbidden(snippet) == []
