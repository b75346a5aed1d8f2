"""Metric (geometric) notions of alignment: distance matrices, RSA, Procrustes.

The paper's only metric notion is distance alignment D(d_1, d_2) (section 3.2,
:func:`repalign_edu.distance_alignment`).  This module adds the standard tools
of the field that the paper does not define (see ``shared/paper-notes.md``,
section 6b, "NOT IN PAPER"):

* representational dissimilarity matrices (RDMs) and representational
  similarity analysis, RSA (Kriegeskorte, Mur & Bandettini 2008): the
  correlation of the upper triangles of two RDMs;
* the orthogonal Procrustes distance and its angular form, the generalized
  shape metrics of Williams, Kunz, Kornblith & Linderman (2021), with their
  partial-whitening parameter ``alpha`` (alpha = 1: rotations only;
  alpha = 0: any invertible linear map, a CCA-like metric);
* :func:`invariance_table`, which measures which transformations of a
  representation leave each alignment measure unchanged.

Every function says whether it returns a similarity or a distance.
"""
from __future__ import annotations

from dataclasses import dataclass
import warnings
from numbers import Integral, Real
from typing import Callable, Mapping

import numpy as np
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.distance import pdist, squareform
from scipy.stats import ortho_group, pearsonr, spearmanr

from ._validation import (as_pair, as_representation, check_bool, check_option, check_scalar,
                          check_seed, check_square_matrix)
from .kernels import unit_scale

__all__ = [
    "RDM_METRICS",
    "InvarianceTable",
    "angular_procrustes_distance",
    "default_measures",
    "default_transforms",
    "invariance_table",
    "partial_whiten",
    "procrustes_distance",
    "rdm",
    "rdm_correlation",
    "rsa",
]

#: dissimilarities accepted by :func:`rdm` (names of ``scipy.spatial.distance.pdist``)
RDM_METRICS = ("euclidean", "sqeuclidean", "correlation", "cosine")
#: correlation coefficients accepted by :func:`rsa` and :func:`rdm_correlation`
RSA_METHODS = ("spearman", "pearson")


# --------------------------------------------------------------------------- RDMs and RSA
def rdm(X, metric: str = "euclidean") -> np.ndarray:
    """Representational dissimilarity matrix (distance matrix) of a point cloud.

    R_ij = d(x_i, x_j) for the rows x_i of X:

    * ``"euclidean"``:   ||x_i - x_j||
    * ``"sqeuclidean"``: ||x_i - x_j||^2  (the d_q^2 of the paper's D(d_1, d_2))
    * ``"correlation"``: 1 - Pearson correlation of the two rows
    * ``"cosine"``:      1 - <x_i, x_j> / (||x_i|| ||x_j||)

    Parameters
    ----------
    X : array_like, shape (n, d)
        n samples (rows); float32/float64, int/bool converted to float64.
    metric : {"euclidean", "sqeuclidean", "correlation", "cosine"}

    Returns
    -------
    ndarray, shape (n, n), float64
        Symmetric, zero diagonal, non-negative (a dissimilarity).  Computed
        with ``scipy.spatial.distance.pdist`` and ``squareform``.

    Raises
    ------
    ValueError
        X not a finite 2-D numeric array with n >= 2; unknown ``metric``; a
        row of norm 0 with "cosine" or a constant row with "correlation"
        (the dissimilarity is undefined).

    References
    ----------
    Kriegeskorte, Mur & Bandettini (2008) "Representational similarity
    analysis", Front. Syst. Neurosci.  Paper section 3.2 (d_q).
    """
    X = as_representation(X, "X", min_samples=2).astype(np.float64)
    check_option(metric, RDM_METRICS, "metric")
    if metric == "cosine" and np.any(np.max(np.abs(X), axis=1) == 0):
        i = int(np.argmin(np.max(np.abs(X), axis=1)))
        raise ValueError(f"X[{i}] has norm 0, so its cosine distance is undefined; "
                         "drop that row or use metric='euclidean'.")
    if metric == "correlation" and np.any(np.ptp(X, axis=1) <= 1e-12 * np.max(np.abs(X), axis=1)):
        i = int(np.argmin(np.ptp(X, axis=1)))
        raise ValueError(f"X[{i}] is constant, so its correlation distance is undefined; "
                         "drop that row or use metric='euclidean'.")
    X, c = unit_scale(X)                 # exact; distances scale back below
    R = squareform(pdist(X, metric))
    np.fill_diagonal(R, 0.0)
    R *= {"euclidean": c, "sqeuclidean": c * c}.get(metric, 1.0)
    if not np.all(np.isfinite(R)):
        raise ValueError(f"the {metric} distances of X overflow float64; rescale X (e.g. divide "
                         "it by its largest entry) or use metric='correlation'.")
    return R


