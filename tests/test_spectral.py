"""repalign_edu.spectral: Mercer eigenpairs, spectral KA, KTA, cumulative power, KARE/GCV,
concentration (paper sections 3.1.2-3.1.3, appendix 6.1 and 6.3).  Closed forms and identities."""
import numpy as np
import pytest

import repalign_edu as ra
from repalign_edu import spectral as sp


XY_SHAPE = (60, 5, 3)   # the shared XY fixture (tests/conftest.py)


# --------------------------------------------------------------------------- eigenpairs
def test_eigenpairs_closed_form_2x2():
    eta, phi = sp.mercer_eigenpairs(np.array([[2.0, 1.0], [1.0, 2.0]]))
    np.testing.assert_allclose(eta, [1.5, 0.5], atol=1e-15)          # eigenvalues 3, 1 of K, over n = 2
    np.testing.assert_allclose(np.abs(phi), np.ones((2, 2)), atol=1e-15)
    assert phi[0, 1] * phi[1, 1] < 0                                   # second eigenfunction (1, -1)


@pytest.mark.parametrize("kernel", ["linear", "rbf", "laplacian"])
def test_eigenpairs_orthonormal_in_L2_and_reconstruct(XY, kernel):
    X, _ = XY
    K = ra.gram_matrix(X, kernel)
    n = len(X)
    eta, phi = sp.mercer_eigenpairs(K)
    assert eta.shape == (n,) and phi.shape == (n, n) and eta.dtype == np.float64
    np.testing.assert_allclose(phi.T @ phi / n, np.eye(n), atol=1e-10)
    np.testing.assert_allclose(phi @ np.diag(eta) @ phi.T, K, atol=1e-10)
    assert np.all(np.diff(eta) <= 0)
    assert eta.sum() == pytest.approx(np.trace(K) / n, rel=1e-12)


def test_eigenpairs_truncation(XY):
    K = ra.gram_matrix(XY[0], "rbf")
    eta, phi = sp.mercer_eigenpairs(K)
    eta5, phi5 = sp.mercer_eigenpairs(K, n_components=5)
    np.testing.assert_allclose(eta5, eta[:5], rtol=1e-12)
    np.testing.assert_allclose(np.abs(phi5), np.abs(phi[:, :5]), atol=1e-8)


@pytest.mark.parametrize("K, match", [
    (np.ones((3, 4)), "K must be a square"),
    (np.array([[1.0, 2.0], [0.0, 1.0]]), "K must be symmetric"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "K contains"),
    (np.ones(3), "K must be 2-D"),
])
def test_eigenpairs_bad_K(K, match):
    with pytest.raises(ValueError, match=match):
        sp.mercer_eigenpairs(K)


@pytest.mark.parametrize("k", [0, 4, True, 1.5])
def test_eigenpairs_bad_n_components(k):
    with pytest.raises(ValueError, match="n_components"):
        sp.mercer_eigenpairs(np.eye(3), n_components=k)


# --------------------------------------------------------------------------- spectral KA
@pytest.mark.parametrize("kernel", ["linear", "rbf", "laplacian", "polynomial"])
def test_spectral_ka_equals_frobenius_ka(XY, kernel):
    X, Y = XY
    expected = ra.kernel_alignment(X, Y, kernel, backend="numpy")
    got = sp.spectral_alignment_from_grams(ra.gram_matrix(X, kernel), ra.gram_matrix(Y, kernel))
    assert abs(got - expected) < 1e-10
    assert abs(sp.gram_alignment(ra.gram_matrix(X, kernel), ra.gram_matrix(Y, kernel)) - expected) < 1e-12


def test_spectral_form_with_explicit_overlaps(XY):
    X, Y = XY
    K1, K2 = ra.gram_matrix(X, "rbf"), ra.gram_matrix(Y, "rbf")
    e1, p1 = sp.mercer_eigenpairs(K1)
    e2, p2 = sp.mercer_eigenpairs(K2)
    C = sp.overlap_matrix(p1, p2)
    np.testing.assert_allclose(C @ C.T, np.eye(len(X)), atol=1e-10)           # complete systems: C orthogonal
    np.testing.assert_allclose((C * C).sum(axis=0), 1.0, atol=1e-10)          # C o C doubly stochastic
    # the three forms of paper 3.1.2 (with the square restored)
    h1, h2 = e1 / np.linalg.norm(e1), e2 / np.linalg.norm(e2)
    trace_form = np.trace(C @ np.diag(h2) @ C.T @ np.diag(h1))
    f_form = np.sum((np.sqrt(np.clip(e1, 0, None))[:, None] * C * np.sqrt(np.clip(e2, 0, None))[None, :]) ** 2) \
        / np.sqrt(np.sum(e1**2) * np.sum(e2**2))
    a = sp.spectral_alignment(e1, e2, C)
    assert abs(a - trace_form) < 1e-12 and abs(a - f_form) < 1e-10


