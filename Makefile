# rtcore: two entry points on a fresh Debian machine (run as root, or with sudo available):
#   make demo   installs everything, then renders the demo song (no sound card, no MIDI device)
#   make test   installs everything, then runs the test suite (starts its own JACK dummy server)
PY        ?= python3
VENV      ?= .venv
BIN       := $(VENV)/bin
OUT       ?= out
# portaudio19-dev: PortAudio headers + libportaudio2 (JACK-enabled) for the C core and pyaudio;
# jackd2: the dummy-driver audio server the end-to-end tests and bench_live use;
# python3-dev/venv, gcc: build the cffi extension in a virtualenv;
# ladspa-sdk (ladspa.h), liblilv-dev + lv2-dev (lilv, LV2 headers): the plugin hosts in csrc/;
# cmt, swh-plugins, tap-plugins (LADSPA), lv2-examples, mda-lv2 (LV2 effects and instruments):
# plugins the tests and benchmarks host; lilv-utils: lv2ls/lv2info for the curious.
SYSTEM_PACKAGES := portaudio19-dev libportaudio2 jackd2 libjack-jackd2-dev gcc make pkg-config \
                   python3-dev python3-venv python3-pip \
                   ladspa-sdk liblilv-dev lv2-dev lilv-utils cmt swh-plugins tap-plugins lv2-examples mda-lv2
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test install system ort-header build bench bench-long clean

demo: install
	@mkdir -p $(OUT)
	$(BIN)/rtcore render patches/band.toml --midi patches/band_demo.mid --out $(OUT)/band_demo.wav
	$(BIN)/rtcore render patches/keys.toml --midi patches/melody.mid --out $(OUT)/keys_melody.wav
	$(BIN)/rtcore render patches/fx_chain.toml --input $(OUT)/keys_melody.wav --out $(OUT)/keys_melody_fx.wav
	$(BIN)/rtcore render patches/chorale.toml --midi patches/melody.mid --out $(OUT)/duet.wav \
	    --midi-out $(OUT)/duet.mid --plot $(OUT)/duet.png
	$(BIN)/rtcore render patches/plugins.toml --midi patches/melody.mid --out $(OUT)/epiano.wav
	@echo "demo: listen to $(OUT)/duet.wav (you + the AI; piano roll $(OUT)/duet.png), $(OUT)/band_demo.wav,"
	@echo "      $(OUT)/keys_melody.wav, $(OUT)/keys_melody_fx.wav and $(OUT)/epiano.wav (LV2 + LADSPA plugins)"

test: install
	$(BIN)/python -m pytest -q -ra

# System packages: only when one is missing (apt-get update + install takes a while).
system:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:" $$missing; \
	  echo "jackd2 jackd/tweak_rt_limits boolean false" | $(SUDO) debconf-set-selections; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# ONNX Runtime's C header (csrc/infer.c): no PyPI wheel ships it, so fetch Debian trixie's
# libonnxruntime-dev with apt-get download under a scratch apt configuration (the system's apt
# configuration is not touched) and unpack only the headers into build/ort/include.
ORT_HEADER := onnxruntime_c_api.h
ort-header:
	@if [ -f build/ort/include/$(ORT_HEADER) ] || [ -f /usr/include/onnxruntime/$(ORT_HEADER) ] || \
	    { [ -n "$$RTCORE_ORT_INCLUDE" ] && [ -f "$$RTCORE_ORT_INCLUDE/$(ORT_HEADER)" ]; }; then :; else \
	  $(SUDO) sh tools/fetch_ort_header.sh "$(CURDIR)/build/ort/include"; fi

install: system ort-header $(BIN)/python
	$(BIN)/pip install -q -e '.[test,train]'

# rebuild the C core in place after editing csrc/ (pip install -e does it too)
build: ort-header $(BIN)/python
	$(BIN)/python pymodule/build_rtcore.py

bench: install
	@mkdir -p bench-results
	$(BIN)/python benchmarks/bench_render.py --json bench-results/render.json
	$(BIN)/python benchmarks/bench_vs_pedalboard.py --json bench-results/pedalboard.json
	$(BIN)/python benchmarks/bench_live.py --json bench-results/live.json
	$(BIN)/python benchmarks/bench_ai.py --json bench-results/ai.json
	$(BIN)/python benchmarks/bench_plugins.py --json bench-results/plugins.json
	$(BIN)/python benchmarks/bench_latency.py --json bench-results/latency.json
	$(BIN)/python benchmarks/faults.py --json bench-results/faults.json
	$(BIN)/python benchmarks/bench_sync.py --json bench-results/sync.json
	$(BIN)/python benchmarks/bench_recorder.py --json bench-results/recorder.json
	$(BIN)/python benchmarks/floods.py --json bench-results/floods.json
	$(BIN)/python benchmarks/bench_personal.py --json bench-results/personal.json

# The long runs (hours): a million inputs per fuzz target, a 10-minute soak.
bench-long: install
	@mkdir -p bench-results
	$(BIN)/python benchmarks/fuzz_all.py --runs 1000000 --json bench-results/fuzz.json
	$(BIN)/python benchmarks/soak.py --minutes 10 --json bench-results/soak.json

clean:
	rm -rf build *.egg-info rtcore/_rtcore*.so rtcore/_rtcore.c rtcore/*.o $(OUT)
