# repalign-edu: two commands.
#   make lab    -> create .venv, install the project, open JupyterLab on lessons/
#   make test   -> create/update .venv, run package tests + every lesson under nbval
# Headless form of `make lab`: `make lessons` executes every lesson and writes
# build/lessons/*.ipynb and build/lessons/*.html.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Numba's on-disk cache goes to a fresh directory for every test run.
NUMBA_THREADS ?= 2

.PHONY: lab lessons test bench venv clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab lessons/

# A per-cell timeout of 180 s: no cell needs more, and nbclient occasionally waits for a
# widget cell's reply until the timeout (jupyter/nbclient#312) before going on.
lessons: $(STAMP)
	mkdir -p build/lessons
	NUMBA_NUM_THREADS=$(NUMBA_THREADS) $(VENV)/bin/jupyter nbconvert --to notebook --execute \
		--ExecutePreprocessor.timeout=180 --output-dir build/lessons lessons/*.ipynb
	$(VENV)/bin/jupyter nbconvert --to html --output-dir build/lessons build/lessons/*.ipynb

# Two pytest workers share the 2 cores: one BLAS thread each avoids oversubscription
# (OpenBLAS spinning threads otherwise slow small products by 100x).
test: $(STAMP)
	NUMBA_CACHE_DIR=$$(mktemp -d) NUMBA_NUM_THREADS=$(NUMBA_THREADS) OPENBLAS_NUM_THREADS=1 \
	REPALIGN_EDU_CACHE=$$(mktemp -d) \
		$(PY) -m pytest -n 2 --dist loadscope tests lessons --nbval-lax --nbval-cell-timeout=300

# Benchmarks (not part of the tests): numpy vs cpu, then the peer libraries (about 30 min;
# BENCH_ARGS=--quick for a few minutes). Results go to benchmarks/results/.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m pip install --quiet -r benchmarks/requirements.txt
	$(PY) benchmarks/bench_measures.py
	$(PY) benchmarks/bench_peers.py $(BENCH_ARGS)

clean:
	rm -rf build $(VENV)
