"""The CCA family and linear regression: closed forms, identities, a textbook second
implementation (covariance square roots, sklearn Ridge, scipy principal angles) and the
invariances each docstring states."""
import numpy as np
import pytest
from scipy.linalg import subspace_angles
from scipy.stats import ortho_group, pearsonr

import repalign_edu as ra
from repalign_edu import cca


def _pair(seed=0, n=150, dx=8, dy=6, shared=4, noise=0.7):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, shared))
    X = Z @ rng.normal(size=(shared, dx)) + noise * rng.normal(size=(n, dx)) + 2.0
    Y = Z @ rng.normal(size=(shared, dy)) + noise * rng.normal(size=(n, dy)) - 1.0
    return X, Y


# ---------------------------------------------------------------- textbook implementations
def _inv_sqrt(S):
    w, V = np.linalg.eigh(S)
    return (V / np.sqrt(w)) @ V.T


def textbook_cca(X, Y, lam_x=0.0, lam_y=0.0):
    """Hotelling: singular values of Sxx^-1/2 Sxy Syy^-1/2 (full-rank inputs)."""
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Wx = _inv_sqrt(Xc.T @ Xc + lam_x * np.eye(X.shape[1]))
    Wy = _inv_sqrt(Yc.T @ Yc + lam_y * np.eye(Y.shape[1]))
    u, rho, _ = np.linalg.svd(Wx @ Xc.T @ Yc @ Wy)
    p = min(X.shape[1], Y.shape[1])
    return rho[:p], Xc @ Wx @ u[:, :p], Xc


def textbook_pwcca(X, Y):
    """Morcos et al. (2018): weights = summed |projection| of X's neurons on its unit variates."""
    rho, H, Xc = textbook_cca(X, Y)
    H = H / np.linalg.norm(H, axis=0)
    alpha = np.abs(H.T @ Xc).sum(axis=1)
    return float(np.sum(alpha * rho) / alpha.sum())


# ---------------------------------------------------------------- closed forms
def test_one_dimensional_cca_is_absolute_pearson_and_r2_is_its_square():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(80, 1))
    y = -0.6 * x + rng.normal(size=(80, 1))
    r = pearsonr(x[:, 0], y[:, 0])[0]
    assert ra.cca_similarity(x, y) == pytest.approx(abs(r), abs=1e-12)
    assert ra.cca_similarity(x, y, "mean_rho2") == pytest.approx(r**2, abs=1e-12)
    assert ra.linear_regression_similarity(x, y) == pytest.approx(r**2, abs=1e-12)
    assert ra.svcca(x, y) == pytest.approx(abs(r), abs=1e-12)
    assert ra.pwcca(x, y) == pytest.approx(abs(r), abs=1e-12)


def test_canonical_correlations_match_textbook_and_principal_angles():
    X, Y = _pair()
    rho = cca.canonical_correlations(X, Y)
    assert np.allclose(rho, textbook_cca(X, Y)[0], atol=1e-10)
    cosines = np.sort(np.cos(subspace_angles(X - X.mean(0), Y - Y.mean(0))))[::-1]
    assert np.allclose(rho, cosines, atol=1e-10)
    assert ra.cca_similarity(X, Y) == pytest.approx(rho.mean(), abs=1e-12)
    assert ra.cca_similarity(X, Y, "mean_rho2") == pytest.approx(np.mean(rho**2), abs=1e-12)


def test_ridge_cca_matches_textbook():
    X, Y = _pair(1, n=30, dx=20, dy=15)          # rank X + rank Y > n - 1: needs ridge
    ridge = 0.1
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    lx, ly = ridge * np.sum(Xc**2) / X.shape[1], ridge * np.sum(Yc**2) / Y.shape[1]
    want = textbook_cca(X, Y, lx, ly)[0][:min(29, 15)]
    got = cca.canonical_correlations(X, Y, ridge=ridge)
    assert np.allclose(got, want, atol=1e-10)
    assert np.all(got < 1.0)


