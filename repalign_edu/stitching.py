"""Linear stitching, the stitching misalignment A~_2 and the paper's bounds.

The paper's section 4 made computable (Insulla, Huang & Rosasco, "Towards a
Learning Theory of Representation Alignment", ICLR 2025).  Notation:

* ``F1`` (n, d1) and ``F2`` (n, d2) hold the representations f_1(x), f_2(x)
  of the same n inputs, one row per input (row convention: the paper's
  column vector ``S f_1`` is the row ``F1 @ S.T``).
* A linear stitcher s_{1,2}(z) = S z has a matrix ``S`` of shape (d2, d1)
  (paper section 4.2); an affine one adds a bias ``b`` (d2,).
* A head g_2 : Z_2 -> Y_2 maps a representation to outputs, shape (n, t);
  the model is h_2 = g_2 o f_2 and the stitched model
  h_{1,2} = g_2 o s_{1,2} o f_1.
* The risk is the square loss, R(h) = E ||h(x) - y||^2, on the empirical
  measure of the rows passed in (integer labels are one-hot encoded).
* Expectations are means over rows, and second moments are *uncentred*,
  S_ij = E[f_i f_j^T], as in the paper.

Statements implemented here:

* Lemma 2 (linear heads): :func:`fit_task_stitch` gives the optimal stitcher
  for a linear head in closed form; :func:`lemma2_gap` the residual term
  ||(I - W_2 W_2^+) W_1||^2_{eta_1} that vanishes when rank W_2 = t.
* Theorem 1 (Eq. 2): :func:`stitching_misalignment` (A~_2) and
  :func:`theorem1_bound`; :func:`stitching_risk` measures everything at once.
* Lipschitz constants of heads (:func:`linear_head`, :func:`zoo_head`,
  :func:`head_lipschitz`, :data:`SOFTMAX_LIPSCHITZ`).
* Theorem 2 and Remark 6: :func:`theorem2_bound`, :func:`remark6_bound`,
  :func:`remark6_two_sided_bound`.

Nothing here forms an explicit matrix inverse: stitchers are least-squares
solutions (``numpy.linalg.lstsq``, minimum norm), ridge stitchers solve an
augmented least-squares problem, and A~_2 is the mean squared residual of
that regression, so every function is valid for rank-deficient F1.
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Callable

import numpy as np

from ._validation import as_pair, as_representation, check_bool, check_scalar

__all__ = [
    "SOFTMAX_LIPSCHITZ",
    "Head",
    "LinearStitcher",
    "StitchingResult",
    "fit_linear_head",
    "fit_linear_stitch",
    "fit_task_stitch",
    "head_lipschitz",
    "lemma2_gap",
    "linear_head",
    "one_hot",
    "remark6_bound",
    "remark6_two_sided_bound",
    "square_risk",
    "stitching_misalignment",
    "stitching_risk",
    "theorem1_bound",
    "theorem2_bound",
    "zoo_head",
]

#: Lipschitz constant of the softmax  z -> exp(z) / sum(exp(z))  in the
#: Euclidean norm.  Its Jacobian is J(z) = diag(p) - p p^T (p = softmax(z)),
#: a symmetric PSD matrix.  Gershgorin's theorem bounds every eigenvalue by
#: max_i [p_i (1 - p_i) + p_i sum_{j != i} p_j] = max_i 2 p_i (1 - p_i) <= 1/2,
#: so ||J(z)||_2 <= 1/2 everywhere, and the mean-value inequality on the
#: convex set R^t gives ||softmax(z) - softmax(z')|| <= ||z - z'|| / 2.  The
#: constant is sharp: for p -> (1/2, 1/2, 0, ..., 0), J has the eigenvalue
#: 1/2 with eigenvector (1, -1, 0, ..., 0) / sqrt(2).  (The often-quoted
#: constant 1, e.g. Gao & Pavel 2017, is valid but not sharp.)
SOFTMAX_LIPSCHITZ = 0.5


# --------------------------------------------------------------------------
# small checks
# --------------------------------------------------------------------------
def _check_nonneg(value, name):
    return check_scalar(value, name, Real, min_val=0.0)


def _check_bool(value, name):
    return check_bool(value, name)


def _check_nonneg_array(values, name):
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of real numbers >= 0; got {values!r}.") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence (one value per layer); got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must hold finite numbers >= 0; got {arr}.")
    return arr


# --------------------------------------------------------------------------
# stitchers
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class LinearStitcher:
    """A fitted linear (or affine) stitcher s_{1,2}(z) = S z + b.

    Attributes
    ----------
    S : ndarray, shape (d2, d1)
        The stitching matrix S_{1,2} of the paper (section 4.2).
    b : ndarray, shape (d2,)
        The bias; all zeros for a linear stitcher (``bias=False``).
    ridge : float
        The ridge parameter it was fitted with (0 for least squares).

    Calling the stitcher on ``F1`` (n, d1) returns ``F1 @ S.T + b`` (n, d2).
    """

    S: np.ndarray
    b: np.ndarray
    ridge: float = 0.0

    @property
    def d_in(self) -> int:
        """d1, the dimension of the source representation."""
        return int(self.S.shape[1])

    @property
    def d_out(self) -> int:
        """d2, the dimension of the target representation."""
        return int(self.S.shape[0])

    def __call__(self, F1) -> np.ndarray:
        F1 = as_representation(F1, "F1", min_samples=1)
        if F1.shape[1] != self.d_in:
            raise ValueError(
                f"F1 has {F1.shape[1]} columns but this stitcher maps from d1={self.d_in}; "
                "pass the representation the stitcher was fitted on."
            )
        return F1.astype(np.float64) @ self.S.T + self.b


def _lstsq(A, B):
    """Minimum-norm least-squares solution X of A X ~ B (no explicit inverse)."""
    return np.linalg.lstsq(A, B, rcond=None)[0]


def _fit(F1, F2, ridge, bias):
    """Return (S, b) for validated float64 arrays."""
    n, d1 = F1.shape
    if bias:
        m1, m2 = F1.mean(axis=0), F2.mean(axis=0)
        A, B = F1 - m1, F2 - m2
    else:
        A, B = F1, F2
    if ridge > 0:
        # mean ||S f1 - f2||^2 + ridge ||S||_F^2  <=>  least squares on the
        # augmented system [A; sqrt(n ridge) I] S^T = [B; 0]
        A = np.vstack([A, np.sqrt(n) * np.sqrt(ridge) * np.eye(d1)])
        B = np.vstack([B, np.zeros((d1, B.shape[1]))])
    try:
        St = _lstsq(A, B)                  # (d1, d2)
    except np.linalg.LinAlgError:
        raise ValueError(
            "the least-squares fit of the stitcher did not converge (SVD failure): F1 and F2 "
            "or ridge are too large for float64. Rescale F1 and F2 (e.g. divide by their "
            "largest entry) and choose ridge in the units of E[f_1 f_1^T]."
        ) from None
    if not (np.all(np.isfinite(St))):
        raise ValueError("the stitcher overflows float64: rescale F1 and F2 or lower ridge.")
    S = np.ascontiguousarray(St.T)
    b = (m2 - S @ m1) if bias else np.zeros(F2.shape[1])
    return S, b


def fit_linear_stitch(F1, F2, ridge=0.0, bias=False) -> LinearStitcher:
    """Fit the stitcher S (d2 x d1) that minimises the mean of ||S f_1 - f_2||^2.

    With ``ridge = 0`` this is the least-squares regression of f_2 on f_1,
    the stitcher S* = S_21 S_11^+ of the proof of Theorem 1 (paper section
    4.2; S_ij = E[f_i f_j^T] uncentred second moments), computed by
    ``numpy.linalg.lstsq``: the minimum-norm minimiser, so it is defined for
    rank-deficient F1 too.  With ``ridge = lam > 0`` it minimises
    ``mean ||S f_1 - f_2||^2 + lam ||S||_F^2``, i.e.
    S_lam = S_21 (S_11 + lam I)^{-1} (Remark 4), solved as an augmented
    least-squares problem.  With ``bias=True`` the stitcher is affine,
    s(z) = S z + b (Remark 3: a larger stitching class); the bias is not
    penalised.

    Parameters
    ----------
    F1 : array_like, shape (n, d1)
        Source representation f_1(x), one row per input.
    F2 : array_like, shape (n, d2)
        Target representation f_2(x) of the same inputs, same row order.
    ridge : float, default 0.0
        Ridge parameter lam >= 0 (in the units of E[f_1 f_1^T]).
    bias : bool, default False
        Fit an affine stitcher S z + b.

    Returns
    -------
    LinearStitcher
        ``.S`` (d2, d1), ``.b`` (d2,) (zeros unless ``bias``), callable on F1.

    Raises
    ------
    ValueError
        F1 or F2 not 2-D, non-finite, with fewer than 2 rows or a different
        number of rows; ``ridge`` negative or not a number; ``bias`` not a bool.
        The message names the argument.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> F1 = rng.normal(size=(50, 3)); A = rng.normal(size=(3, 2))
    >>> st = fit_linear_stitch(F1, F1 @ A + 1.0, bias=True)
    >>> bool(np.allclose(st.S, A.T) and np.allclose(st.b, 1.0))
    True
    """
    F1, F2 = _pair(F1, F2)
    ridge = _check_nonneg(ridge, "ridge")
    bias = _check_bool(bias, "bias")
    S, b = _fit(F1, F2, ridge, bias)
    return LinearStitcher(S=S, b=b, ridge=ridge)


def _pair(F1, F2):
    """Validate paired representations F1 (n, d1), F2 (n, d2); return float64 arrays.

    The checks of :func:`repalign_edu._validation.as_pair`, with the
    stitching argument names (F1, F2) in the messages.
    """
    F1, F2 = as_pair(F1, F2, names=("F1", "F2"))
    return F1.astype(np.float64, copy=False), F2.astype(np.float64, copy=False)


def stitching_misalignment(F1, F2, *, ridge=0.0, bias=False) -> float:
    """The stitching misalignment A~_2 = min_S E ||S f_1 - f_2||^2 (Theorem 1).

    A~_2 = Tr S_22 - Tr S_21 S_11^+ S_12 with the uncentred second moments
    S_ij = E[f_i f_j^T]; in the paper's spectral notation
    A~_2 = ||I||^2_{eta_2} - ||C_{1,2}||^2_{eta_2}.  (Erratum: the paper
    prints ``||I||_{eta_2}`` without the square; the two forms agree only
    with the square, see Remark 4.)  It is the mean squared residual of the
    least-squares regression of f_2 on f_1, computed from that residual
    (``lstsq``), not by subtracting two traces, so it is accurate and >= 0
    and it is valid when F1 is rank deficient.

    Properties: A~_2 = 0 iff f_2 = S f_1 on the sample; it is invariant to
    any invertible linear reparametrisation f_1 -> B f_1 (Remark 4: "the
    spectrum eta_1 is irrelevant"); it is *not* symmetric (A~_1 swaps the
    roles).

    Parameters
    ----------
    F1 : array_like, shape (n, d1)
        Source representation f_1(x).
    F2 : array_like, shape (n, d2)
        Target representation f_2(x), rows paired with F1.
    ridge : float, default 0.0
        If > 0, return E ||S_lam f_1 - f_2||^2 for the ridge stitcher
        S_lam = S_21 (S_11 + lam I)^{-1} instead of the minimum; this is no
        longer invariant to reparametrising f_1 (Remark 4).
    bias : bool, default False
        Minimise over affine stitchers S z + b (Remark 3's larger class);
        this equals the same quantity for the column-centred F1, F2.

    Returns
    -------
    float >= 0
        In squared units of f_2 (a discrepancy: 0 means perfect linear
        stitching).  Divide by ``mean(sum(F2**2, axis=1))`` = Tr S_22 for a
        scale-free fraction in [0, 1].

    Raises
    ------
    ValueError
        As :func:`fit_linear_stitch`.

    References
    ----------
    Paper section 4.2, Theorem 1 (Eq. 2), Remarks 3 and 4.
    """
    F1, F2 = _pair(F1, F2)
    ridge = _check_nonneg(ridge, "ridge")
    bias = _check_bool(bias, "bias")
    S, b = _fit(F1, F2, ridge, bias)
    R = F2 - (F1 @ S.T + b)
    return float(np.einsum("ij,ij->", R, R) / F1.shape[0])


# --------------------------------------------------------------------------
# risks
# --------------------------------------------------------------------------
def one_hot(labels, n_classes) -> np.ndarray:
    """One-hot encode integer labels 0..n_classes-1 into an (n, n_classes) float array.

    Raises
    ------
    ValueError
        labels not a 1-D integer array, or a label outside 0..n_classes-1.
    """
    lab = np.asarray(labels)
    if lab.ndim != 1 or not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(
            f"labels must be a 1-D array of integer class labels; got dtype {lab.dtype} and "
            f"shape {lab.shape}."
        )
    if lab.size and (lab.min() < 0 or lab.max() >= n_classes):
        raise ValueError(
            f"labels must lie in 0..{n_classes - 1} (the outputs have {n_classes} columns); "
            f"got labels from {lab.min()} to {lab.max()}."
        )
    out = np.zeros((lab.size, n_classes))
    out[np.arange(lab.size), lab] = 1.0
    return out


def _targets(targets, n, t, name="targets"):
    """Targets as an (n, t) float array: 1-D integer labels are one-hot encoded."""
    arr = np.asarray(targets)
    if arr.ndim == 1 and np.issubdtype(arr.dtype, np.integer):
        Y = one_hot(arr, t)
    else:
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        Y = as_representation(arr, name, min_samples=1).astype(np.float64)
    if Y.shape != (n, t):
        raise ValueError(
            f"{name} must be n={n} integer labels or an array of shape ({n}, {t}) (one row "
            f"per output row); got shape {np.asarray(targets).shape}."
        )
    return Y


def square_risk(outputs, targets) -> float:
    """Empirical square-loss risk R(h) = mean_i ||h(x_i) - y_i||^2 (paper section 4.1).

    Parameters
    ----------
    outputs : array_like, shape (n, t)
        Model outputs h(x_i), e.g. class probabilities.
    targets : array_like, shape (n, t), or integer labels, shape (n,)
        Labels 0..t-1 are one-hot encoded.

    Returns
    -------
    float >= 0 (a risk: smaller is better; at most 2 for probabilities vs one-hot).

    Raises
    ------
    ValueError
        Non-finite or non-2-D outputs, or targets that do not match them.
    """
    P = as_representation(outputs, "outputs", min_samples=1).astype(np.float64)
    Y = _targets(targets, P.shape[0], P.shape[1])
    D = P - Y
    return float(np.einsum("ij,ij->", D, D) / P.shape[0])


# --------------------------------------------------------------------------
# heads
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Head:
    """A task head g : Z = R^{d_in} -> Y = R^{d_out} with a Lipschitz constant.

    Attributes
    ----------
    fn : callable
        Maps Z (n, d_in) to outputs (n, d_out).
    d_in, d_out : int
    kappa : float
        A Lipschitz constant of ``fn`` in the Euclidean norms:
        ||g(z) - g(z')|| <= kappa ||z - z'||.
    exact : bool
        True if ``kappa`` is the smallest such constant (linear heads),
        False if it is an upper bound (MLP heads).
    W : ndarray or None, shape (d_out, d_in)
        The weight matrix of a linear head g(z) = W z + b (None otherwise).
    b : ndarray or None, shape (d_out,)
    name : str
    """

    fn: Callable
    d_in: int
    d_out: int
    kappa: float
    exact: bool
    W: np.ndarray | None = None
    b: np.ndarray | None = None
    name: str = "head"

    @property
    def is_linear(self) -> bool:
        """True for heads g(z) = W z + b."""
        return self.W is not None

    def __call__(self, Z) -> np.ndarray:
        Z = as_representation(Z, "Z", min_samples=1)
        if Z.shape[1] != self.d_in:
            raise ValueError(
                f"Z has {Z.shape[1]} columns but the head {self.name} expects d_in={self.d_in}."
            )
        return np.asarray(self.fn(Z.astype(np.float64)), dtype=np.float64)


def linear_head(W, b=None) -> Head:
    """The linear head g(z) = W z + b, with its exact Lipschitz constant ||W||_2.

    Parameters
    ----------
    W : array_like, shape (t, d)
        The paper's W_q (Lemma 2): t outputs, d representation features.
    b : array_like, shape (t,), optional
        Bias (zeros if omitted).

    Returns
    -------
    Head
        ``kappa = ||W||_2`` (largest singular value), ``exact=True``.

    Raises
    ------
    ValueError
        W not a finite 2-D array, or b of the wrong length.
    """
    W = np.array(as_representation(W, "W", min_samples=1), dtype=np.float64)
    t, d = W.shape
    if b is None:
        b = np.zeros(t)
    else:
        b = np.asarray(b, dtype=np.float64).reshape(-1)
        if b.shape != (t,) or not np.all(np.isfinite(b)):
            raise ValueError(f"b must be a finite vector of length t={t} (rows of W); got shape {b.shape}.")
    W.flags.writeable = False
    b.flags.writeable = False
    kappa = float(np.linalg.norm(W, 2))
    return Head(fn=lambda Z: Z @ W.T + b, d_in=d, d_out=t, kappa=kappa, exact=True,
                W=W, b=b, name=f"linear({t}x{d})")


def fit_linear_head(F, targets, *, bias=False, n_classes=None) -> Head:
    """The least-squares linear head on a representation: the optimal g in R_q(H_q).

    Solves min_W mean ||W f(x) + b - y||^2 (ordinary least squares,
    ``lstsq``; minimum norm if F is rank deficient).  With ``bias=False``
    this is the optimal linear head of Lemma 2, whose normal equations
    E[(W f - y) f^T] = 0 the proof uses.

    Parameters
    ----------
    F : array_like, shape (n, d)
    targets : integer labels, shape (n,), or array_like, shape (n, t)
    bias : bool, default False
    n_classes : int, optional
        Number of classes for integer labels (default: max label + 1).

    Returns
    -------
    Head
        A linear head (``W`` of shape (t, d)), ``kappa = ||W||_2``.

    Raises
    ------
    ValueError
        Bad F, mismatched targets, or ``bias`` not a bool.
    """
    F = as_representation(F, "F", min_samples=1).astype(np.float64)
    bias = _check_bool(bias, "bias")
    t = _n_outputs(targets, n_classes)
    Y = _targets(targets, F.shape[0], t)
    if bias:
        mF, mY = F.mean(axis=0), Y.mean(axis=0)
        W = _lstsq(F - mF, Y - mY).T
        b = mY - W @ mF
    else:
        W, b = _lstsq(F, Y).T, None
    return linear_head(W, b)


def _n_outputs(targets, n_classes):
    arr = np.asarray(targets)
    if arr.ndim == 1 and np.issubdtype(arr.dtype, np.integer):
        if n_classes is None:
            return int(arr.max()) + 1 if arr.size else 1
        if isinstance(n_classes, bool) or not isinstance(n_classes, Integral) or n_classes < 1:
            raise ValueError(f"n_classes must be a positive integer; got {n_classes!r}.")
        return int(n_classes)
    return 1 if arr.ndim == 1 else int(arr.shape[1])


def head_lipschitz(entry, layer=None, output="proba") -> float:
    """Lipschitz constant of a zoo network's head g from hidden layer ``layer``.

    The head is z -> softmax(... relu(z W_l + b_l) ... W_L + b_L): ReLU is
    1-Lipschitz and biases do not change Lipschitz constants, so
    kappa = prod_{i >= l} ||W_i||_2 (product of the spectral norms of the
    remaining layers) bounds the head that outputs logits, and
    ``SOFTMAX_LIPSCHITZ * prod ||W_i||_2`` (1/2 times the product; see
    :data:`SOFTMAX_LIPSCHITZ` for the proof) bounds the head that outputs
    probabilities.  For a single remaining layer and ``output="logits"`` the
    constant is exact.

    Parameters
    ----------
    entry : repalign_edu.data.ZooEntry
    layer : int or None, default None
        1-based hidden layer the head starts from (None: the last one).
    output : {"proba", "logits"}, default "proba"
        ``entry.head`` (softmax probabilities) or ``entry.head_logits``.

    Returns
    -------
    float > 0

    Raises
    ------
    ValueError
        ``entry`` is not a ZooEntry, a bad layer, or an unknown output.

    References
    ----------
    Paper section 4.2, Theorem 1 (g_2 kappa_2-Lipschitz) and Remark 6.
    """
    layer = _check_entry_layer(entry, layer)
    output = _check_output(output)
    kappa = 1.0
    for W in entry.coefs[layer:]:
        kappa *= float(np.linalg.norm(W, 2))
    return kappa * (SOFTMAX_LIPSCHITZ if output == "proba" else 1.0)


def _check_entry_layer(entry, layer):
    if not all(hasattr(entry, a) for a in ("coefs", "head", "head_logits", "depth", "width")):
        raise ValueError(
            f"entry must be a ZooEntry from repalign_edu.data.model_zoo(); got {type(entry).__name__}."
        )
    if layer is None:
        return int(entry.depth)
    return check_scalar(layer, "layer", Integral, min_val=1, max_val=entry.depth,
                        fix=f"Pass the 1-based hidden layer of this depth-{entry.depth} network, "
                        "or None for the last one.")


def _check_output(output):
    if output not in ("proba", "logits"):
        raise ValueError(f"unknown output {output!r}; choose 'proba' (softmax) or 'logits'.")
    return output


def zoo_head(entry, layer=None, output="proba") -> Head:
    """A zoo network's head g from hidden layer ``layer`` as a :class:`Head`.

    Parameters
    ----------
    entry : repalign_edu.data.ZooEntry
    layer : int or None, default None
        1-based hidden layer (None: the last one); the head is the rest of
        the network (``entry.head(Z, layer)``).
    output : {"proba", "logits"}, default "proba"

    Returns
    -------
    Head
        ``kappa`` from :func:`head_lipschitz`; ``exact=False`` (an upper bound).

    Raises
    ------
    ValueError
        As :func:`head_lipschitz`.
    """
    layer = _check_entry_layer(entry, layer)
    output = _check_output(output)
    fn = (lambda Z: entry.head(Z, layer)) if output == "proba" else (lambda Z: entry.head_logits(Z, layer))
    return Head(fn=fn, d_in=entry.width, d_out=int(entry.coefs[-1].shape[1]),
                kappa=head_lipschitz(entry, layer, output), exact=False,
                name=f"zoo({entry.view},w{entry.width},s{entry.seed},layer {layer},{output})")


def _as_head(head2, name="head2"):
    if isinstance(head2, Head):
        return head2
    raise ValueError(
        f"{name} must be a Head: build one with linear_head(W, b), fit_linear_head(F, y) or "
        f"zoo_head(entry, layer); got {type(head2).__name__}."
    )


# --------------------------------------------------------------------------
# Lemma 2: task-aware optimal stitching through a linear head
# --------------------------------------------------------------------------
def fit_task_stitch(F1, head2, targets) -> LinearStitcher:
    """The linear stitcher that minimises the stitched risk through a linear head.

    For g_2(z) = W_2 z + b_2 it solves min_S mean ||W_2 S f_1 + b_2 - y||^2
    exactly: with B* the least-squares readout of y - b_2 from f_1 (d1 x t),
    S = W_2^+ B*^T (computed as the minimum-norm ``lstsq`` solution of
    W_2 S = B*^T).  The optimal stitched risk is then
    R_1(H_1) + ||(I - W_2 W_2^+) W_1||^2_{eta_1} (Lemma 2 and its proof,
    Lemma 5), which equals R_1(H_1) when W_2 has rank t.

    Parameters
    ----------
    F1 : array_like, shape (n, d1)
    head2 : Head
        A linear head (``linear_head`` or ``fit_linear_head``), d_in = d2.
    targets : integer labels, shape (n,), or array_like, shape (n, t)

    Returns
    -------
    LinearStitcher
        ``.S`` of shape (d2, d1), ``.b`` zeros.

    Raises
    ------
    ValueError
        A head that is not linear, or mismatched shapes.

    References
    ----------
    Paper section 4.2, Lemma 2; appendix 6.3, Lemma 5.
    """
    head2 = _as_head(head2)
    if not head2.is_linear:
        raise ValueError(
            "head2 must be a linear head (linear_head / fit_linear_head): the closed form of "
            "Lemma 2 needs g_2(z) = W_2 z + b_2."
        )
    F1 = as_representation(F1, "F1", min_samples=1).astype(np.float64)
    Y = _targets(targets, F1.shape[0], head2.d_out)
    Bstar = _lstsq(F1, Y - head2.b)                 # (d1, t)
    S = _lstsq(head2.W, Bstar.T)                    # (d2, d1) = W_2^+ B*^T
    return LinearStitcher(S=np.ascontiguousarray(S), b=np.zeros(head2.d_in))


def lemma2_gap(F1, W1, W2) -> float:
    """The Lemma 2 residual ||(I - W_2 W_2^+) W_1||^2_{eta_1} = mean ||(I - W_2 W_2^+) W_1 f_1||^2.

    The paper's proof (Lemma 5) gives R^stitch_{1,2}(S_{1,2}) = R_1(H_1) +
    this term for linear heads g_q(z) = W_q z (W_1 optimal).  It is 0 when
    the columns of W_2 span those of W_1, in particular when rank W_2 = t
    (the paper's "d <= d_2" needs W_2 of full row rank).  Erratum: the
    printed projector (W_2^T diag(eta_1) W_2)^+ W_2^T diag(eta_1) has
    mismatched dimensions; the residual is (I - W_2 W_2^+) W_1.

    Parameters
    ----------
    F1 : array_like, shape (n, d1)
    W1 : array_like, shape (t, d1)
    W2 : array_like, shape (t, d2)

    Returns
    -------
    float >= 0

    Raises
    ------
    ValueError
        Non-finite inputs or mismatched shapes.
    """
    F1 = as_representation(F1, "F1", min_samples=1).astype(np.float64)
    W1 = as_representation(W1, "W1", min_samples=1).astype(np.float64)
    W2 = as_representation(W2, "W2", min_samples=1).astype(np.float64)
    if W1.shape[1] != F1.shape[1]:
        raise ValueError(f"W1 must have shape (t, d1={F1.shape[1]}); got {W1.shape}.")
    if W2.shape[0] != W1.shape[0]:
        raise ValueError(f"W2 must have t={W1.shape[0]} rows like W1; got shape {W2.shape}.")
    P = W1 @ F1.T                                   # (t, n): W_1 f_1 for every sample
    # (I - W2 W2^+) P = P - W2 (min-norm lstsq of W2 X = P)
    R = P - W2 @ _lstsq(W2, P)
    return float(np.einsum("ij,ij->", R, R) / F1.shape[0])


# --------------------------------------------------------------------------
# Theorem 1, Theorem 2, Remark 6
# --------------------------------------------------------------------------
def theorem1_bound(R2, A2, kappa2) -> float:
    """The Theorem 1 bound (Eq. 2): (sqrt(R_2) + kappa_2 sqrt(A~_2))^2.

    R^stitch_{1,2}(S_{1,2}) <= R_2(H_2) + kappa_2^2 A~_2
    + 2 kappa_2 sqrt(A~_2 R_2(H_2)) = (sqrt(R_2(H_2)) + kappa_2 sqrt(A~_2))^2
    for a kappa_2-Lipschitz head g_2, linear stitchers and the square loss.
    The proof (Minkowski, then Lipschitz) holds for *any* fixed linear S if
    A~_2 is replaced by E ||S f_1 - f_2||^2 and R_2(H_2) by the risk of the
    model h_2 = g_2 o f_2 actually used, on any measure (e.g. a test set).

    Parameters
    ----------
    R2 : float >= 0
        R_2(H_2), the (square-loss) risk of model 2.
    A2 : float >= 0
        A~_2 from :func:`stitching_misalignment` (or E||S f_1 - f_2||^2).
    kappa2 : float >= 0
        Lipschitz constant of g_2 (:func:`head_lipschitz`, ``Head.kappa``).

    Returns
    -------
    float >= R2

    Raises
    ------
    ValueError
        An argument that is negative, infinite, NaN or not a number (named).

    References
    ----------
    Paper section 4.2, Theorem 1, Eq. (2).
    """
    R2 = _check_nonneg(R2, "R2")
    A2 = _check_nonneg(A2, "A2")
    kappa2 = _check_nonneg(kappa2, "kappa2")
    return float((np.sqrt(R2) + kappa2 * np.sqrt(A2)) ** 2)


def theorem2_bound(R2, A2, kappa2) -> float:
    """Theorem 2's right-hand side: kappa_2^2 A~_2 + 2 kappa_2 sqrt(A~_2 R(H_2)).

    Under G_2 o S_{1,2} subset G_1 (stitching forward; the paper prints
    S_{1,2} o G_2), R(H_1) - R(H_2) <= R^stitch_{1,2}(S_{1,2}) - R(H_2) <=
    this value; it is ``theorem1_bound(R2, A2, kappa2) - R2``.

    Parameters and errors as :func:`theorem1_bound`.

    References
    ----------
    Paper section 4.2, Lemma 3 and Theorem 2.
    """
    R2 = _check_nonneg(R2, "R2")
    A2 = _check_nonneg(A2, "A2")
    kappa2 = _check_nonneg(kappa2, "kappa2")
    return float(kappa2 ** 2 * A2 + 2.0 * kappa2 * np.sqrt(A2 * R2))


def remark6_bound(R2, A2_layers, kappa2_layers):
    """Remark 6: the layer-wise bound min_j {kappa^(j)2 A~^(j)_2 + 2 kappa^(j) sqrt(A~^(j)_2 R(H_2))}.

    Stitching forward at every layer j of two deep networks gives one
    Theorem 2 bound per layer on R(H_1) - R(H_2); the best is their minimum.

    Parameters
    ----------
    R2 : float >= 0
        R(H_2).
    A2_layers : sequence of float >= 0, length L
        A~_2^(j) at each layer.
    kappa2_layers : sequence of float >= 0, length L
        Lipschitz constant of model 2's head from layer j.

    Returns
    -------
    (bound, per_layer, best) : (float, ndarray of shape (L,), int)
        The minimum, every layer's bound, and the 0-based index attaining it.

    Raises
    ------
    ValueError
        Negative or non-finite values, empty or different-length sequences.

    References
    ----------
    Paper section 4.2, Remark 6.
    """
    R2 = _check_nonneg(R2, "R2")
    A = _check_nonneg_array(A2_layers, "A2_layers")
    K = _check_nonneg_array(kappa2_layers, "kappa2_layers")
    if A.shape != K.shape:
        raise ValueError(
            f"A2_layers and kappa2_layers need one value per layer each; got lengths {A.size} "
            f"and {K.size}."
        )
    per_layer = K ** 2 * A + 2.0 * K * np.sqrt(A * R2)
    best = int(np.argmin(per_layer))
    return float(per_layer[best]), per_layer, best


def remark6_two_sided_bound(R1, R2, A1, A2, kappa1, kappa2) -> float:
    """Remark 6's two-sided bound: |R(H_1) - R(H_2)| <= max_i {kappa_i^2 A~_i + 2 kappa_i sqrt(A~_i R(H_i))}.

    Uses both stitching directions (A~_1 = min_S E||S f_2 - f_1||^2).  The
    paper prints R(H_q) inside the max; by the 1 <-> 2 symmetry it is
    R(H_i) (erratum).

    Returns
    -------
    float >= 0

    Raises
    ------
    ValueError
        Any argument negative, non-finite or not a number.
    """
    return max(theorem2_bound(R1, A1, kappa1), theorem2_bound(R2, A2, kappa2))


# --------------------------------------------------------------------------
# everything at once
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class StitchingResult:
    """Measured quantities of one stitching experiment (square loss, one sample).

    Attributes
    ----------
    risk_model2 : float
        R_2(h_2) = mean ||g_2(f_2(x)) - y||^2 (the stand-in for R_2(H_2)).
    risk_stitched : float
        R^stitch_{1,2}(S) = mean ||g_2(S f_1(x)) - y||^2.
    excess : float
        risk_stitched - risk_model2, the excess stitching risk.
    misalignment : float
        mean ||S f_1 - f_2||^2; equals A~_2 when S was fitted on these rows.
    kappa2 : float
        Lipschitz constant of g_2 used in the bound.
    bound : float
        theorem1_bound(risk_model2, misalignment, kappa2).
    accuracy_model2, accuracy_stitched : float
        Fraction of argmax predictions equal to the labels (NaN for
        non-label targets).
    head_gap : float
        mean ||g_2(S f_1) - g_2(f_2)||^2, the quantity that the proof's
        Lipschitz step bounds by kappa2^2 * misalignment.
    stitcher : LinearStitcher

    The proof of Theorem 1 is the chain
    ``risk_stitched <= minkowski_bound <= bound``: the first step is the
    triangle (Minkowski) inequality in L^2, the second the Lipschitz step.
    ``kappa_effective`` = sqrt(head_gap / misalignment) is the Lipschitz
    constant the second step would need; kappa2 / kappa_effective says how
    much that step loses.
    """

    risk_model2: float
    risk_stitched: float
    excess: float
    misalignment: float
    kappa2: float
    bound: float
    accuracy_model2: float
    accuracy_stitched: float
    head_gap: float
    stitcher: LinearStitcher

    @property
    def minkowski_bound(self) -> float:
        """(sqrt(risk_model2) + sqrt(head_gap))^2: the bound after the proof's first step."""
        return float((np.sqrt(self.risk_model2) + np.sqrt(self.head_gap)) ** 2)

    @property
    def kappa_effective(self) -> float:
        """sqrt(head_gap / misalignment): the head's average stretch along S f_1 - f_2."""
        return float(np.sqrt(self.head_gap / self.misalignment)) if self.misalignment > 0 else 0.0

    @property
    def holds(self) -> bool:
        """Whether risk_stitched <= bound (with a 1e-12 relative rounding slack)."""
        return self.risk_stitched <= self.bound * (1 + 1e-12) + 1e-15

    @property
    def tightness(self) -> float:
        """bound / risk_stitched (>= 1 when the bound holds; 1 means tight)."""
        return self.bound / self.risk_stitched if self.risk_stitched > 0 else float("inf")


def stitching_risk(F1, F2, head2, targets, stitcher=None, *, ridge=0.0, bias=False) -> StitchingResult:
    """Stitch f_1 into model 2 and measure risks, misalignment and the Theorem 1 bound.

    h_2 = g_2 o f_2 is model 2; the stitched model is
    h_{1,2} = g_2 o s_{1,2} o f_1.  If ``stitcher`` is None, S is fitted here
    by :func:`fit_linear_stitch` on these rows (so ``misalignment`` is
    A~_2 on this sample); pass a stitcher fitted elsewhere (e.g. on training
    rows) to evaluate it out of sample.  In both cases the Theorem 1
    inequality risk_stitched <= bound holds exactly on these rows (its
    proof works for any fixed S with the measured residual), whenever
    ``head2.kappa`` is a valid Lipschitz constant.

    Parameters
    ----------
    F1 : array_like, shape (n, d1)
        f_1(x), model 1's representation.
    F2 : array_like, shape (n, d2)
        f_2(x), model 2's representation of the same inputs.
    head2 : Head
        g_2 with ``d_in = d2`` (:func:`zoo_head`, :func:`linear_head`, ...).
    targets : integer labels, shape (n,), or array_like, shape (n, t)
    stitcher : LinearStitcher, optional
    ridge, bias : as :func:`fit_linear_stitch` (used only if ``stitcher`` is None).

    Returns
    -------
    StitchingResult

    Raises
    ------
    ValueError
        Mismatched shapes, a head of the wrong input dimension, bad targets.

    References
    ----------
    Paper section 4.1 (stitching error, excess stitching risk) and
    Theorem 1.
    """
    F1, F2 = _pair(F1, F2)
    head2 = _as_head(head2)
    if head2.d_in != F2.shape[1]:
        raise ValueError(
            f"head2 expects d_in={head2.d_in} features but F2 has {F2.shape[1]}; pass model 2's "
            "head at the layer F2 comes from."
        )
    if stitcher is None:
        stitcher = fit_linear_stitch(F1, F2, ridge=ridge, bias=bias)
    elif not isinstance(stitcher, LinearStitcher):
        raise ValueError(f"stitcher must be a LinearStitcher (fit_linear_stitch); got {type(stitcher).__name__}.")
    elif stitcher.d_in != F1.shape[1] or stitcher.d_out != F2.shape[1]:
        raise ValueError(
            f"stitcher maps R^{stitcher.d_in} -> R^{stitcher.d_out} but F1, F2 have "
            f"{F1.shape[1]} and {F2.shape[1]} columns."
        )
    Y = _targets(targets, F1.shape[0], head2.d_out)
    Z = stitcher(F1)
    P2, P12 = head2(F2), head2(Z)
    R2, R12 = square_risk(P2, Y), square_risk(P12, Y)
    D = Z - F2
    A = float(np.einsum("ij,ij->", D, D) / F1.shape[0])
    G = P12 - P2
    gap = float(np.einsum("ij,ij->", G, G) / F1.shape[0])
    labels = np.asarray(targets)
    if labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer):
        acc2 = float(np.mean(P2.argmax(axis=1) == labels))
        acc12 = float(np.mean(P12.argmax(axis=1) == labels))
    else:
        acc2 = acc12 = float("nan")
    return StitchingResult(
        risk_model2=R2, risk_stitched=R12, excess=R12 - R2, misalignment=A,
        kappa2=float(head2.kappa), bound=theorem1_bound(R2, A, head2.kappa),
        accuracy_model2=acc2, accuracy_stitched=acc12, head_gap=gap, stitcher=stitcher,
    )
