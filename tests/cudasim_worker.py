"""Compare backend="cuda" with backend="numpy" under the CUDA simulator; print JSON.

Run by ``tests/test_cuda_sim.py`` in a subprocess with NUMBA_ENABLE_CUDASIM=1
(it must be set before numba is imported, so it cannot share the pytest
process).  Inputs are tiny (n <= 70): the simulator costs about one second
per thread block.  The last line of stdout is a JSON object::

    {"simulator": true, "elapsed_s": ..., "results": [
        {"name": ..., "cuda": ..., "ref": ..., "err": ..., "tol": ..., "ok": ...}, ...]}

``err`` is |cuda - ref| / max(|ref|, 1e-300) for scalars, and the number of
differing entries for integer (k-NN index) results.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

TOL64 = 1e-10
TOL32 = 2e-5


def main() -> int:
    t_start = time.perf_counter()
    from numba import config

    import repalign_edu as ra
    from repalign_edu.backends import cuda as cb

    results = []

    def check(name, f, tol, **kw):
        t0 = time.perf_counter()
        try:
            got = float(f(backend="cuda", **kw))
            ref = float(f(backend="numpy", **kw))
            err = abs(got - ref) / max(abs(ref), 1e-300)
            results.append(dict(name=name, cuda=got, ref=ref, err=err, tol=tol,
                                ok=bool(err <= tol), seconds=time.perf_counter() - t0))
        except Exception as exc:  # report, do not stop: the test lists every failure
            results.append(dict(name=name, ok=False, error=f"{type(exc).__name__}: {exc}"))

    rng = np.random.default_rng(20250219)
    # paired representations: Y a noisy function of X, so the measures are far from 0
    X = rng.normal(size=(24, 4))
    Y = np.hstack([np.tanh(X[:, :2]) + 0.3 * rng.normal(size=(24, 2)), rng.normal(size=(24, 1))])
    Xg = rng.normal(size=(12, 8)) + 0.5          # d_X + d_Y = 13 > n = 12: Gram route
    Yg = Xg[:, :5] ** 2 + 0.2 * rng.normal(size=(12, 5))
    Xm = rng.normal(size=(70, 3))                # two row tiles x two column groups: every
    # partial (per-block sums, per-group row sums, diagonal ownership) is exercised
    Ym = Xm @ rng.normal(size=(3, 2)) + 0.5 * rng.normal(size=(70, 2))

    cka, hsic, ka = ra.cka, ra.hsic, ra.kernel_alignment

    # --- CKA: both linear routes, every kernel, debiased
    check("cka/linear/feature-space", lambda **k: cka(X, Y, **k), TOL64)
    check("cka/linear/gram-route", lambda **k: cka(Xg, Yg, **k), TOL64)
    for kern in ("rbf", "laplacian", "polynomial"):
        check(f"cka/{kern}", lambda kern=kern, **k: cka(X, Y, kern, **k), TOL64)
    check("cka/rbf/debiased", lambda **k: cka(X, Y, "rbf", estimator="unbiased", **k), TOL64)
    # --- HSIC
    check("hsic/linear/biased/feature-space", lambda **k: hsic(X, Y, **k), TOL64)
    check("hsic/linear/unbiased/gram-route",
          lambda **k: hsic(Xg, Yg, estimator="unbiased", **k), TOL64)
    # --- uncentred kernel alignment
    check("kernel_alignment/linear/feature-space", lambda **k: ka(X + 1.0, Y, **k), TOL64)
    check("kernel_alignment/linear/gram-route", lambda **k: ka(Xg, Yg, **k), TOL64)
    check("kernel_alignment/rbf", lambda **k: ka(X, Y, "rbf", sigma=(1.5, 0.8), **k), TOL64)
    # --- MMD^2, different sample sizes
    P = rng.normal(size=(15, 3))
    Q = rng.normal(size=(11, 3)) * 1.3 + 0.4
    check("mmd2/rbf/biased m=15 n=11", lambda **k: ra.mmd2(P, Q, **k), TOL64)
    check("mmd2/rbf/unbiased m=15 n=11",
          lambda **k: ra.mmd2(P, Q, estimator="unbiased", **k), TOL64)
    check("mmd2/polynomial/unbiased m=15 n=11",
          lambda **k: ra.mmd2(P, Q, "polynomial", estimator="unbiased", **k), TOL64)
    # --- distance alignment and mutual k-NN
    check("distance_alignment", lambda **k: ra.distance_alignment(X, Y, **k), TOL64)
    check("mutual_knn k=4", lambda **k: ra.mutual_knn(X, Y, 4, **k), 0.0)
    # --- float32 inputs: float32 kernel values, float64 sums
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    Xg32, Yg32 = Xg.astype(np.float32), Yg.astype(np.float32)
    check("float32/cka/rbf", lambda **k: cka(X32, Y32, "rbf", **k), TOL32)
    check("float32/cka/linear/gram-route", lambda **k: cka(Xg32, Yg32, **k), TOL32)
    check("float32/hsic/laplacian/unbiased",
          lambda **k: hsic(X32, Y32, "laplacian", estimator="unbiased", **k), TOL32)

    # --- issue 9 kind 1: nearly constant kernels (no cancellation; numpy is exact to 1e-14)
    Xc = 1e-3 * X[:12]
    Yc = 1e-3 * Y[:12] + Xc[:, :3]
    check("cancellation/cka/rbf sigma=10 on 1e-3 data", lambda **k: cka(Xc, Yc, "rbf", sigma=10.0, **k),
          TOL64)
    check("cancellation/hsic/unbiased/laplacian sigma=1e4",
          lambda **k: hsic(X[:12], Y[:12], "laplacian", sigma=1e4, estimator="unbiased", **k), 1e-8)
    check("cancellation/cka/polynomial offset 1e4",
          lambda **k: cka(X[:12] + 1e4, Y[:12], "polynomial", degree=2, **k), 1e-8)
    check("cancellation/mmd2/rbf sigma=1e3", lambda **k: ra.mmd2(P, Q, sigma=1e3, **k), 1e-8)

    # --- backend primitives not fully pinned down by a scalar
    def direct(name, fn):
        t0 = time.perf_counter()
        try:
            err, tol = fn()
            results.append(dict(name=name, err=float(err), tol=tol, ok=bool(err <= tol),
                                seconds=time.perf_counter() - t0))
        except Exception as exc:
            results.append(dict(name=name, ok=False, error=f"{type(exc).__name__}: {exc}"))

    def knn_ties():
        # integer rows (duplicates included): every inner product is exact, so
        # there are many exact ties and the smaller index must win, as in numpy/cpu
        base = rng.integers(-2, 3, size=(8, 3)).astype(np.float64)
        Z = np.vstack([base, base[::-1], base[:4]])
        Z[np.all(Z == 0, axis=1)] = 1.0
        k = 6
        G = Z @ Z.T
        np.fill_diagonal(G, -np.inf)
        ref = np.argsort(-G, axis=1, kind="stable")[:, :k]
        got = cb.knn_sets(Z, k)
        return int(np.sum(got != ref)), 0

    def matmul_split_k():
        A = rng.normal(size=(5, 300))   # k = 300 -> two split-K slices with a ragged tail
        B = rng.normal(size=(300, 3))
        ref = A @ B
        return float(np.max(np.abs(cb.matmul(A, B) - ref)) / np.max(np.abs(ref))), TOL64

    def gram_stats_fields():
        from repalign_edu.kernels import KernelParams, gram_from_params
        kx, ky = KernelParams("rbf", sigma=1.2), KernelParams("polynomial", gamma=0.3, coef0=0.5)
        s = cb.gram_stats(Xm, Ym, kx, ky)
        K, L = gram_from_params(Xm, kx), gram_from_params(Ym, ky)
        pairs = [(s.kl, np.sum(K * L)), (s.kk, np.sum(K * K)), (s.ll, np.sum(L * L)),
                 (s.rk, K.sum(1)), (s.rl, L.sum(1)), (s.dk, np.diag(K)), (s.dl, np.diag(L))]
        return max(float(np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b))) for a, b in pairs), TOL64

    direct("knn_sets/exact ties -> smaller index", knn_ties)
    direct("matmul/split-K ragged", matmul_split_k)
    direct("gram_stats/fields n=70 rbf x polynomial", gram_stats_fields)

    summary = dict(simulator=bool(config.ENABLE_CUDASIM),
                   env=os.environ.get("NUMBA_ENABLE_CUDASIM"),
                   elapsed_s=time.perf_counter() - t_start,
                   results=results)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
