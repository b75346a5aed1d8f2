"""backend="dask": agreement with the cpu backend on a LocalCluster of 2 worker processes.

One module-scoped cluster (2 processes, 1 thread each, spawned, one Numba/BLAS
thread per worker, the test run's NUMBA_CACHE_DIR).  The Numba kernels are
compiled once in this process first, so the workers load them from the cache.
"""
from __future__ import annotations

import os
import signal
import tempfile
import threading
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

import repalign_edu as ra  # noqa: E402
from repalign_edu.backends import dask as dbe  # noqa: E402
from repalign_edu.backends import numpy_ref  # noqa: E402
from repalign_edu.kernels import KernelParams, gram_from_params  # noqa: E402

REL = 1e-12


def _data(n=203, dx=7, dy=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dx))
    Y = X[:, :dy] @ rng.normal(size=(dy, dy)) + 0.5 * rng.normal(size=(n, dy))
    return X, Y


def _warm_up():
    """Compile every Dask-backend kernel in this process (the workers then load the cache)."""
    X, Y = _data(20, 3, 2)
    with dask.config.set(scheduler="sync"):
        dbe.gram_stats(X, Y, KernelParams("rbf", sigma=1.0), KernelParams("linear"))
        dbe.kernel_sum(X, X, KernelParams("rbf", sigma=1.0), exclude_diag=True)
        dbe.knn_sets(X, 3)


@pytest.fixture(scope="module")
def client():
    _warm_up()
    env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1",
           "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR") or tempfile.mkdtemp()}
    os.environ.setdefault("NUMBA_CACHE_DIR", env["NUMBA_CACHE_DIR"])
    with dask.config.set({"distributed.worker.daemon": False}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, env=env,
                                           silence_logs=40)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


# name, function, keyword arguments: every streamed measure
CASES = [
    ("ka linear", ra.kernel_alignment, dict(kernel="linear")),
    ("ka rbf", ra.kernel_alignment, dict(kernel="rbf")),
    ("cka linear", ra.cka, dict(kernel="linear")),
    ("cka linear unbiased", ra.cka, dict(kernel="linear", estimator="unbiased")),
    ("cka rbf", ra.cka, dict(kernel="rbf")),
    ("cka rbf unbiased", ra.cka, dict(kernel="rbf", estimator="unbiased")),
    ("cka laplacian", ra.cka, dict(kernel="laplacian", sigma=(2.0, 3.0))),
    ("cka polynomial", ra.cka, dict(kernel="polynomial", degree=2)),
    ("hsic polynomial unbiased", ra.hsic, dict(kernel="polynomial", estimator="unbiased")),
    ("ka polynomial", ra.kernel_alignment, dict(kernel="polynomial", coef0=2.0)),
    ("hsic rbf biased", ra.hsic, dict(kernel="rbf")),
    ("hsic rbf unbiased", ra.hsic, dict(kernel="rbf", estimator="unbiased")),
    ("hsic linear unbiased", ra.hsic, dict(kernel="linear", estimator="unbiased")),
    ("distance alignment", ra.distance_alignment, {}),
    ("mutual knn", ra.mutual_knn, dict(k=5)),
]


@pytest.mark.parametrize("name,func,kw", CASES, ids=[c[0] for c in CASES])
def test_agrees_with_cpu_on_cluster(client, name, func, kw):
    X, Y = _data(123)                                    # n = 123: chunks of 50 do not divide it
    expected = func(X, Y, backend="cpu", **kw)
    with dask.config.set({"repalign_edu.chunk_rows": 50}):
        got = func(X, Y, backend="dask", **kw)
    assert got == pytest.approx(expected, rel=REL, abs=1e-300)


@pytest.mark.parametrize("kernel,estimator", [("rbf", "biased"), ("rbf", "unbiased"),
                                              ("laplacian", "unbiased"), ("linear", "unbiased"),
                                              ("polynomial", "biased")])
def test_mmd2_agrees_with_cpu(client, kernel, estimator):
    X, _ = _data(150, 4, 4, seed=1)
    Y = _data(97, 4, 4, seed=2)[0] + 0.3
    expected = ra.mmd2(X, Y, kernel, estimator=estimator, backend="cpu")
    with dask.config.set({"repalign_edu.chunk_rows": 40}):
        got = ra.mmd2(X, Y, kernel, estimator=estimator, backend="dask")
    assert got == pytest.approx(expected, rel=REL)