def test_pwcca_matches_textbook_and_is_asymmetric():
    X, Y = _pair(2)
    assert ra.pwcca(X, Y) == pytest.approx(textbook_pwcca(X, Y), abs=1e-10)
    assert ra.pwcca(Y, X) == pytest.approx(textbook_pwcca(Y, X), abs=1e-10)
    assert abs(ra.pwcca(X, Y) - ra.pwcca(Y, X)) > 1e-3
    assert ra.pwcca_symmetric(X, Y) == pytest.approx(
        0.5 * (ra.pwcca(X, Y) + ra.pwcca(Y, X)), abs=1e-14)
    assert ra.pwcca_symmetric(X, Y) == pytest.approx(ra.pwcca_symmetric(Y, X), abs=1e-14)


def test_linear_regression_matches_lstsq_and_sklearn_ridge():
    from sklearn.linear_model import Ridge

    X, Y = _pair(4)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    B = np.linalg.lstsq(Yc, Xc, rcond=None)[0]
    want = 1 - np.sum((Xc - Yc @ B) ** 2) / np.sum(Xc**2)
    assert ra.linear_regression_similarity(X, Y) == pytest.approx(want, abs=1e-12)
    ridge = 0.3
    lam = ridge * np.sum(Yc**2) / Y.shape[1]
    fit = Ridge(alpha=lam, fit_intercept=True).fit(Y, X)
    want = 1 - np.sum((X - fit.predict(Y)) ** 2) / np.sum(Xc**2)
    assert ra.linear_regression_similarity(X, Y, ridge=ridge) == pytest.approx(want, abs=1e-10)
    assert abs(ra.linear_regression_similarity(X, Y) - ra.linear_regression_similarity(Y, X)) > 1e-3


def test_svcca_matches_pca_then_principal_angles():
    from sklearn.decomposition import PCA

    X, Y = _pair(5, dx=12, dy=10, noise=0.3)

    def top(A, v):
        p = PCA().fit(A)
        r = int(np.searchsorted(np.cumsum(p.explained_variance_ratio_), v) + 1)
        return p.transform(A)[:, :r]

    want = np.cos(subspace_angles(top(X, 0.9), top(Y, 0.9))).mean()
    assert ra.svcca(X, Y, variance=0.9) == pytest.approx(want, abs=1e-10)


# ---------------------------------------------------------------- identities
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cca_of_invertible_affine_image_is_one(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 7))
    A = rng.normal(size=(7, 7)) + 3 * np.eye(7)
    b = rng.normal(size=7) * 10
    Y = X @ A + b
    for stat in cca.CCA_STATISTICS:
        assert ra.cca_similarity(X, Y, stat) == pytest.approx(1.0, abs=1e-10)
    assert ra.pwcca(X, Y) == pytest.approx(1.0, abs=1e-10)
    assert ra.linear_regression_similarity(X, Y) == pytest.approx(1.0, abs=1e-10)


def test_r2_of_x_on_itself_is_one_and_svcca_with_all_variance_is_cca():
    X, Y = _pair(6)
    assert ra.linear_regression_similarity(X, X) == pytest.approx(1.0, abs=1e-12)
    for stat in cca.CCA_STATISTICS:
        assert ra.svcca(X, Y, 1.0, stat) == pytest.approx(ra.cca_similarity(X, Y, stat), abs=1e-12)


def test_rank_deficient_input_uses_the_rank():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(50, 2))
    X = np.hstack([a, a @ rng.normal(size=(2, 3))])   # 5 columns, rank 2
    Y = a @ rng.normal(size=(2, 4)) + 0.01 * rng.normal(size=(50, 4))
    rho = cca.canonical_correlations(X, Y)
    assert rho.shape == (2,)
    assert ra.cca_similarity(X, a) == pytest.approx(1.0, abs=1e-10)


# ---------------------------------------------------------------- invariances (as documented)
def _transforms(d, seed=0):
    rng = np.random.default_rng(seed)
    Q = ortho_group.rvs(d, random_state=rng)
    M = ortho_group.rvs(d, random_state=rng) * np.exp(rng.uniform(-1.5, 1.5, d))
    return {
        "rotation": lambda A: A @ Q,
        "isotropic": lambda A: 3.7 * A,
        "translation": lambda A: A + 5.0,
        "invertible": lambda A: A @ M,
    }


# measure -> set of transforms of X it is invariant to (from the docstrings)
INVARIANT = {
    "cca_mean_rho": {"rotation", "isotropic", "translation", "invertible"},
    "cca_mean_rho2": {"rotation", "isotropic", "translation", "invertible"},
    "svcca": {"rotation", "isotropic", "translation"},
    "pwcca": {"isotropic", "translation"},
    "pwcca_of_y": {"rotation", "isotropic", "translation", "invertible"},
    "linear_regression_x": {"rotation", "isotropic", "translation"},
    "linear_regression_y": {"rotation", "isotropic", "translation", "invertible"},
}


