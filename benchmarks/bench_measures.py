"""Benchmark the alignment measures: NumPy reference vs the Numba ``cpu`` backend.

It times every measure at several n (d = 64 features for X and for Y), and
measures the peak extra memory of RBF CKA at n = 50,000, d = 64 on the cpu
backend (which streams tiles and must stay below 500 MB).  The results go to
``benchmarks/results/measures.md``.  This is a benchmark, run by hand; it is
not part of the test suite.

Usage::

    NUMBA_CACHE_DIR=/tmp/numba .venv/bin/python benchmarks/bench_measures.py
    .venv/bin/python benchmarks/bench_measures.py --sizes 500 2000 --no-memory

The NumPy reference materialises n x n (and, for distance alignment,
n x n x d) arrays; a size where its estimated memory exceeds
``--numpy-max-gb`` is skipped and marked "skipped (memory)".

Peak extra memory is measured in a child process: after the inputs exist
and the kernels are compiled, the kernel's peak resident set size is reset
(``/proc/self/clear_refs``), the measure runs, and ``VmHWM - VmRSS(before)``
is reported, cross-checked by a thread that samples ``VmRSS`` every 10 ms.
Numba allocates outside Python's allocator, so ``tracemalloc`` would miss it;
the tracemalloc peak (NumPy-side allocations only) is reported alongside.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import repalign_edu as ra  # noqa: E402

D = 64

#: (label, function of (X, Y, backend), numpy peak-memory estimate in bytes (n, d))
MEASURES = [
    ("kernel_alignment (linear)", lambda X, Y, b: ra.kernel_alignment(X, Y, backend=b),
     lambda n, d: 3 * 8 * n * n),
    ("kernel_alignment (rbf)", lambda X, Y, b: ra.kernel_alignment(X, Y, "rbf", backend=b),
     lambda n, d: 5 * 8 * n * n),
    ("cka (linear)", lambda X, Y, b: ra.cka(X, Y, backend=b), lambda n, d: 6 * 8 * n * n),
    ("cka (rbf)", lambda X, Y, b: ra.cka(X, Y, "rbf", backend=b), lambda n, d: 6 * 8 * n * n),
    # sigma close to the median heuristic of make_data's X and Y: the kernel work alone
    ("cka (rbf, sigma given)", lambda X, Y, b: ra.cka(X, Y, "rbf", sigma=(11.3, 9.0), backend=b),
     lambda n, d: 6 * 8 * n * n),
    ("hsic unbiased (rbf)", lambda X, Y, b: ra.hsic(X, Y, "rbf", estimator="unbiased", backend=b),
     lambda n, d: 6 * 8 * n * n),
    ("mmd2 biased (rbf)", lambda X, Y, b: ra.mmd2(X, Y, "rbf", backend=b),
     lambda n, d: 4 * 4 * 8 * n * n),
    ("distance_alignment", lambda X, Y, b: ra.distance_alignment(X, Y, backend=b),
     lambda n, d: 8 * n * n * d + 4 * 8 * n * n),
    ("mutual_knn (k=10)", lambda X, Y, b: ra.mutual_knn(X, Y, k=10, backend=b),
     lambda n, d: 4 * 8 * n * n),
]


def make_data(n: int, d: int = D, seed: int = 0):
    """Paired representations: Y is a noisy nonlinear function of X."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.tanh(X @ rng.normal(size=(d, d)) / np.sqrt(d)) + 0.5 * rng.normal(size=(n, d))
    return X, Y


def best_time(f, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def machine_info() -> dict:
    import numba

    model = platform.processor() or "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "logical cores": os.cpu_count(),
        "memory": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "numba threads": numba.get_num_threads(),
        "numba threading layer": _threading_layer(),
    }


def _threading_layer() -> str:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:  # not initialised yet
        ra.cka(*make_data(300, 4), "rbf", backend="cpu")
        return numba.threading_layer()


def load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def run_timings(sizes, repeats: int, numpy_max_bytes: float):
    # compile (or load from the cache) every kernel first
    Xs, Ys = make_data(300)
    for _, f, _ in MEASURES:
        f(Xs, Ys, "cpu")
    rows = {}
    for n in sizes:
        X, Y = make_data(n)
        for label, f, mem in MEASURES:
            t_cpu = best_time(lambda: f(X, Y, "cpu"), repeats)
            v_cpu = f(X, Y, "cpu")
            if mem(n, D) > numpy_max_bytes:
                t_np, v_np = None, None
            else:
                t_np = best_time(lambda: f(X, Y, "numpy"), repeats if n <= 2000 else 1)
                v_np = f(X, Y, "numpy")
            rel = None if v_np is None else abs(v_np - v_cpu) / max(abs(v_np), 1e-300)
            rows[(label, n)] = (t_np, t_cpu, rel)
            np_txt = "skipped" if t_np is None else f"{t_np:.3f}s"
            print(f"n={n:6d} {label:28s} numpy {np_txt:>9s}  cpu {t_cpu:.3f}s", flush=True)
    return rows


