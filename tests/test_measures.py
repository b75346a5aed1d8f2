"""Alignment measures against a published oracle, closed forms, identities and the reference.

Every number here is backed by something outside the code under test: the
CKA demo of Kornblith et al. (2019), an algebraic identity from the paper
(sections 3.1-3.4, notes 5.A-C), or an explicit NumPy/SciPy computation.
"""
import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import ortho_group

import repalign_edu as ra
from repalign_edu.kernels import gram_matrix

CPU_BACKENDS = ["numpy", "cpu"]
KERNELS = ["linear", "rbf", "laplacian", "polynomial"]


def _rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# --------------------------------------------------------------------------- published oracle
@pytest.fixture(scope="module")
def kornblith():
    """The data of the CKA demo notebook of Kornblith et al. (2019)."""
    rng = np.random.RandomState(1337)
    X = rng.randn(100, 10)
    Y = rng.randn(100, 10) + X
    return X, Y


def _kornblith_sigma(A):
    """sigma^2 = 0.25 * median of all n^2 squared distances, the zeros of the diagonal included."""
    sq = cdist(A, A, "sqeuclidean")
    return float(np.sqrt(0.25 * np.median(sq)))


def test_kornblith_bandwidth_convention(kornblith):
    X, Y = kornblith
    for A in (X, Y):
        assert 0.5 * ra.median_heuristic(A, include_diagonal=True) == pytest.approx(
            _kornblith_sigma(A), rel=1e-12)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_kornblith_oracle(kornblith, backend):
    X, Y = kornblith
    sigma = (_kornblith_sigma(X), _kornblith_sigma(Y))
    assert round(ra.cka(X, Y, backend=backend), 5) == 0.55761
    assert round(ra.cka(X, Y, "rbf", sigma=sigma, backend=backend), 5) == 0.65483
    assert round(ra.cka(X, Y, estimator="unbiased", backend=backend), 5) == 0.51346
    # the same numbers through the n x n (Gram) route of linear CKA: 100 zero
    # columns make d_X + d_Y > n and leave the linear kernel unchanged
    Xw = np.hstack([X, np.zeros((100, 100))])
    assert round(ra.cka(Xw, Y, backend=backend), 5) == 0.55761
    assert round(ra.cka(Xw, Y, estimator="unbiased", backend=backend), 5) == 0.51346


# --------------------------------------------------------------------------- identities
@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(150, 6))
    Y = np.tanh(X @ rng.normal(size=(6, 4))) + 0.3 * rng.normal(size=(150, 4))
    return X, Y


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_cka_of_similarity_transform_is_one(pair, backend, kernel):
    X, _ = pair
    Q = ortho_group.rvs(6, random_state=3)
    b = np.arange(6.0) - 2.5
    Z = 4.2 * X @ Q + b  # c X Q + 1 b^T
    assert ra.cka(X, Z, kernel, backend=backend) == pytest.approx(1.0, abs=1e-12)
    assert ra.cka(X, Z, kernel, estimator="unbiased", backend=backend) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("kernel", KERNELS)
def test_alignment_of_a_kernel_with_itself_is_one(pair, backend, kernel):
    X, _ = pair
    for centered in (False, True):
        assert ra.kernel_alignment(X, X, kernel, centered=centered, backend=backend) == \
            pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_biased_hsic_is_mmd_between_joint_and_product_of_marginals(backend):
    """Paper section 3.4: MMD^2(mu, mu_1 x mu_2; H_1 x H_2) = HSIC, exactly for the V-statistics.

    With equal bandwidths the product of two Gaussian kernels is the Gaussian
    kernel on the concatenated features, so ``mmd2`` on the explicit joint
    sample {(x_i, y_i)} and product sample {(x_i, y_j)} (all n^2 pairs) is a
    second, independent code path to the same number.
    """
    rng = np.random.default_rng(11)
    n = 12
    X = rng.normal(size=(n, 3))
    Y = X[:, :2] ** 2 + 0.5 * rng.normal(size=(n, 2))
    sx, sy = ra.median_heuristic(X), ra.median_heuristic(Y)
    Xs, Ys = X / sx, Y / sy  # unit bandwidth on both
    joint = np.hstack([Xs, Ys])
    product = np.hstack([np.repeat(Xs, n, axis=0), np.tile(Ys, (n, 1))])
    assert product.shape == (n * n, 5)
    mmd = ra.mmd2(joint, product, "rbf", sigma=1.0, backend=backend)
    h = ra.hsic(X, Y, "rbf", sigma=(sx, sy), backend=backend)
    assert h > 1e-3
    assert mmd == pytest.approx(h, rel=1e-12)
    # linear kernels: the product kernel <x,x'><y,y'> evaluated explicitly
    K, L = X @ X.T, Y @ Y.T
    i, j = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
    mmd_lin = (np.mean(K * L) + np.mean(K[np.ix_(i, i)] * L[np.ix_(j, j)])
               - 2.0 * np.mean(K[:, i] * L[:, j]))
    assert mmd_lin == pytest.approx(ra.hsic(X, Y, backend=backend), rel=1e-12)