def _check_rdm(R, name):
    R = check_square_matrix(R, name, symmetric=True, min_size=3)
    return R


#: an RDM whose upper triangle varies by less than this (relative to its scale) is constant
RDM_CONSTANT_RTOL = 1e-12


def _check_not_constant(v, scale, name):
    if not np.ptp(v) > RDM_CONSTANT_RTOL * scale:
        raise ValueError(
            f"{name} is constant up to rounding (every dissimilarity equals {float(v[0]):.3g} "
            f"within {RDM_CONSTANT_RTOL:g} relative): all points are equidistant or identical "
            "(e.g. rows that are rescalings of one pattern, with metric='correlation'), so its "
            "rank correlation with another RDM is undefined."
        )


def rdm_correlation(R1, R2, method: str = "spearman") -> float:
    """Correlation of the strict upper triangles of two dissimilarity matrices.

    RSA score = corr( {R1_ij : i < j}, {R2_ij : i < j} ), with ``method``
    "spearman" (rank correlation, ``scipy.stats.spearmanr``, the usual RSA
    choice) or "pearson" (``scipy.stats.pearsonr``).

    Parameters
    ----------
    R1, R2 : array_like, shape (n, n)
        Symmetric dissimilarity matrices of the same n >= 3 samples (e.g. from
        :func:`rdm`).  Only the n(n-1)/2 entries above the diagonal are used.
    method : {"spearman", "pearson"}

    Returns
    -------
    float in [-1, 1]
        A similarity (1: the two RDMs are perfectly rank-ordered /
        linearly related).

    Raises
    ------
    ValueError
        Non-square, non-symmetric, non-finite or differently sized matrices,
        n < 3, an unknown ``method``, or a constant upper triangle (the
        correlation is undefined).

    References
    ----------
    Kriegeskorte et al. (2008); NOT IN PAPER (see paper-notes section 6b).
    """
    check_option(method, RSA_METHODS, "method")
    R1, R2 = _check_rdm(R1, "R1"), _check_rdm(R2, "R2")
    if R1.shape != R2.shape:
        raise ValueError(f"R1 and R2 must describe the same samples; got shapes {R1.shape} "
                         f"and {R2.shape}.")
    iu = np.triu_indices(R1.shape[0], k=1)
    a, b = R1[iu], R2[iu]
    for v, name in ((a, "R1"), (b, "R2")):
        _check_not_constant(v, float(np.max(np.abs(v))), name)
    f = spearmanr if method == "spearman" else pearsonr
    return float(np.clip(f(a, b)[0], -1.0, 1.0))


def rsa(X, Y, *, metric: str = "euclidean", method: str = "spearman") -> float:
    """Representational similarity analysis of two paired representations.

    RSA(X, Y) = corr( upper(R_X), upper(R_Y) ) with R = :func:`rdm` (``metric``)
    and corr = :func:`rdm_correlation` (``method``).

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        Paired rows (the same n >= 3 inputs); d_X and d_Y may differ.
    metric : {"euclidean", "sqeuclidean", "correlation", "cosine"}
    method : {"spearman", "pearson"}

    Returns
    -------
    float in [-1, 1], a similarity.  With Euclidean RDMs it is invariant to
    rotations, translations and isotropic scaling of either representation,
    but not to general invertible linear maps.

    Raises
    ------
    ValueError
        Different n, bad shapes or values, unknown ``metric`` / ``method``.

    References
    ----------
    Kriegeskorte, Mur & Bandettini (2008); NOT IN PAPER.
    """
    X, Y = as_pair(X, Y, min_samples=3)
    check_option(method, RSA_METHODS, "method")
    RX, RY = rdm(X, metric), rdm(Y, metric)
    if metric in ("correlation", "cosine"):   # values in [0, 2]: rounding noise is absolute
        iu = np.triu_indices(RX.shape[0], k=1)
        _check_not_constant(RX[iu], 1.0, "the RDM of X")
        _check_not_constant(RY[iu], 1.0, "the RDM of Y")
    return rdm_correlation(RX, RY, method)