def test_spectral_ka_identity_overlaps_closed_forms():
    # C = I: A = <eta1_hat, eta2_hat>
    assert sp.spectral_alignment([3.0, 4.0], [3.0, 4.0], np.eye(2)) == pytest.approx(1.0, abs=1e-15)
    assert sp.spectral_alignment([1.0, 0.0], [0.0, 1.0], np.eye(2)) == 0.0
    assert sp.spectral_alignment([1.0, 1.0], [1.0, 0.0], np.eye(2)) == pytest.approx(1 / np.sqrt(2), abs=1e-15)
    # flat spectra: A = ||C||_F^2 / sqrt(k1 k2)
    C = np.random.default_rng(1).normal(size=(3, 4))
    assert sp.spectral_alignment(np.ones(3), np.ones(4), C) == pytest.approx(np.sum(C**2) / np.sqrt(12), rel=1e-13)


def test_spectral_ka_shared_eigenfunctions(XY):
    K = ra.gram_matrix(XY[0], "rbf")
    n = K.shape[0]
    eta, phi = sp.mercer_eigenpairs(K)
    K2 = K @ K / n                                   # L_K^2: same eigenfunctions, eigenvalues eta^2
    expected = float((eta / np.linalg.norm(eta)) @ (eta**2 / np.linalg.norm(eta**2)))
    assert abs(sp.gram_alignment(K, K2) - expected) < 1e-10
    assert abs(sp.spectral_alignment(eta, eta**2, np.eye(n)) - expected) < 1e-14


def test_gram_alignment_centered_is_cka(XY):
    X, Y = XY
    got = sp.gram_alignment(ra.gram_matrix(X, "rbf"), ra.gram_matrix(Y, "rbf"), centered=True)
    assert abs(got - ra.cka(X, Y, "rbf", backend="numpy")) < 1e-12


def test_spectral_ka_bad_inputs():
    with pytest.raises(ValueError, match="C must have shape"):
        sp.spectral_alignment([1.0, 2.0], [1.0], np.eye(2))
    with pytest.raises(ValueError, match="eta1 is all zeros"):
        sp.spectral_alignment([0.0, 0.0], [1.0, 1.0], np.eye(2))
    with pytest.raises(ValueError, match="eta2 must be 1-D"):
        sp.spectral_alignment([1.0], [[1.0]], np.eye(1))
    with pytest.raises(ValueError, match="phi1 and phi2"):
        sp.overlap_matrix(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="K1 and K2"):
        sp.spectral_alignment_from_grams(np.eye(3), np.eye(4))
    with pytest.raises(ValueError, match="K2 is zero after centring"):
        sp.gram_alignment(np.eye(3), np.ones((3, 3)), centered=True)


# --------------------------------------------------------------------------- kernel-target alignment
def test_kta_closed_forms():
    y = np.array([1.0, -1.0, 1.0, 1.0])
    assert sp.kernel_target_alignment(np.outer(y, y), y) == pytest.approx(1.0, abs=1e-15)
    assert sp.kernel_target_alignment(np.eye(4), y) == pytest.approx(0.5, abs=1e-15)   # 1/sqrt(n)
    # one-hot targets: A(K, YY^T)
    Y = np.eye(2)[[0, 1, 0, 1]]
    assert sp.kernel_target_alignment(Y @ Y.T, Y) == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("scale", [1.0, 3.0, 0.01])
def test_kta_spectral_form_equals_direct(XY, scale):
    X, _ = XY
    K = ra.gram_matrix(X, "rbf")
    y = scale * np.sign(X[:, 0] + 0.1)
    eta, phi = sp.mercer_eigenpairs(K)
    w = sp.target_weights(eta, phi, y)
    direct = sp.kernel_target_alignment(K, y)
    assert abs(sp.spectral_target_alignment(eta, w) - direct) < 1e-10
    assert abs(direct - sp.kernel_target_alignment(K, np.sign(X[:, 0] + 0.1))) < 1e-13    # scale-free
    # the "radical over everything" misprint only agrees when ||h||^2 = sum eta w^2 = 1
    misprint = np.sum(eta**2 * w**2) / np.sqrt(np.sum(eta**2) * np.sum(eta * w**2))
    assert (abs(misprint - direct) < 1e-10) == (scale == 1.0)


