"""Time lesson 06's cold path: the deep zoo build and each sanity computation.

Every step runs from an empty cache directory (a fresh temporary
``REPALIGN_EDU_CACHE``), so the numbers are the cold-cache costs a first run
of lesson 06 pays.  CPU time (``time.process_time``) is reported next to wall
time, with the load average before and after: on a shared machine wall time
is noisy, CPU time much less so.  Results go to
``benchmarks/results/deep_zoo.md``.  Not part of the test suite.

Usage::

    NUMBA_CACHE_DIR=/tmp/numba OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_deep_zoo.py
    .venv/bin/python benchmarks/bench_deep_zoo.py --quick      # the zoo build only
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(label, fn, rows):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    rows.append((label, time.perf_counter() - w, time.process_time() - c))
    print(f"{label}: wall {rows[-1][1]:.1f} s, cpu {rows[-1][2]:.1f} s", flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="time only the cold deep-zoo build")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "deep_zoo.md"))
    args = ap.parse_args(argv)
    os.environ["REPALIGN_EDU_CACHE"] = tempfile.mkdtemp(prefix="repalign_bench_")
    from repalign_edu import data, sanity

    load0 = os.getloadavg()
    rows = []
    _timed("deep_zoo() cold, 10 networks", data.deep_zoo, rows)
    _timed("deep_zoo() warm (from the cache)", data.deep_zoo, rows)
    if not args.quick:
        _timed("layer_identification() (n = 540)", sanity.layer_identification, rows)
        _timed("layer_identification(n_samples=40)",
               lambda: sanity.layer_identification(n_samples=40, allow_degenerate=True), rows)
        _timed("random_label_test() (trains 6 networks)", sanity.random_label_test, rows)
        _timed("input_noise_test()", sanity.input_noise_test, rows)
        _timed("specificity_test()", sanity.specificity_test, rows)
    load1 = os.getloadavg()
    lines = ["# Lesson 06 cold path: deep zoo and sanity checks", "",
             f"Machine: {os.cpu_count()} cores; load average (1 min) {load0[0]:.1f} before, "
             f"{load1[0]:.1f} after. {'--quick run. ' if args.quick else ''}"
             "Wall time is noisy on a shared machine; CPU time is the steadier figure.", "",
             "| step | wall (s) | CPU (s) |", "|---|---|---|"]
    lines += [f"| {label} | {w:.1f} | {c:.1f} |" for label, w, c in rows]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
