"""Which folders a patch may read files from.

A patch is data someone may hand you (a download, a bandmate's file, an OSC
``/rtcore/patch/load``), yet some of its keys name files rtcore opens: the AI ``model``, sampler
``[[node.sample]] file``, a LADSPA ``plugin`` given as a path (a shared library: loading it
runs its code) and the MIDI-learn sidecar. Each of those must resolve -- after symlinks --
inside one of:

- the patch's own folder (the folder its relative names start from);
- a folder on ``RTCORE_PATH`` (colon-separated, like ``PATH``), and always rtcore's own
  ``models/`` folder (:data:`PROJECT_MODELS_DIR`, where ``rtcore train`` puts the shipped
  model and where the shipped patches find ``../models/chorale.onnx``);
- the LADSPA folders (``LADSPA_PATH`` or its default, see :func:`rtcore.plugins.ladspa_path`).

Anything else is refused with :class:`~rtcore.errors.PathNotAllowedError` unless the patch was
loaded with ``allow_any_path=True`` (``--allow-any-path``). A patch loaded over OSC must itself
lie in the current patch's folder or on ``RTCORE_PATH``.

The check is made before the file is opened or even tested for existence, so a refused name
tells nothing about what exists outside the allowed folders.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import PathNotAllowedError

RTCORE_PATH_ENV = "RTCORE_PATH"
PROJECT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
"""rtcore's own models folder (next to the package in a checkout or an editable install)."""
ALLOW_HINT = "to allow it, add its folder to RTCORE_PATH or use --allow-any-path"


def rtcore_path() -> list[Path]:
    """The folders of ``RTCORE_PATH`` (``~`` expanded, symlinks resolved), then
    :data:`PROJECT_MODELS_DIR`; without duplicates."""
    raw = os.environ.get(RTCORE_PATH_ENV, "")
    folders = [Path(p).expanduser().resolve() for p in raw.split(":") if p.strip()]
    return _unique(folders + [PROJECT_MODELS_DIR])


def patch_file_folders(patch_folder: Path) -> list[Path]:
    """Where the files a patch in ``patch_folder`` names may lie: the patch's folder,
    :func:`rtcore_path`, the LADSPA folders (resolved)."""
    return _unique([patch_folder.resolve()] + rtcore_path() + ladspa_folders())


def is_inside(path: Path, folders: list[Path]) -> bool:
    """``path``, resolved (symlinks followed, ``..`` removed), lies in one of ``folders``
    (resolved folders)."""
    real = path.resolve()
    return any(real.is_relative_to(f) for f in folders)


def check_patch_file(path: Path, patch_folder: Path) -> Path:
    """``path`` (absolute, or relative to ``patch_folder``) resolved, if a patch in
    ``patch_folder`` may name it; else :class:`PathNotAllowedError` (the caller adds the patch
    file and key in front of the message)."""
    full = path if path.is_absolute() else patch_folder / path
    folders = patch_file_folders(patch_folder)
    if not is_inside(full, folders):
        raise PathNotAllowedError(f"{full.resolve()} is outside the folders a patch may read from "
                                  f"(the patch's folder {folders[0]}; {_rtcore_path_text()}; LADSPA folders "
                                  f"{':'.join(str(p) for p in ladspa_folders())}); {ALLOW_HINT}")
    return full.resolve()


def check_osc_patch(path: Path, current_folder: Path) -> Path:
    """The patch file an OSC ``/rtcore/patch/load`` names (absolute, or relative to the current
    patch's folder), if it lies in that folder or on :func:`rtcore_path`; else
    :class:`PathNotAllowedError`. ``--allow-any-path`` does not lift this: it trusts patch
    files, not whoever sends OSC."""
    full = path if path.is_absolute() else current_folder / path
    folders = _unique([current_folder.resolve()] + rtcore_path())
    if not is_inside(full, folders):
        raise PathNotAllowedError(f"{full.resolve()} is outside the current patch's folder ({folders[0]}) and "
                                  f"{_rtcore_path_text()}; to load it over OSC, add its folder to RTCORE_PATH")
    return full


def ladspa_folders() -> list[Path]:
    """The LADSPA folders, resolved."""
    from .plugins import ladspa_path

    return _unique([p.resolve() for p in ladspa_path()])


def _rtcore_path_text() -> str:
    extra = [str(f) for f in rtcore_path() if f != PROJECT_MODELS_DIR]
    return f"RTCORE_PATH {':'.join(extra) if extra else '(unset)'} + rtcore's models folder {PROJECT_MODELS_DIR}"


def _unique(folders: list[Path]) -> list[Path]:
    seen: list[Path] = []
    for f in folders:
        if f not in seen:
            seen.append(f)
    return seen
