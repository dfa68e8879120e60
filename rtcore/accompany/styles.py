"""Styles beyond the chorales, from music21's offline corpus (nothing is downloaded).

Each style is the shipped chorale model fine-tuned (:mod:`rtcore.accompany.finetune`) on other
four-voice music, with the top voice as the player's melody and the three others as the
accompaniment (folded by register into alto, tenor and bass, as for a user's songs):

- ``renaissance``: Palestrina's four-part mass movements (``corpus/palestrina``, the files with
  exactly four parts named Soprano, Alto, Tenor, Bass; the first :data:`PALESTRINA_LIMIT` in name
  order): long, stepwise, imitative lines in modal harmony.
- ``quartet``: the classical string quartets music21 ships as one file per movement -- Haydn
  op. 1 no. 1 and op. 74 no. 1, Mozart K. 80, 155, 156, 458, Beethoven op. 18 no. 1 and op. 59
  nos. 1-3 (MusicXML files with exactly four parts): first violin = melody; second violin, viola
  and cello = the accompaniment.

``rtcore train --style NAME --out models/NAME.onnx`` builds one (parsing is cached in
``$RTCORE_CACHE``, default ~/.cache/rtcore).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import RtCoreError
from .songs import TokenSong, score_song, song_tokens

PALESTRINA_LIMIT = 120
CACHE_VERSION = 1

STYLES = {
    "renaissance": "Palestrina's four-part mass movements (music21 corpus/palestrina)",
    "quartet": "Haydn, Mozart and Beethoven string quartet movements (music21 corpus: violin 1 = melody)",
}


def _corpus_files(style: str) -> list[str]:
    from music21 import corpus

    if style == "renaissance":
        return sorted(str(p) for p in corpus.getComposer("palestrina"))
    if style == "quartet":
        files = []
        for composer in ("haydn", "mozart", "beethoven"):
            for p in sorted(str(x) for x in corpus.getComposer(composer)):
                # movements as files of their own (whole-quartet files such as op. 132 take
                # music21 minutes each); K. 545 is a piano sonata
                if p.endswith(".mxl") and "/movement" in p and "k545" not in p:
                    files.append(p)
        return files
    raise RtCoreError(f"unknown style '{style}' (styles: {', '.join(STYLES)})")


def _usable(style: str, score) -> bool:
    names = [str(p.partName or "") for p in score.parts]
    if len(names) != 4:
        return False
    if style == "renaissance":
        return names == ["Soprano", "Alto", "Tenor", "Bass"]
    return True


def _cache_file(style: str) -> Path:
    root = Path(os.environ.get("RTCORE_CACHE") or Path.home() / ".cache" / "rtcore")
    return root / f"style-{style}-v{CACHE_VERSION}.npz"


def load_style(style: str, limit: int | None = None, progress: bool = True) -> list[TokenSong]:
    """The style's pieces as token songs (melody = the top part), parsed once and cached."""
    if style not in STYLES:
        raise RtCoreError(f"unknown style '{style}' (styles: {', '.join(STYLES)})")
    from .data import read_cache, save_cache     # the chorales' cache format: ids, lengths, tokens, beats

    cache = _cache_file(style)
    cached = read_cache(cache) if limit is None else None
    if cached is not None:
        return [TokenSong(c.id, c.tokens, c.beats) for c in cached]
    from music21 import corpus
    from tqdm import tqdm

    want = limit or (PALESTRINA_LIMIT if style == "renaissance" else None)
    songs: list[TokenSong] = []
    files = _corpus_files(style)
    bar = tqdm(files, desc=f"parsing {style}", unit="file", disable=not progress)
    for f in bar:
        if want is not None and len(songs) >= want:
            break
        try:
            score = corpus.parse(f)
        except Exception:  # noqa: BLE001 - a corpus file music21 cannot read is skipped
            continue
        if not _usable(style, score):
            continue
        name = f.split("corpus/")[-1]
        try:
            ts = song_tokens(score_song(score, name), melody=0, accomp=[1, 2, 3])
        except RtCoreError:
            continue
        ts.id = name
        songs.append(ts)
    bar.close()
    if not songs:
        raise RtCoreError(f"style '{style}': no usable piece in music21's corpus")
    if limit is None:
        save_cache(songs, cache)
    return songs