# --------------------------------------------------------------------------- Procrustes
def _check_alpha(alpha):
    return check_scalar(alpha, "alpha", Real, min_val=0.0, max_val=1.0,
                        fix="1: rotations only, 0: any invertible linear map.")


def partial_whiten(X, alpha: float = 1.0, *, eigval_tol: float = 1e-10) -> np.ndarray:
    """Partial whitening of a (centred) representation, Williams et al. (2021).

    With X^T X = V diag(lam) V^T::

        phi_alpha(X) = X V diag(alpha + (1 - alpha) lam^(-1/2)) V^T

    rescaled so that ||phi_alpha(X)||_F = ||X||_F.  alpha = 1 returns X
    unchanged; alpha = 0 whitens X (X^T X becomes proportional to the
    identity on its range), which makes any metric built on top invariant
    to invertible linear maps.  Eigenvalues below ``eigval_tol * max(lam)``
    are treated as zero directions (they stay zero).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Usually already centred.
    alpha : float in [0, 1]
    eigval_tol : float > 0
        Relative eigenvalue cut-off.

    Returns
    -------
    ndarray, shape (n, d), float64

    Raises
    ------
    ValueError
        Bad X, alpha outside [0, 1], or X identically zero.

    References
    ----------
    Williams, Kunz, Kornblith & Linderman (2021) "Generalized shape metrics
    on neural representations", NeurIPS, section 3 (partial whitening).
    """
    X = as_representation(X, "X", min_samples=1).astype(np.float64)
    alpha = _check_alpha(alpha)
    eigval_tol = check_scalar(eigval_tol, "eigval_tol", min_val=0.0, max_val=1.0,
                              include_boundaries="right",
                              fix="It is a relative eigenvalue cut-off, e.g. 1e-10.")
    if alpha == 1.0:
        return X.copy()
    Xs, c = unit_scale(X)               # X = c Xs exactly, so lam = c^2 lam_s
    try:
        lam, V = np.linalg.eigh(Xs.T @ Xs)
    except np.linalg.LinAlgError:
        raise ValueError("the eigendecomposition of X^T X did not converge; check X for "
                         "extreme values.") from None
    if not lam.max() > 0:
        raise ValueError("X is identically zero, so it cannot be whitened.")
    keep = lam > eigval_tol * lam.max()
    scale = np.zeros_like(lam)
    scale[keep] = alpha + (1.0 - alpha) / (c * np.sqrt(lam[keep]))
    Xw = Xs @ (V * scale) @ V.T
    out = (Xw * (np.linalg.norm(Xs) / np.linalg.norm(Xw))) * c
    if not np.all(np.isfinite(out)):
        raise ValueError("the whitened X overflows float64 (its Frobenius norm is kept equal to "
                         "that of X); rescale X, e.g. divide it by its largest entry.")
    return out


def _shape_preprocess(X, Y, alpha, center, common_scale=False):
    """Validated, centred, partially whitened, zero-padded (X, Y), and the scale c.

    Extreme inputs are divided by powers of two (exact): each by its own
    (scale-invariant distances, c = 1 returned), or both by a common c with
    ``common_scale`` (the size-and-shape distance, which the caller multiplies by c).
    """
    X, Y = as_pair(X, Y)
    center = check_bool(center, "centered")
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    if common_scale:
        _, c = unit_scale(np.array([np.max(np.abs(X)), np.max(np.abs(Y))]))
        X, Y = X / c, Y / c
    else:
        X, Y, c = unit_scale(X)[0], unit_scale(Y)[0], 1.0
    if center:
        X, Y = X - X.mean(axis=0), Y - Y.mean(axis=0)
    for A, name in ((X, "X"), (Y, "Y")):
        if not np.linalg.norm(A) > 0:
            raise ValueError(f"{name} is zero after centring (all rows equal), so its shape is "
                             "undefined; check for a dead layer or constant features.")
    X, Y = partial_whiten(X, alpha), partial_whiten(Y, alpha)
    d = max(X.shape[1], Y.shape[1])          # zero-pad the narrower representation
    X = np.pad(X, ((0, 0), (0, d - X.shape[1])))
    Y = np.pad(Y, ((0, 0), (0, d - Y.shape[1])))
    return X, Y, c