def test_unbiased_hsic_has_mean_zero_under_independence():
    """E[HSIC_u] = 0 for independent X, Y (Song et al. 2012); HSIC_b is biased upwards."""
    rng = np.random.default_rng(2024)
    u, b = [], []
    for _ in range(300):
        X, Y = rng.normal(size=(20, 2)), rng.normal(size=(20, 2))
        u.append(ra.hsic(X, Y, "rbf", sigma=1.0, estimator="unbiased", backend="cpu"))
        b.append(ra.hsic(X, Y, "rbf", sigma=1.0, backend="cpu"))
    u, b = np.array(u), np.array(b)
    se_u, se_b = u.std(ddof=1) / np.sqrt(len(u)), b.std(ddof=1) / np.sqrt(len(b))
    assert abs(u.mean()) < 3 * se_u
    assert (u < 0).mean() > 0.3  # signed values, never clamped
    assert b.mean() > 20 * se_b
    assert (b > 0).all()


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("wide", [False, True])
def test_linear_hsic_is_sum_of_squared_cross_covariance_singular_values(backend, wide):
    rng = np.random.default_rng(5)
    n = 60
    X = rng.normal(size=(n, 40 if wide else 5)) + 3.0
    Y = X[:, :4] @ rng.normal(size=(4, 30 if wide else 3)) + rng.normal(size=(n, 30 if wide else 3))
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    rho = np.linalg.svd(Xc.T @ Yc / n, compute_uv=False)
    assert ra.hsic(X, Y, backend=backend) == pytest.approx(np.sum(rho**2), rel=1e-12)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_distance_alignment_equals_kernel_alignment_form(backend):
    """Unit-norm rows: D = 4 (m1 + m2 - 2 sqrt(m1 m2) A-hat), m_q = mean(K_q^2) (notes 5.B.8)."""
    rng = np.random.default_rng(8)
    X = rng.normal(size=(90, 5))
    Y = np.hstack([X[:, :3], rng.normal(size=(90, 4))])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    K1, K2 = X @ X.T, Y @ Y.T
    m1, m2 = np.mean(K1**2), np.mean(K2**2)
    a_hat = ra.kernel_alignment(X, Y, backend=backend)
    expected = 4.0 * (m1 + m2 - 2.0 * np.sqrt(m1 * m2) * a_hat)
    da = ra.distance_alignment(X, Y, backend=backend)
    assert da == pytest.approx(expected, rel=1e-11)
    # and the definition itself, with explicit distances
    explicit = np.mean((cdist(X, X, "sqeuclidean") - cdist(Y, Y, "sqeuclidean")) ** 2)
    assert da == pytest.approx(explicit, rel=1e-11)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_mutual_knn_of_itself_and_of_a_rotation_is_one(pair, backend):
    X, Y = pair
    Q = ortho_group.rvs(6, random_state=9)
    assert ra.mutual_knn(X, X, k=10, backend=backend) == 1.0
    assert ra.mutual_knn(X, X @ Q, k=10, backend=backend) == 1.0
    assert ra.mutual_knn(X, 5.0 * X, k=7, backend=backend) == 1.0
    assert 0.0 < ra.mutual_knn(X, Y, k=10, backend=backend) < 1.0


def test_mutual_knn_matches_brute_force(pair):
    X, Y = pair
    k = 6

    def neighbours(A):
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
        S = A @ A.T
        np.fill_diagonal(S, -np.inf)
        return [set(np.argsort(-S[i])[:k]) for i in range(len(A))]

    expected = np.mean([len(a & b) / k for a, b in zip(neighbours(X), neighbours(Y))])
    for backend in CPU_BACKENDS:
        assert ra.mutual_knn(X, Y, k=k, backend=backend) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("kernel", KERNELS)
