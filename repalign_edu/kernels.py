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
from scipy.spatial.distance import pdist

from ._validation import as_representation, check_option, check_positive

KERNELS = ("linear", "rbf", "laplacian", "polynomial")
KERNEL_CODES = {name: code for code, name in enumerate(KERNELS)}
#: kernels whose value depends on x - x' only; their measures may centre features freely.
TRANSLATION_INVARIANT = ("rbf", "laplacian")


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

    @property
    def code(self) -> int:
        return KERNEL_CODES[self.name]

    @property
    def a(self) -> float:
        if self.name == "rbf":
            return 1.0 / (2.0 * self.sigma**2)
        if self.name == "laplacian":
            return 1.0 / self.sigma
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
    X = as_representation(X, "X", min_samples=2)
    n = X.shape[0]
    if n > max_samples:
        idx = np.sort(np.random.default_rng(seed).choice(n, size=max_samples, replace=False))
        X = X[idx]
        n = max_samples
    Xc = X.astype(np.float64) - X.mean(axis=0, dtype=np.float64)
    sq = pdist(Xc, "sqeuclidean")
    if include_diagonal:
        # all n^2 ordered pairs: each distinct pair twice plus n zeros
        sq = np.concatenate([sq, sq, np.zeros(n)])
    med = float(np.median(sq))
    if not med > 0:
        raise ValueError(
            "X: the median pairwise distance is 0 (most rows are identical), so the "
            "median heuristic gives no bandwidth; pass sigma= explicitly."
        )
    return float(np.sqrt(med))


def resolve_kernel(kernel: str, X: np.ndarray, sigma=None, *, degree=3, gamma=None,
                   coef0=1.0, name: str = "sigma") -> KernelParams:
    """Turn a kernel name and options into :class:`KernelParams` for one representation.

    ``sigma=None`` applies :func:`median_heuristic` to ``X``.

    Raises
    ------
    ValueError
        Unknown kernel; sigma, gamma or degree <= 0.
    """
    check_option(kernel, KERNELS, "kernel")
    if kernel in ("rbf", "laplacian"):
        s = median_heuristic(X) if sigma is None else check_positive(sigma, name)
        return KernelParams(kernel, sigma=s)
    if kernel == "polynomial":
        g = 1.0 / X.shape[1] if gamma is None else check_positive(gamma, "gamma")
        deg = check_positive(degree, "degree")
        return KernelParams(kernel, degree=deg, gamma=g, coef0=float(coef0))
    return KernelParams("linear")


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


def gram_from_params(X: np.ndarray, p: KernelParams) -> np.ndarray:
    """Gram matrix K_ij = k(x_i, x_j) for resolved parameters (float64, (n, n))."""
    X = np.asarray(X, dtype=np.float64)
    G = X @ X.T
    if p.name == "linear":
        return G
    if p.name == "polynomial":
        return (p.gamma * G + p.coef0) ** p.degree
    sq_norms = np.diag(G)
    sq = np.maximum(sq_norms[:, None] + sq_norms[None, :] - 2.0 * G, 0.0)
    if p.name == "rbf":
        return np.exp(-sq / (2.0 * p.sigma**2))
    return np.exp(-np.sqrt(sq) / p.sigma)


def gram_matrix(X, kernel: str = "linear", *, sigma=None, degree=3, gamma=None,
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
    X = as_representation(X, "X", min_samples=1)
    p = resolve_kernel(kernel, X, sigma, degree=degree, gamma=gamma, coef0=coef0)
    if p.name in TRANSLATION_INVARIANT:
        X = X.astype(np.float64) - X.mean(axis=0, dtype=np.float64)
    return gram_from_params(X, p)


def centering_matrix(n: int) -> np.ndarray:
    """The centering matrix H = I_n - (1/n) 1 1^T, shape (n, n), float64."""
    return np.eye(n) - np.full((n, n), 1.0 / n)