def _procrustes_rotation(Y, X):
    try:
        return orthogonal_procrustes(Y, X)[0]
    except (np.linalg.LinAlgError, ValueError):
        raise ValueError("the SVD of Y^T X did not converge; check X and Y for extreme or "
                         "degenerate values.") from None


def _centered(centered, center, func):
    """``centered=`` is the package's name; ``center=`` is the deprecated spelling."""
    if center is not None:
        warnings.warn(f"{func}(center=...) is deprecated; use centered=...", DeprecationWarning,
                      stacklevel=3)
        return center
    return centered


def procrustes_distance(X, Y, *, alpha: float = 1.0, centered: bool = True,
                        normalize: bool = True, return_rotation: bool = False, center=None):
    """Orthogonal Procrustes distance (Euclidean generalized shape metric).

    After centring (``centered``), partial whitening (``alpha``, see
    :func:`partial_whiten`), zero-padding the narrower matrix to
    d = max(d_X, d_Y) columns and, with ``normalize``, scaling both to unit
    Frobenius norm::

        d_P(X, Y) = min_{Q in O(d)} ||X - Y Q||_F
                  = sqrt( ||X||_F^2 + ||Y||_F^2 - 2 ||X^T Y||_* )

    (||.||_* is the nuclear norm).  Q is found with
    ``scipy.linalg.orthogonal_procrustes(Y, X)``.  With ``normalize=True``,
    d_P = 2 sin(theta / 2) = sqrt(2 - 2 cos theta), where theta is
    :func:`angular_procrustes_distance`.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        Paired rows.
    alpha : float in [0, 1], default 1
        1: invariant to rotations/reflections only (plus translation and, with
        ``normalize``, isotropic scaling).  0: invariant to every invertible
        linear map (needs n > d and full column rank for exact invariance).
    centered : bool, default True
        Subtract column means (translation invariance).  ``center=`` is the
        deprecated spelling.
    normalize : bool, default True
        Unit Frobenius norm (isotropic-scaling invariance, the "shape
        space"); False gives the "size-and-shape" distance.
    return_rotation : bool
        Also return the optimal Q, shape (d, d).

    Returns
    -------
    float >= 0 (a distance, a proper metric on shapes), or (float, ndarray)
        In [0, sqrt(2)] with ``normalize=True``.

    Raises
    ------
    ValueError
        Different n, bad shapes or values, alpha outside [0, 1], or a
        representation that is zero after centring.

    References
    ----------
    Schoenemann (1966); Williams, Kunz, Kornblith & Linderman (2021),
    NeurIPS, eq. (2) and section 3.  NOT IN PAPER.
    """
    center = _centered(centered, center, "procrustes_distance")
    normalize = check_bool(normalize, "normalize")
    return_rotation = check_bool(return_rotation, "return_rotation")
    X, Y, c = _shape_preprocess(X, Y, _check_alpha(alpha), center, common_scale=not normalize)
    if normalize:
        X, Y = X / np.linalg.norm(X), Y / np.linalg.norm(Y)
    Q = _procrustes_rotation(Y, X)
    dist = float(np.linalg.norm(X - Y @ Q))
    if normalize:
        dist = min(dist, float(np.sqrt(2.0)))
    else:
        dist *= c
        if not np.isfinite(dist):
            raise ValueError("the size-and-shape distance overflows float64; rescale X and Y "
                             "or use normalize=True.")
    return (dist, Q) if return_rotation else dist


