"""Cost and effect of the cancellation fix (issue 9, kind 1) in the streamed HSIC / CKA.

Times RBF CKA on the cpu backend at n = 16,000 (d = 64 for X and Y, sigma
given, so only the kernel work is timed) for two source trees, the old one
(default ``/work/main``, before the fix) and this one, alternating runs and
keeping the best of ``--repeats``; and reports the relative error against a
40-digit mpmath reference of the issue's examples for both trees.  Each tree
runs in its own subprocess (``PYTHONPATH=<tree>``), after a warm-up call that
compiles the kernels.  Results go to ``benchmarks/results/cancellation.md``.

Usage::

    NUMBA_CACHE_DIR=/tmp/nc .venv/bin/python benchmarks/bench_cancellation.py [--quick] [--old /path/to/old/tree]

``--quick`` uses n = 4,000 and 2 repeats.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import json, sys, time
import numpy as np
import repalign_edu as ra
n, reps = int(sys.argv[1]), int(sys.argv[2])
r = np.random.default_rng(0)
X = r.normal(size=(n, 64)); Y = X @ r.normal(size=(64, 64)) / 8 + r.normal(size=(n, 64))
ra.cka(X[:300], Y[:300], "rbf", sigma=(11.3, 9.0), backend="cpu")   # compile
times, cpu = [], []
for _ in range(reps):
    t0, c0 = time.perf_counter(), time.process_time()
    v = ra.cka(X, Y, "rbf", sigma=(11.3, 9.0), backend="cpu")
    times.append(time.perf_counter() - t0); cpu.append(time.process_time() - c0)
# the issue's examples
r = np.random.default_rng(0)
A = 1e-3 * r.normal(size=(40, 3)); B = 1e-3 * r.normal(size=(40, 3)) + A
def safe(f):
    try:
        return f()
    except ValueError as exc:
        return "ValueError: " + str(exc)[:60]
ex1 = safe(lambda: ra.cka(A, B, "rbf", sigma=10.0, backend="cpu"))
r2 = np.random.default_rng(1)
Z, W = r2.normal(size=(60, 3)), r2.normal(size=(60, 3))
ex2 = safe(lambda: ra.hsic(Z, W, "rbf", sigma=1e4, backend="cpu"))
P = 30000.0 + np.array([[1, 2, 0], [3, 1, 1], [0, 0, 2], [2, 3, 1], [1, 1, 3]], float)
Q = np.array([[1, 0], [2, 2], [0, 1], [3, 1], [1, 3]], float)
ex3 = safe(lambda: ra.cka(P, Q, "polynomial", backend="cpu"))
print(json.dumps(dict(times=times, cpu=cpu, value=v, ex=[ex1, ex2, ex3])))
'''


def _reference():
    import mpmath
    import numpy as np

    mpmath.mp.dps = 40

    def gram(A, kind, sigma=None):
        n, d = A.shape
        R = [[mpmath.mpf(float(v)) for v in row] for row in A]
        K = [[None] * n for _ in range(n)]
        for i in range(n):
            for j in range(n):
                if kind == "rbf":
                    K[i][j] = mpmath.exp(-sum((a - b) ** 2 for a, b in zip(R[i], R[j]))
                                         / (2 * mpmath.mpf(sigma) ** 2))
                else:
                    K[i][j] = (sum(a * b for a, b in zip(R[i], R[j])) / d + 1) ** 3
        return K

    def hsic(K, L):
        n = len(K)

        def cen(M):
            r = [sum(row) / n for row in M]
            g = sum(r) / n
            return [[M[i][j] - r[i] - r[j] + g for j in range(n)] for i in range(n)]
        Kc, Lc = cen(K), cen(L)
        return sum(Kc[i][j] * Lc[i][j] for i in range(n) for j in range(n)) / n**2

    def cka(K, L):
        return hsic(K, L) / mpmath.sqrt(hsic(K, K) * hsic(L, L))

    r = np.random.default_rng(0)
    A = 1e-3 * r.normal(size=(40, 3))
    B = 1e-3 * r.normal(size=(40, 3)) + A
    r2 = np.random.default_rng(1)
    Z, W = r2.normal(size=(60, 3)), r2.normal(size=(60, 3))
    P = 30000.0 + np.array([[1, 2, 0], [3, 1, 1], [0, 0, 2], [2, 3, 1], [1, 1, 3]], float)
    Q = np.array([[1, 0], [2, 2], [0, 1], [3, 1], [1, 3]], float)
    return [cka(gram(A, "rbf", 10.0), gram(B, "rbf", 10.0)),
            hsic(gram(Z, "rbf", 1e4), gram(W, "rbf", 1e4)),
            cka(gram(P, "poly"), gram(Q, "poly"))]


def run_tree(tree: Path, n: int, reps: int, cache: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(reps)], env=env, cwd=tree,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", default="/work/main", help="source tree before the fix")
    ap.add_argument("--quick", action="store_true", help="n = 4000, 2 repeats")
    ap.add_argument("--rounds", type=int, default=2, help="alternating old/new rounds")
    args = ap.parse_args()
    n, reps = (4000, 2) if args.quick else (16000, 2)
    load_before = os.getloadavg()
    res = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as c_old, tempfile.TemporaryDirectory() as c_new:
        for _ in range(args.rounds):
            res["old"].append(run_tree(Path(args.old), n, reps, c_old))
            res["new"].append(run_tree(ROOT, n, reps, c_new))
    load_after = os.getloadavg()
    best = {k: min(t for r in v for t in r["times"]) for k, v in res.items()}
    best_cpu = {k: min(t for r in v for t in r["cpu"]) for k, v in res.items()}
    ref = _reference()
    import mpmath

    def rel(x, y):
        return f"{float(abs(mpmath.mpf(x) - y) / abs(y)):.1e}" if not isinstance(x, str) else "-"

    def fmt(x):
        return x if isinstance(x, str) else f"{x:.6g}"

    names = ["cka rbf sigma=10, 1e-3 * N(0,1) data (40 x 3)",
             "biased hsic rbf sigma=1e4, N(0,1) (60 x 3)",
             "cka polynomial (deg 3), X = 30000 + small ints (5 x 3)"]
    lines = [
        "# Cancellation fix in the streamed HSIC/CKA: cost and accuracy",
        "",
        f"Written by `benchmarks/bench_cancellation.py{' --quick' if args.quick else ''}`. "
        f"Old tree: `{args.old}` (before the fix); new tree: this one. cpu backend, "
        f"numba threads {os.environ.get('NUMBA_NUM_THREADS', 'default')}, "
        f"{os.cpu_count()} logical cores.",
        "",
        f"Load average (1, 5, 15 min) before: {' / '.join(f'{x:.2f}' for x in load_before)}; "
        f"after: {' / '.join(f'{x:.2f}' for x in load_after)}. The machine is shared: "
        "times are the best of all runs, alternating old and new.",
        "",
        f"## Time: RBF CKA, n = {n}, d = 64, sigma given",
        "",
        "Wall-clock time is at the mercy of the other jobs on a shared machine; the CPU time "
        "of the process (all its threads, `time.process_time`) is much less so, and is the "
        "number to compare under load.",
        "",
        "| tree | best wall (s) | all wall runs (s) | best CPU (s) | all CPU runs (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for k in ("old", "new"):
        allt = ", ".join(f"{t:.2f}" for r in res[k] for t in r["times"])
        allc = ", ".join(f"{t:.2f}" for r in res[k] for t in r["cpu"])
        lines.append(f"| {k} | {best[k]:.3f} | {allt} | {best_cpu[k]:.3f} | {allc} |")
    lines += ["", f"new / old: CPU time {best_cpu['new'] / best_cpu['old']:.3f}, wall "
              f"{best['new'] / best['old']:.3f} (target <= 1.10). "
              f"Values: old {res['old'][0]['value']!r}, new {res['new'][0]['value']!r}.", "",
              "## Relative error against a 40-digit reference (mpmath)", "",
              "| example | old value | old rel. error | new value | new rel. error |",
              "|---|---:|---:|---:|---:|"]
    for i, name in enumerate(names):
        o, w = res["old"][0]["ex"][i], res["new"][0]["ex"][i]
        lines.append(f"| {name} (exact {float(ref[i]):.6g}) | {fmt(o)} | {rel(o, ref[i])} | "
                     f"{fmt(w)} | {rel(w, ref[i])} |")
    out = ROOT / "benchmarks" / "results" / ("cancellation_quick.md" if args.quick else "cancellation.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
