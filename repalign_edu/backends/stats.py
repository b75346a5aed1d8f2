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

from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial.distance import pdist


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


def stream_inputs(A: np.ndarray, kp, center):
    """What a streaming pass needs for one representation of a *centred* measure.

    Returns ``(features, aux, kernel)``:

    * linear: the centred features (then K = Xc Xc^T = HKH exactly);
    * rbf, laplacian: the centred features (they are translation invariant)
      and ``kernel.shift`` set, so the pass sums K - 1 = expm1(...) and keeps
      every digit when K is nearly 1 (a bandwidth far larger than the data);
    * polynomial: with x = m + u (m the column mean),
      k(x_i, x_j) = (s + p_i + p_j + gamma <u_i, u_j>)^degree where
      s = gamma |m|^2 + coef0 and p_i = gamma <m, u_i>; the pass takes the
      centred u, ``aux = p`` and coef0 = s, and sums K - s^degree computed by
      expm1/log1p.  The common offset then costs no digits.

    ``center`` is the backend's centring building block; ``aux`` is None
    except for the polynomial kernel.  Every change is a constant or a
    row-only term, which leaves HKH, and so every HSIC estimator, unchanged.
    """
    if kp.name == "polynomial":
        A64 = np.asarray(A, dtype=np.float64)
        m = A64.mean(axis=0)
        U = np.asarray(center(A), dtype=np.float64)
        p = kp.gamma * (U @ m)
        s = kp.gamma * float(m @ m) + kp.coef0
        return U, p, replace(kp, coef0=s, shift=True)
    U = center(A)
    return U, None, replace(kp, shift=kp.name in ("rbf", "laplacian") and _nearly_one(U, kp))


#: rows of the fixed subsample that decides whether an rbf/laplacian kernel is shifted
SHIFT_PROBE_ROWS = 256


def _nearly_one(U: np.ndarray, kp) -> bool:
    """True if a typical value of the kernel exceeds 1/e (then K - 1 is held, via expm1).

    "Typical" is the median over the distinct pairs of a fixed, evenly spaced
    subsample of at most ``SHIFT_PROBE_ROWS`` rows (no randomness).  A kernel
    close to the identity (a tiny bandwidth) is better left unshifted: its
    off-diagonal values are then exact zeros rather than -1 + rounding.
    """
    n = U.shape[0]
    step = max(1, n // SHIFT_PROBE_ROWS)
    P = np.asarray(U[::step][:SHIFT_PROBE_ROWS], dtype=np.float64)
    sq = pdist(P, "sqeuclidean")            # O(rows^2) memory, whatever d is
    med = float(np.median(sq)) if sq.size else 0.0
    arg = kp.a * (med if kp.name == "rbf" else np.sqrt(med))
    return bool(arg < 1.0)


def centring_offset(r: np.ndarray) -> np.ndarray:
    """a with K - a 1^T - 1 a^T = HKH, from the row sums r = K 1: a = r/n - 1^T r / (2 n^2)."""
    n = r.shape[0]
    return r / n - float(r.sum()) / (2.0 * n * n)


def streamed_gram_stats(stream, center, X, Y, kx, ky, *, centered: bool) -> GramStats:
    """The :func:`~repalign_edu.backends.base` ``gram_stats`` recipe, shared by the streaming backends.

    ``stream(X, Y, kx, ky, px, py, offx, offy)`` is the backend's one pass
    over the tiles of K and L; it returns (kl, kk, ll, rk, rl, dk, dl) of the
    kernels K_ij - offx_i - offx_j (polynomial kernels add px_i + px_j inside
    the power; None means zeros).  ``center`` is the backend's centring.

    ``centered=False``: one pass of the raw kernels (uncentred KA).
    ``centered=True``: :func:`stream_inputs` for each side, one pass; if a
    kernel is polynomial, a second pass with the offsets of
    :func:`centring_offset`, so that its Gram matrix is streamed doubly
    centred (its row-only part, the largest after the offset, would cancel
    in the HSIC formula otherwise).
    """
    if not centered:
        return GramStats(*stream(X, Y, kx, ky, None, None, None, None))
    U, px, kx2 = stream_inputs(X, kx, center)
    V, py, ky2 = stream_inputs(Y, ky, center)
    out = stream(U, V, kx2, ky2, px, py, None, None)
    if "polynomial" in (kx.name, ky.name):
        offx = centring_offset(out[3]) if kx.name == "polynomial" else None
        offy = centring_offset(out[4]) if ky.name == "polynomial" else None
        out = stream(U, V, kx2, ky2, px, py, offx, offy)
    return GramStats(*out)


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


def three_products(matmul, X, Y):
    """(X^T Y, X^T X, Y^T Y) by three calls of ``matmul``.

    The ``feature_products`` building block of every backend here:
    ``partial(three_products, matmul)`` with the backend's own ``matmul``.
    """
    return matmul(X.T, Y), matmul(X.T, X), matmul(Y.T, Y)
