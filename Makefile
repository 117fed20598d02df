# The README's commands. Everything a fresh machine needs is installed from here.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
APT_PACKAGES := libportaudio2 festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts flite espeak-ng sox chromium chromium-driver dataset-fashion-mnist
# glibc's default allocator makes large-activation timings noisy on these machines;
# ../shared/ANCHORS.md took its figures with these settings, so ours use them too.
BENCH_ENV := MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824

.PHONY: install apt-deps test test-fast demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@$(MAKE) --no-print-directory apt-deps
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q torch==2.13.0
	$(PIP) install -q "setuptools<81" wheel
	$(PIP) install -q -e ".[dev,eval,image,realvoices,soundcard,serve]"
	# resemblyzer declares the obsolete `typing` backport; its real needs come with [eval].
	$(PIP) install -q --no-deps resemblyzer
	touch $@

# Offline voices for the synthetic corpus. Skipped where apt-get is absent; the corpus
# builder then names the missing synthesizer and how to install it.
apt-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null; then \
	    sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	    echo "installing Debian packages:" $$missing; \
	    $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	  else echo "apt-get not found; please install:" $$missing; fi; \
	fi

test: install
	$(PY) -m pytest -q tests

test-fast: install
	$(PY) -m pytest -q -m "not slow" tests

# CycleGAN-VC and the disentangle model with Griffin-Lim, to stay within about 15 minutes
# on 2 cores; ./run.sh alone also trains StarGAN-VC and uses every trained ../voc1 vocoder.
demo: install
	cd egs/synth/vc1 && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./run.sh --systems "cyclegan disentangle" --vocoders gl

bench: install
	$(BENCH_ENV) $(PY) bench/run_all.py

clean:
	rm -rf $(VENV) egs/synth/vc1/{data,dump,exp,corpus} bench/out
