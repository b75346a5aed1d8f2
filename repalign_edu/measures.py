"""Alignment measures: definitions, validation and backend dispatch.

Every measure takes representations X (n, d_X) and Y (n, d_Y) whose rows are
paired, and ``backend="auto" | "numpy" | "cpu" | "cuda"``:

* ``numpy`` -- the textbook reference (:mod:`repalign_edu.backends.numpy_ref`), materialises n x n;
* ``cpu``   -- Numba ``njit(parallel=True)``, streaming tiles, no n x n matrix;
* ``cuda``  -- ``numba.cuda`` kernels, streaming tiles;
* ``auto``  -- ``cuda`` on a real GPU, else ``cpu``.

Conventions (see ``shared/design.md``):

* Centring belongs to the centred measures (CKA, HSIC, centred KA).  Features
  are centred in float64 *before* a Gram matrix is formed whenever that does
  not change the value: always for the translation-invariant kernels (rbf,
  laplacian), and for the linear kernel inside centred measures.  The
  uncentred KA uses the raw features, as the paper defines it.
* ``sigma=None`` applies :func:`~repalign_edu.kernels.median_heuristic` to X
  and to Y separately; a scalar sets both; a pair ``(sigma_X, sigma_Y)``
  sets each.
* Scalars come back as Python floats; all accumulation is float64.
"""
from __future__ import annotations

import numpy as np

from ._validation import ESTIMATORS, as_pair, as_representation, check_min_samples, check_option
from .backends import get_backend, resolve_backend
from .backends import numpy_ref
from .backends.stats import hsic_terms, linear_stats
from .kernels import TRANSLATION_INVARIANT, resolve_kernel, split_sigma


# --------------------------------------------------------------------------- helpers
def _center(A: np.ndarray, keep_dtype: bool = False, backend_name: str = "numpy") -> np.ndarray:
    """Subtract column means, in float64.

    The result is float64 unless ``keep_dtype`` (the cuda backend, which may
    compute in the input's float32): then the centred values are rounded
    back to the input dtype, which is harmless because centring has already
    removed the large mean that float32 could not resolve.
    """
    if keep_dtype or backend_name != "cpu":
        A64 = A.astype(np.float64, copy=False)
        Ac = A64 - A64.mean(axis=0)
        return Ac.astype(A.dtype, copy=False) if keep_dtype else Ac
    return get_backend("cpu").center(A)          # one parallel pass, thread-count independent


def _prepare(X, Y, kernel, sigma, degree, gamma, coef0, *, centered, variance_for=None,
             backend_name="cpu"):
    """Validate, resolve both kernels and centre features where allowed.

    ``variance_for`` names a measure that is undefined at zero variance (CKA, KA).
    Centred features are float64 except on the cuda backend (see :func:`_center`).
    """
    X, Y = as_pair(X, Y)
    if variance_for:
        _check_variance(X, Y, variance_for)
    sx, sy = split_sigma(sigma)
    kx = resolve_kernel(kernel, X, sx, degree=degree, gamma=gamma, coef0=coef0, name="sigma")
    ky = resolve_kernel(kernel, Y, sy, degree=degree, gamma=gamma, coef0=coef0, name="sigma")
    if kernel in TRANSLATION_INVARIANT or (kernel == "linear" and centered):
        keep = backend_name == "cuda"
        X, Y = _center(X, keep, backend_name), _center(Y, keep, backend_name)
    return X, Y, kx, ky


def _use_feature_space(X, Y, kx, ky) -> bool:
    """Linear kernels: the d x d route is cheaper than n x n when d_X + d_Y <= n."""
    return kx.name == "linear" and ky.name == "linear" and X.shape[1] + Y.shape[1] <= X.shape[0]


def _stats(X, Y, kx, ky, be, *, rows: bool = True):
    """GramStats through the backend ``be``.

    ``rows=False`` tells the linear feature-space route that the row sums and
    diagonals are not needed (uncentred KA, or biased HSIC/CKA of centred
    features, whose row sums are 0); they are then returned as zeros.
    """
    X64, Y64 = X.astype(np.float64, copy=False), Y.astype(np.float64, copy=False)
    if _use_feature_space(X, Y, kx, ky):
        return linear_stats(X64, Y64, matmul=be.matmul, rows=rows,
                            products=getattr(be, "feature_products", None),
                            **({"row_stats": be.row_stats} if hasattr(be, "row_stats") else {}))
    return be.gram_stats(X if be.__name__.endswith("cuda") else X64,
                         Y if be.__name__.endswith("cuda") else Y64, kx, ky)


