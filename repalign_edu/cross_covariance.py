"""The empirical cross-covariance operator and the quantities built on it.

For paired samples (x_i, y_i), i = 1..n, and kernels k, l with feature maps
phi, psi, the empirical centred cross-covariance operator is::

    C_hat = (1/n) sum_i (phi(x_i) - mean phi) (x) (psi(y_i) - mean psi)

Write the centred Gram matrices K~ = H K H = A A^T and L~ = H L H = B B^T
(H = I - 11^T/n).  Then C_hat has the singular values s_i = sigma_i(A^T B) / n
(:func:`cross_covariance_spectrum`), and (paper section 3.3, App. 6.2):

* biased HSIC   = ||C_hat||_HS^2 = sum_i s_i^2 = Tr(K~ L~) / n^2     (Gretton et al. 2005)
* COCO          = ||C_hat||_op   = s_1 = (1/n) sqrt(lambda_max(K~ L~)) (Gretton et al. 2005)
* so COCO <= sqrt(HSIC), with equality iff C_hat has rank <= 1;
* KCC (regularised kernel canonical correlation, Bach & Jordan 2002) with
  parameter kappa, which tends to 1 as kappa -> 0 whenever the kernels are
  rich enough to interpolate: it overfits.

:func:`product_kernel_samples` builds the empirical joint and product-of-
marginals samples on which ``mmd2`` reproduces the biased HSIC exactly
(paper section 3.4: MMD^2(mu, mu_1 x mu_2; H_1 x H_2) = HSIC).

Everything here materialises n x n Gram matrices (keep n in the hundreds).
"""
from __future__ import annotations

from numbers import Real

import numpy as np

from ._validation import as_pair, as_representation, check_option, check_scalar
from .kernels import Kernel, as_kernel, gram_of, median_heuristic, split_sigma

__all__ = [
    "centered_gram_factor",
    "coco",
    "cross_covariance_spectrum",
    "kcc",
    "product_kernel_samples",
]

_RTOL_RANK = 1e-12


def centered_gram_factor(X, kernel: str = "rbf", *, sigma=None, degree=3, gamma=None,
                         coef0=1.0):
    """Eigen-factor of the centred Gram matrix: H K H = U diag(lam) U^T.

    Parameters
    ----------
    X : array_like, shape (n, d)
    kernel : {"linear", "rbf", "laplacian", "polynomial"}
    sigma : float or None
        Bandwidth (None: :func:`repalign_edu.median_heuristic` of X).
    degree, gamma, coef0 : float
        Polynomial kernel.

    Returns
    -------
    lam : ndarray, shape (r,), float64
        The r positive eigenvalues (those above 1e-12 times the largest),
        decreasing.
    U : ndarray, shape (n, r), float64
        Orthonormal eigenvectors; A = U sqrt(lam) satisfies A A^T = H K H.

    Raises
    ------
    ValueError
        Bad X or kernel options; a centred Gram matrix that is zero (X
        constant).
    """
    return _centered_gram_factor(as_representation(X, "X", min_samples=1),
                                 as_kernel(kernel, sigma, degree, gamma, coef0), "X")


def _centered_gram_factor(X, k, name):
    """:func:`centered_gram_factor` of a validated array; ``name`` is used in the errors."""
    K = gram_of(X, k, name=name, shift=True)      # K - const: H K H keeps every digit
    n = K.shape[0]
    Kc = K - K.mean(axis=0) - K.mean(axis=1)[:, None] + K.mean()
    try:
        lam, U = np.linalg.eigh((Kc + Kc.T) / 2)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name}: the eigendecomposition of the centred Gram matrix did not "
                         "converge; rescale it or choose another bandwidth.") from None
    if not lam.max() > 0:
        raise ValueError(f"{name}: the centred Gram matrix is zero (all rows equal, or a kernel "
                         f"that is constant on {name}), so no covariance exists.")
    keep = lam > _RTOL_RANK * lam.max() * max(n, 1)
    order = np.argsort(lam[keep])[::-1]
    return lam[keep][order], U[:, keep][:, order]


def _factors(X, Y, kernel, sigma, degree, gamma, coef0):
    k = as_kernel(kernel, sigma, degree, gamma, coef0)
    X, Y = as_pair(X, Y, min_samples=2)
    sx, sy = split_sigma(k.sigma)
    fx = _centered_gram_factor(X, Kernel(k.name, sx, k.degree, k.gamma, k.coef0), "X")
    fy = _centered_gram_factor(Y, Kernel(k.name, sy, k.degree, k.gamma, k.coef0), "Y")
    return X.shape[0], fx, fy