def test_mmd2_of_a_sample_with_itself(pair, backend, kernel):
    X, _ = pair
    assert ra.mmd2(X, X, kernel, backend=backend) == pytest.approx(0.0, abs=1e-11)
    # the U-statistic is not 0 but a closed form in S = 1'K1 and Tr K, and negative
    if kernel in ("rbf", "laplacian"):
        n = len(X)
        K = gram_matrix(X, kernel, sigma=ra.median_heuristic(np.vstack([X, X])))
        S, tr = K.sum(), np.trace(K)
        expected = 2.0 * (S - tr) / (n * (n - 1)) - 2.0 * S / n**2
        assert expected < 0
        got = ra.mmd2(X, X, kernel, estimator="unbiased", backend=backend)
        assert got == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("kernel", KERNELS)
def test_mmd2_with_different_sample_sizes(backend, kernel):
    """Gretton et al. (2012) eqs. 3 and 5 with m != n, from explicit Gram blocks."""
    rng = np.random.default_rng(4)
    m, n = 30, 45
    X = rng.normal(size=(m, 3))
    Y = rng.normal(size=(n, 3)) * 1.5 + 0.4
    Z = np.vstack([X, Y])
    sigma = ra.median_heuristic(Z)
    G = gram_matrix(Z, kernel, sigma=sigma if kernel in ("rbf", "laplacian") else None)
    Kxx, Kyy, Kxy = G[:m, :m], G[m:, m:], G[:m, m:]
    biased = Kxx.mean() + Kyy.mean() - 2 * Kxy.mean()
    unbiased = ((Kxx.sum() - np.trace(Kxx)) / (m * (m - 1))
                + (Kyy.sum() - np.trace(Kyy)) / (n * (n - 1)) - 2 * Kxy.mean())
    assert ra.mmd2(X, Y, kernel, backend=backend) == pytest.approx(biased, rel=1e-10)
    assert ra.mmd2(X, Y, kernel, estimator="unbiased", backend=backend) == pytest.approx(
        unbiased, rel=1e-10)
    assert biased > unbiased > 0