def test_target_weights_and_kta_errors():
    with pytest.raises(ValueError, match="eta\\[1\\]"):
        sp.target_weights([1.0, -1e-17], np.ones((2, 2)), [1.0, 1.0])
    with pytest.raises(ValueError, match="phi must have one column per eigenvalue"):
        sp.target_weights([1.0, 0.5], np.ones((2, 3)), [1.0, 1.0])
    with pytest.raises(ValueError, match="y must have length 2"):
        sp.target_weights([1.0, 0.5], np.ones((2, 2)), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="y must have one row per sample"):
        sp.kernel_target_alignment(np.eye(3), np.ones(4))
    with pytest.raises(ValueError, match="y is all zeros"):
        sp.kernel_target_alignment(np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="w must have length 2"):
        sp.spectral_target_alignment([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="^w:"):
        sp.spectral_target_alignment([1.0, 2.0], [0.0, 0.0])


# --------------------------------------------------------------------------- cumulative power
def test_cumulative_power_closed_form_and_sorting():
    np.testing.assert_allclose(sp.cumulative_power([3.0, 2.0, 1.0], [1.0, 1.0, 1.0]), [0.5, 5 / 6, 1.0], rtol=1e-15)
    np.testing.assert_allclose(sp.cumulative_power([1.0, 3.0, 2.0], [1.0, 1.0, 1.0]), [0.5, 5 / 6, 1.0], rtol=1e-15)
    # a target on the top eigenfunction only: C = 1 from the start
    np.testing.assert_allclose(sp.cumulative_power([3.0, 2.0, 1.0], [1.0, 0.0, 0.0]), [1.0, 1.0, 1.0])


def test_cumulative_power_monotone_to_one(XY):
    X, _ = XY
    K = ra.gram_matrix(X, "rbf")
    eta, phi = sp.mercer_eigenpairs(K)
    for y in (X[:, 0], np.sin(3 * X[:, 1]), np.random.default_rng(2).normal(size=len(X))):
        C = sp.cumulative_power(eta, sp.target_weights(eta, phi, y))
        assert np.all(np.diff(C) >= 0) and C[-1] == 1.0 and C[0] > 0
        # C(k) is the fraction of ||y||^2 on the top-k eigenfunctions
        v = phi.T @ y / len(y)
        np.testing.assert_allclose(C, np.cumsum(v**2) / np.sum(v**2), rtol=1e-8)


def test_cumulative_power_errors():
    with pytest.raises(ValueError, match="^w:"):
        sp.cumulative_power([1.0, 2.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="w must have length 2"):
        sp.cumulative_power([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="eta contains NaN"):
        sp.cumulative_power([1.0, np.nan], [1.0, 1.0])


# --------------------------------------------------------------------------- KARE and GCV
@pytest.mark.parametrize("target", ["vector", "matrix"])
def test_kare_equals_gcv(XY, target):
    X, Y = XY
    K = ra.gram_matrix(X, "rbf")
    y = Y[:, 0] if target == "vector" else Y
    lams = np.logspace(-6, 1, 15)
    k, g = sp.kare(K, y, lams), sp.gcv(K, y, lams)
    assert k.shape == g.shape == (15,)
    np.testing.assert_allclose(k, g, rtol=1e-10, atol=0)
    assert sp.kare(K, y, 1e-3) == pytest.approx(sp.gcv(K, y, 1e-3), rel=1e-10)
    assert isinstance(sp.kare(K, y, 1e-3), float)


def test_kare_closed_forms():
    y = np.array([1.0, -2.0, 3.0, 0.5])
    # K proportional to I (or 0): M is a multiple of I, and KARE = mean(y^2) for every lambda
    for K in (np.zeros((4, 4)), 5.0 * np.eye(4)):
        for lam in (1e-3, 1.0):
            assert sp.kare(K, y, lam) == pytest.approx(np.mean(y**2), rel=1e-12)
            assert sp.gcv(K, y, lam) == pytest.approx(np.mean(y**2), rel=1e-12)
    # and the explicit formula with a matrix inverse
    rng = np.random.default_rng(4)
    B = rng.normal(size=(4, 4))
    K = B @ B.T
    M = np.linalg.inv(K / 4 + 0.1 * np.eye(4))
    assert sp.kare(K, y, 0.1) == pytest.approx((y @ M @ M @ y / 4) / (np.trace(M) / 4) ** 2, rel=1e-12)


@pytest.mark.parametrize("lam", [0.0, -1.0, np.nan, np.inf, True, "a", [1.0, 0.0], np.ones((2, 2))])
def test_kare_gcv_bad_lambda(lam):
    for f in (sp.kare, sp.gcv):
        with pytest.raises(ValueError, match="lam"):
            f(np.eye(3), np.ones(3), lam)


def test_krr_predict_matches_sklearn(XY):
    from sklearn.kernel_ridge import KernelRidge

    X, Y = XY
    K = ra.gram_matrix(X, "rbf", sigma=1.5)
    tr, te = np.arange(40), np.arange(40, 60)
    lam = 1e-2
    pred = sp.krr_predict(K[np.ix_(tr, tr)], Y[tr], K[np.ix_(te, tr)], lam)
    ref = KernelRidge(alpha=40 * lam, kernel="precomputed").fit(K[np.ix_(tr, tr)], Y[tr]).predict(K[np.ix_(te, tr)])
    np.testing.assert_allclose(pred, ref, rtol=1e-8, atol=1e-10)
    assert sp.krr_predict(K[np.ix_(tr, tr)], Y[tr, 0], K[np.ix_(te, tr)], lam).shape == (20,)
    # GCV's residual is the training residual of krr_predict
    fit = sp.krr_predict(K[np.ix_(tr, tr)], Y[tr, 0], K[np.ix_(tr, tr)], lam)
    A = K[np.ix_(tr, tr)] @ np.linalg.inv(K[np.ix_(tr, tr)] + 40 * lam * np.eye(40))
    expected = np.mean((Y[tr, 0] - fit) ** 2) / (np.trace(np.eye(40) - A) / 40) ** 2
    assert sp.gcv(K[np.ix_(tr, tr)], Y[tr, 0], lam) == pytest.approx(expected, rel=1e-9)


def test_krr_predict_errors():
    with pytest.raises(ValueError, match="K_test_train"):
        sp.krr_predict(np.eye(3), np.ones(3), np.ones((2, 4)), 0.1)
    with pytest.raises(ValueError, match="y_train"):
        sp.krr_predict(np.eye(3), np.ones(4), np.ones((2, 3)), 0.1)
    with pytest.raises(ValueError, match="K_train must be symmetric"):
        sp.krr_predict(np.triu(np.ones((3, 3))), np.ones(3), np.ones((2, 3)), 0.1)
    with pytest.raises(ValueError, match="lam must be a single"):
        sp.krr_predict(np.eye(3), np.ones(3), np.ones((2, 3)), [0.1, 0.2])


# --------------------------------------------------------------------------- concentration
def test_lemma1_bound_closed_form():
    # n = 32 and delta = 2/e: sqrt(32 * 1 / 32) = 1
    assert sp.lemma1_bound(32, 2 / np.e) == pytest.approx(1.0, rel=1e-15)
    b = sp.lemma1_bound(np.array([100, 400]), 0.05)
    assert b[0] / b[1] == pytest.approx(2.0, rel=1e-14)                  # 1/sqrt(n)
    assert sp.lemma1_bound(200) == pytest.approx(np.sqrt(32 * np.log(40) / 200), rel=1e-15)


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 10, "delta": 0.0}, "delta"), ({"n": 10, "delta": 1.0}, "delta"), ({"n": 10, "delta": True}, "delta"),
    ({"n": 0}, "n must be"), ({"n": np.nan}, "n must be"),
])
def test_lemma1_bound_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sp.lemma1_bound(**kwargs)


