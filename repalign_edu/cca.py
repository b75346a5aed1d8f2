"""The CCA family and linear regression: similarity indices that whiten.

Canonical correlation analysis (Hotelling 1936) finds directions a_i in the
feature space of X and b_i in that of Y whose projections, the canonical
variates Xc a_i and Yc b_i (Xc, Yc column-centred), have the largest
correlation rho_i, each pair uncorrelated with the previous ones.  The
canonical correlations rho_1 >= ... >= rho_p >= 0, p = min(rank Xc, rank Yc),
are the cosines of the principal angles between the column spaces of Xc and
Yc (Bjorck & Golub 1973), so with orthonormal bases Q_X, Q_Y of those spaces::

    rho_i = sigma_i(Q_X^T Q_Y).

That is how this module computes them: one thin SVD of each centred
representation, then one small SVD of Q_X^T Q_Y (p x p work, no n x n matrix).

Measures (all NOT IN PAPER; see paper-notes section 6b):

* :func:`cca_similarity` -- mean canonical correlation rho-bar, or the mean
  squared canonical correlation R^2_CCA (Kornblith et al. 2019, section 3);
* :func:`svcca` -- SVCCA (Raghu et al. 2017): CCA of the top principal
  components that keep a given fraction of the variance;
* :func:`pwcca` -- projection-weighted CCA (Morcos et al. 2018), asymmetric;
  :func:`pwcca_symmetric` averages both directions;
* :func:`linear_regression_similarity` -- R^2 of predicting X from Y by least
  squares (Kornblith et al. 2019, section 3), asymmetric.

Degenerate CCA.  The centred rows live in the (n - 1)-dimensional space
orthogonal to the all-ones vector.  If rank Xc + rank Yc > n - 1 the two
column spaces must intersect, and at least rank Xc + rank Yc - (n - 1)
canonical correlations equal 1 whatever the data; when n <= d every one does.
Without regularisation these measures raise a ``ValueError`` there.  With
``ridge > 0`` they use regularised CCA (Vinod 1976), in which
Xc^T Xc is replaced by Xc^T Xc + lambda_X I with
lambda_X = ridge * ||Xc||_F^2 / d_X (``ridge`` is relative to the mean
eigenvalue), and likewise for Y.
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np

from ._validation import as_pair, as_representation, check_option
from .registry import register

__all__ = [
    "CCA_STATISTICS",
    "canonical_correlations",
    "cca_similarity",
    "linear_regression_similarity",
    "pwcca",
    "pwcca_symmetric",
    "svcca",
]

#: the two summaries of the canonical correlations (Kornblith et al. 2019, section 3)
CCA_STATISTICS = ("mean_rho", "mean_rho2")


# --------------------------------------------------------------------------- building blocks
@dataclass(frozen=True)
class Basis:
    """The thin SVD of one centred representation, Xc = U diag(s) V^T.

    Computed once per representation by :func:`basis` and reused by every
    pair it enters (netrep's idea of caching the per-representation work).

    Attributes
    ----------
    U : ndarray, shape (n, r)
        Orthonormal basis Q of the column space of Xc (rank r).
    s : ndarray, shape (r,)
        Non-zero singular values, decreasing.
    Vt : ndarray, shape (r, d)
        Right singular vectors (orthonormal rows).
    Xc : ndarray, shape (n, d)
        The centred representation (float64), times 2**-log2_scale.
    name : str
        Argument name for error messages.
    log2_scale : int
        Xc, U diag(s) V^T are the centred input divided by 2**log2_scale (an
        exact power of two, 0 for ordinary data), which keeps s**2 finite and
        non-zero for inputs near the float64 limits.  Every measure of this
        module is scale invariant, so it never shows.
    """

    U: np.ndarray
    s: np.ndarray
    Vt: np.ndarray
    Xc: np.ndarray
    name: str = "X"
    log2_scale: int = 0

    @property
    def rank(self) -> int:
        return int(self.s.size)

    @property
    def n(self) -> int:
        return int(self.Xc.shape[0])

    def truncate(self, variance: float) -> "Basis":
        """Keep the fewest leading components whose s^2 sum to >= ``variance`` of the total."""
        if variance >= 1.0:
            return self
        frac = np.cumsum(self.s**2) / np.sum(self.s**2)
        r = int(np.searchsorted(frac, variance * (1.0 - 1e-12)) + 1)
        scores = self.U[:, :r] * self.s[:r]
        return Basis(self.U[:, :r], self.s[:r], np.eye(r), scores, self.name, self.log2_scale)


def basis(X, name: str = "X") -> Basis:
    """Centre X (float64) and take its thin SVD, dropping numerically null directions.

    Singular values below ``max(n, d) * eps * s_max`` (NumPy's ``matrix_rank``
    rule) count as zero.

    Parameters
    ----------
    X : array_like, shape (n, d)
    name : str
        Argument name for error messages.

    Returns
    -------
    Basis

    Raises
    ------
    ValueError
        Invalid X (see :func:`repalign_edu._validation.as_representation`),
        fewer than 3 samples, or zero variance (every row equal).
    """
    X = as_representation(X, name, min_samples=3).astype(np.float64)
    Xc = X - X.mean(axis=0)
    peak = float(np.max(np.abs(Xc)))
    e = int(np.frexp(peak)[1]) if peak > 0 and not 2.0**-400 < peak < 2.0**400 else 0
    Xc = np.ldexp(Xc, -e)                          # exact; s**2 stays finite and non-zero
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    tol = max(Xc.shape) * np.finfo(np.float64).eps * (s[0] if s.size else 0.0)
    r = int(np.sum(s > tol)) if s.size and s[0] > 0 else 0
    if r == 0:
        raise ValueError(
            f"{name} has zero variance (all {Xc.shape[0]} rows are equal), so its canonical "
            f"correlations are undefined. Check {name}: a dead layer or a constant feature map "
            "gives this."
        )
    return Basis(U[:, :r], s[:r], Vt[:r], Xc, name, e)


def _check_ridge(ridge) -> float:
    if isinstance(ridge, bool) or not isinstance(ridge, Real) or not np.isfinite(ridge) or ridge < 0:
        raise ValueError(
            f"ridge must be a finite number >= 0 (0: plain CCA; > 0: regularised CCA, relative "
            f"to the mean eigenvalue); got {ridge!r}."
        )
    return float(ridge)


def _shrink(b: Basis, ridge: float) -> np.ndarray:
    """s / sqrt(s^2 + lambda), lambda = ridge * ||Xc||_F^2 / d (1 when ridge = 0)."""
    if ridge == 0.0:
        return np.ones_like(b.s)
    lam = ridge * float(np.sum(b.s**2)) / b.Xc.shape[1]
    return b.s / np.sqrt(b.s**2 + lam)


def _check_degenerate(bx: Basis, by: Basis, ridge: float, what: str) -> None:
    """ValueError when the two column spaces are forced to intersect (unregularised CCA)."""
    n = bx.n
    forced = bx.rank + by.rank - (n - 1)
    if ridge == 0.0 and forced > 0:
        every = " (every one of them: n <= d)" if min(bx.rank, by.rank) >= n - 1 else ""
        raise ValueError(
            f"{what} is degenerate here: rank({bx.name}) = {bx.rank} and rank({by.name}) = "
            f"{by.rank} after centring, but the centred samples span only n - 1 = {n - 1} "
            f"dimensions, so at least {forced} canonical correlation(s) equal 1 for any "
            f"data{every}. Use more samples (n - 1 >= rank {bx.name} + rank {by.name}), fewer "
            "features (e.g. svcca(..., variance=0.99) or PCA), or regularised CCA with ridge > 0."
        )


@dataclass(frozen=True)
class CCAPair:
    """The CCA of one pair of :class:`Basis` objects (everything the measures need).

    With M0 = U_X^T U_Y (r_X x r_Y) and f = s / sqrt(s^2 + lambda) (1 at
    ridge 0), M = diag(f_X) M0 diag(f_Y) = u diag(rho) v^T: the singular
    values rho are the (regularised) canonical correlations; the X-side
    canonical variates are U_X diag(f_X) u_i and the Y-side ones U_Y diag(f_Y) v_i.
    """

    rho: np.ndarray
    u: np.ndarray
    v: np.ndarray
    fx: np.ndarray
    fy: np.ndarray
    M0: np.ndarray


def _cca(bx: Basis, by: Basis, ridge: float) -> CCAPair:
    """Canonical correlations and variates of a pair (see :class:`CCAPair`)."""
    fx, fy = _shrink(bx, ridge), _shrink(by, ridge)
    M0 = bx.U.T @ by.U
    u, rho, vt = np.linalg.svd((fx[:, None] * M0) * fy[None, :], full_matrices=False)
    p = min(bx.rank, by.rank)
    return CCAPair(np.clip(rho[:p], 0.0, 1.0), u[:, :p], vt[:p].T, fx, fy, M0)


def _summary(rho: np.ndarray, statistic: str) -> float:
    return float(np.mean(rho) if statistic == "mean_rho" else np.mean(rho**2))


def _check_statistic(statistic: str) -> str:
    return check_option(statistic, CCA_STATISTICS, "statistic")


# --------------------------------------------------------------------------- public measures
def canonical_correlations(X, Y, *, ridge: float = 0.0) -> np.ndarray:
    """The canonical correlations rho_1 >= ... >= rho_p of two paired representations.

    rho_i = sigma_i(Q_X^T Q_Y) with Q_X, Q_Y orthonormal bases of the column
    spaces of the centred X and Y (the cosines of their principal angles);
    p = min(rank Xc, rank Yc).  With ``ridge > 0``: the regularised
    correlations, the singular values of
    (Xc^T Xc + lambda_X I)^(-1/2) Xc^T Yc (Yc^T Yc + lambda_Y I)^(-1/2).

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        Paired rows, n >= 3.
    ridge : float >= 0, default 0
        Relative regularisation: lambda_X = ridge * ||Xc||_F^2 / d_X.

    Returns
    -------
    ndarray, shape (p,), float64, values in [0, 1], decreasing.

    Raises
    ------
    ValueError
        Bad shapes or values, different n, zero variance, ridge < 0, or
        (with ridge = 0) rank Xc + rank Yc > n - 1, where some correlations
        are 1 for any data.

    References
    ----------
    Hotelling (1936) "Relations between two sets of variates"; Bjorck & Golub
    (1973) "Numerical methods for computing angles between linear subspaces".
    """
    X, Y = as_pair(X, Y, min_samples=3)
    ridge = _check_ridge(ridge)
    bx, by = basis(X, "X"), basis(Y, "Y")
    _check_degenerate(bx, by, ridge, "CCA")
    return _cca(bx, by, ridge).rho


def cca_similarity(X, Y, statistic: str = "mean_rho", *, ridge: float = 0.0) -> float:
    """Mean canonical correlation (CCA similarity index).

    * ``statistic="mean_rho"``:  rho-bar = (1/p) sum_i rho_i = ||Q_X^T Q_Y||_* / p;
    * ``statistic="mean_rho2"``: R^2_CCA = (1/p) sum_i rho_i^2 = ||Q_X^T Q_Y||_F^2 / p;

    with rho_i the canonical correlations (:func:`canonical_correlations`),
    p = min(rank Xc, rank Yc).

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        Paired rows, n >= 3.
    statistic : {"mean_rho", "mean_rho2"}
    ridge : float >= 0, default 0
        Regularised CCA (see the module docstring); needed when
        rank Xc + rank Yc > n - 1.

    Returns
    -------
    float in [0, 1], a similarity (1: one column space contains the other).
    Symmetric.  Invariant to translation, isotropic scaling, rotations and
    every invertible linear map of X or Y (with ridge = 0; ridge > 0 keeps
    only the invariance to translation, rotations and isotropic scaling).

    Raises
    ------
    ValueError
        As :func:`canonical_correlations`, and an unknown ``statistic``.

    References
    ----------
    Kornblith, Norouzi, Lee & Hinton (2019) "Similarity of neural network
    representations revisited", ICML, section 3 (rho-bar and R^2_CCA).
    NOT IN PAPER.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> A = np.random.default_rng(1).normal(size=(5, 5))
    >>> round(cca_similarity(X, X @ A + 3.0), 10)
    1.0
    """
    statistic = _check_statistic(statistic)
    return _summary(canonical_correlations(X, Y, ridge=ridge), statistic)


def svcca(X, Y, variance: float = 0.99, statistic: str = "mean_rho", *,
          ridge: float = 0.0) -> float:
    """SVCCA: CCA of the leading principal components (Raghu et al. 2017).

    Each centred representation is reduced to its top r principal components,
    r the smallest number whose squared singular values explain at least
    ``variance`` of the total; then ``cca_similarity`` of the two reduced
    representations with ``statistic``.  ``variance=1`` keeps every non-null
    direction, so SVCCA equals CCA when n > d_X + d_Y.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    variance : float in (0, 1], default 0.99
    statistic : {"mean_rho", "mean_rho2"}
    ridge : float >= 0

    Returns
    -------
    float in [0, 1], a similarity; symmetric.  Invariant to translation,
    isotropic scaling and rotations; NOT invariant to general invertible
    linear maps (they change which components explain the variance).

    Raises
    ------
    ValueError
        As :func:`cca_similarity`; ``variance`` outside (0, 1].

    References
    ----------
    Raghu, Gilmer, Yosinski & Sohl-Dickstein (2017) "SVCCA: Singular vector
    canonical correlation analysis for deep learning dynamics and
    interpretability", NeurIPS.  NOT IN PAPER.
    """
    X, Y = as_pair(X, Y, min_samples=3)
    statistic = _check_statistic(statistic)
    ridge = _check_ridge(ridge)
    variance = _check_variance(variance)
    bx, by = basis(X, "X").truncate(variance), basis(Y, "Y").truncate(variance)
    _check_degenerate(bx, by, ridge, "SVCCA")
    return _summary(_cca(bx, by, ridge).rho, statistic)


def _check_variance(variance) -> float:
    if isinstance(variance, bool) or not isinstance(variance, Real) or not 0.0 < variance <= 1.0:
        raise ValueError(
            f"variance must be a fraction in (0, 1] of the variance to keep (Raghu et al. use "
            f"0.99); got {variance!r}."
        )
    return float(variance)


def _pwcca_side(b: Basis, coef: np.ndarray, f: np.ndarray, rho: np.ndarray) -> float:
    """PWCCA with the weights of ``b``'s neurons; its variates are U diag(f) coef.

    The variates are orthonormalised (Morcos et al. use a QR); since U has
    orthonormal columns this is a QR of diag(f) coef (r x p), and
    H^T Xc = G^T diag(s) V^T needs no n-sized product.
    """
    G = np.linalg.qr(f[:, None] * coef)[0]
    alpha = np.sum(np.abs(G.T @ (b.s[:, None] * b.Vt)), axis=1)   # sum_j |<h_i, x_j>|
    return float(np.sum(alpha * rho) / np.sum(alpha))


def _pwcca_both(pair: CCAPair, bx: Basis, by: Basis) -> tuple[float, float]:
    """(pwcca(X, Y), pwcca(Y, X)) from one CCA."""
    return (_pwcca_side(bx, pair.u, pair.fx, pair.rho),
            _pwcca_side(by, pair.v, pair.fy, pair.rho))


def _pwcca_from_bases(bx: Basis, by: Basis, ridge: float) -> float:
    pair = _cca(bx, by, ridge)
    return _pwcca_side(bx, pair.u, pair.fx, pair.rho)


def pwcca(X, Y, *, ridge: float = 0.0) -> float:
    """Projection-weighted CCA (Morcos, Raghu & Bengio 2018).

    PWCCA(X, Y) = sum_i alpha_i rho_i / sum_i alpha_i, with rho_i the
    canonical correlations and alpha_i = sum_j |<h_i, x_j>| the total
    absolute projection of X's centred neurons x_j (the columns of Xc) onto
    its i-th canonical variate h_i (unit norm).  Canonical directions that
    carry much of X get more weight than the rho-bar average gives them.

    **Asymmetric**: the weights come from X, so pwcca(X, Y) != pwcca(Y, X)
    in general; :func:`pwcca_symmetric` averages the two.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
        The representation whose neurons set the weights.
    Y : array_like, shape (n, d_Y)
    ridge : float >= 0

    Returns
    -------
    float in [0, 1], a similarity.  Invariant to translation and isotropic
    scaling of X and Y, and to every invertible linear map of Y; for X only
    to permutations and sign flips of its neurons: a rotation of X changes
    the L1 weights alpha_i (so PWCCA is not rotation invariant).

    Raises
    ------
    ValueError
        As :func:`cca_similarity`.

    References
    ----------
    Morcos, Raghu & Bengio (2018) "Insights on representational similarity
    in neural networks with canonical correlation", NeurIPS, section 2.3.
    NOT IN PAPER.
    """
    X, Y = as_pair(X, Y, min_samples=3)
    ridge = _check_ridge(ridge)
    bx, by = basis(X, "X"), basis(Y, "Y")
    _check_degenerate(bx, by, ridge, "PWCCA")
    return _pwcca_from_bases(bx, by, ridge)


def pwcca_symmetric(X, Y, *, ridge: float = 0.0) -> float:
    """Symmetrised PWCCA: (pwcca(X, Y) + pwcca(Y, X)) / 2.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    ridge : float >= 0

    Returns
    -------
    float in [0, 1], a symmetric similarity.  Invariant to translation,
    isotropic scaling, permutations and sign flips of the neurons; not to
    rotations (see :func:`pwcca`).

    Raises
    ------
    ValueError
        As :func:`pwcca`.

    References
    ----------
    Morcos et al. (2018); the average is the usual symmetrisation (e.g. ReSi,
    Klabunde et al. 2024).
    """
    X, Y = as_pair(X, Y, min_samples=3)
    ridge = _check_ridge(ridge)
    bx, by = basis(X, "X"), basis(Y, "Y")
    _check_degenerate(bx, by, ridge, "PWCCA")
    return 0.5 * sum(_pwcca_both(_cca(bx, by, ridge), bx, by))


def _regression_from_overlap(M0: np.ndarray, bx: Basis, fy: np.ndarray) -> float:
    """R^2 of predicting X from Y, given M0 = U_X^T U_Y and Y's shrinkage f_Y.

    The fitted values are U_Y diag(f_Y^2) U_Y^T Xc (f_Y = 1 at ridge 0, so
    R^2 = ||U_Y^T Xc||_F^2 / ||Xc||_F^2), and the squared row norms of
    U_Y^T Xc = M0^T diag(s_X) V_X^T are the column sums of M0^2 s_X^2.
    """
    f2 = fy**2
    c2 = np.sum(M0**2 * (bx.s**2)[:, None], axis=0)   # ||row i of U_Y^T Xc||^2
    total = float(np.sum(bx.s**2))
    resid = total - float(np.sum((2.0 * f2 - f2**2) * c2))
    return float(min(max(1.0 - resid / total, 0.0), 1.0))


def _regression_from_bases(bx: Basis, by: Basis, ridge: float) -> float:
    """R^2 = 1 - ||Xc - Yc B||^2 / ||Xc||^2 with the (ridge) least-squares B."""
    return _regression_from_overlap(bx.U.T @ by.U, bx, _shrink(by, ridge))


def linear_regression_similarity(X, Y, *, ridge: float = 0.0) -> float:
    """R^2 of predicting X from Y by least squares (Kornblith et al. 2019).

    R^2_LR(X | Y) = 1 - min_B ||Xc - Yc B||_F^2 / ||Xc||_F^2
                  = ||Q_Y^T Xc||_F^2 / ||Xc||_F^2,

    with Q_Y an orthonormal basis of the column space of the centred Y.
    With ``ridge > 0`` B is the ridge solution (Yc^T Yc + lambda_Y I)^(-1) Yc^T Xc,
    lambda_Y = ridge * ||Yc||_F^2 / d_Y.

    **Asymmetric**: it is the fraction of X's variance that Y explains.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
        The representation that is predicted.
    Y : array_like, shape (n, d_Y)
        The predictor.
    ridge : float >= 0

    Returns
    -------
    float in [0, 1], a similarity (1: X is an affine function of Y).
    Invariant to translation, isotropic scaling and rotations of X, and to
    every invertible linear map of Y (ridge = 0); not to invertible linear
    maps of X.

    Raises
    ------
    ValueError
        Bad shapes or values, zero variance, ridge < 0, or (ridge = 0)
        rank Yc >= n - 1: Y then fits any X exactly and R^2 = 1 carries no
        information.

    References
    ----------
    Kornblith, Norouzi, Lee & Hinton (2019), ICML, section 3 ("Linear
    regression").  NOT IN PAPER.
    """
    X, Y = as_pair(X, Y, min_samples=3)
    ridge = _check_ridge(ridge)
    bx, by = basis(X, "X"), basis(Y, "Y")
    _check_regression(by, ridge)
    return _regression_from_bases(bx, by, ridge)


def _check_regression(by: Basis, ridge: float) -> None:
    if ridge == 0.0 and by.rank >= by.n - 1:
        raise ValueError(
            f"linear regression is degenerate here: rank({by.name}) = {by.rank} after centring "
            f"equals n - 1 = {by.n - 1}, so {by.name} fits any target exactly and R^2 = 1 for "
            f"any data. Use more samples than features of {by.name}, or ridge > 0."
        )


register(cca_similarity, kind="similarity", bounds=(0.0, 1.0), symmetric=True,
         summary="mean canonical correlation rho-bar or R^2_CCA (Kornblith et al. 2019)")
register(svcca, kind="similarity", bounds=(0.0, 1.0), symmetric=True,
         summary="SVCCA (Raghu et al. 2017): CCA of the components keeping 99% of the variance")
register(pwcca, kind="similarity", bounds=(0.0, 1.0), symmetric=False,
         summary="projection-weighted CCA (Morcos et al. 2018); weights from X, asymmetric")
register(pwcca_symmetric, kind="similarity", bounds=(0.0, 1.0), symmetric=True,
         summary="(pwcca(X, Y) + pwcca(Y, X)) / 2")
register(linear_regression_similarity, kind="similarity", bounds=(0.0, 1.0), symmetric=False,
         summary="R^2 of predicting X from Y by least squares (Kornblith et al. 2019); asymmetric")