def _all_rows_equal(A: np.ndarray, chunk: int = 4096) -> bool:
    """True if every row equals row 0; returns at the first differing chunk (O(d) for real data)."""
    if A.shape[0] > 1 and not np.array_equal(A[1], A[0]):   # the usual case, without a temporary
        return False
    for start in range(1, A.shape[0], chunk):
        if not np.all(A[start:start + chunk] == A[0]):
            return False
    return True


def _check_variance(X, Y, what: str) -> None:
    """Raise if X or Y has zero variance (all rows equal): centred measures are undefined."""
    for A, name in ((X, "X"), (Y, "Y")):
        if _all_rows_equal(A):
            raise ValueError(
                f"{what} is undefined: {name} has zero variance (all {A.shape[0]} rows are "
                f"equal), so its centred Gram matrix is 0. Check {name}: a dead layer or a "
                "constant feature map gives this."
            )


def _ratio(num: float, a: float, b: float, what: str) -> float:
    """num / sqrt(a b), raising a ValueError when a or b is not positive."""
    for val, name in ((a, "X"), (b, "Y")):
        if not val > 0:
            raise ValueError(
                f"{what} is undefined: the self-similarity term of {name} is {val:.3g} <= 0 "
                f"(the kernel is zero on {name}, or an unbiased HSIC({name}, {name}) estimate "
                "is negative at small n). Use more samples, debiased=False, or another kernel."
            )
    return float(num / np.sqrt(a * b))


_KERNEL_PARAMS_DOC = """    kernel : {"linear", "rbf", "laplacian", "polynomial"}
        The same kernel family for X and Y (see :mod:`repalign_edu.kernels`).
    sigma : None, float or (float, float)
        Bandwidth of rbf/laplacian, in feature units.  None: the median
        heuristic on X and on Y separately; a float: both; a pair: each.
    degree, gamma, coef0 : float
        Polynomial kernel (gamma None means 1 / d).
    backend : {"auto", "numpy", "cpu", "cuda"}"""

_RAISES_DOC = """    ValueError
        Different n in X and Y; ndim != 2; NaN or +-inf; too few samples;
        unknown kernel, estimator or backend; sigma <= 0; backend="cuda"
        without a GPU (the message mentions NUMBA_ENABLE_CUDASIM=1)."""


def _doc(f):
    f.__doc__ = f.__doc__.replace("{KERNEL}", _KERNEL_PARAMS_DOC.strip()).replace(
        "{RAISES}", _RAISES_DOC.strip())
    return f


# --------------------------------------------------------------------------- measures
@_doc
def kernel_alignment(X, Y, kernel: str = "linear", *, centered: bool = False, sigma=None,
                     degree=3, gamma=None, coef0=1.0, backend: str = "auto") -> float:
    """Empirical kernel alignment A-hat of Cristianini et al. (2001).

    A-hat(K, L) = <K, L>_F / (||K||_F ||L||_F), with K_ij = k(x_i, x_j) and
    L_ij = l(y_i, y_j).  With ``centered=True`` both Gram matrices are
    replaced by HKH and HLH (H = I - 11^T/n), which gives CKA (Kornblith et
    al. 2019).  For the linear kernel this equals the paper's Eq. (1),
    ||S_12||_F^2 / (||S_11||_F ||S_22||_F) with uncentred second moments.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        Paired representations; float32/float64 (int/bool -> float64).
    centered : bool
        False: the paper's uncentred A-hat (raw features; not translation
        invariant).  True: CKA.
    {KERNEL}

    Returns
    -------
    float in [0, 1] (a similarity; 1 means K and L are proportional).

    Raises
    ------
    {RAISES}
    ValueError
        A zero Gram matrix (e.g. all-zero X) or, when centred, zero variance.

    References
    ----------
    Paper section 3.1.1 and Eq. (1); Cristianini et al. (2001) "On kernel-target alignment".

    Examples
    --------
    >>> import numpy as np, repalign_edu as ra
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> round(ra.kernel_alignment(X, 2 * X), 12)
    1.0
    """
    if centered:
        return cka(X, Y, kernel, sigma=sigma, degree=degree, gamma=gamma, coef0=coef0,
                   backend=backend)
    name = resolve_backend(backend)
    X, Y, kx, ky = _prepare(X, Y, kernel, sigma, degree, gamma, coef0, centered=False,
                            backend_name=name)
    if name == "numpy":
        K, L = numpy_ref.grams(X.astype(np.float64), Y.astype(np.float64), kx, ky)
        num, a, b = float(np.sum(K * L)), float(np.sum(K * K)), float(np.sum(L * L))
    else:
        s = _stats(X, Y, kx, ky, get_backend(name), rows=False)
        num, a, b = s.kl, s.kk, s.ll
    return _ratio(num, a, b, "kernel alignment")