def cross_covariance_spectrum(X, Y, kernel: str = "rbf", *, sigma=None, degree=3, gamma=None,
                              coef0=1.0) -> np.ndarray:
    """Singular values of the empirical centred cross-covariance operator.

    s = sigma(A^T B) / n, with A A^T = H K H and B B^T = H L H, i.e. the
    singular values of C_hat = (1/n) sum_i phi~(x_i) (x) psi~(y_i).  For the
    linear kernel these are the singular values of (1/n) Xc^T Yc.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    kernel : {"linear", "rbf", "laplacian", "polynomial"}
        The same family for X and Y (default "rbf").
    sigma : None, float or (float, float)
        As in :func:`repalign_edu.hsic`: None is the median heuristic on X
        and on Y separately.
    degree, gamma, coef0 : float

    Returns
    -------
    ndarray, shape (min(r_X, r_Y),), decreasing, >= 0
        sum(s**2) equals the biased ``hsic`` and s[0] equals :func:`coco`.

    Raises
    ------
    ValueError
        Different n, bad shapes or values, unknown kernel, sigma <= 0,
        zero variance.

    References
    ----------
    Baker (1973); Gretton, Bousquet, Smola & Schoelkopf (2005) ALT; paper
    section 3.3 and 3.4 (HSIC = sum_i rho_i^2).
    """
    n, (lx, Ux), (ly, Uy) = _factors(X, Y, kernel, sigma, degree, gamma, coef0)
    M = (np.sqrt(lx)[:, None] * (Ux.T @ Uy)) * np.sqrt(ly)[None, :]
    return np.linalg.svd(M, compute_uv=False) / n


def coco(X, Y, kernel: str = "rbf", *, sigma=None, degree=3, gamma=None, coef0=1.0) -> float:
    """Constrained covariance COCO (Gretton et al. 2005), empirical.

    COCO = sup { cov(h_1(x), h_2(y)) : ||h_1||_H1 <= 1, ||h_2||_H2 <= 1 }
         = ||C_hat||_op = (1/n) sqrt( lambda_max(K~ L~) ),   K~ = HKH, L~ = HLH.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    kernel : {"linear", "rbf", "laplacian", "polynomial"}
    sigma : None, float or (float, float)
    degree, gamma, coef0 : float

    Returns
    -------
    float >= 0 (a dependence measure, in kernel units).  COCO^2 <= biased
    HSIC, because the largest squared singular value is at most their sum.
    For the linear kernel: the largest singular value of (1/n) Xc^T Yc.

    Raises
    ------
    ValueError
        As :func:`cross_covariance_spectrum`.

    References
    ----------
    Gretton, Smola, Bousquet, Herbrich, Belitski, Augath, Murayama, Pauls,
    Schoelkopf & Logothetis (2005) "Kernel constrained covariance for
    dependence measurement", AISTATS; paper Remark 1 and App. 6.2.
    """
    return float(cross_covariance_spectrum(X, Y, kernel, sigma=sigma, degree=degree,
                                           gamma=gamma, coef0=coef0)[0])