def test_gram_stats_match_reference_matrices(client):
    """Every statistic (not only the measures) against explicit Gram matrices."""
    X, Y = _data(61, 3, 2)
    kx, ky = KernelParams("rbf", sigma=1.5), KernelParams("polynomial", gamma=0.5, degree=2)
    K, L = gram_from_params(X, kx), gram_from_params(Y, ky)
    with dask.config.set({"repalign_edu.chunk_rows": 17}):
        s = dbe.gram_stats(X, Y, kx, ky)
    assert s.kl == pytest.approx(np.sum(K * L), rel=REL)
    assert s.kk == pytest.approx(np.sum(K * K), rel=REL)
    assert s.ll == pytest.approx(np.sum(L * L), rel=REL)
    np.testing.assert_allclose(s.rk, K.sum(1), rtol=REL)
    np.testing.assert_allclose(s.rl, L.sum(1), rtol=REL)
    np.testing.assert_allclose(s.dk, np.diag(K), rtol=REL)
    np.testing.assert_allclose(s.dl, np.diag(L), rtol=REL)


def test_chunks_of_one_row():
    """One row per chunk (default scheduler: the graph has O(n^2) tiny tasks)."""
    X, Y = _data(9, 3, 2, seed=3)
    with dask.config.set({"repalign_edu.chunk_rows": 1, "scheduler": "sync"}):
        got = [ra.cka(X, Y, "rbf", backend="dask"),
               ra.hsic(X, Y, "laplacian", estimator="unbiased", sigma=1.0, backend="dask"),
               ra.mmd2(X, X[:5] + 0.5, estimator="unbiased", backend="dask"),
               ra.mutual_knn(X, Y, k=3, backend="dask"),
               ra.cka(X, Y, backend="dask")]
    expected = [ra.cka(X, Y, "rbf", backend="numpy"),
                ra.hsic(X, Y, "laplacian", estimator="unbiased", sigma=1.0, backend="numpy"),
                ra.mmd2(X, X[:5] + 0.5, estimator="unbiased", backend="numpy"),
                ra.mutual_knn(X, Y, k=3, backend="numpy"),
                ra.cka(X, Y, backend="numpy")]
    np.testing.assert_allclose(got, expected, rtol=REL)


def test_float32_dask_array_with_large_mean(client):
    """float32 rows far from the origin: the Chan-merged statistics keep linear CKA exact."""
    X, Y = _data(400, 6, 4, seed=4)
    X32 = (X + 1e4).astype(np.float32)
    Y32 = (Y - 3e3).astype(np.float32)
    reference = ra.cka(X32.astype(np.float64), Y32.astype(np.float64), backend="numpy")
    dX, dY = da.from_array(X32, chunks=(64, 3)), da.from_array(Y32, chunks=(64, 4))
    got = ra.cka(dX, dY, backend="dask")
    assert got == pytest.approx(reference, rel=1e-12)
    assert ra.cka(dX, dY, "rbf", backend="dask") == pytest.approx(   # same values in float64
        ra.cka(X32.astype(np.float64), Y32.astype(np.float64), "rbf", backend="cpu"), rel=1e-12)
    n, mx, _, C = dbe.moments(dX)
    X128 = X32.astype(np.longdouble)                  # 64-bit mantissa: the reference
    Xc = X128 - X128.mean(0)
    exact = (Xc.T @ Xc).astype(np.float64)
    scale = np.abs(exact).max()
    assert np.abs(C - exact).max() <= 1e-12 * scale
    X64 = X32.astype(np.float64)                      # the textbook one-pass formula loses 1e-8
    naive = X64.T @ X64 - n * np.outer(X64.mean(0), X64.mean(0))
    assert np.abs(naive - exact).max() > 1e3 * np.abs(C - exact).max()


def test_reproducible_across_schedulers(client):
    """The task graph fixes the summation order: the cluster and one thread give the same bits."""
    X, Y = _data(230, 5, 5, seed=5)
    with dask.config.set({"repalign_edu.chunk_rows": 64}):
        on_cluster = ra.cka(X, Y, "rbf", estimator="unbiased", backend="dask")
        with dask.config.set(scheduler="sync"):
            serial = ra.cka(X, Y, "rbf", estimator="unbiased", backend="dask")
    assert on_cluster == serial