@_doc
def hsic(X, Y, kernel: str = "linear", *, estimator: str = "biased", sigma=None, degree=3,
         gamma=None, coef0=1.0, backend: str = "auto") -> float:
    """Hilbert-Schmidt Independence Criterion between paired samples.

    * ``estimator="biased"``:  HSIC_b = Tr(K H L H) / n^2  (Gretton et al. 2005;
      their 1/(n-1)^2 normalisation differs by a factor n^2/(n-1)^2).
    * ``estimator="unbiased"``: Song et al. (2012), eq. 5, with K~, L~ the
      Gram matrices with zeroed diagonals::

          HSIC_u = [Tr(K~L~) + 1'K~1 1'L~1 / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1] / (n(n-3))

      It needs n >= 4 and can be negative; the signed value is returned.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    estimator : {"biased", "unbiased"}
    {KERNEL}

    Returns
    -------
    float
        In squared kernel units (for the linear kernel: squared feature
        units).  Biased HSIC >= 0; unbiased may be < 0.  For the linear
        kernel HSIC_b = sum_i rho_i^2, the squared singular values of the
        centred cross-covariance (1/n) Xc^T Yc.

    Raises
    ------
    {RAISES}

    References
    ----------
    Paper section 3.3; Gretton et al. (2005) ALT; Song et al. (2012) JMLR 13, eq. 5.
    """
    check_option(estimator, ESTIMATORS, "estimator")
    unbiased = estimator == "unbiased"
    name = resolve_backend(backend)
    X, Y, kx, ky = _prepare(X, Y, kernel, sigma, degree, gamma, coef0, centered=True,
                            backend_name=name)
    if unbiased:
        check_min_samples(X.shape[0], 4, "unbiased HSIC estimator")
    if name == "numpy":
        return numpy_ref.hsic(X.astype(np.float64), Y.astype(np.float64), kx, ky, unbiased)
    return float(hsic_terms(_stats(X, Y, kx, ky, get_backend(name), rows=unbiased), unbiased)[0])


@_doc
def cka(X, Y, kernel: str = "linear", *, debiased: bool = False, sigma=None, degree=3,
        gamma=None, coef0=1.0, backend: str = "auto") -> float:
    """Centered kernel alignment (Kornblith et al. 2019).

    CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)), which with the
    biased HSIC equals A-hat(HKH, HLH).  ``debiased=True`` uses the unbiased
    HSIC of Song et al. (2012) in all three terms (needs n >= 4).

    For the linear kernel with d_X + d_Y <= n the value is computed in
    feature space, ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F), and no
    n x n matrix is formed.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        Paired representations; float32/float64 (int/bool -> float64).
    {KERNEL}
    debiased : bool
        False: biased HSIC, Tr(KHLH)/n^2, in all three terms.  True: the
        unbiased HSIC of Song et al. (2012) (needs n >= 4).

    Returns
    -------
    float
        A similarity, 1 for identical representations up to the kernel's
        invariances (linear: orthogonal maps, isotropic scaling,
        translation).  Biased CKA is in [0, 1]; debiased CKA can be slightly
        negative.

    Raises
    ------
    {RAISES}
    ValueError
        Zero variance in X or Y (CKA undefined), or a non-positive unbiased
        self-HSIC with ``debiased=True``.

    References
    ----------
    Kornblith et al. (2019) ICML; paper section 3.1.1 and 3.3 (CKA as normalised HSIC).
    """
    name = resolve_backend(backend)
    X, Y, kx, ky = _prepare(X, Y, kernel, sigma, degree, gamma, coef0, centered=True,
                            variance_for="CKA", backend_name=name)
    if debiased:
        check_min_samples(X.shape[0], 4, "debiased CKA (unbiased HSIC estimator)",
                          fix="use debiased=False")
    if name == "numpy":
        terms = numpy_ref.cka_terms(X.astype(np.float64), Y.astype(np.float64), kx, ky, debiased)
    else:
        terms = hsic_terms(_stats(X, Y, kx, ky, get_backend(name), rows=debiased), debiased)
    return _ratio(*terms, "CKA")