def _measures():
    return {
        "cca_mean_rho": lambda X, Y: ra.cca_similarity(X, Y),
        "cca_mean_rho2": lambda X, Y: ra.cca_similarity(X, Y, "mean_rho2"),
        "svcca": lambda X, Y: ra.svcca(X, Y, 0.9),
        "pwcca": lambda X, Y: ra.pwcca(X, Y),
        "pwcca_of_y": lambda X, Y: ra.pwcca(Y, X),
        "linear_regression_x": lambda X, Y: ra.linear_regression_similarity(X, Y),
        "linear_regression_y": lambda X, Y: ra.linear_regression_similarity(Y, X),
    }


@pytest.mark.parametrize("name", sorted(INVARIANT))
def test_invariances_as_documented(name):
    X, Y = _pair(8, noise=0.5)
    f = _measures()[name]
    base = f(X, Y)
    for t, T in _transforms(X.shape[1]).items():
        changed = abs(f(T(X), Y) - base)
        if t in INVARIANT[name]:
            assert changed < 1e-9, (name, t, changed)
        else:
            assert changed > 1e-4, (name, t, changed)


# ---------------------------------------------------------------- degenerate and bad input
def test_n_at_most_d_raises_with_the_reason_and_ridge_fixes_it():
    rng = np.random.default_rng(9)
    X, Y = rng.normal(size=(20, 30)), rng.normal(size=(20, 25))
    for f in (ra.cca_similarity, ra.svcca, ra.pwcca, ra.pwcca_symmetric):
        with pytest.raises(ValueError, match=r"degenerate.*every one of them.*ridge > 0"):
            f(X, Y) if f is not ra.svcca else f(X, Y, 1.0)
    with pytest.raises(ValueError, match="R\\^2 = 1 for any data"):
        ra.linear_regression_similarity(X, Y)
    v = ra.cca_similarity(X, Y, ridge=0.1)
    assert 0.0 < v < 1.0
    assert 0.0 <= ra.linear_regression_similarity(X, Y, ridge=0.1) < 1.0


def test_partially_forced_correlations_raise():
    rng = np.random.default_rng(10)
    X, Y = rng.normal(size=(30, 20)), rng.normal(size=(30, 15))   # 35 > 29
    with pytest.raises(ValueError, match="at least 6 canonical"):
        ra.cca_similarity(X, Y)


@pytest.mark.parametrize("bad, match", [
    (dict(statistic="median"), "unknown statistic"),
    (dict(ridge=-1.0), "ridge must be"),
    (dict(ridge=float("nan")), "ridge must be"),
])
def test_bad_options(bad, match):
    X, Y = _pair()
    with pytest.raises(ValueError, match=match):
        ra.cca_similarity(X, Y, **bad)


def test_bad_inputs():
    X, Y = _pair()
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        ra.cca_similarity(Xn, Y)
    with pytest.raises(ValueError, match="same number of samples"):
        ra.pwcca(X, Y[:-1])
    with pytest.raises(ValueError, match="zero variance"):
        ra.linear_regression_similarity(np.ones((20, 3)), Y[:20])
    for v in (0.0, 1.5, True):
        with pytest.raises(ValueError, match="variance must be"):
            ra.svcca(X, Y, variance=v)


def test_registry_entries():
    for name, sym in [("cca_similarity", True), ("svcca", True), ("pwcca", False),
                      ("pwcca_symmetric", True), ("linear_regression_similarity", False)]:
        info = ra.MEASURES.info(name)
        assert info.kind == "similarity" and info.bounds == (0.0, 1.0) and info.symmetric is sym
        X, Y = _pair()
        assert 0.0 <= ra.MEASURES[name](X, Y) <= 1.0


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_extreme_scales_give_the_same_values(scale):
    X, Y = _pair(11)
    for f in (ra.cca_similarity, ra.svcca, ra.pwcca, ra.linear_regression_similarity):
        assert f(scale * X, Y) == pytest.approx(f(X, Y), rel=1e-9), f.__name__
        assert np.isfinite(f(scale * X, scale * Y))
