"""Neighbourhood measures: CKNNA, k-NN Jaccard, second-order cosine similarity and cycle k-NN.

All three look only at each sample's k nearest neighbours, with the same
convention as :func:`repalign_edu.mutual_knn`: rows are L2-normalised, the
neighbours N_k(i) of sample i are the k other samples with the largest
cosine similarity (a point is not its own neighbour; ties go to the smaller
index).  The neighbour sets come from the backends' ``knn_sets`` building
block (NumPy reference, Numba cpu or cuda), so no measure here forms an
n x n matrix on the cpu/cuda backends.

* :func:`cknna` -- centred kernel nearest-neighbour alignment (Huh et al. 2024):
  CKA restricted to the mutual k-NN pairs;
* :func:`knn_jaccard` -- the mean Jaccard index of the two k-NN sets
  (ReSi, Klabunde et al. 2024);
* :func:`second_order_cosine` -- second-order cosine similarity (Hamilton
  et al. 2016; ReSi): do the two representations give each point the same
  similarities to the union of its neighbours?
* :func:`cycle_knn` -- cycle k-NN (Huh et al. 2024): going from a point to its
  neighbours in Y and from those to their neighbours in X, do we come back?

All NOT IN PAPER (see paper-notes section 6b).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import as_pair, as_representation
from .backends import get_backend, numpy_ref, resolve_backend
from .registry import register

__all__ = ["Neighbourhood", "cknna", "cycle_knn", "knn_jaccard", "neighbourhood", "second_order_cosine"]


# --------------------------------------------------------------------------- building blocks
def _check_k(k, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be an integer with 1 <= k < n = {n}; got k={k!r}: pass an int.")
    if not 1 <= k < n:
        hint = "choose a smaller k" if k >= n else "choose k >= 1"
        raise ValueError(f"k must be an integer with 1 <= k < n = {n}; got k={k!r}: {hint}.")
    return int(k)


def _unit_rows(A: np.ndarray, name: str) -> np.ndarray:
    """Rows divided by their norm; each row is first divided by its largest |entry|, so
    that norms of rows near the float64 limits (1e200 or 1e-200) neither overflow nor underflow."""
    A = A.astype(np.float64)
    peak = np.max(np.abs(A), axis=1, keepdims=True)
    A = np.divide(A, peak, out=np.zeros_like(A), where=peak > 0)
    norms = np.linalg.norm(A, axis=1)
    if not np.all(norms > 0):
        i = int(np.argmin(norms))
        raise ValueError(f"{name}[{i}] has norm 0 and cannot be L2-normalised; drop that row "
                         "(a dead input of a ReLU layer gives this).")
    return np.ascontiguousarray(A / norms[:, None])


@dataclass(frozen=True)
class Neighbourhood:
    """The k-NN structure of one representation (computed once, reused across pairs).

    Attributes
    ----------
    Xn : ndarray, shape (n, d)
        L2-normalised rows.
    idx : ndarray, shape (n, k), int64
        idx[i] = N_k(i), by decreasing cosine similarity.
    cos : ndarray, shape (n, k)
        K_ij = <xn_i, xn_j> for j = idx[i, :].
    row_mean : ndarray, shape (n,)
        E_l K_il = <xn_i, mean_l xn_l> (the mean over all n samples l).
    """

    Xn: np.ndarray
    idx: np.ndarray
    cos: np.ndarray
    row_mean: np.ndarray

    @property
    def centred(self) -> np.ndarray:
        """K_ij - E_l K_il at the neighbours, shape (n, k)."""
        return self.cos - self.row_mean[:, None]


def neighbourhood(X, k: int = 10, *, name: str = "X", backend: str = "auto") -> Neighbourhood:
    """L2-normalise the rows of X and find each row's k nearest neighbours.

    Parameters
    ----------
    X : array_like, shape (n, d)
    k : int, 1 <= k < n
    name : str
        Argument name for error messages.
    backend : {"auto", "numpy", "cpu", "cuda"}
        Which ``knn_sets`` building block finds the neighbours.

    Returns
    -------
    Neighbourhood

    Raises
    ------
    ValueError
        Invalid X, k out of range, a row of norm 0, unknown backend.
    """
    X = as_representation(X, name, min_samples=2)
    k = _check_k(k, X.shape[0])
    be_name = resolve_backend(backend)
    Xn = _unit_rows(X, name)
    if be_name == "numpy":
        idx = numpy_ref.knn_sets(Xn, k)
    else:
        idx = np.asarray(get_backend(be_name).knn_sets(Xn, k), dtype=np.int64)
    cos = np.einsum("id,ikd->ik", Xn, Xn[idx])
    return Neighbourhood(Xn, idx, cos, Xn @ Xn.mean(axis=0))


def _mutual_mask(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """M[i, a, b] = (A[i, a] == B[i, b]): which neighbours the two sets share, and where."""
    return A[:, :, None] == B[:, None, :]


def _pair(X, Y, k, backend):
    X, Y = as_pair(X, Y, min_samples=2)
    k = _check_k(k, X.shape[0])
    return (neighbourhood(X, k, name="X", backend=backend),
            neighbourhood(Y, k, name="Y", backend=backend))


# --------------------------------------------------------------------------- CKNNA
#: a centred cosine below 1e-12 is rounding noise (the cosines are O(1)): squared, per entry
_ROUNDING_SQ = 1e-24


def _cknna_from(nx: Neighbourhood, ny: Neighbourhood, M=None) -> float:
    M = _mutual_mask(nx.idx, ny.idx) if M is None else M
    kx, ky = nx.centred, ny.centred
    cross = float(np.einsum("iab,ia,ib->", M, kx, ky))
    sx, sy = float(np.sum(kx * kx)), float(np.sum(ky * ky))
    for v, name in ((sx, "X"), (sy, "Y")):
        if not v > _ROUNDING_SQ * kx.size:    # cosines are O(1): below this it is rounding
            raise ValueError(
                f"CKNNA is undefined: the centred kernel of {name} is 0 on every neighbour pair "
                f"(every row of {name} points the same way). Check {name} for a constant layer."
            )
    return float(np.clip(cross / np.sqrt(sx * sy), -1.0, 1.0))   # Cauchy-Schwarz; rounding


def _cknna_numpy(X, Y, k):
    """Textbook form with explicit n x n matrices (the specification of the fast path)."""
    Xn, Yn = _unit_rows(X, "X"), _unit_rows(Y, "Y")
    K, L = Xn @ Xn.T, Yn @ Yn.T
    Kc, Lc = K - K.mean(axis=1, keepdims=True), L - L.mean(axis=1, keepdims=True)
    n = K.shape[0]
    rows = np.arange(n)[:, None]
    Nk = np.zeros((n, n), bool)
    Nl = np.zeros((n, n), bool)
    Nk[rows, numpy_ref.knn_sets(Xn, k)] = True
    Nl[rows, numpy_ref.knn_sets(Yn, k)] = True
    align = lambda A, B, mask: float(np.sum(mask * A * B))  # noqa: E731
    sx, sy = align(Kc, Kc, Nk), align(Lc, Lc, Nl)
    if not (sx > _ROUNDING_SQ * n * k and sy > _ROUNDING_SQ * n * k):
        raise ValueError("CKNNA is undefined: a centred kernel is 0 on every neighbour pair; "
                         "check X and Y for a constant layer.")
    return float(np.clip(align(Kc, Lc, Nk & Nl) / np.sqrt(sx * sy), -1.0, 1.0))


def cknna(X, Y, k: int = 10, *, backend: str = "auto") -> float:
    """Centred kernel nearest-neighbour alignment, CKNNA (Huh et al. 2024).

    With K_ij = <xn_i, xn_j>, L_ij = <yn_i, yn_j> on L2-normalised rows and
    the row-centred kernels K~_ij = K_ij - E_l K_il (mean over all n samples)::

        Align(K, L) = sum_i sum_{j in N_K(i) & N_L(i)} K~_ij L~_ij
        CKNNA       = Align(K, L) / sqrt( Align(K, K) Align(L, L) )

    where Align(K, K) sums over N_K(i) and Align(L, L) over N_L(i).  It is
    CKA's inner product restricted to the pairs that are neighbours in both
    representations.  By Cauchy-Schwarz (the mutual pairs are a subset of
    each neighbourhood) |CKNNA| <= 1.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    k : int, 1 <= k < n, default 10
    backend : {"auto", "numpy", "cpu", "cuda"}
        "numpy": explicit n x n matrices (the reference); otherwise the
        backend's ``knn_sets`` and O(n k d) work.

    Returns
    -------
    float in [-1, 1], a similarity; symmetric.  Invariant to rotations and
    isotropic scaling (cosine neighbourhoods); NOT to translation (rows are
    normalised, not centred, as in Huh et al.) or general invertible maps.

    Raises
    ------
    ValueError
        Bad shapes or values, different n, k out of range, a zero row, or a
        centred kernel that vanishes on every neighbour pair.

    References
    ----------
    Huh, Cheung, Wang & Isola (2024) "The Platonic Representation
    Hypothesis", ICML, appendix (CKNNA).  NOT IN PAPER.  Huh et al.'s code
    centres the masked Gram matrices with an unbiased HSIC instead of
    subtracting the row means; the two agree in what they rank, not digit
    for digit.
    """
    if resolve_backend(backend) == "numpy":
        X, Y = as_pair(X, Y, min_samples=2)
        return float(_cknna_numpy(X, Y, _check_k(k, X.shape[0])))
    return float(_cknna_from(*_pair(X, Y, k, backend)))


# --------------------------------------------------------------------------- Jaccard
def _jaccard_from(nx: Neighbourhood, ny: Neighbourhood, M=None) -> float:
    k = nx.idx.shape[1]
    shared = (_mutual_mask(nx.idx, ny.idx) if M is None else M).sum(axis=(1, 2))
    return float(np.mean(shared / (2 * k - shared)))


def knn_jaccard(X, Y, k: int = 10, *, backend: str = "auto") -> float:
    """Mean Jaccard index of the k-NN sets (ReSi, Klabunde et al. 2024).

    J = (1/n) sum_i |N_k^X(i) & N_k^Y(i)| / |N_k^X(i) | N_k^Y(i)|
      = (1/n) sum_i c_i / (2k - c_i),   c_i = |N_k^X(i) & N_k^Y(i)|.

    The same neighbour sets as :func:`repalign_edu.mutual_knn` (cosine,
    self excluded, ties to the smaller index), which averages c_i / k instead.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    k : int, 1 <= k < n, default 10
    backend : {"auto", "numpy", "cpu", "cuda"}

    Returns
    -------
    float in [0, 1], a similarity; symmetric; 1 iff every point has the same
    neighbours.  Invariant to rotations and isotropic scaling; not to
    translation or general invertible linear maps.

    Raises
    ------
    ValueError
        Bad shapes or values, different n, k out of range, a zero row.

    References
    ----------
    Klabunde, Schumacher, Strohmaier & Lemmerich (2024) "ReSi: A
    comprehensive benchmark for representational similarity measures";
    Schumacher et al. (2021).  NOT IN PAPER.
    """
    return _jaccard_from(*_pair(X, Y, k, backend))


# --------------------------------------------------------------------------- second-order cosine
def _second_order_from(nx: Neighbourhood, ny: Neighbourhood) -> float:
    k = nx.idx.shape[1]
    J = np.concatenate([nx.idx, ny.idx], axis=1)                  # (n, 2k): the union, with
    keep = np.ones(J.shape, bool)                                 # Y's copies of shared
    keep[:, k:] = ~_mutual_mask(ny.idx, nx.idx).any(axis=2)       # neighbours dropped
    sx = np.einsum("id,ijd->ij", nx.Xn, nx.Xn[J]) * keep
    sy = np.einsum("id,ijd->ij", ny.Xn, ny.Xn[J]) * keep
    num = np.sum(sx * sy, axis=1)
    den = np.linalg.norm(sx, axis=1) * np.linalg.norm(sy, axis=1)
    if not np.all(den > 0):
        i = int(np.argmin(den))
        raise ValueError(f"second-order cosine is undefined at sample {i}: its cosine "
                         "similarities to all its neighbours are 0 in X or Y.")
    return float(np.clip(np.mean(num / den), -1.0, 1.0))   # mean of cosines; rounding


def second_order_cosine(X, Y, k: int = 10, *, backend: str = "auto") -> float:
    """Second-order cosine similarity (Hamilton, Leskovec & Jurafsky 2016; ReSi).

    For each sample i, with U_i = N_k^X(i) | N_k^Y(i) (cosine neighbours),
    s_X(i) = (cos(x_i, x_j))_{j in U_i} and s_Y(i) likewise::

        S2 = (1/n) sum_i cos( s_X(i), s_Y(i) ).

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    k : int, 1 <= k < n, default 10
    backend : {"auto", "numpy", "cpu", "cuda"}

    Returns
    -------
    float in [-1, 1] (in [0, 1] for non-negative features such as ReLU
    activations), a similarity; symmetric.  Invariant to rotations and
    isotropic scaling; not to translation or general invertible maps.

    Raises
    ------
    ValueError
        Bad shapes or values, different n, k out of range, a zero row.

    References
    ----------
    Hamilton, Leskovec & Jurafsky (2016) "Cultural shift or linguistic drift?",
    EMNLP; Klabunde et al. (2024) ReSi.  NOT IN PAPER.
    """
    return _second_order_from(*_pair(X, Y, k, backend))


# --------------------------------------------------------------------------- cycle k-NN
def _cycle_from(nx: Neighbourhood, ny: Neighbourhood) -> float:
    n = nx.idx.shape[0]
    back = nx.idx[ny.idx]                                          # (n, k, k): N^X(j), j in N^Y(i)
    return float(np.mean((back == np.arange(n)[:, None, None]).any(axis=(1, 2))))


def cycle_knn(X, Y, k: int = 10, *, backend: str = "auto") -> float:
    """Cycle k-NN accuracy (Huh, Cheung, Wang & Isola 2024, the Platonic representation paper).

    Go from sample i to its k nearest neighbours in Y, then from each of those
    to its k nearest neighbours in X; the cycle closes when i is among them::

        C = (1/n) sum_i 1[ i in U_{j in N_k^Y(i)} N_k^X(j) ].

    The same neighbour sets as :func:`repalign_edu.mutual_knn` (cosine on
    L2-normalised rows, self excluded, ties to the smaller index).

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    k : int, 1 <= k < n, default 10
    backend : {"auto", "numpy", "cpu", "cuda"}
        Which ``knn_sets`` building block finds the neighbours.

    Returns
    -------
    float in [0, 1], a similarity; *not* symmetric (the cycle starts in Y and
    returns through X).  It is not 1 for Y = X either: a neighbour j of i need
    not have i among its own k neighbours (for Y = X it is the share of points
    with a reciprocal neighbour).  For independent X and Y each of the k sets
    N_k^X(j) holds i with probability k/(n-1), so C is about
    1 - (1 - k/(n-1))^k, i.e. about k^2 / n when k^2 << n.  Invariant to
    rotations and isotropic scaling of either input; not to translation.

    Raises
    ------
    ValueError
        Bad shapes or values, different n, k out of range, a row of norm 0.

    References
    ----------
    Huh, Cheung, Wang & Isola (2024) "The Platonic representation hypothesis",
    ICML (their ``cycle_knn``, with feats_A = X, feats_B = Y).  NOT IN PAPER.
    """
    return _cycle_from(*_pair(X, Y, k, backend))


register(cknna, kind="similarity", bounds=(-1.0, 1.0), symmetric=True,
         summary="CKA restricted to mutual k-NN pairs, CKNNA (Huh et al. 2024)")
register(knn_jaccard, kind="similarity", bounds=(0.0, 1.0), symmetric=True,
         summary="mean Jaccard index of the two k-NN sets (ReSi, Klabunde et al. 2024)")
register(second_order_cosine, kind="similarity", bounds=(-1.0, 1.0), symmetric=True,
         summary="second-order cosine similarity over the union of k-NN sets (Hamilton et al. 2016)")
register(cycle_knn, kind="similarity", bounds=(0.0, 1.0), symmetric=False,
         summary="cycle k-NN: share of points whose Y-neighbours' X-neighbours lead back (Huh et al. 2024)")
