"""Generates the README's reference sections from the tables the code uses.

``python -m rtcore.docs`` rewrites the generated blocks in README.md; a test fails when
the README and the code disagree."""
from __future__ import annotations

import re
import sys
from pathlib import Path

from .params import node_types

ROLE = [("The AI accompanist (hears notes, plays notes on other nodes)", lambda t: t.is_controller),
        ("Instruments (play notes)", lambda t: t.is_instrument and not t.is_controller),
        ("Effects and utilities (take audio)", lambda t: t.takes_audio and not t.is_instrument),
        ("Sources", lambda t: not t.takes_audio and not t.is_instrument)]


def _range(p) -> str:
    if p.kind == "enum":
        return " \\| ".join(p.choices)
    if p.kind == "bool":
        return "true / false"
    unit = f" {p.unit}" if p.unit else ""
    return f"{p.min:g} – {p.max:g}{unit}"


def node_tables() -> str:
    """Markdown: one table per node type (parameter, range and unit, default, meaning)."""
    types = node_types()
    out: list[str] = []
    for title, keep in ROLE:
        names = [n for n in types if keep(types[n]) and n != "limiter" and ":" not in n]   # no plugins
        if title.startswith("Effects"):
            names.append("limiter")
        if not names:
            continue
        out.append(f"### {title}\n")
        for name in names:
            t = types[name]
            extra = " The master bus always has one, named `master` (set it in `[engine]`)." if name == "limiter" else ""
            out.append(f"**`{name}`** — {t.doc}.{extra}\n")
            out.append("| parameter | range | default | meaning |")
            out.append("|---|---|---|---|")
            for p in t.params:
                default = p.display(p.default)
                if isinstance(default, bool):
                    default = str(default).lower()
                elif isinstance(default, float):
                    default = f"{default:g}"
                out.append(f"| `{p.name}` | {_range(p)} | {default} | {p.doc} |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def keys_patch() -> str:
    """The shipped keys patch, verbatim (its comments explain every line)."""
    path = Path(__file__).resolve().parent.parent / "patches" / "keys.toml"
    return "```toml\n" + path.read_text().rstrip() + "\n```\n"


def eval_table() -> str:
    """The evaluation of the shipped model (models/chorale.eval.md, written by `rtcore evaluate`)."""
    path = Path(__file__).resolve().parent.parent / "models" / "chorale.eval.md"
    return path.read_text().rstrip() + "\n" if path.exists() else "(no evaluation yet: run `rtcore evaluate`)\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def osc_tables() -> str:
    """Markdown: the OSC addresses rtcore answers and the messages it sends (rtcore.osc.addresses)."""
    from .osc.addresses import ADDRESSES, MIDI_IN_FIELDS, OUTGOING, STATS_FIELDS
    from .osc.server import COUNTERS

    out = ["| address | arguments | range / unit | in a bundle | what it does |", "|---|---|---|---|---|"]
    for a in ADDRESSES:
        args = ", ".join(f"{'[' if x.optional else ''}`{x.tags}` {x.name}{']' if x.optional else ''}"
                         for x in a.args) or "—"
        rng = "; ".join(f"{x.name}: {x.range}" for x in a.args if x.range) or "—"
        when = "at its time" if a.timed else "on arrival"
        out.append(f"| `{a.pattern}` | {_cell(args)} | {_cell(rng)} | {when} | {_cell(a.doc)} |")
    out += ["", "rtcore sends:", "", "| address | arguments | meaning |", "|---|---|---|"]
    for addr, args, doc in OUTGOING:
        out.append(f"| `{addr}` | {_cell(args)} | {_cell(doc)} |")
    out += ["", "Stats pairs, in this order: " + ", ".join(f"`{n}`" for n in STATS_FIELDS)
            + " (times in µs, `tempo` the session's BPM, `transport_tempo` the engine's beats per minute of its own "
            "frames, `clock_error_ms` an external clock's last phase error, `transport_playing` 0/1), then the server's own counters "
            + ", ".join(f"`osc_{n}`" for n in COUNTERS) + ", and the MIDI input's "
            + ", ".join(f"`midi_in_{n}`" for n in MIDI_IN_FIELDS)
            + " (`midi_in_lost`: messages RtMidi's full queue dropped; 0 without a MIDI input)."]
    return "\n".join(out) + "\n"


def midi_tables() -> str:
    """Markdown: what each incoming MIDI message does (rtcore.midi_spec, the table Session.midi
    dispatches with), the fixed controllers, and the [midi] / [[midi.cc]] / [[snapshot]] keys
    (rtcore.patch's tables)."""
    from . import midi_spec
    from .patch import CC_KEYS, MIDI_KEYS, SNAPSHOT_KEYS

    out = ["| MIDI message | bytes | what rtcore does |", "|---|---|---|"]
    for m in midi_spec.CHANNEL_MESSAGES:
        out.append(f"| {m.name} | `{m.status >> 4:X}n` + {m.length - 1} data | {_cell(m.effect)} |")
    for name, effect in midi_spec.SYSTEM_MESSAGES:
        out.append(f"| {name} | `Fx` | {_cell(effect)} |")
    out += ["", "Controllers the instruments answer by themselves (they reach CC maps too, except "
            f"{midi_spec.CHANNEL_MODE_CCS.start}–{midi_spec.CHANNEL_MODE_CCS.stop - 1}, the channel mode "
            "messages, which are never mapped or learned):", "",
            "| CC | name | effect |", "|---|---|---|"]
    for cc, name, effect in midi_spec.FIXED_CONTROLLERS:
        out.append(f"| {cc} | {name} | {_cell(effect)} |")
    out += ["", "| patch key | meaning |", "|---|---|"]
    out += [f"| `[midi]` `{k}` | {_cell(v)} |" for k, v in MIDI_KEYS.items() if k != "cc"]
    out += [f"| `[[midi.cc]]` `{k}` | {_cell(v)} |" for k, v in CC_KEYS.items()]
    out += [f"| `[[snapshot]]` `{k}` | {_cell(v)} |" for k, v in SNAPSHOT_KEYS.items()]
    out.append("| `[[snapshot]]` `<node> = { param = value, ... }` | the values it recalls "
               "(any node of the patch, and `master`) |")
    return "\n".join(out) + "\n"


BLOCKS = {"node-tables": node_tables, "keys-patch": keys_patch, "eval-table": eval_table, "osc-tables": osc_tables,
          "midi-tables": midi_tables}


def render_readme(text: str) -> str:
    """Replace every <!-- generated:NAME --> ... <!-- /generated:NAME --> block."""
    for name, fn in BLOCKS.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.S)
        text = pattern.sub(lambda m: m.group(1) + fn() + m.group(2), text)
    return text


def main() -> int:
    readme = Path(__file__).resolve().parent.parent / "README.md"
    text = readme.read_text()
    new = render_readme(text)
    if new != text:
        readme.write_text(new)
        print(f"updated {readme}")
    else:
        print(f"{readme} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
