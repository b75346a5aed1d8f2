"""Cross-covariance spectrum, COCO, KCC and the MMD = HSIC identity (paper 3.3-3.4, App. 6.2)."""
import numpy as np
import pytest

import repalign_edu as ra
from repalign_edu import cross_covariance as cc
from repalign_edu import gaussian as g


@pytest.fixture(scope="module")
def XY():
    return g.sample_gaussian_pair([0.8, 0.3], 150, seed=0)


@pytest.mark.parametrize("kernel", ["linear", "rbf", "laplacian", "polynomial"])
def test_spectrum_squares_sum_to_biased_hsic_and_top_is_coco(XY, kernel):
    X, Y = XY
    s = cc.cross_covariance_spectrum(X, Y, kernel)
    assert np.all(np.diff(s) <= 1e-15) and s[-1] >= 0
    assert np.sum(s**2) == pytest.approx(ra.hsic(X, Y, kernel, backend="numpy"), rel=1e-9)
    assert cc.coco(X, Y, kernel) == pytest.approx(s[0], rel=1e-14)
    assert cc.coco(X, Y, kernel) ** 2 <= ra.hsic(X, Y, kernel, backend="numpy") * (1 + 1e-9)


def test_linear_spectrum_is_singular_values_of_cross_covariance_matrix(XY):
    X, Y = XY
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    expected = np.linalg.svd(Xc.T @ Yc / len(X), compute_uv=False)
    assert np.allclose(cc.cross_covariance_spectrum(X, Y, "linear"), expected, rtol=1e-10)


def test_coco_matches_gretton_eigenvalue_formula(XY):
    X, Y = XY
    n = len(X)
    H = np.eye(n) - 1 / n
    K, L = ra.gram_matrix(X, "rbf"), ra.gram_matrix(Y, "rbf")
    lam = np.max(np.real(np.linalg.eigvals(H @ K @ H @ H @ L @ H)))
    assert cc.coco(X, Y) == pytest.approx(np.sqrt(lam) / n, rel=1e-9)


def test_coco_equals_sqrt_hsic_for_rank_one():
    # one feature each: the cross-covariance is a 1x1 matrix, so COCO^2 = HSIC
    X, Y = g.sample_gaussian_pair([0.6], 100, seed=1)
    assert cc.coco(X, Y, "linear") ** 2 == pytest.approx(ra.hsic(X, Y, backend="numpy"), rel=1e-12)


def test_kcc_linear_small_kappa_is_first_canonical_correlation(XY):
    X, Y = XY
    rho = g.sample_canonical_correlations(X, Y)
    assert cc.kcc(X, Y, "linear", kappa=1e-12) == pytest.approx(rho[0], rel=1e-8)


def test_kcc_overfits_as_kappa_goes_to_zero():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(120, 2)), rng.normal(size=(120, 2))     # independent
    vals = [cc.kcc(X, Y, kappa=k) for k in (1e-1, 1e-3, 1e-6, 1e-10)]
    assert np.all(np.diff(vals) > 0)          # monotone in kappa
    assert vals[0] < 0.3 and vals[-1] > 0.9


def test_kcc_large_kappa_tends_to_coco_over_kappa(XY):
    X, Y = XY
    kappa = 1e6
    assert kappa * cc.kcc(X, Y, kappa=kappa) == pytest.approx(cc.coco(X, Y), rel=1e-4)


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_mmd_of_joint_vs_product_equals_biased_hsic(XY, kernel):
    X, Y = XY[0][:40], XY[1][:40]
    Zj, Zp = cc.product_kernel_samples(X, Y, kernel)
    assert Zp.shape[0] == 1600
    kw = {"sigma": 1.0} if kernel == "rbf" else {}
    mmd = ra.mmd2(Zj, Zp, kernel, backend="numpy", **kw)
    assert mmd == pytest.approx(ra.hsic(X, Y, kernel, backend="numpy"), rel=1e-10)


def test_centered_gram_factor_reconstructs(XY):
    X, _ = XY
    lam, U = cc.centered_gram_factor(X[:50], "rbf", sigma=1.0)
    K = ra.gram_matrix(X[:50], "rbf", sigma=1.0)
    H = ra.centering_matrix(50)
    assert np.allclose((U * lam) @ U.T, H @ K @ H, atol=1e-10)


@pytest.mark.parametrize("call, match", [
    (lambda X, Y: cc.coco(X, Y[:-1]), "same number of samples"),
    (lambda X, Y: cc.coco(X, Y, "cosine"), "kernel"),
    (lambda X, Y: cc.coco(X, Y, sigma=-1.0), "sigma"),
    (lambda X, Y: cc.kcc(X, Y, kappa=0.0), "kappa"),
    (lambda X, Y: cc.kcc(X, Y, kappa=np.nan), "kappa"),
    (lambda X, Y: cc.cross_covariance_spectrum(np.ones((5, 2)), Y[:5], "linear"), "X"),
    (lambda X, Y: cc.product_kernel_samples(X, Y, "laplacian"), "kernel"),
    (lambda X, Y: cc.product_kernel_samples(np.zeros((2001, 1)), np.zeros((2001, 1))), "n\\^2"),
])
def test_bad_input_raises_valueerror_naming_argument(XY, call, match):
    X, Y = XY
    with pytest.raises(ValueError, match=match):
        call(X, Y)