def kcc(X, Y, kernel: str = "rbf", *, kappa: float, sigma=None, degree=3, gamma=None,
        coef0=1.0) -> float:
    """Regularised kernel canonical correlation KCC (paper App. 6.2).

    KCC = sup_{h_1, h_2} cov(h_1, h_2) /
          sqrt( (var h_1 + kappa ||h_1||^2) (var h_2 + kappa ||h_2||^2) )

    over h_q in the span of the centred kernel functions, with empirical
    (1/n) covariances.  With H K H = U_1 diag(lam_1) U_1^T (and likewise L)::

        KCC = sigma_max( (lam_1 + n kappa)^{-1/2} lam_1^{1/2} U_1^T U_2 lam_2^{1/2} (lam_2 + n kappa)^{-1/2} )

    As kappa -> 0 it tends to the first canonical correlation of the two
    kernel feature spaces: 1 whenever the centred Gram ranges intersect
    (e.g. full-rank RBF Grams), even for independent samples: KCC overfits.
    For the linear kernel and n > d_X + d_Y it tends to the first sample
    canonical correlation (CCA).  As kappa -> infinity, kappa * KCC -> COCO.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    kernel : {"linear", "rbf", "laplacian", "polynomial"}
    kappa : float > 0
        Regulariser, in the units of var / ||h||^2 (keyword only, required).
    sigma : None, float or (float, float)
    degree, gamma, coef0 : float

    Returns
    -------
    float in [0, 1] (a dependence measure, a correlation).

    Raises
    ------
    ValueError
        kappa not a number > 0, and the cases of :func:`cross_covariance_spectrum`.

    References
    ----------
    Bach & Jordan (2002) "Kernel independent component analysis", JMLR 3,
    section 3; paper App. 6.2 (KCC) and Remark 1.
    """
    kappa = check_scalar(kappa, "kappa", Real, min_val=0.0, include_boundaries="neither",
                         fix="kappa is the KCC regulariser; small kappa overfits.")
    n, (lx, Ux), (ly, Uy) = _factors(X, Y, kernel, sigma, degree, gamma, coef0)
    wx = np.sqrt(lx / (lx + n * kappa))
    wy = np.sqrt(ly / (ly + n * kappa))
    M = (wx[:, None] * (Ux.T @ Uy)) * wy[None, :]
    return float(min(np.linalg.norm(M, 2), 1.0))


def product_kernel_samples(X, Y, kernel: str = "rbf", *, sigma=None):
    """The empirical joint and the empirical product of marginals, as two samples.

    Returns Z_joint (n rows: the pairs (x_i, y_i)) and Z_prod (n^2 rows: all
    pairs (x_i, y_j)) embedded so that ONE kernel on Z equals the product
    kernel k(x, x') l(y, y') of H_1 x H_2:

    * ``"rbf"``: z = (x / sigma_X, y / sigma_Y); the RBF kernel with sigma = 1
      on z is exp(-||x-x'||^2 / 2 sigma_X^2) exp(-||y-y'||^2 / 2 sigma_Y^2);
    * ``"linear"``: z = x (x) y (row-wise Kronecker product);
      <x (x) y, x' (x) y'> = <x, x'> <y, y'>.

    Then ``mmd2(Z_joint, Z_prod, kernel, sigma=1.0)`` (biased) equals
    ``hsic(X, Y, kernel, sigma=(sigma_X, sigma_Y))`` (biased) exactly: the
    paper's identity MMD^2(mu, mu_1 x mu_2; H_1 x H_2) = HSIC on the
    empirical measure.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    kernel : {"rbf", "linear"}
    sigma : None, float or (float, float)
        RBF bandwidths (None: median heuristic on X and Y separately).

    Returns
    -------
    Z_joint : ndarray, shape (n, d_X + d_Y) (rbf) or (n, d_X d_Y) (linear)
    Z_prod : ndarray, shape (n^2, same)
        Row i * n + j is the embedding of (x_i, y_j).

    Raises
    ------
    ValueError
        Different n, bad shapes or values, kernel not "rbf" / "linear",
        sigma <= 0, n > 2000 (the product sample would have n^2 rows).

    References
    ----------
    Gretton et al. (2012) JMLR 13 (MMD); paper section 3.4 ("MMD to HSIC").
    """
    check_option(kernel, ("rbf", "linear"), "kernel")
    X, Y = as_pair(X, Y, min_samples=2)
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    n = X.shape[0]
    if n > 2000:
        raise ValueError(f"X and Y have n={n} rows; the product sample would have n^2 = {n * n} "
                         "rows. Subsample to n <= 2000 (a few hundred is plenty).")
    ix, iy = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
    if kernel == "linear":
        def emb(A, B):
            return np.einsum("ij,ik->ijk", A, B).reshape(A.shape[0], -1)
        return emb(X, Y), emb(X[ix], Y[iy])
    sx, sy = split_sigma(sigma)
    out = []
    for A, s, name in ((X, sx, "sigma"), (Y, sy, "sigma")):
        if s is None:
            s = median_heuristic(A)
        elif isinstance(s, bool) or not isinstance(s, Real) or not s > 0:
            raise ValueError(f"{name} must be None, a number > 0 or a pair of them; got {s!r}.")
        out.append(A / float(s))
    Xs, Ys = out
    return np.hstack([Xs, Ys]), np.hstack([Xs[ix], Ys[iy]])
