"""Bad input gives a ValueError that names the argument and says how to fix it; nothing silent."""
import numpy as np
import pytest

import repalign_edu as ra
from repalign_edu.backends import cuda_usable

rng = np.random.default_rng(0)
X = rng.normal(size=(20, 3))
Y = rng.normal(size=(20, 2))

#: every public measure on paired samples, called with default options
PAIRED = {
    "kernel_alignment": ra.kernel_alignment,
    "cka": ra.cka,
    "hsic": ra.hsic,
    "distance_alignment": ra.distance_alignment,
    "mutual_knn": lambda A, B, **kw: ra.mutual_knn(A, B, k=3, **kw),
    "hsic_test": lambda A, B, **kw: ra.hsic_test(A, B, n_permutations=10, seed=0, **kw),
}
#: measures that take a kernel (and so sigma); mmd2 compares two unpaired samples
KERNEL_MEASURES = {
    "kernel_alignment": ra.kernel_alignment,
    "cka": ra.cka,
    "hsic": ra.hsic,
    "mmd2": lambda A, B, *a, **kw: ra.mmd2(A, B[:, :1].repeat(3, 1), *a, **kw),
    "hsic_test": lambda A, B, *a, **kw: ra.hsic_test(A, B, *a, n_permutations=10, **kw),
}
BACKENDS = ["numpy", "cpu"]


@pytest.mark.parametrize("name", PAIRED)
@pytest.mark.parametrize("backend", BACKENDS)
def test_different_n(name, backend):
    with pytest.raises(ValueError, match=r"same number of samples.*X with n=20 and Y with n=19"):
        PAIRED[name](X, Y[:-1], backend=backend)


@pytest.mark.parametrize("name", PAIRED)
def test_wrong_ndim_says_how_to_reshape(name):
    f = PAIRED[name]
    with pytest.raises(ValueError, match=r"X must be 2-D.*ndim=1.*X\.reshape\(-1, 1\)"):
        f(X[:, 0], Y)
    with pytest.raises(ValueError, match=r"Y must be 2-D.*ndim=3.*Y\.reshape\(len\(Y\), -1\)"):
        f(X, Y.reshape(20, 2, 1))
    with pytest.raises(ValueError, match=r"Y must be 2-D.*ndim=0"):
        f(X, 3.0)


@pytest.mark.parametrize("name", PAIRED)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_located(name, bad):
    Xb = X.copy()
    Xb[4, 2] = bad
    with pytest.raises(ValueError, match=r"X contains 1 non-finite.*X\[4, 2\]"):
        PAIRED[name](Xb, Y)
    Yb = Y.copy()
    Yb[7, 0] = bad
    Yb[9, 1] = bad
    with pytest.raises(ValueError, match=r"Y contains 2 non-finite.*Y\[7, 0\]"):
        PAIRED[name](X, Yb)


def test_mmd2_bad_samples():
    with pytest.raises(ValueError, match=r"Y must be 2-D.*reshape"):
        ra.mmd2(X, Y[:, 0])
    Xb = X.copy()
    Xb[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"X\[0, 0\]"):
        ra.mmd2(Xb, X)
    with pytest.raises(ValueError, match=r"same space.*d_X=3 and d_Y=2"):
        ra.mmd2(X, Y)
    with pytest.raises(ValueError, match="sigma for mmd2"):
        ra.mmd2(X, X + 1, sigma=(1.0, 2.0))
    with pytest.raises(ValueError, match=r"X has n=1 samples.*at least 2"):
        ra.mmd2(X[:1], X)


@pytest.mark.parametrize("backend", BACKENDS)
def test_unbiased_estimators_need_four_samples(backend):
    A, B = X[:3], Y[:3]
    with pytest.raises(ValueError, match=r"unbiased HSIC estimator needs n >= 4.*got n=3"):
        ra.hsic(A, B, estimator="unbiased", backend=backend)
    with pytest.raises(ValueError, match=r"debiased CKA.*needs n >= 4.*got n=3"):
        ra.cka(A, B, estimator="unbiased", backend=backend)
    with pytest.raises(ValueError, match=r"needs n >= 4.*got n=3"):
        ra.hsic_test(A, B, estimator="unbiased", n_permutations=5, backend=backend)
    # n = 4 is enough, and the biased estimators take n = 3
    ra.hsic(X[:4], Y[:4], estimator="unbiased", backend=backend)
    ra.hsic(A, B, backend=backend)


@pytest.mark.parametrize("name", KERNEL_MEASURES)
def test_unknown_kernel(name):
    with pytest.raises(ValueError, match=r"unknown kernel 'cosine'; choose one of 'linear', 'rbf'"):
        KERNEL_MEASURES[name](X, Y, "cosine")


