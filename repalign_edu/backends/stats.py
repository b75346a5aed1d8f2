"""Sufficient statistics of a pair of Gram matrices, and the measures built from them.

The streaming backends (``cpu``, ``cuda``) never hold K or L.  One pass over
tiles of the pair gives::

    kl = <K, L>_F,  kk = <K, K>_F,  ll = <L, L>_F,
    rk = K 1,       rl = L 1          (row sums, length n)
    dk = diag K,    dl = diag L       (length n)

and every kernel measure in the package is an exact algebraic function of
these (all sums in float64):

* uncentred KA  = kl / sqrt(kk ll)                               (Cristianini et al. 2001)
* biased HSIC   = Tr(KHLH)/n^2 = (kl - 2 rk.rl / n + sk sl / n^2) / n^2, sk = 1^T K 1
* unbiased HSIC = Song et al. (2012) eq. 5 with K~ = K - diag(dk):
  Tr(K~L~) = kl - dk.dl,  1^T K~ 1 = sk - sum dk,  1^T K~ L~ 1 = (rk-dk).(rl-dl)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GramStats:
    kl: float
    kk: float
    ll: float
    rk: np.ndarray
    rl: np.ndarray
    dk: np.ndarray
    dl: np.ndarray

    @property
    def n(self) -> int:
        return self.rk.shape[0]


def _hsic_b(ab, ra, rb, n):
    return (ab - 2.0 * float(ra @ rb) / n + float(ra.sum()) * float(rb.sum()) / n**2) / n**2


def _hsic_u(ab, ra, rb, da, db, n):
    tr = ab - float(da @ db)
    sa = float(ra.sum() - da.sum())
    sb = float(rb.sum() - db.sum())
    cross = float((ra - da) @ (rb - db))
    return (tr + sa * sb / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * cross) / (n * (n - 3))


def hsic_terms(s: GramStats, unbiased: bool):
    """(HSIC(K,L), HSIC(K,K), HSIC(L,L)) from the statistics."""
    n = s.n
    if unbiased:
        return (_hsic_u(s.kl, s.rk, s.rl, s.dk, s.dl, n),
                _hsic_u(s.kk, s.rk, s.rk, s.dk, s.dk, n),
                _hsic_u(s.ll, s.rl, s.rl, s.dl, s.dl, n))
    return (_hsic_b(s.kl, s.rk, s.rl, n),
            _hsic_b(s.kk, s.rk, s.rk, n),
            _hsic_b(s.ll, s.rl, s.rl, n))


def alignment(s: GramStats) -> float:
    """Uncentred empirical kernel alignment kl / sqrt(kk ll)."""
    return s.kl / np.sqrt(s.kk * s.ll)


def _row_stats(A: np.ndarray):
    """(K 1, diag K) for K = A A^T, in O(n d)."""
    return A @ A.sum(axis=0), np.einsum("ij,ij->i", A, A)


def linear_stats(X: np.ndarray, Y: np.ndarray, matmul=np.dot, row_stats=_row_stats,
                 rows: bool = True, products=None) -> GramStats:
    """GramStats of the linear kernels K = X X^T, L = Y Y^T in feature space.

    Uses ||X^T Y||_F^2 = <XX^T, YY^T>_F etc.: O(n d^2) time and O(d^2)
    memory, no n x n matrix.  ``matmul`` and ``row_stats`` let a backend
    pass its own GEMM and its own O(n d) pass.  With ``rows=False`` the row
    sums and diagonals are skipped and set to 0 (exact for centred X and Y
    in the biased HSIC; not used by the uncentred KA).  ``products(X, Y)``,
    when given, returns (X^T Y, X^T X, Y^T Y) at once (a backend may run
    them concurrently); otherwise ``matmul`` is called three times.
    """
    if products is not None:
        XtY, XtX, YtY = products(X, Y)
    else:
        XtY, XtX, YtY = matmul(X.T, Y), matmul(X.T, X), matmul(Y.T, Y)
    if rows:
        (rk, dk), (rl, dl) = row_stats(X), row_stats(Y)
    else:
        rk = dk = np.zeros(X.shape[0])
        rl = dl = np.zeros(Y.shape[0])
    return GramStats(
        kl=float(np.sum(XtY * XtY)), kk=float(np.sum(XtX * XtX)), ll=float(np.sum(YtY * YtY)),
        rk=rk, rl=rl, dk=dk, dl=dl,
    )
