"""Teaching kernels of lesson 09 (repalign_edu.scaling) and its widget (its exercises: tests/test_exercises.py).

The thread-count checks run in subprocesses with NUMBA_NUM_THREADS=1 and =2
(the variable is read when numba starts); the CUDA teaching kernel runs under
the CUDA simulator, also in a subprocess (NUMBA_ENABLE_CUDASIM must be set
before numba is imported).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import repalign_edu as ra
from repalign_edu import scaling
from repalign_edu.kernels import KernelParams, gram_from_params

ROOT = Path(__file__).resolve().parents[1]

_THREAD_SCRIPT = r"""
import json, numba, numpy as np
from repalign_edu import scaling
x = np.random.default_rng(3).normal(size=200_003)
n = 1_000_003
print(json.dumps({
    "threads": numba.get_num_threads(),
    "count": scaling.blocked_bin_count(n, 7).tolist(),
    "blocked_sum": scaling.blocked_sum(x).hex(),
    "blocked_sum_small_block": scaling.blocked_sum(x, 1000).hex(),
}))
"""


def _run(code, **env):
    full = dict(os.environ, **env)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full,
                         cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def by_threads():
    return {k: _run(_THREAD_SCRIPT, NUMBA_NUM_THREADS=str(k)) for k in (1, 2)}


def test_blocked_count_exact_and_thread_independent(by_threads):
    exact = scaling.exact_bin_count(1_000_003, 7).tolist()
    assert by_threads[1]["threads"] == 1 and by_threads[2]["threads"] == 2
    assert by_threads[1]["count"] == exact
    assert by_threads[2]["count"] == exact


def test_blocked_sum_bitwise_identical_for_1_and_2_threads(by_threads):
    assert by_threads[1]["blocked_sum"] == by_threads[2]["blocked_sum"]
    assert by_threads[1]["blocked_sum_small_block"] == by_threads[2]["blocked_sum_small_block"]
    x = np.random.default_rng(3).normal(size=200_003)
    assert float.fromhex(by_threads[1]["blocked_sum"]) == pytest.approx(float(np.sum(x)), rel=1e-12)


def test_racy_count_exact_on_one_thread():
    out = _run("import json; from repalign_edu import scaling; "
               "print(json.dumps(scaling.racy_bin_count(3_000_001, 3).tolist()))",
               NUMBA_NUM_THREADS="1")
    assert out == scaling.exact_bin_count(3_000_001, 3).tolist()


def test_exact_bin_count():
    assert scaling.exact_bin_count(10, 4).tolist() == [3, 3, 2, 2]
    assert scaling.exact_bin_count(8, 4).sum() == 8


def test_blocked_kernels_in_process():
    n, nb = 123_457, 5
    assert np.array_equal(scaling.blocked_bin_count(n, nb, 1000), scaling.exact_bin_count(n, nb))
    x = np.arange(10_001, dtype=np.float64)
    assert scaling.blocked_sum(x, 97) == float(x.sum()) == 10_000 * 10_001 / 2
    assert scaling.prange_sum(x) == float(x.sum())   # integers: exact in any order


def test_streaming_hsic_matches_reference():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(301, 4))
    Y = np.tanh(X[:, :3]) + 0.3 * rng.normal(size=(301, 3))
    ref = ra.hsic(X, Y, "rbf", sigma=(1.7, 0.9), backend="numpy")
    for tile in (1, 64, 300, 1000):
        val, peak = scaling.streaming_hsic(X, Y, 1.7, 0.9, tile=tile)
        assert val == pytest.approx(ref, rel=1e-12)
        assert peak == 2 * min(tile, 301) * 301 * 8


def test_memory_formulas():
    assert scaling.gram_bytes(50_000) == 20_000_000_000
    assert scaling.gram_bytes(10, itemsize=4) == 400
    b = scaling.streaming_bytes(50_000, 64, 64, tile=256, threads=2)
    assert b == 8 * (2 * 50_000 * 128 + 6 * 50_000 + 2 * 2 * 256)
    assert b < 500e6 < scaling.gram_bytes(50_000)


@pytest.mark.cudasim
def test_cuda_teaching_kernel_on_simulator():
    code = r"""
import json, numpy as np
from repalign_edu import scaling
X = np.random.default_rng(1).normal(size=(19, 3))
total, info = scaling.cuda_rbf_kernel_sum(X, 1.1)
print(json.dumps({"total": total, "grid": info["grid"], "block": info["block"],
                  "partial_shape": list(info["partial"].shape)}))
"""
    out = _run(code, NUMBA_ENABLE_CUDASIM="1")
    X = np.random.default_rng(1).normal(size=(19, 3))
    ref = gram_from_params(X, KernelParams("rbf", sigma=1.1)).sum()
    assert out["total"] == pytest.approx(ref, rel=1e-12)
    assert out["grid"] == [3, 3] and out["block"] == [scaling.TPB, scaling.TPB]
    assert out["partial_shape"] == [3, 3]


def test_cuda_teaching_kernel_rejects_wide_input():
    with pytest.raises(ValueError, match="D_MAX"):
        scaling.cuda_rbf_kernel_sum(np.zeros((4, scaling.D_MAX + 1)), 1.0)


# The exercises of lesson 09 are tested with every other exercise in tests/test_exercises.py.


# --------------------------------------------------------------------------- widget
def test_scaling_memory_widget_headless():
    from repalign_edu.widgets import scaling_memory

    out = scaling_memory(50_000, d=64)
    assert out["gram_gb"] == pytest.approx(20.0)
    assert out["materialised_gb"] == pytest.approx(2 * 20.0)
    assert out["streaming_mb"] == pytest.approx(scaling.streaming_bytes(50_000, 64, 64) / 1e6)
    assert out["streaming_mb"] < 500
    assert out["ratio"] == pytest.approx(out["materialised_gb"] * 1e3 / out["streaming_mb"])
    small = scaling_memory(1000, d=8)
    assert small["ratio"] < out["ratio"]
    for bad in (dict(n=1), dict(n=10, d=0), dict(n=10, tile=0), dict(n=2.5)):
        with pytest.raises(ValueError):
            scaling_memory(**bad)
