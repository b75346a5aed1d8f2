"""Closed forms for jointly Gaussian representations (paper section 3.4).

For a mean-zero Gaussian pair (x_1, x_2) with joint covariance::

    Sigma = [[Sigma_11, Sigma_12],
             [Sigma_21, Sigma_22]],     x_1 in R^{d_1}, x_2 in R^{d_2},

every measure of dependence is a function of the canonical correlations
rho_i (the singular values of Sigma_11^{-1/2} Sigma_12 Sigma_22^{-1/2}).  With
Sigma_q = I they are the singular values of Sigma_12, and:

* mutual information  I = -1/2 sum_i log(1 - rho_i^2)                   (paper 3.4, correct)
* squared 2-Wasserstein distance between the joint and the product of its
  marginals (Bures formula)  W_2^2 = 2 sum_i (2 - sqrt(1 + rho_i) - sqrt(1 - rho_i))
* the paper's printed value 2 sum_i (1 - sqrt(1 - rho_i^2)) is the cost of one
  particular coupling (x_1 kept fixed), hence only an upper bound on W_2^2
  (erratum, ``shared/paper-notes.md`` section 7; lesson 02).

Also here: the population distance alignment D(d_1, d_2) and the population
RBF-kernel HSIC of a Gaussian pair, used as exact oracles in the lessons.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.linalg import sqrtm

from ._validation import as_pair, check_scalar
from .kernels import unit_scale

__all__ = [
    "bures_wasserstein2",
    "canonical_correlations",
    "coupling_cost_x1_fixed",
    "distance_alignment_gaussian",
    "hsic_rbf_gaussian",
    "joint_covariance",
    "mutual_information",
    "mutual_information_additive",
    "mutual_information_from_rho",
    "sample_additive_pair",
    "sample_canonical_correlations",
    "sample_gaussian_pair",
    "sample_x1_fixed_coupling",
    "w2_independence",
    "w2_independence_from_rho",
    "w2_independence_paper",
]


# --------------------------------------------------------------------------- validation
def _check_rho(rho) -> np.ndarray:
    r = np.atleast_1d(np.asarray(rho, dtype=np.float64)) if np.asarray(rho).dtype != object else None
    if r is None or r.ndim != 1 or r.size == 0:
        raise ValueError(f"rho must be a non-empty 1-D array of canonical correlations; got "
                         f"{rho!r}.")
    if not np.all(np.isfinite(r)) or np.any(np.abs(r) >= 1.0):
        raise ValueError(f"rho must hold finite correlations with |rho_i| < 1 (|rho| = 1 "
                         f"means a deterministic relation: infinite MI); got {r}.")
    return r


def _check_dim(d, name) -> int:
    return check_scalar(d, name, Integral, min_val=1)


def _check_cov(cov, d1) -> tuple[np.ndarray, int]:
    S = np.asarray(cov, dtype=np.float64) if np.asarray(cov).dtype != object else None
    if S is None or S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] < 2:
        raise ValueError(f"cov must be a square (d_1 + d_2, d_1 + d_2) covariance matrix; got "
                         f"shape {np.shape(cov)}.")
    d1 = _check_dim(d1, "d1")
    if not d1 < S.shape[0]:
        raise ValueError(f"d1 must be between 1 and {S.shape[0] - 1} (cov has {S.shape[0]} rows); "
                         f"got d1={d1}.")
    if not np.all(np.isfinite(S)):
        raise ValueError("cov contains NaN or +-inf.")
    if not np.allclose(S, S.T, rtol=1e-10, atol=1e-12 * np.abs(S).max()):
        raise ValueError("cov must be symmetric; symmetrise it with (cov + cov.T) / 2.")
    if np.linalg.eigvalsh(S).min() <= 0:
        raise ValueError("cov must be positive definite (a non-degenerate Gaussian); its "
                         "smallest eigenvalue is <= 0.")
    return S, d1


def _psd_sqrt(S):
    """Symmetric square root of a PSD matrix via scipy.linalg.sqrtm (real part)."""
    R = sqrtm(S)
    R = np.real(R)
    return (R + R.T) / 2


# --------------------------------------------------------------------------- building blocks
def joint_covariance(rho, d1: int | None = None, d2: int | None = None) -> np.ndarray:
    """The joint covariance [[I, C], [C^T, I]] with C = diag(rho) (zero-padded).

    Parameters
    ----------
    rho : array_like, shape (r,)
        Canonical correlations, |rho_i| < 1.
    d1, d2 : int, optional
        Dimensions of x_1 and x_2 (default r each); both must be >= r.

    Returns
    -------
    ndarray, shape (d1 + d2, d1 + d2), float64
        Positive definite; its eigenvalues are 1 +- rho_i and 1.

    Raises
    ------
    ValueError
        |rho_i| >= 1, non-finite rho, or d1, d2 < len(rho).
    """
    r = _check_rho(rho)
    d1 = r.size if d1 is None else _check_dim(d1, "d1")
    d2 = r.size if d2 is None else _check_dim(d2, "d2")
    if d1 < r.size or d2 < r.size:
        raise ValueError(f"d1 and d2 must be >= len(rho) = {r.size}; got d1={d1}, d2={d2}.")
    S = np.eye(d1 + d2)
    C = np.zeros((d1, d2))
    C[np.arange(r.size), np.arange(r.size)] = r
    S[:d1, d1:] = C
    S[d1:, :d1] = C.T
    return S


def sample_gaussian_pair(rho, n: int, *, d1: int | None = None, d2: int | None = None,
                         seed=None):
    """Draw n paired samples from N(0, :func:`joint_covariance` (rho, d1, d2)).

    Parameters
    ----------
    rho : array_like, shape (r,)
    n : int >= 1
    d1, d2 : int, optional
    seed : int, Generator or None
        Passed to ``np.random.default_rng``.

    Returns
    -------
    X1 : ndarray, shape (n, d1), float64
    X2 : ndarray, shape (n, d2), float64
        Each marginal is N(0, I); corr(X1[:, i], X2[:, i]) = rho_i.

    Raises
    ------
    ValueError
        As :func:`joint_covariance`, or n < 1.
    """
    S = joint_covariance(rho, d1, d2)
    n = _check_dim(n, "n")
    d1 = np.atleast_1d(rho).size if d1 is None else d1
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, S.shape[0])) @ np.linalg.cholesky(S).T
    return Z[:, :d1].copy(), Z[:, d1:].copy()


def canonical_correlations(cov, d1: int) -> np.ndarray:
    """Population canonical correlations of a joint covariance matrix.

    rho = singular values of Sigma_11^{-1/2} Sigma_12 Sigma_22^{-1/2}, in
    decreasing order (min(d1, d2) of them).

    Parameters
    ----------
    cov : array_like, shape (d1 + d2, d1 + d2)
        Symmetric positive definite.
    d1 : int
        Size of the first block.

    Returns
    -------
    ndarray, shape (min(d1, d2),), values in [0, 1)

    Raises
    ------
    ValueError
        cov not square, symmetric and positive definite, or d1 out of range.

    References
    ----------
    Hotelling (1936); paper section 3.4 ({rho_i^2} = spectrum of Sigma_12 Sigma_21
    when Sigma_q = I).
    """
    S, d1 = _check_cov(cov, d1)
    W1 = np.linalg.inv(_psd_sqrt(S[:d1, :d1]))
    W2 = np.linalg.inv(_psd_sqrt(S[d1:, d1:]))
    return np.linalg.svd(W1 @ S[:d1, d1:] @ W2, compute_uv=False)


def sample_canonical_correlations(X, Y, *, reg: float = 0.0) -> np.ndarray:
    """Sample canonical correlations (CCA) of two paired representations.

    With the centred sample covariances S_XX, S_YY, S_XY::

        rho_hat = singular values of (S_XX + reg I)^{-1/2} S_XY (S_YY + reg I)^{-1/2}

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    reg : float >= 0
        Ridge added to both covariances (needed when a representation has
        constant or collinear features, e.g. digit pixels that are always 0).

    Returns
    -------
    ndarray, shape (min(d_X, d_Y),), decreasing, in [0, 1]
        Overfits when n is not much larger than d_X + d_Y (rho_hat -> 1).

    Raises
    ------
    ValueError
        Bad X, Y; reg < 0; a singular covariance with reg = 0 (the message
        suggests reg > 0).
    """
    X, Y = as_pair(X, Y, min_samples=3)
    reg = check_scalar(reg, "reg", Real, min_val=0.0, fix="reg is a ridge added to the covariances.")
    # canonical correlations are scale invariant: rescale extreme inputs exactly first
    X = unit_scale(X.astype(np.float64) - X.mean(axis=0))[0]
    Y = unit_scale(Y.astype(np.float64) - Y.mean(axis=0))[0]
    n = X.shape[0]
    Sxx = X.T @ X / n + reg * np.eye(X.shape[1])
    Syy = Y.T @ Y / n + reg * np.eye(Y.shape[1])
    Sxy = X.T @ Y / n
    inv_sqrt = []
    for S, name in ((Sxx, "X"), (Syy, "Y")):
        try:
            lam, V = np.linalg.eigh(S)
        except np.linalg.LinAlgError:
            raise ValueError(f"the eigendecomposition of the covariance of {name} did not "
                             "converge; check it for extreme values or pass reg > 0.") from None
        if lam.min() <= 1e-12 * max(lam.max(), 1e-300):
            raise ValueError(f"the covariance of {name} is singular (constant or collinear "
                             "features, or n <= d); pass reg > 0, e.g. reg=1e-3.")
        inv_sqrt.append((V / np.sqrt(lam)) @ V.T)
    try:
        rho = np.linalg.svd(inv_sqrt[0] @ Sxy @ inv_sqrt[1], compute_uv=False)
    except np.linalg.LinAlgError:
        raise ValueError("the SVD of the whitened cross-covariance did not converge; "
                         "pass reg > 0.") from None
    return np.clip(rho, 0.0, 1.0)


# --------------------------------------------------------------------------- mutual information
def mutual_information(cov, d1: int) -> float:
    """Mutual information of a Gaussian pair from its joint covariance.

    I(x_1; x_2) = 1/2 log( |Sigma_11| |Sigma_22| / |Sigma| )   (nats)

    Parameters
    ----------
    cov : array_like, shape (d1 + d2, d1 + d2), symmetric positive definite
    d1 : int

    Returns
    -------
    float >= 0, in nats (a dependence measure: 0 iff x_1, x_2 independent).

    Raises
    ------
    ValueError
        As :func:`canonical_correlations`.

    References
    ----------
    Paper section 3.4 ("KL Divergence to Mutual Information"); Cover & Thomas (2006), 8.5.
    """
    S, d1 = _check_cov(cov, d1)
    ld = np.linalg.slogdet
    return float(0.5 * (ld(S[:d1, :d1])[1] + ld(S[d1:, d1:])[1] - ld(S)[1]))


def mutual_information_from_rho(rho) -> float:
    """Gaussian mutual information from canonical correlations.

    I = -1/2 sum_i log(1 - rho_i^2)   (nats; paper section 3.4, correct as printed)

    Parameters
    ----------
    rho : array_like, shape (r,), |rho_i| < 1

    Returns
    -------
    float >= 0, nats.

    Raises
    ------
    ValueError
        |rho_i| >= 1 or non-finite values.
    """
    r = _check_rho(rho)
    return float(-0.5 * np.sum(np.log1p(-r**2)))


# --------------------------------------------------------------------------- Wasserstein
def bures_wasserstein2(cov1, cov2, mean1=None, mean2=None) -> float:
    """Squared 2-Wasserstein distance between two Gaussians (Bures formula).

    W_2^2(N(m1, S1), N(m2, S2)) = ||m1 - m2||^2
                                  + Tr[ S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2} ]

    Matrix square roots with ``scipy.linalg.sqrtm``.

    Parameters
    ----------
    cov1, cov2 : array_like, shape (d, d)
        Symmetric positive semi-definite.
    mean1, mean2 : array_like, shape (d,), optional (default 0)

    Returns
    -------
    float >= 0, in squared units (the paper's "W_2" is this squared value).

    Raises
    ------
    ValueError
        Non-square or differently sized matrices, non-symmetric or
        non-finite input, a negative eigenvalue, or means of the wrong length.

    References
    ----------
    Dowson & Landau (1982); Givens & Shortt (1984); paper section 3.4.
    """
    S = []
    for C, name in ((cov1, "cov1"), (cov2, "cov2")):
        C = np.asarray(C, dtype=np.float64) if np.asarray(C).dtype != object else None
        if C is None or C.ndim != 2 or C.shape[0] != C.shape[1]:
            raise ValueError(f"{name} must be a square (d, d) covariance; got shape {np.shape(C)}.")
        if not np.all(np.isfinite(C)) or not np.allclose(C, C.T, rtol=1e-10,
                                                         atol=1e-12 * max(np.abs(C).max(), 1.0)):
            raise ValueError(f"{name} must be finite and symmetric.")
        if np.linalg.eigvalsh(C).min() < -1e-10 * max(np.abs(C).max(), 1.0):
            raise ValueError(f"{name} must be positive semi-definite (a covariance).")
        S.append(C)
    if S[0].shape != S[1].shape:
        raise ValueError(f"cov1 and cov2 must have the same size; got {S[0].shape} and {S[1].shape}.")
    d = S[0].shape[0]
    m = []
    for v, name in ((mean1, "mean1"), (mean2, "mean2")):
        v = np.zeros(d) if v is None else np.asarray(v, dtype=np.float64).ravel()
        if v.shape != (d,) or not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be a finite vector of length {d}; got shape {v.shape}.")
        m.append(v)
    r1 = _psd_sqrt(S[0])
    cross = _psd_sqrt(r1 @ S[1] @ r1)
    val = float(np.sum((m[0] - m[1]) ** 2) + np.trace(S[0]) + np.trace(S[1]) - 2 * np.trace(cross))
    return max(val, 0.0)


def w2_independence(cov, d1: int) -> float:
    """Squared W_2 between a Gaussian joint and the product of its marginals.

    W_2^2( N(0, Sigma), N(0, Sigma_11) x N(0, Sigma_22) ), by the Bures formula
    with the block-diagonal covariance of the product measure.

    Parameters
    ----------
    cov : array_like, shape (d1 + d2, d1 + d2), symmetric positive definite
    d1 : int

    Returns
    -------
    float >= 0.  For Sigma_q = I it equals :func:`w2_independence_from_rho`.

    Raises
    ------
    ValueError
        As :func:`canonical_correlations`.

    References
    ----------
    Paper section 3.4 ("Wasserstein distance"), corrected (paper-notes section 7).
    """
    S, d1 = _check_cov(cov, d1)
    P = np.zeros_like(S)
    P[:d1, :d1] = S[:d1, :d1]
    P[d1:, d1:] = S[d1:, d1:]
    return bures_wasserstein2(S, P)


def w2_independence_from_rho(rho) -> float:
    """True squared W_2 (joint vs product) for unit marginals, from rho.

    With Sigma_q = I the joint covariance has eigenvalues 1 +- rho_i, so
    (Sigma^{1/2} commutes with I)::

        W_2^2 = 2 sum_i ( 2 - sqrt(1 + rho_i) - sqrt(1 - rho_i) )  ~  sum_i rho_i^2 / 2

    Parameters
    ----------
    rho : array_like, shape (r,), |rho_i| < 1

    Returns
    -------
    float >= 0

    Raises
    ------
    ValueError
        |rho_i| >= 1 or non-finite values.

    References
    ----------
    Erratum to paper section 3.4 (paper-notes section 7), derived from the Bures formula.
    """
    r = _check_rho(rho)
    return float(2.0 * np.sum(2.0 - np.sqrt(1.0 + r) - np.sqrt(1.0 - r)))


def w2_independence_paper(rho) -> float:
    """The paper's printed closed form (section 3.4), an upper bound on W_2^2.

    2 Tr[ I - (I - Sigma_12 Sigma_21)^{1/2} ] = 2 sum_i ( 1 - sqrt(1 - rho_i^2) )  ~  sum_i rho_i^2

    This is *not* W_2^2 between the joint and the product of marginals (that
    is :func:`w2_independence_from_rho`); it equals the transport cost of the
    coupling that keeps x_1 fixed (:func:`coupling_cost_x1_fixed`), so it is
    an upper bound, tight only at rho = 0.

    Parameters
    ----------
    rho : array_like, shape (r,), |rho_i| < 1

    Returns
    -------
    float >= 0

    Raises
    ------
    ValueError
        |rho_i| >= 1 or non-finite values.

    References
    ----------
    Insulla, Huang & Rosasco (2025), section 3.4 (as printed); erratum in paper-notes section 7.
    """
    r = _check_rho(rho)
    return float(2.0 * np.sum(1.0 - np.sqrt(1.0 - r**2)))


def _coupling_maps(S, d1):
    S11, S12, S22 = S[:d1, :d1], S[:d1, d1:], S[d1:, d1:]
    A = np.linalg.solve(S11, S12).T                       # E[x2 | x1] = A x1
    R = S22 - A @ S12                                     # Cov[x2 | x1]
    return A, _psd_sqrt(R), _psd_sqrt(S22), S11


def coupling_cost_x1_fixed(cov, d1: int) -> float:
    """Transport cost of the coupling that keeps x_1 fixed (joint -> product).

    Couple (x_1, x_2) ~ N(0, Sigma) with (x'_1, x'_2) ~ N(0, Sigma_11) x N(0, Sigma_22)
    by x'_1 = x_1, x_2 = A x_1 + R^{1/2} z, x'_2 = Sigma_22^{1/2} z, with
    z ~ N(0, I) independent of x_1, A = Sigma_21 Sigma_11^{-1} and
    R = Sigma_22 - Sigma_21 Sigma_11^{-1} Sigma_12.  Its cost is::

        E ||x - x'||^2 = Tr(A Sigma_11 A^T) + ||R^{1/2} - Sigma_22^{1/2}||_F^2

    For Sigma_q = I this is 2 sum_i (1 - sqrt(1 - rho_i^2)), the paper's
    printed "W_2" (:func:`w2_independence_paper`); being the cost of one
    coupling, it bounds W_2^2 = inf over couplings from above.

    Parameters
    ----------
    cov : array_like, shape (d1 + d2, d1 + d2), symmetric positive definite
    d1 : int

    Returns
    -------
    float >= :func:`w2_independence` (cov, d1)

    Raises
    ------
    ValueError
        As :func:`canonical_correlations`.

    References
    ----------
    Paper-notes section 2.8 and 7 (derivation of the paper's value).
    """
    S, d1 = _check_cov(cov, d1)
    A, Rh, S22h, S11 = _coupling_maps(S, d1)
    return float(np.trace(A @ S11 @ A.T) + np.sum((Rh - S22h) ** 2))


def sample_x1_fixed_coupling(cov, d1: int, n: int, *, seed=None):
    """Draw n pairs from the x_1-fixing coupling of :func:`coupling_cost_x1_fixed`.

    Parameters
    ----------
    cov : array_like, shape (d1 + d2, d1 + d2), symmetric positive definite
    d1 : int
    n : int >= 1
    seed : int, Generator or None

    Returns
    -------
    joint : ndarray, shape (n, d1 + d2)
        Rows (x_1, x_2) ~ N(0, Sigma).
    product : ndarray, shape (n, d1 + d2)
        Rows (x'_1, x'_2) ~ N(0, Sigma_11) x N(0, Sigma_22), coupled row by row
        with ``joint``; mean((joint - product)**2 summed over columns)
        estimates the coupling's cost.

    Raises
    ------
    ValueError
        As :func:`canonical_correlations`, or n < 1.
    """
    S, d1 = _check_cov(cov, d1)
    n = _check_dim(n, "n")
    A, Rh, S22h, S11 = _coupling_maps(S, d1)
    rng = np.random.default_rng(seed)
    x1 = rng.standard_normal((n, d1)) @ np.linalg.cholesky(S11).T
    z = rng.standard_normal((n, S.shape[0] - d1))
    x2 = x1 @ A.T + z @ Rh
    x2p = z @ S22h
    return np.hstack([x1, x2]), np.hstack([x1, x2p])


# --------------------------------------------------------------------------- other oracles
def distance_alignment_gaussian(cov, d1: int) -> float:
    """Population distance alignment D(d_1, d_2) of a Gaussian pair (Euclidean d_q).

    D = E[ (||x_1 - x'_1||^2 - ||x_2 - x'_2||^2)^2 ] over two independent
    draws from N(0, Sigma).  With w = (x - x') ~ N(0, 2 Sigma) and
    M = diag(I_{d1}, -I_{d2}), the quadratic form q = w^T M w has::

        D = E q^2 = Tr(M S)^2 + 2 Tr((M S)^2),   S = 2 Sigma.

    Example: x_2 = c x_1 with x_1 ~ N(0, I_d) gives D = 4 d (d + 2) (1 - c^2)^2.

    Parameters
    ----------
    cov : array_like, shape (d1 + d2, d1 + d2)
        Symmetric positive semi-definite joint covariance (a degenerate pair
        such as x_2 = c x_1 is allowed).
    d1 : int

    Returns
    -------
    float >= 0, the population value of :func:`repalign_edu.distance_alignment`
    (whose V-statistic has expectation (1 - 1/n) D).

    Raises
    ------
    ValueError
        cov not square, symmetric, finite and PSD; d1 out of range.

    References
    ----------
    Paper section 3.2; moments of Gaussian quadratic forms (Mathai & Provost 1992).
    """
    S = np.asarray(cov, dtype=np.float64) if np.asarray(cov).dtype != object else None
    if S is None or S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] < 2:
        raise ValueError(f"cov must be a square (d_1 + d_2, d_1 + d_2) matrix; got shape "
                         f"{np.shape(cov)}.")
    d1 = _check_dim(d1, "d1")
    if not d1 < S.shape[0]:
        raise ValueError(f"d1 must be between 1 and {S.shape[0] - 1}; got d1={d1}.")
    if not np.all(np.isfinite(S)) or not np.allclose(S, S.T):
        raise ValueError("cov must be finite and symmetric.")
    if np.linalg.eigvalsh(S).min() < -1e-10 * max(np.abs(S).max(), 1.0):
        raise ValueError("cov must be positive semi-definite (a covariance).")
    m = np.r_[np.ones(d1), -np.ones(S.shape[0] - d1)]
    MS = m[:, None] * (2.0 * S)
    return float(np.trace(MS) ** 2 + 2.0 * np.trace(MS @ MS))


def hsic_rbf_gaussian(cov, d1: int, sigma1: float, sigma2: float) -> float:
    """Population HSIC with Gaussian (RBF) kernels of a Gaussian pair.

    k(x, x') = exp(-||x - x'||^2 / (2 sigma1^2)), l likewise with sigma2.
    Each term of Gretton et al.'s (2005) population HSIC::

        HSIC = E[k l] + E[k] E[l] - 2 E_{x,y}[ E_{x'} k(x, x') E_{y'} l(y, y') ]

    is a Gaussian integral E exp(-w^T B w) = det(I + 2 B C)^{-1/2} for
    w ~ N(0, C), with B = diag(I / (2 sigma1^2), I / (2 sigma2^2)) and C the
    covariance of the relevant difference (2 Sigma; 2 Sigma_qq;
    Sigma + diag(Sigma_11, Sigma_22)).

    Parameters
    ----------
    cov : array_like, shape (d1 + d2, d1 + d2)
        Symmetric positive semi-definite.
    d1 : int
    sigma1, sigma2 : float > 0
        Fixed bandwidths (the median heuristic is data-dependent and has no
        population counterpart here).

    Returns
    -------
    float >= 0, the value the biased and unbiased estimators of
    :func:`repalign_edu.hsic` (kernel="rbf", sigma=(sigma1, sigma2)) converge to.

    Raises
    ------
    ValueError
        Bad cov or d1, sigma not > 0.

    References
    ----------
    Gretton, Bousquet, Smola & Schoelkopf (2005) ALT, Lemma 1; paper section 3.3.
    """
    S = np.asarray(cov, dtype=np.float64)
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] < 2:
        raise ValueError(f"cov must be a square (d_1 + d_2, d_1 + d_2) matrix; got shape {S.shape}.")
    d1 = _check_dim(d1, "d1")
    if not d1 < S.shape[0]:
        raise ValueError(f"d1 must be between 1 and {S.shape[0] - 1}; got d1={d1}.")
    if not np.all(np.isfinite(S)) or not np.allclose(S, S.T):
        raise ValueError("cov must be finite and symmetric.")
    for s, name in ((sigma1, "sigma1"), (sigma2, "sigma2")):
        if isinstance(s, bool) or not isinstance(s, Real) or not s > 0:
            raise ValueError(f"{name} must be a bandwidth > 0; got {s!r}.")
    d = S.shape[0]
    b = np.r_[np.full(d1, 0.5 / sigma1**2), np.full(d - d1, 0.5 / sigma2**2)]

    def gauss(C, idx):
        Bi = b[idx]
        return float(np.linalg.det(np.eye(len(idx)) + 2.0 * Bi[:, None] * C[np.ix_(idx, idx)]) ** -0.5)

    all_, i1, i2 = np.arange(d), np.arange(d1), np.arange(d1, d)
    P = np.zeros_like(S)
    P[:d1, :d1], P[d1:, d1:] = S[:d1, :d1], S[d1:, d1:]
    t1 = gauss(2.0 * S, all_)
    t2 = gauss(2.0 * S, i1) * gauss(2.0 * S, i2)
    t3 = gauss(S + P, all_)
    return float(t1 + t2 - 2.0 * t3)


# --------------------------------------------------------------------------- a non-Gaussian pair
def _check_strength(strength, nonlinearity):
    for v, name, hi_ok in ((strength, "strength", False), (nonlinearity, "nonlinearity", True)):
        if isinstance(v, bool) or not isinstance(v, Real) or not np.isfinite(v) \
                or not (0.0 <= v < 1.0 or (hi_ok and v == 1.0)):
            raise ValueError(f"{name} must be a number in {'[0, 1]' if hi_ok else '[0, 1)'}; "
                             f"got {v!r}.")
    return float(strength), float(nonlinearity)


def _f_t(x, t):
    return ((1.0 - t) * x + t * (x**2 - 1.0) / np.sqrt(2.0)) / np.sqrt((1.0 - t) ** 2 + t**2)


def sample_additive_pair(strength: float, nonlinearity: float, n: int, *, seed=None):
    """Draw n pairs of the additive-noise model of lesson 02.

    x ~ N(0, 1) and y = a f_t(x) + sqrt(1 - a^2) e with e ~ N(0, 1) independent,
    a = ``strength`` and t = ``nonlinearity``::

        f_t(x) = ((1 - t) x + t (x^2 - 1) / sqrt(2)) / sqrt((1 - t)^2 + t^2)

    f_t has mean 0 and variance 1, so Var y = 1 and corr(x, y) =
    a (1 - t) / sqrt((1 - t)^2 + t^2).  t = 0 is a Gaussian pair with
    correlation a; t = 1 is uncorrelated but dependent (y depends on x^2).

    Parameters
    ----------
    strength : float in [0, 1)
    nonlinearity : float in [0, 1]
    n : int >= 1
    seed : int, Generator or None

    Returns
    -------
    x : ndarray, shape (n, 1), float64
    y : ndarray, shape (n, 1), float64

    Raises
    ------
    ValueError
        strength or nonlinearity out of range, n < 1.
    """
    a, t = _check_strength(strength, nonlinearity)
    n = _check_dim(n, "n")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    e = rng.standard_normal(n)
    y = a * _f_t(x, t) + np.sqrt(1.0 - a * a) * e
    return x[:, None], y[:, None]


def mutual_information_additive(strength: float, nonlinearity: float, *, n_nodes: int = 120,
                                n_grid: int = 4001) -> float:
    """Exact mutual information of :func:`sample_additive_pair`, by quadrature.

    I(x; y) = h(y) - h(y | x) = h(y) - 1/2 log(2 pi e (1 - a^2)), where the
    density of y is the Gaussian mixture p(y) = E_x N(y; a f_t(x), 1 - a^2),
    evaluated with ``n_nodes``-point Gauss-Hermite quadrature in x, and h(y)
    is a trapezoid integral over ``n_grid`` points.  At t = 0 it equals
    -1/2 log(1 - a^2) (to about 1e-10).

    Parameters
    ----------
    strength : float in [0, 1)
    nonlinearity : float in [0, 1]
    n_nodes, n_grid : int
        Quadrature sizes.

    Returns
    -------
    float >= 0, nats.

    Raises
    ------
    ValueError
        strength or nonlinearity out of range; n_nodes < 10 or n_grid < 101.

    References
    ----------
    Cover & Thomas (2006), ch. 8 (differential entropy).
    """
    a, t = _check_strength(strength, nonlinearity)
    n_nodes = check_scalar(n_nodes, "n_nodes", Integral, min_val=10)
    n_grid = check_scalar(n_grid, "n_grid", Integral, min_val=101)
    if a == 0.0:
        return 0.0
    z, w = np.polynomial.hermite_e.hermegauss(int(n_nodes))     # weight exp(-z^2 / 2)
    w = w / w.sum()
    f = _f_t(z, t)
    s2 = 1.0 - a * a
    half = 10.0 * np.sqrt(s2)
    ygrid = np.linspace(min(a * f.min() - half, -10.0), max(a * f.max() + half, 10.0), int(n_grid))
    p = (w[None, :] * np.exp(-(ygrid[:, None] - a * f[None, :]) ** 2 / (2 * s2))).sum(axis=1)
    p /= np.sqrt(2 * np.pi * s2)
    plogp = p * np.log(np.where(p > 0, p, 1.0))
    h_y = -np.trapezoid(plogp, ygrid)
    return float(max(h_y - 0.5 * np.log(2 * np.pi * np.e * s2), 0.0))