def test_memmap_and_stack_of_npy(client, tmp_path):
    """Out-of-core inputs: a memory-mapped .npy (read by the tasks from the file) and a dask
    stack of .npy files give the in-memory result."""
    X, Y = _data(300, 6, 3, seed=6)
    X32 = X.astype(np.float32)
    np.save(tmp_path / "x.npy", X32)
    for i, part in enumerate(np.array_split(Y, 3)):
        np.save(tmp_path / f"y{i}.npy", part)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    stack = da.concatenate([da.from_array(np.load(tmp_path / f"y{i}.npy", mmap_mode="r"))
                            for i in range(3)])
    assert "_read_rows" in str(dbe.as_array(mm).dask.keys())
    X64 = X32.astype(np.float64)                           # the same values (cpu casts anyway)
    with dask.config.set({"repalign_edu.chunk_rows": 128}):
        assert ra.cka(mm, stack, backend="dask") == pytest.approx(ra.cka(X64, Y, backend="cpu"),
                                                                  rel=1e-12)
        assert ra.cka(mm, stack, "rbf", backend="dask") == pytest.approx(
            ra.cka(X64, Y, "rbf", backend="cpu"), rel=1e-12)


def test_killed_worker_is_retried(client):
    """A worker killed in the middle: the scheduler reruns its tasks, the value is unchanged."""
    X, Y = _data(240, 5, 4, seed=7)
    expected = ra.cka(X, Y, "rbf", backend="cpu")
    slow = lambda b: (time.sleep(0.15), b)[1]  # noqa: E731 - pickled by value for the workers
    dX = da.from_array(X, chunks=(20, -1)).map_blocks(slow, dtype=X.dtype)
    dY = da.from_array(Y, chunks=(20, -1)).map_blocks(slow, dtype=Y.dtype)
    pids = client.run(os.getpid)
    result = {}
    thread = threading.Thread(
        target=lambda: result.update(v=ra.cka(dX, dY, "rbf", sigma=(2.0, 2.0), backend="dask")))
    expected = ra.cka(X, Y, "rbf", sigma=(2.0, 2.0), backend="cpu")
    thread.start()
    time.sleep(1.0)
    assert thread.is_alive(), "the computation ended before the worker could be killed"
    victim = sorted(pids.values())[0]
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert result["v"] == pytest.approx(expected, rel=REL)
    client.wait_for_workers(2, timeout=30)
    assert victim not in client.run(os.getpid).values()


@settings(max_examples=8, deadline=None)
@given(n=st.integers(5, 40), rows=st.integers(1, 45), seed=st.integers(0, 10**6))
def test_any_chunking_gives_the_reference(n, rows, seed):
    """Property: for any n and chunk size (default scheduler), the streamed statistics equal
    the explicit Gram matrices'."""
    X, Y = _data(n, 3, 2, seed=seed)
    with dask.config.set({"repalign_edu.chunk_rows": rows, "scheduler": "sync"}):
        est = "unbiased" if n >= 4 else "biased"
        got = ra.cka(X, Y, "rbf", sigma=1.0, estimator=est, backend="dask")
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        nn = dbe.knn_sets(Xn, 2)
    assert got == pytest.approx(ra.cka(X, Y, "rbf", sigma=1.0, estimator=est,
                                       backend="numpy"), rel=1e-11)
    np.testing.assert_array_equal(nn, numpy_ref.knn_sets(Xn, 2))     # the same (normalised) rows


def test_knn_ties_go_to_the_smaller_index():
    """Duplicate rows tie exactly: the merged lists keep the smaller index first."""
    base = np.random.default_rng(8).normal(size=(6, 3))
    X = np.vstack([base, base, base])                     # row i ties with i + 6 and i + 12
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    with dask.config.set({"repalign_edu.chunk_rows": 4, "scheduler": "sync"}):
        got = dbe.knn_sets(Xn, 4)
    np.testing.assert_array_equal(got, numpy_ref.knn_sets(X, 4))
    assert list(got[0, :2]) == [6, 12]


def test_backend_interface():
    """The dask module implements every building block and capability of backends.base."""
    from repalign_edu.backends import get_backend
    from repalign_edu.backends.base import check_backend_module

    check_backend_module(dbe)
    assert get_backend("dask") is dbe and dbe.LAZY_INPUTS and dbe.STREAMING


def test_bad_input_is_a_clear_error():
    X, Y = _data(50, 3, 2)
    Xbad = X.copy()
    Xbad[17, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 non-finite.*X\[17, 1\]"):
        ra.cka(da.from_array(Xbad, chunks=10), Y, backend="dask")
    with pytest.raises(ValueError, match="2-D"):
        ra.cka(da.ones((50,)), Y, backend="dask")
    with pytest.raises(ValueError, match="same number of samples"):
        ra.cka(da.from_array(X[:40], chunks=10), Y, backend="dask")
    with pytest.raises(ValueError, match="chunk_rows"):
        with dask.config.set({"repalign_edu.chunk_rows": 0}):
            ra.cka(X, Y, backend="dask")
    with pytest.raises(ValueError, match="zero variance"):
        ra.cka(da.ones((50, 3), chunks=7), Y, backend="dask")
