"""The cuda backend, tested without a GPU.

* Under the CUDA simulator (NUMBA_ENABLE_CUDASIM=1), in a subprocess because
  the variable must be set before numba is imported: every measure with
  ``backend="cuda"`` against ``backend="numpy"`` on tiny inputs (see
  ``tests/cudasim_worker.py``, which prints a JSON summary asserted on here).
* In this process (no GPU, no simulator): ``backend="cuda"`` fails with a
  ValueError that tells the user about NUMBA_ENABLE_CUDASIM, importing the
  backend module never touches CUDA, and argument errors come before any
  device call.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("cudasim_worker.py")

#: every check the worker must report (a silently skipped check fails the test)
EXPECTED = {
    "cka/linear/feature-space", "cka/linear/gram-route", "cka/rbf", "cka/laplacian",
    "cka/polynomial", "cka/rbf/debiased",
    "hsic/linear/biased/feature-space", "hsic/linear/unbiased/gram-route",
    "kernel_alignment/linear/feature-space", "kernel_alignment/linear/gram-route",
    "kernel_alignment/rbf", "mmd2/rbf/biased m=15 n=11", "mmd2/rbf/unbiased m=15 n=11",
    "mmd2/polynomial/unbiased m=15 n=11", "distance_alignment", "mutual_knn k=4",
    "float32/cka/rbf", "float32/cka/linear/gram-route", "float32/hsic/laplacian/unbiased",
    "knn_sets/exact ties -> smaller index", "matmul/split-K ragged",
    "gram_stats/fields n=70 rbf x polynomial",
    "cancellation/cka/rbf sigma=10 on 1e-3 data", "cancellation/hsic/unbiased/laplacian sigma=1e4",
    "cancellation/cka/polynomial offset 1e4", "cancellation/mmd2/rbf sigma=1e3",
}


def _simulator_active() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


@pytest.fixture(scope="module")
def cudasim_summary(tmp_path_factory):
    env = dict(os.environ)
    env["NUMBA_ENABLE_CUDASIM"] = "1"
    env["NUMBA_CACHE_DIR"] = str(tmp_path_factory.mktemp("numba_cache"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, str(WORKER)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"worker failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"worker printed no JSON summary:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1])


@pytest.mark.cudasim
def test_cuda_backend_matches_numpy_under_simulator(cudasim_summary):
    s = cudasim_summary
    assert s["simulator"] is True, "the worker did not run under the CUDA simulator"
    names = {r["name"] for r in s["results"]}
    assert EXPECTED <= names, f"missing checks: {sorted(EXPECTED - names)}"
    bad = [r for r in s["results"] if not r["ok"]]
    assert not bad, "cuda != numpy:\n" + "\n".join(json.dumps(r) for r in bad)
    for r in s["results"]:  # the tolerances themselves are part of the contract
        if r["name"].startswith("float32/"):
            assert r["tol"] <= 2e-5
        elif r["name"].startswith("cancellation/"):
            assert r["tol"] <= 1e-8
        elif "err" in r:
            assert r["tol"] <= 1e-10
    print(f"simulator worker: {len(s['results'])} checks in {s['elapsed_s']:.1f} s")


def test_cuda_without_gpu_raises_with_simulator_hint():
    from repalign_edu.backends import real_gpu_available

    if _simulator_active() or real_gpu_available():
        pytest.skip("a GPU or the simulator is available here")
    import repalign_edu as ra

    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match="NUMBA_ENABLE_CUDASIM"):
        ra.cka(X, X, backend="cuda")
    with pytest.raises(ValueError, match="NUMBA_ENABLE_CUDASIM"):
        ra.mmd2(X, X + 1.0, backend="cuda")


def test_cuda_module_imports_without_gpu_and_validates_first():
    # importing compiles nothing and touches no driver; bad arguments fail before any launch
    from repalign_edu.backends import cuda as cb
    from repalign_edu.kernels import KernelParams

    lin = KernelParams("linear")
    with pytest.raises(ValueError, match="same number of rows"):
        cb.gram_stats(np.zeros((5, 2)), np.zeros((4, 2)), lin, lin)
    with pytest.raises(ValueError, match="backend='cpu'"):
        cb.knn_sets(np.ones((100, 3)), cb.KMAX + 1)
    with pytest.raises(ValueError, match="1 <= k < n"):
        cb.knn_sets(np.ones((5, 3)), 5)
    with pytest.raises(ValueError, match="inner dimensions"):
        cb.matmul(np.zeros((3, 4)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="same number of features"):
        cb.kernel_sum(np.zeros((3, 4)), np.zeros((3, 2)), lin)