def test_ka_subsample_alignments(XY):
    X, Y = XY
    K1, K2 = ra.gram_matrix(X, "rbf"), ra.gram_matrix(Y, "rbf")
    out = sp.ka_subsample_alignments(K1, K2, [5, 20], n_draws=7, seed=3)
    assert out["A_hat"].shape == out["A12_hat"].shape == (2, 7)
    assert out["A"] == pytest.approx(ra.kernel_alignment(X, Y, "rbf", backend="numpy"), abs=1e-12)
    assert out["A12"] == pytest.approx(np.sum(K1 * K2) / len(X) ** 2, rel=1e-12)
    assert np.all((out["A_hat"] > 0) & (out["A_hat"] <= 1))
    again = sp.ka_subsample_alignments(K1, K2, [5, 20], n_draws=7, seed=3)
    np.testing.assert_array_equal(out["A_hat"], again["A_hat"])               # seeded
    same = sp.ka_subsample_alignments(K1, K1, [5], n_draws=3)
    np.testing.assert_allclose(same["A_hat"], 1.0, atol=1e-14)                  # A(K, K) = 1 on every sample
    # with n = 1 draw of size 1: A^_12 = K1(x,x) K2(x,x) = 1 for RBF kernels (the diagonal bias of Lemma 4)
    np.testing.assert_allclose(sp.ka_subsample_alignments(K1, K2, [1], n_draws=4)["A12_hat"], 1.0)


def test_ka_subsample_alignments_errors():
    with pytest.raises(ValueError, match="sizes"):
        sp.ka_subsample_alignments(np.eye(3), np.eye(3), [0])
    with pytest.raises(ValueError, match="sizes"):
        sp.ka_subsample_alignments(np.eye(3), np.eye(3), [2.5])
    with pytest.raises(ValueError, match="n_draws"):
        sp.ka_subsample_alignments(np.eye(3), np.eye(3), [2], n_draws=0)
    with pytest.raises(ValueError, match="K1 and K2"):
        sp.ka_subsample_alignments(np.eye(3), np.eye(4), [2])