@_doc
def mmd2(X, Y, kernel: str = "rbf", *, estimator: str = "biased", sigma=None, degree=3,
         gamma=None, coef0=1.0, backend: str = "auto") -> float:
    """Squared maximum mean discrepancy between two samples in one space.

    MMD^2 = E k(x, x') + E k(y, y') - 2 E k(x, y)   (Gretton et al. 2012, Lemma 6)

    * biased (V-statistic, eq. 5): every mean over all pairs, diagonals included;
    * unbiased (U-statistic, eq. 3): the within-sample means skip i == j, so
      it needs m, n >= 2 and can be negative.

    The samples are *not* paired and may differ in size, but must share the
    feature dimension.  Translation-invariant kernels see the pooled sample
    centred; the two samples are never centred separately.

    Parameters
    ----------
    X : array_like, shape (m, d)
    Y : array_like, shape (n, d)
    estimator : {"biased", "unbiased"}
    kernel : {"linear", "rbf", "laplacian", "polynomial"}
        Default "rbf".
    sigma : None or float
        Bandwidth; None applies the median heuristic to the pooled sample.
    degree, gamma, coef0, backend
        As for :func:`hsic`.

    Returns
    -------
    float, in squared kernel units (a discrepancy: 0 for equal samples).

    Raises
    ------
    {RAISES}
    ValueError
        X and Y with a different number of features.

    References
    ----------
    Paper section 3.4; Gretton et al. (2012) "A kernel two-sample test", JMLR 13.
    """
    check_option(estimator, ESTIMATORS, "estimator")
    name = resolve_backend(backend)
    X = as_representation(X, "X", min_samples=2)
    Y = as_representation(Y, "Y", min_samples=2)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X and Y must live in the same space for MMD; got d_X={X.shape[1]} and "
            f"d_Y={Y.shape[1]} features. Compare representations with the same number of features."
        )
    if np.ndim(sigma) != 0:
        raise ValueError("sigma for mmd2 must be None or one positive number (one shared space).")
    Z = np.vstack([X.astype(np.float64), Y.astype(np.float64)])
    k = resolve_kernel(kernel, Z, sigma, degree=degree, gamma=gamma, coef0=coef0)
    if kernel in TRANSLATION_INVARIANT:
        mean = Z.mean(axis=0)
        X, Y = X.astype(np.float64) - mean, Y.astype(np.float64) - mean
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    unbiased = estimator == "unbiased"
    if name == "numpy":
        return numpy_ref.mmd2(X, Y, k, unbiased)
    be = get_backend(name)
    m, n = X.shape[0], Y.shape[0]
    sxx = be.kernel_sum(X, X, k, exclude_diag=unbiased)
    syy = be.kernel_sum(Y, Y, k, exclude_diag=unbiased)
    sxy = be.kernel_sum(X, Y, k)
    if unbiased:
        return float(sxx / (m * (m - 1)) + syy / (n * (n - 1)) - 2.0 * sxy / (m * n))
    return float(sxx / m**2 + syy / n**2 - 2.0 * sxy / (m * n))


