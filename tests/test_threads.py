"""The thread count never changes a result of the cpu backend, not even in the last bit.

The cpu backend reduces into fixed per-tile-pair slots along a fixed schedule
(see :mod:`repalign_edu.backends.cpu`).  Here the same inputs are measured in
fresh processes with NUMBA_NUM_THREADS = 1, 2 and 3 and the floats are
compared through ``float.hex``.  ``SERIAL_WORK`` is set to 0 in the workers so
that every call really takes the multi-threaded path.
"""
import json
import os
import subprocess
import sys
import tempfile

WORKER = r"""
import hashlib, json, sys
import numpy as np
import numba
import repalign_edu as ra
from repalign_edu.backends import cpu

cpu.SERIAL_WORK = 0  # force the parallel path, whatever the size
rng = np.random.default_rng(0)
n = 1000
X = rng.normal(size=(n, 24)) + 0.5
Y = np.tanh(X[:, :8] @ rng.normal(size=(8, 16))) + 0.3 * rng.normal(size=(n, 16))
B = X[: n - 137] * 1.1 + 0.2  # a second sample of another size, for MMD
values = {
    "cka rbf": ra.cka(X, Y, "rbf", backend="cpu"),
    "cka debiased laplacian": ra.cka(X, Y, "laplacian", estimator="unbiased", backend="cpu"),
    "hsic unbiased rbf": ra.hsic(X, Y, "rbf", estimator="unbiased", backend="cpu"),
    "mmd2 biased rbf": ra.mmd2(X, B, backend="cpu"),
    "mmd2 unbiased rbf": ra.mmd2(X, B, estimator="unbiased", backend="cpu"),
    "mutual knn": ra.mutual_knn(X, Y, k=10, backend="cpu"),
    "kernel alignment rbf": ra.kernel_alignment(X, Y, "rbf", backend="cpu"),
    "cka linear (feature space)": ra.cka(X, Y, backend="cpu"),
    "cka debiased linear": ra.cka(X, Y, estimator="unbiased", backend="cpu"),
    "distance alignment": ra.distance_alignment(X, Y, backend="cpu"),
}
X3 = rng.normal(size=(3000, 24)) + 1.0    # above SERIAL_BLAS_WORK: concurrent BLAS products
values["cka linear n=3000"] = ra.cka(X3, np.tanh(X3[:, :16]), backend="cpu")
test = ra.hsic_test(X[:300], Y[:300] ** 2, n_permutations=200, seed=1, estimator="unbiased",
                    backend="cpu")
values["hsic test statistic"] = test.statistic
values["hsic test p-value"] = test.pvalue
knn = cpu.knn_sets(X / np.linalg.norm(X, axis=1, keepdims=True), 10)
out = {k: float(v).hex() for k, v in values.items()}
out["knn sets"] = hashlib.sha256(knn.tobytes()).hexdigest()
Z = rng.normal(size=(5000, 8)) + 3.0  # several ROW_BLOCKs for the O(n d) passes
out["center"] = hashlib.sha256(cpu.center(Z).tobytes()).hexdigest()
out["row stats"] = hashlib.sha256(np.concatenate(cpu.row_stats(Z)).tobytes()).hexdigest()
out["threads"] = numba.get_num_threads()
json.dump(out, sys.stdout)
"""


def _run(threads: int, cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    env.setdefault("NUMBA_CACHE_DIR", cache_dir)
    proc = subprocess.run([sys.executable, "-c", WORKER], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_bitwise_identical_for_1_2_and_3_threads():
    with tempfile.TemporaryDirectory() as cache:
        runs = {t: _run(t, cache) for t in (1, 2, 3)}
    for t, out in runs.items():
        assert out.pop("threads") == t
    assert runs[1] == runs[2] == runs[3]