# --------------------------------------------------------------------------- memory (child)
def _rss_kib(field: str = "VmRSS") -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def memory_child(n: int, d: int) -> dict:
    """Run in a fresh process: peak extra memory of RBF CKA (cpu backend)."""
    import tracemalloc

    ra.cka(*make_data(300, d), "rbf", backend="cpu")  # compile / load kernels
    X, Y = make_data(n, d)
    sigma = (ra.median_heuristic(X), ra.median_heuristic(Y))  # part of the call below too
    base = _rss_kib()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
        hwm_ok = True
    except OSError:
        hwm_ok = False
    peak_sampled = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak_sampled[0] = max(peak_sampled[0], _rss_kib())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tracemalloc.start()
    t = time.perf_counter()
    value = ra.cka(X, Y, "rbf", backend="cpu")
    elapsed = time.perf_counter() - t
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    done.set()
    sampler.join()
    hwm = _rss_kib("VmHWM") if hwm_ok else None
    return {
        "n": n, "d": d, "value": value, "seconds": elapsed, "sigma": sigma,
        "baseline_mib": base / 1024,
        "extra_hwm_mib": None if hwm is None else (hwm - base) / 1024,
        "extra_sampled_mib": (peak_sampled[0] - base) / 1024,
        "tracemalloc_peak_mib": traced_peak / 2**20,
        "inputs_mib": (X.nbytes + Y.nbytes) / 2**20,
        "n_x_n_float64_mib": 8 * n * n / 2**20,
    }


def run_memory(n: int, d: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--memory-child", str(n), str(d)],
                          capture_output=True, text=True, env=os.environ.copy())
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- report
def write_report(path: Path, info: dict, sizes, rows, memory, load_before, load_after,
                 numpy_max_gb: float, repeats: int, total_seconds: float):
    lines = ["# Alignment measures: NumPy reference vs Numba `cpu` backend", ""]
    lines += ["Written by `benchmarks/bench_measures.py` (run by hand; not a test). "
              f"X and Y have d = {D} features each (`make_data`); times are the best of "
              f"{repeats} wall-clock runs (1 run for the NumPy reference at n > 2000), "
              "after compilation. The NumPy reference materialises n x n matrices; a cell "
              f"is skipped when its estimated memory exceeds {numpy_max_gb:g} GB.", ""]
    lines += ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += [f"| load average before / after (1, 5, 15 min) | {load_before} ; {load_after} |",
              f"| total benchmark time | {total_seconds:.0f} s |", ""]
    lines += ["The machine is shared with other jobs; the load average shows how busy it "
              "was, and absolute times are noisy. Speed-up = numpy time / cpu time. "
              "Kernel measures with sigma=None include the median heuristic of X and of Y "
              "(`kernels.median_heuristic`, pdist on up to 2,000 rows), which both backends "
              "pay; the row with sigma given shows the kernel work alone.", ""]
    lines += ["## Time per call", ""]
    header = "| measure | " + " | ".join(
        f"n={n} numpy | n={n} cpu | n={n} speed-up" for n in sizes) + " |"
    lines += [header, "|---|" + "---:|" * (3 * len(sizes))]
    for label, _, _ in MEASURES:
        cells = []
        for n in sizes:
            t_np, t_cpu, rel = rows[(label, n)]
            if t_np is None:
                cells += ["skipped (memory)", f"{t_cpu:.4f} s", "-"]
            else:
                cells += [f"{t_np:.4f} s", f"{t_cpu:.4f} s", f"{t_np / t_cpu:.1f}x"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    worst = max((r[2] for r in rows.values() if r[2] is not None), default=float("nan"))
    lines += ["", f"Largest relative difference numpy vs cpu over all cells: {worst:.1e}.", ""]
    if memory is not None:
        m = memory
        hwm = "n/a" if m["extra_hwm_mib"] is None else f"{m['extra_hwm_mib']:.1f} MiB"
        lines += ["## Streaming memory: RBF CKA on the cpu backend", "",
                  f"n = {m['n']:,}, d = {m['d']} (X and Y), sigma = median heuristic; "
                  f"value {m['value']:.6f}, {m['seconds']:.1f} s.", "",
                  "| quantity | MiB |", "|---|---:|",
                  f"| peak extra resident memory (VmHWM - RSS before the call) | {hwm} |",
                  "| peak extra resident memory (10 ms RSS sampling) | "
                  f"{m['extra_sampled_mib']:.1f} |",
                  "| tracemalloc peak (NumPy-side allocations only) | "
                  f"{m['tracemalloc_peak_mib']:.1f} |",
                  f"| inputs X and Y (not counted as extra) | {m['inputs_mib']:.1f} |",
                  f"| one n x n float64 matrix, for comparison | {m['n_x_n_float64_mib']:,.0f} |",
                  f"| requirement | < 500 MB |", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    print(f"wrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 5000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--numpy-max-gb", type=float, default=4.0)
    parser.add_argument("--memory-n", type=int, default=50_000)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "measures.md")
    parser.add_argument("--memory-child", type=int, nargs=2, metavar=("N", "D"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(*args.memory_child)))
        return
    t0 = time.perf_counter()
    load_before = load_average()
    info = machine_info()
    print(json.dumps(info, indent=1))
    rows = run_timings(args.sizes, args.repeats, args.numpy_max_gb * 1e9)
    memory = None
    if not args.no_memory:
        print(f"memory run: RBF CKA at n={args.memory_n}, d={D} ...", flush=True)
        memory = run_memory(args.memory_n, D)
        print(json.dumps(memory, indent=1))
    write_report(args.out, info, args.sizes, rows, memory, load_before, load_average(),
                 args.numpy_max_gb, args.repeats, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