def distance_alignment(X, Y, *, backend: str = "auto") -> float:
    """The paper's distance alignment D(d_1, d_2) on the empirical measure.

    D = (1/n^2) sum_{i,j} ( ||x_i - x_j||^2 - ||y_i - y_j||^2 )^2

    with Euclidean distances (paper section 3.2, the integral over mu x mu
    replaced by the sample average over all n^2 ordered pairs).  The
    ``cpu`` and ``cuda`` backends use the exact feature-space expansion
    (X, Y centred, u_i = ||x_i||^2 - ||y_i||^2)::

        n^2 D = 2n sum u_i^2 + 2 (sum u_i)^2
                + 4 (||X^T X||_F^2 + ||Y^T Y||_F^2 - 2 ||X^T Y||_F^2)

    which is O(n d^2) and forms no n x n matrix; its rounding error is
    absolute (about 1e-15 times the squared scale of the distances).

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    backend : {"auto", "numpy", "cpu", "cuda"}

    Returns
    -------
    float >= 0, in squared-squared feature units (a discrepancy: 0 when the
    two point clouds are isometric).  For unit-norm rows and linear kernels,
    D = 4 (m1 + m2 - 2 sqrt(m1 m2) A-hat) with m_q = mean(K_q^2); the paper's
    D = 8C(1 - A) needs ||K_q||^2 = C (erratum, see lesson 01).

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf, different n, unknown backend.

    References
    ----------
    Paper section 3.2 ("Distance alignment", "Equivalence between KA and DA").
    """
    name = resolve_backend(backend)
    X, Y = as_pair(X, Y)
    X = _center(X, backend_name=name)
    Y = _center(Y, backend_name=name)
    if name == "numpy":
        return numpy_ref.distance_alignment(X, Y)
    matmul = get_backend(name).matmul
    n = X.shape[0]
    u = np.einsum("ij,ij->i", X, X) - np.einsum("ij,ij->i", Y, Y)
    XtX, YtY, XtY = matmul(X.T, X), matmul(Y.T, Y), matmul(X.T, Y)
    total = (2.0 * n * float(u @ u) + 2.0 * float(u.sum()) ** 2
             + 4.0 * (float(np.sum(XtX * XtX)) + float(np.sum(YtY * YtY))
                      - 2.0 * float(np.sum(XtY * XtY))))
    return max(total / n**2, 0.0)


def _unit_rows(A: np.ndarray, label: str) -> np.ndarray:
    """Rows scaled to unit L2 norm, in float64, for any finite magnitude.

    Each row is divided by its largest |entry| first, so squaring cannot
    overflow (entries near 1e300) or underflow (near 1e-300); the result
    depends only on the row itself, so duplicate rows stay bitwise equal.
    """
    A = A.astype(np.float64)
    peak = np.max(np.abs(A), axis=1)
    if not np.all(peak > 0):
        i = int(np.argmin(peak))
        raise ValueError(f"{label}[{i}] has norm 0 and cannot be L2-normalised; drop that row.")
    A = A / peak[:, None]            # the same arithmetic as neighbors._unit_rows: the same sets
    return np.ascontiguousarray(A / np.linalg.norm(A, axis=1)[:, None])


def mutual_knn(X, Y, k: int = 10, *, backend: str = "auto") -> float:
    """Mutual k-nearest-neighbour alignment (Huh et al. 2024).

    Rows are L2-normalised; the neighbours N_k(i) of sample i are the k other
    samples with the largest inner product (a point is not its own
    neighbour; ties go to the smaller index).  The inner product of rows i
    and j is the float64 sum over features in order, so it depends only on
    the two rows: duplicate rows tie exactly, and every backend applies the
    tie rule to the same numbers and returns the same sets.  The score is::

        m_kNN = (1/n) sum_i |N_k^X(i) & N_k^Y(i)| / k

    Not in the paper (its only metric notion is distance alignment), but the
    standard measure of the Platonic representation hypothesis.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    k : int, 1 <= k < n
    backend : {"auto", "numpy", "cpu", "cuda"}

    Returns
    -------
    float in [0, 1] (a similarity; chance level is about k / (n - 1)).

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf, different n, k < 1 or k >= n, a row of norm 0
        (cannot be L2-normalised), unknown backend; k > 64 on the cuda
        backend (its per-thread top-k list is bounded: use backend="cpu").

    References
    ----------
    Huh, Cheung, Wang, Isola (2024) "The Platonic Representation Hypothesis", ICML.
    """
    name = resolve_backend(backend)
    X, Y = as_pair(X, Y)
    n = X.shape[0]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n:
        hint = "pass an int" if not isinstance(k, (int, np.integer)) or isinstance(k, bool) else (
            "choose a smaller k" if k >= n else "choose k >= 1")
        raise ValueError(f"k must be an integer with 1 <= k < n = {n}; got k={k!r}: {hint}.")
    k = int(k)
    normed = [_unit_rows(X, "X"), _unit_rows(Y, "Y")]
    if name == "numpy":
        return numpy_ref.mutual_knn(normed[0], normed[1], k)
    be = get_backend(name)
    counts = be.knn_overlap(be.knn_sets(normed[0], k), be.knn_sets(normed[1], k))
    return float(counts.sum() / (n * k))