# --------------------------------------------------------------------------- backend agreement
def _measure_calls(kernel):
    """(label, function of (X, Y, backend)) for every measure with this kernel."""
    calls = [
        ("ka", lambda X, Y, b: ra.kernel_alignment(X, Y, kernel, backend=b)),
        ("cka", lambda X, Y, b: ra.cka(X, Y, kernel, backend=b)),
        ("cka debiased", lambda X, Y, b: ra.cka(X, Y, kernel, estimator="unbiased", backend=b)),
        ("hsic biased", lambda X, Y, b: ra.hsic(X, Y, kernel, backend=b)),
        ("hsic unbiased", lambda X, Y, b: ra.hsic(X, Y, kernel, estimator="unbiased", backend=b)),
        ("mmd2 biased", lambda X, Y, b: ra.mmd2(X, X[::-1] * 1.3 + 0.2, kernel, backend=b)),
        ("mmd2 unbiased", lambda X, Y, b: ra.mmd2(X, X[: len(X) // 2] + 0.3, kernel,
                                                  estimator="unbiased", backend=b)),
    ]
    if kernel == "linear":
        calls += [
            ("distance alignment", lambda X, Y, b: ra.distance_alignment(X, Y, backend=b)),
            ("mutual knn", lambda X, Y, b: ra.mutual_knn(X, Y, k=8, backend=b)),
        ]
    return calls


@pytest.fixture(scope="module", params=[(37, False), (250, False), (301, False), (140, True)],
                ids=["n37", "n250", "n301", "n140-wide"])
def agreement_data(request):
    """n = 250 and 301 give 2 and 3 tiles (even and odd round robins, partial tiles);
    "wide" has d_X + d_Y > n, which sends linear CKA/HSIC through the Gram route."""
    n, wide = request.param
    rng = np.random.default_rng(n)
    dx, dy = (90, 70) if wide else (7, 5)
    X = rng.normal(size=(n, dx)) + 1.0
    Y = np.tanh(X[:, :5] @ rng.normal(size=(5, dy))) + 0.4 * rng.normal(size=(n, dy))
    return X, Y


@pytest.mark.parametrize("kernel", KERNELS)
def test_numpy_and_cpu_backends_agree(agreement_data, kernel):
    X, Y = agreement_data
    for label, f in _measure_calls(kernel):
        a, b = f(X, Y, "numpy"), f(X, Y, "cpu")
        assert _rel(a, b) <= 1e-10, (label, kernel, a, b)


def test_linear_cka_feature_and_gram_routes_agree(pair):
    X, Y = pair  # n = 150, d_X + d_Y = 10: the feature-space route
    Xw = np.hstack([X, np.zeros((150, 200))])  # same linear kernel, Gram route
    for backend in CPU_BACKENDS:
        for debiased in (False, True):
            narrow = ra.cka(X, Y, estimator="unbiased" if debiased else "biased", backend=backend)
            wide = ra.cka(Xw, Y, estimator="unbiased" if debiased else "biased", backend=backend)
            assert _rel(narrow, wide) <= 1e-10
        assert _rel(ra.hsic(X, Y, estimator="unbiased", backend=backend),
                    ra.hsic(Xw, Y, estimator="unbiased", backend=backend)) <= 1e-10


# --------------------------------------------------------------------------- precision
@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_float32_with_large_offset_keeps_precision(backend, kernel):
    """float32 activations with mean 1e4: centring in float64 first keeps float64 precision."""
    rng = np.random.default_rng(12)
    X = rng.normal(size=(200, 10))
    Y = X[:, :8] + rng.normal(size=(200, 8))
    X32, Y32 = (X + 1e4).astype(np.float32), (Y + 1e4).astype(np.float32)
    got = ra.cka(X32, Y32, kernel, backend=backend)
    ref = ra.cka(X32.astype(np.float64), Y32.astype(np.float64), kernel, backend=backend)
    assert abs(got - ref) <= 1e-6
    assert 0.3 < got < 0.95
    assert isinstance(got, float)


def test_scalars_are_python_floats(pair):
    X, Y = pair
    for v in (ra.cka(X, Y), ra.hsic(X, Y, "rbf"), ra.mmd2(X, X + 1), ra.kernel_alignment(X, Y),
              ra.distance_alignment(X, Y), ra.mutual_knn(X, Y)):
        assert type(v) is float


# --------------------------------------------------------------------------- cpu backend internals
def test_vectorised_exp_matches_numpy_to_an_ulp():
    from numba import njit

    from repalign_edu.backends.cpu import _exp_neg

    @njit
    def apply(x, out):
        for i in range(x.size):
            out[i] = _exp_neg(x[i])

    rng = np.random.default_rng(0)
    x = np.concatenate([-rng.exponential(5.0, 200_000), -np.linspace(0.0, 760.0, 20_001),
                        [0.0, -0.0, -5e-324, -1e-300, -708.39, -745.1, -745.2, -1e300]])
    got = np.empty_like(x)
    apply(x, got)
    ref = np.exp(x)
    normal = ref >= np.finfo(float).tiny
    assert np.max(np.abs(got[normal] - ref[normal]) / ref[normal]) < 5e-16
    assert np.max(np.abs(got - ref)) < 3e-16  # subnormal range: absolute
    assert np.array_equal(got == 0, ref == 0)
    assert got[-8] == 1.0 and got[-7] == 1.0


def test_kernel_sum_uses_symmetry_and_excludes_the_diagonal():
    from repalign_edu.backends import cpu
    from repalign_edu.kernels import KernelParams

    rng = np.random.default_rng(1)
    A = rng.normal(size=(300, 5))
    for k in (KernelParams("rbf", sigma=1.7), KernelParams("linear"),
              KernelParams("polynomial", gamma=0.2, coef0=1.0, degree=2.0)):
        params = {"rbf": {"sigma": k.sigma}, "linear": {},
                  "polynomial": {"gamma": k.gamma, "degree": k.degree}}[k.name]
        G = gram_matrix(A, k.name, **params)
        assert cpu.kernel_sum(A, A, k) == pytest.approx(G.sum(), rel=1e-12)
        assert cpu.kernel_sum(A, A, k, exclude_diag=True) == pytest.approx(
            G.sum() - np.trace(G), rel=1e-12)
        assert cpu.kernel_sum(A, A.copy(), k, exclude_diag=True) == pytest.approx(
            G.sum() - np.trace(G), rel=1e-12)  # not the same object: no symmetry shortcut
        assert cpu.kernel_sum(A[:100], A[100:], k) == pytest.approx(G[:100, 100:].sum(), rel=1e-12)