def angular_procrustes_distance(X, Y, *, alpha: float = 1.0, centered: bool = True,
                                center=None) -> float:
    """Angular Procrustes distance (angular generalized shape metric).

    With X, Y preprocessed as in :func:`procrustes_distance` (centred,
    partially whitened, zero-padded)::

        theta(X, Y) = arccos( max_{Q in O(d)} <X, Y Q>_F / (||X||_F ||Y||_F) )
                    = arccos( ||X^T Y||_* / (||X||_F ||Y||_F) )

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    alpha : float in [0, 1]
    centered : bool
        As :func:`procrustes_distance` (``center=`` is deprecated).

    Returns
    -------
    float in [0, pi/2], a distance in radians (a proper metric on shapes,
    so it satisfies the triangle inequality).  Always invariant to isotropic
    scaling.

    Raises
    ------
    ValueError
        As :func:`procrustes_distance`.

    References
    ----------
    Williams, Kunz, Kornblith & Linderman (2021), NeurIPS, eq. (3).  NOT IN PAPER.
    """
    center = _centered(centered, center, "angular_procrustes_distance")
    X, Y, _ = _shape_preprocess(X, Y, _check_alpha(alpha), center)
    Q = _procrustes_rotation(Y, X)
    cos = float(np.sum(X * (Y @ Q)) / (np.linalg.norm(X) * np.linalg.norm(Y)))
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


