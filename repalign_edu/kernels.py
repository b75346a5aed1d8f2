"""Kernel definitions and bandwidth rules.

Kernels (x, x' are rows of a representation, ``d`` its number of features):

============  =================================================  ==========
name          k(x, x')                                           parameters
============  =================================================  ==========
linear        <x, x'>                                            --
rbf           exp(-||x - x'||^2 / (2 sigma^2))  (Gaussian)       sigma
laplacian     exp(-||x - x'|| / sigma)  (Euclidean norm)         sigma
polynomial    (gamma <x, x'> + coef0)^degree                     degree, gamma, coef0
============  =================================================  ==========

``sigma`` is a length in the units of the features.  ``gamma`` defaults to
1/d, as in scikit-learn's ``polynomial_kernel``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.spatial.distance import cdist, pdist

from numbers import Integral

from ._validation import (as_representation, check_bool, check_option, check_positive,
                          check_scalar, check_seed)

KERNELS = ("linear", "rbf", "laplacian", "polynomial")
KERNEL_CODES = {name: code for code, name in enumerate(KERNELS)}
#: kernels whose value depends on x - x' only; their measures may centre features freely.
TRANSLATION_INVARIANT = ("rbf", "laplacian")
#: largest exponent scale a of rbf/laplacian (see :attr:`KernelParams.a`)
A_MAX = 1e300


@dataclass(frozen=True)
class KernelParams:
    """A fully resolved kernel: name plus numeric parameters.

    ``code`` indexes :data:`KERNELS` (used by the Numba backends).  ``a`` is
    1/(2 sigma^2) for rbf, 1/sigma for laplacian and gamma for polynomial;
    ``coef0`` and ``degree`` are used by the polynomial kernel only.
    """

    name: str
    sigma: float = float("nan")
    degree: float = 3.0
    gamma: float = float("nan")
    coef0: float = 1.0
    #: compute k - k0 instead of k, without cancellation (k0 = 1 for rbf/laplacian via
    #: expm1, coef0**degree for polynomial via expm1/log1p; the linear kernel ignores it).
    #: Centred measures and MMD are unchanged by the constant k0.
    shift: bool = False

    @property
    def code(self) -> int:
        return KERNEL_CODES[self.name]

    @property
    def a(self) -> float:
        """The scale in the exponent (rbf, laplacian) or gamma (polynomial).

        Computed as 0.5 / sigma / sigma, so no sigma overflows; capped at
        ``A_MAX`` so that a * 0 is 0 (not NaN) for the tiniest bandwidths: for
        data of unit scale every other squared distance is then far beyond
        the point where exp(-a sq) is 0, which is the limit sigma -> 0.
        """
        if self.name == "rbf":
            return min(0.5 / self.sigma / self.sigma, A_MAX)
        if self.name == "laplacian":
            return min(1.0 / self.sigma, A_MAX)
        if self.name == "polynomial":
            return self.gamma
        return 0.0

    def as_tuple(self):
        """(code, a, coef0, degree): what the Numba kernels take."""
        return self.code, float(self.a), float(self.coef0), float(self.degree)


def median_heuristic(X, *, include_diagonal: bool = False, max_samples: int = 2000,
                     seed: int = 0) -> float:
    """Median-heuristic bandwidth sigma of a representation.

    Convention used throughout repalign-edu (Gretton et al. 2005; 2012)::

        sigma = sqrt( median_{i < j} ||x_i - x_j||^2 )

    i.e. the median of the squared Euclidean distances over distinct pairs,
    with the n zero self-distances excluded, and no extra factor of 2.
    Other conventions are one call away: Kornblith et al.'s (2019) demo uses
    ``sigma = 0.5 * median_heuristic(X, include_diagonal=True)``.

    Parameters
    ----------
    X : array_like, shape (n, d)
    include_diagonal : bool
        Include the n zeros d(x_i, x_i) (all n^2 ordered pairs), as in
        Kornblith et al.'s code.
    max_samples : int
        For n > max_samples the median is taken over a uniform random subset
        of ``max_samples`` rows (without replacement; ``seed`` fixes it), so
        the cost stays O(max_samples^2 d) for 100,000 embeddings.
    seed : int
        Seed of ``numpy.random.default_rng`` for the subset.

    Returns
    -------
    float
        sigma > 0, in the units of X.

    Raises
    ------
    ValueError
        Invalid X (see :func:`as_representation`), or all sampled rows equal
        (the median distance is 0, so no bandwidth exists): pass ``sigma=``.
    """
    include_diagonal = check_bool(include_diagonal, "include_diagonal")
    max_samples = check_scalar(max_samples, "max_samples", Integral, min_val=2,
                               fix="Pass an integer >= 2 (the size of the random subset).")
    seed = check_seed(seed)
    return _median_heuristic(as_representation(X, "X", min_samples=2), include_diagonal,
                             max_samples, seed)


def _median_heuristic(X, include_diagonal=False, max_samples=2000, seed=0, name="X") -> float:
    """:func:`median_heuristic` of a validated array; ``name`` is used in the error."""
    n = X.shape[0]
    if n > max_samples:
        idx = np.sort(np.random.default_rng(seed).choice(n, size=max_samples, replace=False))
        X = X[idx]
        n = max_samples
    Xc, c = unit_scale(X.astype(np.float64) - X.mean(axis=0, dtype=np.float64))
    sq = pdist(Xc, "sqeuclidean")
    if include_diagonal:
        # all n^2 ordered pairs: each distinct pair twice plus n zeros
        sq = np.concatenate([sq, sq, np.zeros(n)])
    med = float(np.median(sq))
    if not med > 0:
        raise ValueError(
            f"{name}: the median pairwise distance is 0 (most rows are identical), so the "
            "median heuristic gives no bandwidth; pass sigma= explicitly."
        )
    return float(np.sqrt(med)) * c


@njit(cache=True, nogil=True)
def _abs_max(flat):
    """max |a| over a 1-D array, in one pass (np.max(np.abs(A)) needs a temporary, max and
    min two passes; the linear route reads each input only a few times)."""
    m = 0.0
    for v in flat:
        a = abs(v)
        if a > m:
            m = a
    return m


def unit_scale(A: np.ndarray):
    """(A / c, c) with c a power of two close to max|A| when max|A| is outside [2^-60, 2^60].

    Dividing by a power of two is exact, so scale-invariant measures see the
    same digits, and squares of entries near 1e300 (or 1e-300) no longer
    overflow (or underflow).  c = 1 for ordinary data, which is left untouched.
    """
    if not A.size:
        m = 0.0
    elif isinstance(A, np.ndarray) and A.dtype in (np.float32, np.float64):
        m = float(_abs_max(A.reshape(-1)))   # a view for C-contiguous A (validated inputs are)
    else:
        m = float(np.max(np.abs(A)))
    if m == 0.0 or 2.0**-60 <= m <= 2.0**60:
        return A, 1.0
    c = float(np.ldexp(1.0, int(np.frexp(m)[1])))
    return A / A.dtype.type(c) if np.isfinite(A.dtype.type(c)) else (A / c).astype(A.dtype), c


def resolve_kernel(kernel, X: np.ndarray, sigma=None, *, degree=3, gamma=None,
                   coef0=1.0, name: str = "sigma", rep: str = "X") -> KernelParams:
    """Turn a kernel name (or :class:`Kernel`) and options into :class:`KernelParams` for one representation.

    ``sigma=None`` applies :func:`median_heuristic` to ``X`` (``rep`` names it in errors).

    Raises
    ------
    ValueError
        Unknown kernel; sigma or gamma not a finite number > 0; degree not a
        positive integer; coef0 not a finite number >= 0.
    """
    if isinstance(kernel, Kernel):
        kernel, sigma, degree, gamma, coef0 = (kernel.name, kernel.sigma, kernel.degree,
                                               kernel.gamma, kernel.coef0)
        if np.ndim(sigma) != 0:
            raise ValueError("a Kernel with a pair sigma=(sigma_X, sigma_Y) needs two "
                             "representations; pass one bandwidth here.")
    check_option(kernel, KERNELS, "kernel")
    if kernel in ("rbf", "laplacian"):
        s = _median_heuristic(X, name=rep) if sigma is None else check_positive(sigma, name)
        return KernelParams(kernel, sigma=s)
    if kernel == "polynomial":
        deg, g, c0 = _check_polynomial(degree, gamma, coef0)
        return KernelParams(kernel, degree=float(deg), gamma=1.0 / X.shape[1] if g is None else g,
                            coef0=c0)
    return KernelParams("linear")


def _check_polynomial(degree, gamma, coef0):
    """Validated (degree, gamma or None, coef0) of the polynomial kernel."""
    deg = check_scalar(degree, "degree", Integral, min_val=1,
                       fix="The polynomial kernel needs a positive integer degree, e.g. degree=3.")
    g = check_scalar(gamma, "gamma", min_val=0, include_boundaries="neither", allow_none=True,
                     fix="Pass gamma=None for 1 / n_features.")
    c0 = check_scalar(coef0, "coef0", min_val=0,
                      fix="coef0 >= 0 keeps the polynomial kernel positive semi-definite.")
    return deg, g, c0


@dataclass(frozen=True)
class Kernel:
    """A kernel with its parameters, accepted wherever ``kernel=`` is.

    ``Kernel("rbf", sigma=2.0)`` is the same as ``kernel="rbf", sigma=2.0``.

    Parameters
    ----------
    name : {"linear", "rbf", "laplacian", "polynomial"}
    sigma : None, float or (float, float)
        Bandwidth of rbf/laplacian (None: median heuristic per representation).
    degree : int >= 1
    gamma : float > 0 or None (1 / n_features)
    coef0 : float >= 0
        Polynomial kernel (gamma <x, x'> + coef0)^degree.

    Raises
    ------
    ValueError
        Unknown name or invalid parameter (validated at construction).

    Examples
    --------
    >>> import numpy as np, repalign_edu as ra
    >>> X = np.random.default_rng(0).normal(size=(30, 3))
    >>> ra.cka(X, 2 * X, ra.Kernel("rbf", sigma=1.5)) == ra.cka(X, 2 * X, "rbf", sigma=1.5)
    True
    """

    name: str = "linear"
    sigma: object = None
    degree: int = 3
    gamma: object = None
    coef0: float = 1.0

    def __post_init__(self):
        check_option(self.name, KERNELS, "kernel")
        sx, sy = split_sigma(self.sigma)
        for s in (sx, sy):
            if s is not None:
                check_positive(s, "sigma")
        if self.name == "polynomial":
            _check_polynomial(self.degree, self.gamma, self.coef0)


_KERNEL_DEFAULTS = (None, 3, None, 1.0)


def as_kernel(kernel, sigma=None, degree=3, gamma=None, coef0=1.0) -> Kernel:
    """One :class:`Kernel` from ``kernel=`` (a name or a Kernel) and the keyword options.

    Raises
    ------
    ValueError
        A Kernel together with explicit sigma/degree/gamma/coef0 keywords
        (say them once), or an invalid kernel or parameter.
    """
    if isinstance(kernel, Kernel):
        given = (sigma, degree, gamma, coef0)
        if any(g is not d and g != d for g, d in zip(given, _KERNEL_DEFAULTS)):
            raise ValueError(f"kernel={kernel!r} already carries its parameters; do not also pass "
                             "sigma=, degree=, gamma= or coef0=.")
        return kernel
    if not isinstance(kernel, str):
        raise ValueError(f"kernel must be one of {', '.join(map(repr, KERNELS))} or a "
                         f"repalign_edu.Kernel; got {kernel!r}.")
    return Kernel(kernel, sigma, degree, gamma, coef0)


def resolve_pair(kernel: Kernel, X: np.ndarray, Y: np.ndarray):
    """(KernelParams of X, KernelParams of Y) for a :class:`Kernel`; a pair sigma sets each side."""
    sx, sy = split_sigma(kernel.sigma)
    opts = dict(degree=kernel.degree, gamma=kernel.gamma, coef0=kernel.coef0)
    return (resolve_kernel(kernel.name, X, sx, name="sigma", rep="X", **opts),
            resolve_kernel(kernel.name, Y, sy, name="sigma", rep="Y", **opts))


def split_sigma(sigma):
    """Split ``sigma`` into (sigma_X, sigma_Y): None, a scalar for both, or a pair."""
    if sigma is None or np.isscalar(sigma):
        return sigma, sigma
    try:
        sx, sy = sigma
    except (TypeError, ValueError):
        raise ValueError(
            f"sigma must be None, a positive number, or a pair (sigma_X, sigma_Y); got {sigma!r}."
        ) from None
    return sx, sy


def shifted_power(t, s, degree):
    """(s + t)**degree - s**degree without cancellation when |t| << s.

    Uses s**degree * expm1(degree * log1p(t / s)) where s > 0 and t > -s / 2,
    the direct difference elsewhere (where it loses nothing).
    """
    t = np.asarray(t, dtype=np.float64)
    direct = (s + t) ** degree - s ** degree
    if not s > 0:
        return direct
    ok = t > -0.5 * s
    with np.errstate(all="ignore"):
        smooth = s ** degree * np.expm1(degree * np.log1p(np.where(ok, t, 0.0) / s))
    return np.where(ok, smooth, direct)


def gram_from_params(X: np.ndarray, p: KernelParams, aux=None) -> np.ndarray:
    """Gram matrix K_ij = k(x_i, x_j) for resolved parameters (float64, (n, n)).

    With ``p.shift`` it returns K - k0 (see :class:`KernelParams`), computed
    with ``expm1`` so that no digit is lost when K is nearly constant.
    ``aux`` (polynomial only, length n) adds aux_i + aux_j to gamma <x_i, x_j>
    inside the power: the offset form of :func:`~repalign_edu.backends.stats.stream_inputs`.
    """
    X = np.asarray(X, dtype=np.float64)
    if p.name == "linear":
        return X @ X.T
    if p.name == "polynomial":
        t = p.gamma * (X @ X.T)
        if aux is not None:
            t = t + (aux[:, None] + aux[None, :])
        return shifted_power(t, p.coef0, p.degree) if p.shift else (t + p.coef0) ** p.degree
    sq = cdist(X, X, "sqeuclidean")      # explicit differences: exact zeros, no cancellation
    arg = -p.a * sq if p.name == "rbf" else -p.a * np.sqrt(sq)
    return np.expm1(arg) if p.shift else np.exp(arg)


def gram_matrix(X, kernel="linear", *, sigma=None, degree=3, gamma=None,
                coef0=1.0) -> np.ndarray:
    """Gram matrix K with K_ij = k(x_i, x_j).

    Parameters
    ----------
    X : array_like, shape (n, d)
        float32/float64; integer or boolean input is converted to float64.
    kernel : {"linear", "rbf", "laplacian", "polynomial"}
        See the module docstring for formulas.
    sigma : float, optional
        Bandwidth for "rbf" and "laplacian" (units of X); None uses
        :func:`median_heuristic`.
    degree, gamma, coef0 : float
        Polynomial kernel (gamma=None means 1/d).

    Returns
    -------
    ndarray, shape (n, n), float64
        Symmetric positive semi-definite.  This materialises n x n: use the
        measures' ``cpu``/``cuda`` backends for large n.

    Raises
    ------
    ValueError
        Bad X, unknown kernel, sigma <= 0.

    References
    ----------
    Paper section 3.1.1 (kernel matrices K_{q,n}); Schoelkopf & Smola (2002).
    """
    return gram_of(as_representation(X, "X", min_samples=1),
                   as_kernel(kernel, sigma, degree, gamma, coef0))


def gram_of(X: np.ndarray, k: "Kernel", *, name: str = "X", shift: bool = False) -> np.ndarray:
    """:func:`gram_matrix` of a validated array for a :class:`Kernel` (``name`` in errors).

    ``shift=True`` returns K - k0 (see :class:`KernelParams`), for callers
    that centre K next and must not lose its digits when K is nearly constant.
    """
    X = X.astype(np.float64)
    if np.ndim(k.sigma) != 0:
        raise ValueError("gram_matrix takes one bandwidth: sigma must be None or a number.")
    if k.name in TRANSLATION_INVARIANT:
        X, c = unit_scale(X - X.mean(axis=0))          # exact: K depends on X / sigma only
        if k.sigma is not None:
            k = Kernel(k.name, k.sigma / c)
    p = resolve_kernel(k, X, rep=name)
    if shift:
        p = KernelParams(p.name, p.sigma, p.degree, p.gamma, p.coef0, shift=True)
    with np.errstate(over="ignore", invalid="ignore"):
        G = gram_from_params(X, p)
    if not np.all(np.isfinite(G)):
        raise ValueError(f"the {p.name} Gram matrix of {name} overflows float64; rescale {name} (e.g. "
                         "divide it by its largest entry) or use a bounded kernel such as 'rbf'.")
    return G


def centering_matrix(n: int) -> np.ndarray:
    """The centering matrix H = I_n - (1/n) 1 1^T, shape (n, n), float64.

    Raises
    ------
    ValueError
        n not an integer >= 1.
    """
    n = check_scalar(n, "n", Integral, min_val=1, fix="H is defined for n >= 1 samples.")
    return np.eye(n) - np.full((n, n), 1.0 / n)
