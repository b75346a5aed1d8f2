# repalign-edu: two commands.
#   make lab    -> create .venv, install the project with [lessons,test], open JupyterLab on lessons/
#   make test   -> create/update .venv, run package tests + every lesson three ways
#                  (as shipped, solved, all wrong: tests/test_lessons.py)
# Headless form of `make lab`: `make lessons` executes every lesson and writes
# build/lessons/*.ipynb and build/lessons/*.html.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Numba's on-disk cache goes to a fresh directory for every test run.
NUMBA_THREADS ?= 2

.PHONY: lab lessons test bench venv clean torch-cpu

# The lessons and the tests need the extras [lessons] and [test]; torch comes from the
# CPU wheel in the local wheel directory (see torch-cpu).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lessons]'
	$(MAKE) --no-print-directory torch-cpu
	touch $(STAMP)

# torch for tests/test_extract.py: the CPU build from $(PIP_FIND_LINKS), never the
# multi-GB CUDA build that `pip install torch` would pick. Without a CPU wheel the torch
# tests skip with a reason; everything else still runs.
torch-cpu:
	@if $(PY) -c "import torch" 2>/dev/null; then \
		echo "torch already installed: $$($(PY) -c 'import torch; print(torch.__version__)')"; \
	else \
		wheel=$$(for d in $${PIP_FIND_LINKS:-}; do ls "$$d"/torch-*+cpu*.whl 2>/dev/null; done | sort -V | tail -n 1); \
		if [ -n "$$wheel" ]; then \
			echo "installing the CPU build of torch: $$wheel"; \
			$(PY) -m pip install --quiet "$$wheel"; \
		else \
			echo "no torch-*+cpu wheel in PIP_FIND_LINKS='$${PIP_FIND_LINKS:-}': the torch tests will be skipped"; \
		fi; \
	fi

venv: $(STAMP)

# Extra JupyterLab options: make lab LAB_ARGS="--no-browser --ip 0.0.0.0 --port 8888".
# As root (containers, Binder-like machines) --allow-root is added automatically.
LAB_ARGS ?=
ROOT_ARGS := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_ARGS) $(LAB_ARGS) lessons/

# Headless: an IPython start-up file (build/ipython) makes every ipywidgets.interact call
# its function once with the widgets' defaults, so no cell waits for a widget front end
# (jupyter/nbclient#312). One lesson at a time, with its progress and time printed.
LESSON_NBS := $(sort $(wildcard lessons/[0-9][0-9]_*.ipynb))

lessons: $(STAMP)
	mkdir -p build/lessons
	$(PY) -m repalign_edu._headless build/ipython > /dev/null
	@n=$(words $(LESSON_NBS)); i=0; for nb in $(LESSON_NBS); do i=$$((i + 1)); \
		echo "[$$i/$$n] $$nb ..."; t0=$$(date +%s); \
		IPYTHONDIR=$(CURDIR)/build/ipython NUMBA_NUM_THREADS=$(NUMBA_THREADS) \
		$(VENV)/bin/jupyter nbconvert --to notebook --execute --log-level=WARN \
			--ExecutePreprocessor.timeout=600 --output-dir build/lessons "$$nb" || exit 1; \
		$(VENV)/bin/jupyter nbconvert --to html --log-level=WARN --output-dir build/lessons \
			"build/lessons/$$(basename $$nb)" || exit 1; \
		echo "[$$i/$$n] $$nb done in $$(( $$(date +%s) - t0 )) s"; \
	done
	@echo "executed notebooks and HTML are in build/lessons/"

# Two pytest workers share the 2 cores: one BLAS thread each avoids oversubscription
# (OpenBLAS spinning threads otherwise slow small products by 100x).
test: $(STAMP)
	NUMBA_CACHE_DIR=$$(mktemp -d) NUMBA_NUM_THREADS=$(NUMBA_THREADS) OPENBLAS_NUM_THREADS=1 \
	REPALIGN_EDU_CACHE=$$(mktemp -d) \
		$(PY) -m pytest -n 2 --dist loadscope tests

# Benchmarks (not part of the tests): numpy vs cpu, then the peer libraries (about 30 min;
# BENCH_ARGS=--quick for a few minutes). Results go to benchmarks/results/.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m pip install --quiet -r benchmarks/requirements.txt
	$(PY) benchmarks/bench_measures.py
	$(PY) benchmarks/bench_peers.py $(BENCH_ARGS)

clean:
	rm -rf build $(VENV)
