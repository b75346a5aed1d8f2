"""The algebra that turns a backend's building blocks into the measures.

Every function takes a backend module ``be`` (the interface of :mod:`.base`)
and validated inputs, asks it for building blocks, and applies one formula.
None of them asks which backend it talks to.  The public measures in
:mod:`repalign_edu.measures` validate, resolve kernels, call one function
here and check the range of the result.

The formulas (all sums in float64; see :mod:`.stats` for GramStats):

* uncentred KA   = kl / sqrt(kk ll)                        (Cristianini et al. 2001)
* HSIC_b, HSIC_u = :func:`~.stats.hsic_terms`               (Gretton et al. 2005; Song et al. 2012)
* CKA            = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))  (Kornblith et al. 2019)
* MMD^2          = S_XX / m^2 + S_YY / n^2 - 2 S_XY / (m n)  (Gretton et al. 2012; U-statistic
  with the diagonals removed and m(m-1), n(n-1))
* distance alignment, feature-space expansion (X, Y centred, u_i = |x_i|^2 - |y_i|^2)::

      n^2 D = 2n sum u_i^2 + 2 (sum u_i)^2 + 4 (|X^T X|^2 + |Y^T Y|^2 - 2 |X^T Y|^2)

* mutual k-NN    = sum_i |N_k^X(i) & N_k^Y(i)| / (n k)       (Huh et al. 2024)
"""
from __future__ import annotations

import numpy as np

from .stats import GramStats, hsic_terms, linear_stats


def use_feature_space(X, Y, kx, ky) -> bool:
    """Linear kernels: the d x d route is cheaper than n x n when d_X + d_Y <= n."""
    return kx.name == "linear" and ky.name == "linear" and X.shape[1] + Y.shape[1] <= X.shape[0]


def gram_statistics(be, X, Y, kx, ky, *, centered: bool, rows: bool = True) -> GramStats:
    """GramStats of K and L through ``be``: feature space for two linear kernels, else Gram tiles.

    ``centered`` asks for the statistics of the centred measures (see
    :mod:`.base`); ``rows=False`` tells the linear feature-space route that
    row sums and diagonals are not needed (they are then zeros).
    """
    if use_feature_space(X, Y, kx, ky):
        if centered:
            X, Y = be.center(X), be.center(Y)
        X64, Y64 = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
        return linear_stats(X64, Y64, matmul=be.matmul, row_stats=be.row_stats, rows=rows)
    if not centered and kx.name in ("rbf", "laplacian"):
        X = be.center(X)            # translation invariant: centring only helps rounding
    if not centered and ky.name in ("rbf", "laplacian"):
        Y = be.center(Y)
    return be.gram_stats(X, Y, kx, ky, centered=centered)


def kernel_alignment_terms(be, X, Y, kx, ky):
    """(<K,L>, <K,K>, <L,L>) of the raw kernels, for the uncentred KA."""
    s = gram_statistics(be, X, Y, kx, ky, centered=False, rows=False)
    return s.kl, s.kk, s.ll


def hsic_triple(be, X, Y, kx, ky, unbiased: bool):
    """(HSIC(K,L), HSIC(K,K), HSIC(L,L)) with the biased or unbiased estimator."""
    return hsic_terms(gram_statistics(be, X, Y, kx, ky, centered=True, rows=unbiased), unbiased)


def linear_mmd2(X, Y, unbiased: bool) -> float:
    """MMD^2 of the linear kernel in feature space, O((m + n) d), without cancellation.

    biased:   ||mu_X - mu_Y||^2
    unbiased: ||mu_X - mu_Y||^2 - sum_i ||x_i - mu_X||^2 / (m (m - 1))
                                - sum_j ||y_j - mu_Y||^2 / (n (n - 1))
    (the U-statistic of Gretton et al. 2012, eq. 3, with k(x, y) = <x, y>, rearranged).
    """
    X64, Y64 = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    mx, my = X64.mean(axis=0), Y64.mean(axis=0)
    diff = mx - my
    value = float(diff @ diff)
    if unbiased:
        m, n = X64.shape[0], Y64.shape[0]
        value -= float(np.sum((X64 - mx) ** 2)) / (m * (m - 1))
        value -= float(np.sum((Y64 - my) ** 2)) / (n * (n - 1))
    return value


def mmd2_terms(be, X, Y, k, unbiased: bool):
    """(S_XX / m_XX, S_YY / m_YY, S_XY / (m n)): the three means of MMD^2.

    For a translation-invariant kernel (rbf, laplacian) each within-sample
    sum sees its sample centred on its own mean and the cross sum sees both
    centred on the pooled mean: the sums are unchanged, and the squared
    distances |a|^2 + |b|^2 - 2<a, b> of the streaming backends lose the
    fewest digits.  (Centring the samples separately in the *cross* term
    would be wrong: it would remove the mean difference MMD measures.)
    ``k.shift`` may be set: MMD^2 does not see the constant.
    """
    m, n = X.shape[0], Y.shape[0]
    if k.name in ("rbf", "laplacian"):
        X64, Y64 = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
        pooled = (X64.sum(axis=0) + Y64.sum(axis=0)) / (m + n)
        Xo, Yo = X64 - X64.mean(axis=0), Y64 - Y64.mean(axis=0)
        X, Y = X64 - pooled, Y64 - pooled
    else:
        Xo, Yo = X, Y
    sxx = be.kernel_sum(Xo, Xo, k, exclude_diag=unbiased)
    syy = be.kernel_sum(Yo, Yo, k, exclude_diag=unbiased)
    sxy = be.kernel_sum(X, Y, k)
    if unbiased:
        return sxx / (m * (m - 1)), syy / (n * (n - 1)), sxy / (m * n)
    return sxx / m**2, syy / n**2, sxy / (m * n)


def distance_alignment(be, X, Y) -> float:
    """The paper's D(d_1, d_2) from feature-space products (X, Y centred here)."""
    X, Y = be.center(X), be.center(Y)
    X64, Y64 = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    n = X64.shape[0]
    u = np.einsum("ij,ij->i", X64, X64) - np.einsum("ij,ij->i", Y64, Y64)
    XtX, YtY, XtY = be.matmul(X64.T, X64), be.matmul(Y64.T, Y64), be.matmul(X64.T, Y64)
    total = (2.0 * n * float(u @ u) + 2.0 * float(u.sum()) ** 2
             + 4.0 * (float(np.sum(XtX * XtX)) + float(np.sum(YtY * YtY))
                      - 2.0 * float(np.sum(XtY * XtY))))
    return max(total / n**2, 0.0)


def mutual_knn(be, Xn, Yn, k: int) -> float:
    """Mutual k-NN overlap of two L2-normalised representations."""
    counts = be.knn_overlap(be.knn_sets(Xn, k), be.knn_sets(Yn, k))
    return float(np.sum(counts) / (Xn.shape[0] * k))
