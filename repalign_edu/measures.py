"""Alignment measures: definitions, validation and backend dispatch.

Every measure takes representations X (n, d_X) and Y (n, d_Y) whose rows are
paired, and ``backend="auto" | "numpy" | "cpu" | "cuda"``:

* ``numpy`` -- the textbook reference (:mod:`repalign_edu.backends.numpy_ref`), materialises n x n;
* ``cpu``   -- Numba ``njit(parallel=True)``, streaming tiles, no n x n matrix;
* ``cuda``  -- ``numba.cuda`` kernels, streaming tiles;
* ``auto``  -- ``cuda`` on a real GPU, else ``cpu``.

Each measure validates its input once (:mod:`repalign_edu._validation`),
resolves the kernels (:class:`~repalign_edu.kernels.Kernel` or a name plus
keywords), asks :mod:`repalign_edu.backends.algebra` to combine the chosen
backend's building blocks (:mod:`repalign_edu.backends.base`), and checks the
range of the result.  No measure knows which backend it talks to.  Inputs
with entries beyond 2^+-60 are first divided by a power of two (exact), so
scale-invariant measures return the value of the unscaled input and the
others raise a ValueError instead of overflowing.

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

import warnings
from numbers import Integral

import numpy as np

from ._validation import (ESTIMATORS, as_pair, as_representation, check_bool, check_min_samples,
                          check_option)
from .backends import algebra, get_backend, resolve_backend
from .kernels import TRANSLATION_INVARIANT, Kernel, as_kernel, resolve_kernel, resolve_pair, unit_scale


# --------------------------------------------------------------------------- boundary helpers
def _all_rows_equal(A: np.ndarray, chunk: int = 4096) -> bool:
    """True if every row equals row 0; returns at the first differing chunk (O(d) for real data)."""
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


def _scaled(A: np.ndarray, k: Kernel):
    """(A / c, c): exact power-of-two rescaling of extreme inputs (see unit_scale).

    The translation-invariant kernels see A / c with the bandwidth divided by
    c, the same kernel values; linear values scale by c^2 (undone by the
    caller where a measure is not scale invariant).  Polynomial kernels are
    left alone: their values are not scale covariant.
    """
    if k.name == "polynomial":
        return A, 1.0
    return unit_scale(A)


def _kernels(X, Y, kernel: Kernel):
    """Rescale X, Y where safe and resolve both kernels: (X, Y, kx, ky, c_X, c_Y)."""
    X, cx = _scaled(X, kernel)
    Y, cy = _scaled(Y, kernel)
    if kernel.sigma is not None and kernel.name in TRANSLATION_INVARIANT and (cx != 1 or cy != 1):
        sx, sy = (kernel.sigma, kernel.sigma) if np.ndim(kernel.sigma) == 0 else kernel.sigma
        kernel = Kernel(kernel.name, (sx / cx, sy / cy), kernel.degree, kernel.gamma, kernel.coef0)
    kx, ky = resolve_pair(kernel, X, Y)
    return X, Y, kx, ky, cx, cy


def _prepare(X, Y, kernel, sigma, degree, gamma, coef0, *, centered, variance_for=None,
             backend_name="cpu"):
    """Validated (X, Y), centred where the measure centres, and both kernels.

    Kept for the permutation engines of :mod:`repalign_edu.inference`, which
    build their own statistics: translation-invariant kernels, and the
    linear kernel of a centred measure, see centred features (through the
    backend's ``center``); ``variance_for`` names a measure undefined at zero
    variance.  New code should call the building blocks of
    :mod:`repalign_edu.backends.base` (``gram_stats(..., centered=True)``).
    """
    X, Y = as_pair(X, Y)
    if variance_for:
        _check_variance(X, Y, variance_for)
    k = as_kernel(kernel, sigma, degree, gamma, coef0)
    kx, ky = resolve_pair(k, X, Y)
    if k.name in TRANSLATION_INVARIANT or (k.name == "linear" and centered):
        be = get_backend(resolve_backend(backend_name))
        X, Y = be.center(X), be.center(Y)
    return X, Y, kx, ky


#: kept for the permutation engines (see :func:`_prepare`)
_use_feature_space = algebra.use_feature_space


def _finite(value: float, what: str, fix: str) -> float:
    """Return ``value`` as a float, or raise a ValueError if rounding made it NaN or +-inf."""
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{what} overflows float64 (the result is {value}). {fix}")
    return value


def _clip(value: float, lo: float, hi: float, scale: float, what: str) -> float:
    """Clip a bounded measure into [lo, hi] when the excess is rounding (<= 1e-9 * scale).

    A larger excess is a bug, not rounding, and raises instead of being hidden.
    """
    tol = 1e-9 * max(scale, 1e-300)
    if value < lo - tol or value > hi + tol:
        raise ValueError(f"internal error: {what} = {value!r} is outside [{lo}, {hi}] by more "
                         "than rounding; please report this with the input.")
    return float(min(max(value, lo), hi))


def _ratio(num: float, a: float, b: float, what: str) -> float:
    """num / sqrt(a b), raising a ValueError when a or b is not positive."""
    for val, name in ((a, "X"), (b, "Y")):
        if not val > 0:
            raise ValueError(
                f"{what} is undefined: the self-similarity term of {name} is {val:.3g} <= 0 "
                f"(the kernel is constant or zero on {name}, e.g. a bandwidth far larger than "
                f"the spread of {name}, or an unbiased HSIC({name}, {name}) estimate is negative "
                "at small n). Use more samples, the biased estimator, another bandwidth or kernel."
            )
    return float(num / np.sqrt(a) / np.sqrt(b))


def _estimator(estimator, debiased, name: str) -> bool:
    """True for the unbiased estimator; ``debiased=`` is the deprecated spelling."""
    if debiased is not None:
        warnings.warn(f"{name}(debiased=...) is deprecated; use estimator='unbiased' or "
                      "estimator='biased'.", DeprecationWarning, stacklevel=3)
        return check_bool(debiased, "debiased")
    return check_option(estimator, ESTIMATORS, "estimator") == "unbiased"


_KERNEL_PARAMS_DOC = """    kernel : {"linear", "rbf", "laplacian", "polynomial"} or Kernel
        A name, or a :class:`~repalign_edu.kernels.Kernel` carrying its parameters.
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


_OVERFLOW_FIX = ("The kernel values overflow: rescale the representations (e.g. divide by their "
                 "largest entry), lower the polynomial degree or use a bounded kernel.")


def _doc(f):
    f.__doc__ = f.__doc__.replace("{KERNEL}", _KERNEL_PARAMS_DOC.strip()).replace(
        "{RAISES}", _RAISES_DOC.strip())
    return f


# --------------------------------------------------------------------------- measures
@_doc
def kernel_alignment(X, Y, kernel="linear", *, centered: bool = False, sigma=None,
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
    if check_bool(centered, "centered"):
        return cka(X, Y, kernel, sigma=sigma, degree=degree, gamma=gamma, coef0=coef0,
                   backend=backend)
    be = get_backend(resolve_backend(backend))
    X, Y, kx, ky, _, _ = _kernels(*as_pair(X, Y), as_kernel(kernel, sigma, degree, gamma, coef0))
    num, a, b = algebra.kernel_alignment_terms(be, X, Y, kx, ky)
    value = _ratio(_finite(num, "<K, L>", _OVERFLOW_FIX), _finite(a, "<K, K>", _OVERFLOW_FIX),
                   _finite(b, "<L, L>", _OVERFLOW_FIX), "kernel alignment")
    # every kernel here is positive semi-definite (coef0 >= 0), so <K, L> = Tr(KL) >= 0
    return _clip(value, 0.0, 1.0, 1.0, "kernel alignment")


@_doc
def hsic(X, Y, kernel="linear", *, estimator: str = "biased", sigma=None, degree=3,
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
    unbiased = _estimator(estimator, None, "hsic")
    be = get_backend(resolve_backend(backend))
    X, Y = as_pair(X, Y)
    if unbiased:
        check_min_samples(X.shape[0], 4, "unbiased HSIC estimator")
    X, Y, kx, ky, cx, cy = _kernels(X, Y, as_kernel(kernel, sigma, degree, gamma, coef0))
    kxy, kxx, kyy = algebra.hsic_triple(be, X, Y, kx, ky, unbiased)
    if not unbiased:   # Tr(HKH HLH)/n^2 >= 0: a negative value is rounding
        kxy = _clip(kxy, 0.0, np.inf, np.sqrt(abs(kxx * kyy)), "biased HSIC")
    units = (cx * cy) * (cx * cy) if kx.name == "linear" else 1.0
    return _finite(kxy * units if kxy != 0 else 0.0, "HSIC",
                   "Rescale X and Y (e.g. divide each by its largest entry) or use a bounded "
                   "kernel such as 'rbf'.")


@_doc
def cka(X, Y, kernel="linear", *, estimator: str = "biased", sigma=None, degree=3,
        gamma=None, coef0=1.0, backend: str = "auto", debiased=None) -> float:
    """Centered kernel alignment (Kornblith et al. 2019).

    CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)), which with the
    biased HSIC equals A-hat(HKH, HLH).  ``estimator="unbiased"`` ("debiased
    CKA") uses the unbiased HSIC of Song et al. (2012) in all three terms
    (needs n >= 4).

    For the linear kernel with d_X + d_Y <= n the value is computed in
    feature space, ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F), and no
    n x n matrix is formed.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        Paired representations; float32/float64 (int/bool -> float64).
    {KERNEL}
    estimator : {"biased", "unbiased"}
        "biased": Tr(KHLH)/n^2 in all three terms.  "unbiased": the unbiased
        HSIC of Song et al. (2012) (needs n >= 4), as in :func:`hsic`.
    debiased : bool, optional
        Deprecated spelling: ``debiased=True`` means ``estimator="unbiased"``.

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
        self-HSIC with ``estimator="unbiased"``.

    References
    ----------
    Kornblith et al. (2019) ICML; paper section 3.1.1 and 3.3 (CKA as normalised HSIC).
    """
    unbiased = _estimator(estimator, debiased, "cka")
    be = get_backend(resolve_backend(backend))
    X, Y = as_pair(X, Y)
    _check_variance(X, Y, "CKA")
    if unbiased:
        check_min_samples(X.shape[0], 4, "debiased CKA (unbiased HSIC estimator)",
                          fix="use estimator='biased'")
    X, Y, kx, ky, _, _ = _kernels(X, Y, as_kernel(kernel, sigma, degree, gamma, coef0))
    terms = [_finite(t, "an HSIC term of CKA", _OVERFLOW_FIX)
             for t in algebra.hsic_triple(be, X, Y, kx, ky, unbiased)]
    return _clip(_ratio(*terms, "CKA"), -1.0 if unbiased else 0.0, 1.0, 1.0, "CKA")


@_doc
def mmd2(X, Y, kernel="rbf", *, estimator: str = "biased", sigma=None, degree=3,
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
    unbiased = _estimator(estimator, None, "mmd2")
    be = get_backend(resolve_backend(backend))
    X = as_representation(X, "X", min_samples=2)
    Y = as_representation(Y, "Y", min_samples=2)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X and Y must live in the same space for MMD; got d_X={X.shape[1]} and "
            f"d_Y={Y.shape[1]} features. Compare representations with the same number of features."
        )
    k = as_kernel(kernel, sigma, degree, gamma, coef0)
    if np.ndim(k.sigma) != 0:
        raise ValueError("sigma for mmd2 must be None or one positive number (one shared space).")
    m = X.shape[0]
    Z, c = _scaled(np.vstack([X.astype(np.float64), Y.astype(np.float64)]), k)
    if k.name != "polynomial":        # linear, rbf, laplacian: MMD is translation invariant
        Z = Z - Z.mean(axis=0)        # centre the pooled sample, never each sample on its own
    if k.sigma is not None and c != 1.0:
        k = Kernel(k.name, k.sigma / c, k.degree, k.gamma, k.coef0)
    kp = resolve_kernel(k, Z)
    kp = type(kp)(kp.name, kp.sigma, kp.degree, kp.gamma, kp.coef0, shift=kp.name != "linear")
    if kp.name == "linear":
        value = algebra.linear_mmd2(Z[:m], Z[m:], unbiased)
    else:
        exx, eyy, exy = (_finite(t, "a kernel mean of MMD^2", _OVERFLOW_FIX)
                         for t in algebra.mmd2_terms(be, Z[:m], Z[m:], kp, unbiased))
        value = exx + eyy - 2.0 * exy
        if not unbiased:   # the biased MMD^2 is a squared norm ||mu_X - mu_Y||^2 >= 0
            value = _clip(value, 0.0, np.inf, max(abs(exx), abs(eyy), abs(exy)), "biased MMD^2")
    units = c * c if kp.name == "linear" else 1.0
    return _finite(value * units if value != 0 else 0.0, "MMD^2", _OVERFLOW_FIX)


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
    be = get_backend(resolve_backend(backend))
    X, Y = as_pair(X, Y)
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    _, c = unit_scale(np.array([np.max(np.abs(X)), np.max(np.abs(Y))]))
    D = algebra.distance_alignment(be, X / c, Y / c)
    return _finite(D * (c * c) * (c * c) if D != 0 else 0.0, "distance alignment", "Rescale X and Y by a common factor "
                   "(D scales with its fourth power).")


def mutual_knn(X, Y, k: int = 10, *, backend: str = "auto") -> float:
    """Mutual k-nearest-neighbour alignment (Huh et al. 2024).

    Rows are L2-normalised; the neighbours N_k(i) of sample i are the k other
    samples with the largest inner product (a point is not its own
    neighbour; ties go to the smaller index).  The score is::

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
    be = get_backend(resolve_backend(backend))
    X, Y = as_pair(X, Y)
    n = X.shape[0]
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, Integral) or not 1 <= k < n:
        hint = ("pass an int" if isinstance(k, (bool, np.bool_)) or not isinstance(k, Integral)
                else "choose a smaller k" if k >= n else "choose k >= 1")
        raise ValueError(f"k must be an integer with 1 <= k < n = {n}; got k={k!r}: {hint}.")
    k = int(k)
    if be.MAX_KNN_K is not None and k > be.MAX_KNN_K:
        raise ValueError(f"the {be.NAME} backend supports k <= {be.MAX_KNN_K}; got k={k}. "
                         "Use backend='cpu' for larger k.")
    normed = []
    for A, label in ((X, "X"), (Y, "Y")):
        A = unit_scale(A.astype(np.float64))[0]      # rows are normalised: scale is irrelevant
        norms = np.linalg.norm(A, axis=1)
        if not np.all(norms > 0):
            bad = np.flatnonzero(~(norms > 0))
            raise ValueError(f"{label}[{bad[0]}] has norm 0 and cannot be L2-normalised ({len(bad)} "
                             f"such row(s) in {label}); drop those rows from both X and Y.")
        normed.append(np.ascontiguousarray(A / norms[:, None]))
    return _clip(algebra.mutual_knn(be, normed[0], normed[1], k), 0.0, 1.0, 1.0, "mutual k-NN")
