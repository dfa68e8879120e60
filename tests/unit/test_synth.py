"""The polyphonic ``synth`` node: analytic checks of pitch, band-limiting, the filter,
envelope timing, event timing, voice stealing, the sustain pedal and numeric hygiene."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import rtcore as rc

SR = 48000
ROOT = Path(__file__).resolve().parents[2]
TINY = np.finfo(np.float32).tiny

# filter wide open, no filter envelope, unity level: the oscillator as it is
CLEAN = {"cutoff": 20000.0, "resonance": 0.0, "env_amount": 0.0, "level": 0.0, "velocity_sens": 0.0,
         "attack": 0.0, "decay": 0.0, "sustain": 1.0}
WAVES = {"saw": 0.0, "square": 1.0, "triangle": 2.0, "sine": 3.0}


def render(params, events, frames, block=128, node="synth"):
    with rc.Engine(sample_rate=SR, max_block=1024) as e:
        e.load(rc.GraphSpec(nodes=[rc.NodeSpec("s", node, params)], master={"enabled": 0.0}))
        y = e.render_events(events, frames, block=block)
        st = e.stats()
    assert st.nonfinite_blocks == 0
    return y


def hz(note):
    return 440.0 * 2.0 ** ((note - 69) / 12)


def peak_freq(x, lo=None, hi=None):
    """Frequency of the strongest peak (Hann window, 8x zero padding, Gaussian interpolation)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    spec = np.abs(np.fft.rfft(x * np.hanning(n), 8 * n)) + 1e-30
    f = np.arange(len(spec)) * SR / (8 * n)
    mask = np.ones(len(spec), bool)
    if lo is not None:
        mask &= f >= lo
    if hi is not None:
        mask &= f <= hi
    k = np.flatnonzero(mask)[np.argmax(spec[mask])]
    a, b, c = np.log(spec[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * SR / (8 * n)


def cents(f, ref):
    return 1200.0 * np.log2(f / ref)


def amp_at(x, f):
    """Amplitude of the component at f (Hann window; the bin of f, corrected for the window)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    t = np.arange(n) / SR
    w = np.hanning(n)
    return 2.0 * abs(np.sum(x * w * np.exp(-2j * np.pi * f * t))) / w.sum()


def no_subnormals(y):
    return bool(np.all((y == 0) | (np.abs(y) >= TINY)))


# ---- pitch -------------------------------------------------------------------------------

@pytest.mark.parametrize("wave", ["sine", "saw", "triangle"])
@pytest.mark.parametrize("note", [33, 69, 88])
def test_pitch_within_a_tenth_of_a_cent(wave, note):
    y = render({**CLEAN, "wave": WAVES[wave]}, [rc.Event.note_on(note, 100, time=0)], 4 * SR)
    f = peak_freq(y[SR // 10:, 0], lo=hz(note) * 0.9, hi=hz(note) * 1.1)
    assert abs(cents(f, hz(note))) < 0.1


def test_pitch_bend_and_detune_are_exact():
    # full bend up with a 7-semitone range: A4 -> E5
    y = render({**CLEAN, "wave": WAVES["sine"], "bend_range": 7.0},
               [rc.Event.pitch_bend(1.0, time=0), rc.Event.note_on(69, 100, time=0)], 3 * SR)
    assert abs(cents(peak_freq(y[SR // 10:, 0]), hz(76))) < 0.1
    # detune 20 cents: two oscillators, at -10 and +10 cents, of equal strength
    y = render({**CLEAN, "wave": WAVES["sine"], "detune": 20.0}, [rc.Event.note_on(69, 100, time=0)], 8 * SR)
    x = y[SR:, 0]
    lo_f = peak_freq(x, hi=440.0)
    hi_f = peak_freq(x, lo=440.0)
    assert abs(cents(lo_f, 440.0) + 10.0) < 0.2
    assert abs(cents(hi_f, 440.0) - 10.0) < 0.2
    assert abs(20 * np.log10(amp_at(x, lo_f) / amp_at(x, hi_f))) < 0.5


# ---- band-limiting -------------------------------------------------------------------------

def inharmonic_db(x, f0):
    """Energy away from the harmonics of f0 (aliases), relative to the total, in dB."""
    n = len(x)
    spec = np.abs(np.fft.rfft(x * np.blackman(n))) ** 2
    f = np.arange(len(spec)) * SR / n
    near = f < 20.0
    for k in range(1, int(SR / 2 / f0) + 1):
        near |= np.abs(f - k * f0) < 6 * SR / n
    return 10 * np.log10(spec[~near].sum() / spec.sum())


@pytest.mark.parametrize("wave", ["saw", "square", "triangle"])
def test_high_notes_alias_far_less_than_naive_waves(wave):
    note = 100                                   # 2637 Hz: harmonics fold many times
    f0 = hz(note)
    y = render({**CLEAN, "wave": WAVES[wave]}, [rc.Event.note_on(note, 100, time=0)], SR)
    x = y[4800:4800 + 32768, 0].astype(np.float64)
    t = (np.arange(len(x)) * f0 / SR) % 1.0
    naive = {"saw": 2 * t - 1, "square": np.where(t < 0.5, 1.0, -1.0), "triangle": 1 - 4 * np.abs(t - 0.5)}[wave]
    ours, theirs = inharmonic_db(x, f0), inharmonic_db(naive, f0)
    assert ours < theirs - 15.0
    assert ours < {"saw": -28.0, "square": -28.0, "triangle": -50.0}[wave]


# ---- filter --------------------------------------------------------------------------------

def sine_level(note, **params):
    y = render({**CLEAN, "wave": WAVES["sine"], **params}, [rc.Event.note_on(note, 100, time=0)], SR // 2)
    return amp_at(y[SR // 10:, 0], hz(note))


@pytest.mark.parametrize("note", [57, 81, 100])
def test_filter_is_minus_3db_at_cutoff_with_resonance_0(note):
    open_ = sine_level(note)
    assert abs(20 * np.log10(open_)) < 0.2            # the oscillator alone is at 0 dB
    at_cutoff = sine_level(note, cutoff=hz(note))
    assert 20 * np.log10(at_cutoff / open_) == pytest.approx(-3.01, abs=0.5)
    # one octave above the cutoff a 2-pole Butterworth is down about 12.3 dB
    octave_up = sine_level(note, cutoff=hz(note) / 2)
    assert 20 * np.log10(octave_up / open_) == pytest.approx(-12.3, abs=1.0)


@pytest.mark.parametrize("res", [0.5, 1.0])
def test_resonance_sets_the_gain_at_cutoff_to_q(res):
    q = 0.70710678 * (20.0 / 0.70710678) ** res          # documented mapping: 0.707 .. 20
    gain = sine_level(69, cutoff=440.0, resonance=res) / sine_level(69)
    assert 20 * np.log10(gain) == pytest.approx(20 * np.log10(q), abs=0.5)


def test_filter_envelope_opens_the_cutoff():
    # cutoff 220 Hz under a 1760 Hz sine: closed it is ~-36 dB; +3 octaves of envelope
    # (sustain 1) put the cutoff at 1760 Hz, i.e. -3 dB
    closed = sine_level(93, cutoff=220.0)
    opened = sine_level(93, cutoff=220.0, env_amount=3.0, fenv_attack=0.0, fenv_decay=0.0, fenv_sustain=1.0)
    assert 20 * np.log10(closed) < -30.0
    assert 20 * np.log10(opened) == pytest.approx(-3.01, abs=0.5)


# ---- envelope and event timing -----------------------------------------------------------------

def test_envelope_stage_lengths_exact_in_c():
    """The ADSR from voice.h compiled on its own: attack peak at exactly round(A*sr/1000)
    samples, sustain reached at exactly A+D, silence at exactly R after the gate-off."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    exe = ROOT / "tests" / "c" / "test_env.bin"
    subprocess.run([cc, "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'csrc' / 'nodes'}",
                    str(ROOT / "tests" / "c" / "test_env.c"), "-lm", "-o", str(exe)], check=True)
    try:
        r = subprocess.run([str(exe)], capture_output=True, text=True)
    finally:
        exe.unlink(missing_ok=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout


def test_attack_peaks_at_the_stated_sample_and_release_ends_exactly():
    # square at a very low note: +1 for 2900 samples, so the output is the envelope
    # (through a 20 kHz Butterworth that lags a ramp by half a sample)
    k, attack_ms, release_ms, off = 100, 10.0, 20.0, 1500
    A, R = round(attack_ms * SR / 1000), round(release_ms * SR / 1000)
    p = {**CLEAN, "wave": WAVES["square"], "attack": attack_ms, "decay": 5.0, "sustain": 0.5,
         "release": release_ms}
    y = render(p, [rc.Event.note_on(0, 100, time=k), rc.Event.note_off(0, time=k + off)], 4000)[:, 0]
    assert np.all(y[:k] == 0.0) and y[k] > 0.0
    assert int(np.argmax(y)) - k in (A, A + 1)
    ramp = y[k + 60:k + A - 10]                                      # after the start rings out
    assert np.allclose(np.diff(ramp), 1.0 / (A + 1), rtol=0.02)          # linear attack
    assert y[k + off - 1] == pytest.approx(0.5, abs=1e-3)                 # sustain level
    assert np.all(y[k + off + R:] == 0.0) and y[k + off + R - 2] != 0.0  # release lands on time


@pytest.mark.parametrize("wave", list(WAVES))
@pytest.mark.parametrize("k", [0, 1, 31, 32, 77, 1000])
def test_first_nonzero_sample_is_the_event_sample(wave, k):
    p = {**CLEAN, "wave": WAVES[wave], "attack": 5.0, "cutoff": 3000.0, "env_amount": 2.0}
    y = render(p, [rc.Event.note_on(60, 100, time=k)], 2048, block=64)
    assert np.all(y[:k] == 0.0)
    assert y[k, 0] != 0.0 and y[k, 1] != 0.0


def busy_events():
    ev = []
    for i, n in enumerate([60, 64, 67, 71, 74, 48, 52, 55, 79, 83]):
        ev.append(rc.Event.note_on(n, 40 + 8 * i, time=37 * i + (i % 3)))
        ev.append(rc.Event.note_off(n, time=3000 + 411 * i))
    ev += [rc.Event.pitch_bend(0.3, time=1234), rc.Event.cc(64, 127, time=2000),
           rc.Event.cc(64, 0, time=6001), rc.Event.param_set("s", "cutoff", 900.0, time=2500),
           rc.Event.param_set("s", "detune", 12.0, time=2711), rc.Event.param_set("s", "voices", 4, time=5003),
           rc.Event.note_on(90, 127, time=5555)]
    return ev


def test_output_is_bit_identical_for_any_block_size():
    p = {"wave": WAVES["saw"], "resonance": 0.6, "env_amount": 3.0, "spread": 0.5, "voices": 6}
    outs = [render(p, busy_events(), 12000, block=b) for b in (1, 64, 1024, 100)]
    assert np.abs(outs[0]).max() > 0.01
    for o in outs[1:]:
        assert np.array_equal(o, outs[0])


# ---- polyphony ---------------------------------------------------------------------------------

def test_voice_stealing_does_not_click_and_the_new_note_sounds():
    # two voices, three sine notes; the third steals the oldest (note 36) at the moment
    # its sine is at a crest, where cutting it would jump by ~1.0
    p = {**CLEAN, "wave": WAVES["sine"], "voices": 2, "attack": 5.0}
    inc = hz(36) / SR
    t1 = int(round((60 + 0.25) / inc)) - 1                 # sample where note 36's phase is 0.25
    ev = [rc.Event.note_on(36, 100, time=0), rc.Event.note_on(40, 100, time=0),
          rc.Event.note_on(43, 100, time=t1)]
    alone = render(p, ev[:1], t1 + 10, block=64)[:, 0]
    assert alone[t1] > 0.99                                  # cutting note 36 here would jump by ~1
    y = render(p, ev, t1 + SR, block=64)[:, 0].astype(np.float64)
    # the largest natural step is sum(2 pi f / sr) over the sounding notes, plus the fade
    bound = 2 * np.pi * (hz(36) + hz(40) + hz(43)) / SR + 1.0 / (0.003 * SR)
    assert np.abs(np.diff(y[t1 - 500:t1 + 2000])).max() < bound
    tail = y[t1 + 4800:]
    assert amp_at(tail, hz(43)) == pytest.approx(1.0, abs=0.02)  # the new note
    assert amp_at(tail, hz(40)) == pytest.approx(1.0, abs=0.02)  # the other held note
    assert amp_at(tail, hz(36)) < 1e-3                         # the stolen one is gone


def test_more_notes_than_voices_steal_the_oldest_held():
    p = {**CLEAN, "wave": WAVES["sine"], "voices": 3, "attack": 2.0}
    notes = [48, 52, 55, 59, 62]
    ev = [rc.Event.note_on(n, 100, time=500 * i) for i, n in enumerate(notes)]
    y = render(p, ev, 2500 + SR, block=128)[:, 0]
    tail = y[2500 + 2400:]
    for n in notes[:2]:
        assert amp_at(tail, hz(n)) < 1e-3
    for n in notes[2:]:
        assert amp_at(tail, hz(n)) == pytest.approx(1.0, abs=0.02)


def test_released_voices_are_stolen_before_held_ones():
    p = {**CLEAN, "wave": WAVES["sine"], "voices": 2, "attack": 2.0, "release": 2000.0}
    ev = [rc.Event.note_on(48, 100, time=0), rc.Event.note_on(55, 100, time=100),
          rc.Event.note_off(55, time=1000), rc.Event.note_on(60, 100, time=2000)]
    y = render(p, ev, 2000 + SR // 2)[:, 0]
    tail = y[2000 + 2400:]
    assert amp_at(tail, hz(48)) == pytest.approx(1.0, abs=0.02)   # held: kept
    assert amp_at(tail, hz(55)) < 1e-3                               # released: stolen
    assert amp_at(tail, hz(60)) == pytest.approx(1.0, abs=0.02)


def test_sustain_pedal_holds_notes_until_it_is_lifted():
    R = round(50.0 * SR / 1000)
    p = {**CLEAN, "wave": WAVES["sine"], "release": 50.0}
    up = 20000
    ev = [rc.Event.cc(64, 127, time=0), rc.Event.note_on(64, 100, time=10), rc.Event.note_off(64, time=1000),
          rc.Event.cc(64, 0, time=up)]
    y = render(p, ev, up + 10000)[:, 0]
    assert amp_at(y[up - 4800:up], hz(64)) == pytest.approx(1.0, abs=0.02)   # still at sustain
    assert np.all(y[up + R:] == 0.0) and np.any(y[up + R - 50:up + R] != 0.0)
    # without the pedal the same note-off releases at once
    y = render(p, ev[1:3], 10000)[:, 0]
    assert np.all(y[1000 + R:] == 0.0) and np.any(y[1000 + R - 50:1000 + R] != 0.0)


@pytest.mark.parametrize("how", ["all_notes_off", "cc123", "cc120"])
def test_all_notes_off_and_all_sound_off(how):
    p = {**CLEAN, "wave": WAVES["sine"], "release": 100.0}
    k = 3000
    ev = [rc.Event.cc(64, 127, time=0)] + [rc.Event.note_on(n, 100, time=5 * i) for i, n in enumerate([60, 64, 67])]
    ev.append(rc.Event.note_off(64, time=100))                 # sustained by the pedal
    ev.append({"all_notes_off": rc.Event.all_notes_off(time=k), "cc123": rc.Event.cc(123, 0, time=k),
               "cc120": rc.Event.cc(120, 0, time=k)}[how])
    y = render(p, ev, k + 10000)[:, 0]
    gone = k + (round(0.003 * SR) if how == "cc120" else round(0.1 * SR))
    assert np.abs(y[k - 100:k]).max() > 0.5
    assert np.all(y[gone:] == 0.0) and np.any(y[gone - 10:gone] != 0.0)
    if how == "cc120":          # fast, but not a click: steps stay near the sines' own slopes
        bound = 2 * np.pi * (hz(60) + hz(64) + hz(67)) / SR + 3.0 / (0.003 * SR)
        assert np.abs(np.diff(y[k - 10:gone].astype(np.float64))).max() < bound


def test_velocity_sensitivity():
    def level(vel, sens):
        y = render({**CLEAN, "wave": WAVES["sine"], "velocity_sens": sens}, [rc.Event.note_on(69, vel, time=0)],
                   SR // 4)
        return amp_at(y[2400:, 0], 440.0)
    assert level(64, 1.0) / level(127, 1.0) == pytest.approx((64 / 127) ** 2, rel=0.01)
    assert level(64, 0.0) / level(127, 0.0) == pytest.approx(1.0, abs=1e-4)


def test_level_pan_and_spread():
    y = render({**CLEAN, "wave": WAVES["sine"], "level": -6.0, "pan": 0.5}, [rc.Event.note_on(69, 100, time=0)],
               SR // 4)
    l, r = amp_at(y[2400:, 0], 440.0), amp_at(y[2400:, 1], 440.0)
    assert 20 * np.log10(r) == pytest.approx(-6.0, abs=0.05)
    assert l / r == pytest.approx(0.5, rel=1e-3)
    y = render({**CLEAN, "wave": WAVES["sine"], "spread": 1.0}, [rc.Event.note_on(69, 100, time=0),
                                                                  rc.Event.note_on(76, 100, time=0)], SR // 4)
    # voice 0 hard left, voice 1 hard right
    assert amp_at(y[2400:, 1], hz(69)) < 1e-4 and amp_at(y[2400:, 0], hz(76)) < 1e-4


# ---- numeric hygiene -------------------------------------------------------------------------

def test_extreme_settings_stay_finite_and_end_in_exact_silence():
    p = {"wave": WAVES["square"], "voices": 32, "resonance": 1.0, "cutoff": 20000.0, "env_amount": 8.0,
         "attack": 0.0, "decay": 0.0, "sustain": 1.0, "release": 1.0, "fenv_attack": 0.0, "fenv_decay": 0.0,
         "fenv_release": 1.0, "detune": 100.0, "bend_range": 24.0, "level": 12.0, "key_track": 1.0}
    ev = [rc.Event.pitch_bend(1.0, time=0)]
    for i in range(64):
        n = 127 - (i * 7) % 128
        ev.append(rc.Event.note_on(n, 127, time=3 * i))
        ev.append(rc.Event.note_off(n, time=3 * i + 1 + (i % 5)))
    ev += [rc.Event.param_set("s", "cutoff", 20.0, time=200), rc.Event.param_set("s", "env_amount", -4.0, time=300),
           rc.Event.note_on(0, 127, time=400), rc.Event.pitch_bend(-1.0, time=401),
           rc.Event.note_on(127, 127, time=402), rc.Event.all_notes_off(time=6000)]
    y = render(p, ev, 2 * SR)
    assert np.all(np.isfinite(y))
    assert np.abs(y[:6000]).max() > 0.0
    assert no_subnormals(y)
    assert np.all(y[6000 + 100:] == 0.0)                      # 1 ms release, then nothing at all


def test_long_quiet_tail_has_no_subnormals():
    # long release into silence, then a long wait: samples are normal floats or exactly 0
    p = {"wave": WAVES["sine"], "release": 3000.0, "resonance": 0.9, "cutoff": 50.0, "level": -40.0}
    y = render(p, [rc.Event.note_on(40, 1, time=0), rc.Event.note_off(40, time=100)], 10 * SR)
    assert no_subnormals(y)
    assert np.all(y[100 + 3 * SR + 1:] == 0.0)