@pytest.mark.parametrize("f", [ra.hsic, ra.mmd2, ra.hsic_test])
def test_unknown_estimator(f):
    B = Y if f is not ra.mmd2 else X + 1
    with pytest.raises(ValueError,
                       match=r"unknown estimator 'debiased'; choose one of 'biased', 'unbiased'"):
        f(X, B, estimator="debiased")


@pytest.mark.parametrize("name", PAIRED)
def test_unknown_backend(name):
    with pytest.raises(ValueError,
                       match=r"unknown backend 'gpu'; choose one of 'auto', 'numpy', 'cpu', 'cuda'"):
        PAIRED[name](X, Y, backend="gpu")
    with pytest.raises(ValueError, match="unknown backend"):
        ra.mmd2(X, X + 1, backend="GPU")


@pytest.mark.parametrize("name", KERNEL_MEASURES)
@pytest.mark.parametrize("sigma", [0.0, -1.0, np.nan, np.inf, (1.0, -2.0), (0.0, 1.0)])
def test_sigma_must_be_positive(name, sigma):
    if name == "mmd2" and np.ndim(sigma) != 0:
        pytest.skip("mmd2 takes one bandwidth (tested above)")
    with pytest.raises(ValueError, match=r"sigma must be a finite number > 0.*sigma=None"):
        KERNEL_MEASURES[name](X, Y, "rbf", sigma=sigma)


def test_sigma_of_the_wrong_type():
    with pytest.raises(ValueError, match="sigma must be"):
        ra.cka(X, Y, "rbf", sigma="wide")
    with pytest.raises(ValueError, match=r"pair \(sigma_X, sigma_Y\)"):
        ra.cka(X, Y, "rbf", sigma=(1.0, 2.0, 3.0))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [20, 25, 0, -1, 2.5, True, "3"])
def test_k_must_be_an_integer_below_n(backend, k):
    with pytest.raises(ValueError, match=r"k must be an integer with 1 <= k < n = 20"):
        ra.mutual_knn(X, Y, k=k, backend=backend)


def test_mutual_knn_zero_row():
    Xz = X.copy()
    Xz[5] = 0.0
    with pytest.raises(ValueError, match=r"X\[5\] has norm 0"):
        ra.mutual_knn(Xz, Y, k=3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kernel", ["linear", "rbf", "laplacian", "polynomial"])
def test_zero_variance_makes_cka_undefined(backend, kernel):
    const = np.tile([1.0, 2.0, 3.0], (20, 1))
    with pytest.raises(ValueError, match=r"CKA is undefined: X has zero variance \(all 20 rows"):
        ra.cka(const, Y, kernel, backend=backend)
    with pytest.raises(ValueError, match=r"CKA is undefined: Y has zero variance"):
        ra.cka(X, const, kernel, sigma=1.0, backend=backend)
    with pytest.raises(ValueError, match="zero variance"):
        ra.kernel_alignment(X, const, kernel, centered=True, sigma=1.0, backend=backend)


def test_uncentred_alignment_of_a_zero_kernel():
    with pytest.raises(ValueError, match=r"kernel alignment is undefined.*X"):
        ra.kernel_alignment(np.zeros((20, 3)), Y)


def test_non_numeric_input():
    with pytest.raises(ValueError, match=r"X must be a numeric array.*dtype"):
        ra.cka(np.full((20, 3), "a"), Y)
    with pytest.raises(ValueError, match="complex"):
        ra.cka(X + 1j, Y)


def test_integer_and_boolean_input_is_accepted():
    Xi = np.arange(60).reshape(20, 3) % 7
    Yb = (Y > 0)
    assert ra.cka(Xi, Yb) == pytest.approx(ra.cka(Xi.astype(float), Yb.astype(float)), rel=1e-14)


def test_hsic_test_arguments():
    for bad in (0, -5, 2.5, True, "100"):
        with pytest.raises(ValueError, match=r"n_permutations must be an integer >= 1"):
            ra.hsic_test(X, Y, n_permutations=bad)
    # no cap on n, only the memory budget for the two stored Gram matrices
    big = np.random.default_rng(0).normal(size=(30_000, 1))
    with pytest.raises(ValueError, match=r"n=30000.*memory_budget=2.00 GB.*subset"):
        ra.hsic_test(big, big)


@pytest.mark.skipif(cuda_usable(), reason="a GPU or the CUDA simulator is available here")
@pytest.mark.parametrize("name", PAIRED)
def test_cuda_without_gpu_mentions_the_simulator(name):
    with pytest.raises(ValueError, match=r"backend='cuda'.*NUMBA_ENABLE_CUDASIM=1"):
        PAIRED[name](X, Y, backend="cuda")
    with pytest.raises(ValueError, match="NUMBA_ENABLE_CUDASIM=1"):
        ra.mmd2(X, X + 1, backend="cuda")