# --------------------------------------------------------------------------- invariances
def default_transforms(d: int, *, seed: int = 0, scale: float = 3.7,
                       shift: float = 5.0) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The four transformations of the invariance table, for d features.

    * ``"rotation"``: X -> X Q, Q a Haar-random orthogonal (d, d) matrix;
    * ``"isotropic scaling"``: X -> ``scale`` * X;
    * ``"translation"``: X -> X + b, b a random direction of length
      ``shift`` times the root-mean-square row norm of X;
    * ``"invertible linear"``: X -> X M, M = Q diag(s) with s log-uniform
      in [0.2, 5] (an invertible, anisotropic map).

    Parameters
    ----------
    d : int >= 1
    seed : int
        Seed of ``np.random.default_rng`` (all matrices are drawn here, so
        the same transform is applied to every call).
    scale, shift : float > 0

    Returns
    -------
    dict of name -> callable(ndarray (n, d)) -> ndarray (n, d)

    Raises
    ------
    ValueError
        d < 1, scale or shift not > 0.
    """
    d = check_scalar(d, "d", Integral, min_val=1, fix="d is the number of features.")
    for v, name in ((scale, "scale"), (shift, "shift")):
        check_scalar(v, name, Real, min_val=0.0, include_boundaries="neither")
    rng = np.random.default_rng(check_seed(seed))
    Q = ortho_group.rvs(d, random_state=rng) if d > 1 else np.array([[-1.0]])
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    s = np.exp(rng.uniform(np.log(0.2), np.log(5.0), size=d))
    Q2 = ortho_group.rvs(d, random_state=rng) if d > 1 else np.eye(1)
    M = Q2 * s

    def translate(X):
        r = np.sqrt(np.mean(np.sum(X**2, axis=1)))
        return X + shift * r * u

    return {
        "rotation": lambda X: X @ Q,
        "isotropic scaling": lambda X: scale * X,
        "translation": translate,
        "invertible linear": lambda X: X @ M,
    }


def default_measures(*, k: int = 10,
                     extended: bool = False) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    """The alignment measures compared in lesson 01's invariance table.

    Names and what they return (all on the NumPy reference backend):

    ============================  ==============================================  =========
    name                          function                                        kind
    ============================  ==============================================  =========
    ``KA (linear)``               kernel_alignment(X, Y) (uncentred A-hat)        similarity
    ``CKA (linear)``              cka(X, Y)                                       similarity
    ``CKA (rbf, median)``         cka(X, Y, "rbf"), median-heuristic sigma        similarity
    ``D (distance alignment)``    distance_alignment(X, Y)                        distance
    ``RSA (Spearman)``            rsa(X, Y, method="spearman")                    similarity
    ``RSA (Pearson)``             rsa(X, Y, method="pearson")                     similarity
    ``Procrustes``                procrustes_distance(X, Y)                       distance
    ``angular Procrustes``        angular_procrustes_distance(X, Y)               distance
    ``shape metric, alpha=0``     angular_procrustes_distance(X, Y, alpha=0)      distance
    ``mutual kNN``                mutual_knn(X, Y, k)                             similarity
    ============================  ==============================================  =========

    With ``extended=True`` the field's other measures follow (lesson 06):

    ============================  ==============================================  =========
    ``CCA (rho-bar)``             cca.cca_similarity(X, Y)                        similarity
    ``SVCCA (0.99)``              cca.svcca(X, Y, 0.99)                           similarity
    ``PWCCA (weights of X)``      cca.pwcca(X, Y)                                 similarity
    ``linear regression (X from Y)`` cca.linear_regression_similarity(X, Y)          similarity
    ``CKNNA``                     neighbors.cknna(X, Y, k)                        similarity
    ``k-NN Jaccard``              neighbors.knn_jaccard(X, Y, k)                  similarity
    ============================  ==============================================  =========

    Parameters
    ----------
    k : int
        Neighbours of the k-NN measures.
    extended : bool
        Add the CCA family, linear regression, CKNNA and k-NN Jaccard.

    Returns
    -------
    dict of name -> callable(X, Y) -> float
    """
    from .measures import cka, distance_alignment, kernel_alignment, mutual_knn

    table = {
        "KA (linear)": lambda X, Y: kernel_alignment(X, Y, backend="numpy"),
        "CKA (linear)": lambda X, Y: cka(X, Y, backend="numpy"),
        "CKA (rbf, median)": lambda X, Y: cka(X, Y, "rbf", backend="numpy"),
        "D (distance alignment)": lambda X, Y: distance_alignment(X, Y, backend="numpy"),
        "RSA (Spearman)": lambda X, Y: rsa(X, Y, method="spearman"),
        "RSA (Pearson)": lambda X, Y: rsa(X, Y, method="pearson"),
        "Procrustes": procrustes_distance,
        "angular Procrustes": angular_procrustes_distance,
        "shape metric, alpha=0": lambda X, Y: angular_procrustes_distance(X, Y, alpha=0.0),
        "mutual kNN": lambda X, Y: mutual_knn(X, Y, k, backend="numpy"),
    }
    if extended:
        from .cca import cca_similarity, linear_regression_similarity, pwcca, svcca
        from .neighbors import cknna, knn_jaccard

        table.update({
            "CCA (rho-bar)": cca_similarity,
            "SVCCA (0.99)": lambda X, Y: svcca(X, Y, 0.99),
            "PWCCA (weights of X)": pwcca,
            "linear regression (X from Y)": linear_regression_similarity,
            "CKNNA": lambda X, Y: cknna(X, Y, k, backend="numpy"),
            "k-NN Jaccard": lambda X, Y: knn_jaccard(X, Y, k, backend="numpy"),
        })
    return table


@dataclass
class InvarianceTable:
    """Result of :func:`invariance_table`.

    Attributes
    ----------
    measures : list of str
    transforms : list of str
    base : dict name -> float
        m(X, Y) for each measure m.
    values : dict (measure, transform) -> float
        m(T(X), Y).
    invariant : dict (measure, transform) -> bool
        |m(T(X), Y) - m(X, Y)| <= atol + rtol |m(X, Y)|.
    """

    measures: list
    transforms: list
    base: dict
    values: dict
    invariant: dict
    rtol: float = 1e-8
    atol: float = 1e-10

    def relative_change(self, measure: str, transform: str) -> float:
        """|m(T(X), Y) - m(X, Y)| / max(|m(X, Y)|, atol)."""
        b = self.base[measure]
        return abs(self.values[measure, transform] - b) / max(abs(b), self.atol)

    def as_bool_array(self) -> np.ndarray:
        """Boolean array, shape (n_measures, n_transforms): True where invariant."""
        return np.array([[self.invariant[m, t] for t in self.transforms] for m in self.measures])

    def to_markdown(self) -> str:
        """A Markdown table with a check mark where the measure is invariant."""
        head = "| measure | " + " | ".join(self.transforms) + " |"
        sep = "|---|" + "---|" * len(self.transforms)
        rows = ["| " + m.replace("|", "\\|") + " | " + " | ".join("✓" if self.invariant[m, t] else "✗"
                                              for t in self.transforms) + " |"
                for m in self.measures]
        return "\n".join([head, sep, *rows])

    def __str__(self) -> str:
        return self.to_markdown()

    def plot(self, ax=None):
        """Draw the table as a green (invariant) / red (not) grid; return the Axes."""
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap

        B = self.as_bool_array()
        if ax is None:
            _, ax = plt.subplots(figsize=(1.3 * len(self.transforms) + 2.5,
                                          0.38 * len(self.measures) + 1.2))
        ax.imshow(B, cmap=ListedColormap(["#E69F00", "#009E73"]), vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(self.transforms)), self.transforms, rotation=20, ha="right")
        ax.set_yticks(range(len(self.measures)), self.measures)
        ax.grid(False)
        for i, m in enumerate(self.measures):
            for j, t in enumerate(self.transforms):
                ax.text(j, i, "✓" if B[i, j] else f"✗ {self.relative_change(m, t):.0e}",
                        ha="center", va="center", fontsize=8, color="w" if B[i, j] else "k")
        ax.set_title("invariance of each measure (✗: relative change)")
        return ax


def invariance_table(X, Y, measures: Mapping[str, Callable] | None = None,
                     transforms: Mapping[str, Callable] | None = None, *, seed: int = 0,
                     rtol: float = 1e-8, atol: float = 1e-10) -> InvarianceTable:
    """Which transformations of X leave each alignment measure unchanged?

    For every measure m and transformation T, compares m(T(X), Y) with
    m(X, Y).  A measure is declared invariant to T on this data when
    |m(T(X), Y) - m(X, Y)| <= atol + rtol |m(X, Y)|.  Invariance in this
    sense works for similarities and distances alike (for a distance it is
    the statement d(T X, Y) = d(X, Y)).

    Parameters
    ----------
    X : array_like, shape (n, d_X)
        The representation that is transformed.
    Y : array_like, shape (n, d_Y)
        A fixed reference representation of the same n inputs (it should not
        be a copy of X, or every similarity sits at its maximum).
    measures : dict name -> callable(X, Y) -> float, optional
        Default :func:`default_measures`.
    transforms : dict name -> callable(X) -> X', optional
        Default :func:`default_transforms` (rotation, isotropic scaling,
        translation, invertible linear) with ``seed``.
    seed : int
    rtol, atol : float >= 0

    Returns
    -------
    InvarianceTable

    Raises
    ------
    ValueError
        Bad X or Y (as :func:`repalign_edu.measures` validation), empty
        ``measures`` or ``transforms``, or negative tolerances.

    References
    ----------
    Kornblith et al. (2019), section 2 (invariances of similarity indices);
    Williams et al. (2021).  Lesson 01.
    """
    X, Y = as_pair(X, Y, min_samples=3)
    X, Y = X.astype(np.float64), Y.astype(np.float64)
    measures = default_measures() if measures is None else dict(measures)
    transforms = default_transforms(X.shape[1], seed=seed) if transforms is None else dict(transforms)
    if not measures:
        raise ValueError("measures is empty; pass a dict name -> callable(X, Y).")
    if not transforms:
        raise ValueError("transforms is empty; pass a dict name -> callable(X).")
    for v, name in ((rtol, "rtol"), (atol, "atol")):
        if not (isinstance(v, Real) and v >= 0):
            raise ValueError(f"{name} must be a number >= 0; got {v!r}.")
    base = {m: float(f(X, Y)) for m, f in measures.items()}
    TX = {t: np.asarray(T(X), dtype=np.float64) for t, T in transforms.items()}
    values, inv = {}, {}
    for m, f in measures.items():
        for t in transforms:
            v = float(f(TX[t], Y))
            values[m, t] = v
            inv[m, t] = bool(abs(v - base[m]) <= atol + rtol * abs(base[m]))
    return InvarianceTable(list(measures), list(transforms), base, values, inv, rtol, atol)
