"""Engines behind :mod:`repalign_edu.inference`: the work a permutation or a resample does not change.

A *permutation engine* is built once from (X, Y) and returns, for a batch of
row permutations p of Y, the measure of (X, Y_p).  A *bootstrap engine*
returns the measure of the resample given by a count vector c (c_i = how
often row i is drawn), without copying rows.

* linear kernels in feature space (CKA, KA, HSIC): the centring and the self
  terms ||X^T X||_F, ||Y^T Y||_F are computed once; a permutation costs one
  product X^T Y_p (n d_X d_Y);
* other kernels: Gram matrices are formed once and stored (float64, or
  float32 storage with float64 accumulation when only that fits the memory
  budget); a permutation is one pass t_p = sum_ij A_ij B_{p_i p_j};
  without room for them, each permutation streams the Gram tiles again;
* mutual k-NN: neighbour sets are found once; a permutation relabels them;
* anything else: the measure is called on (X, Y[p]) (the generic engine).

The statistics of a permutation of Y are the statistics of the unpermuted
pair with L replaced by P L P^T: the self terms (HSIC(K, K), HSIC(L, L)) are
unchanged, only the cross terms move.  Formulas follow :mod:`backends.stats`.
"""
from __future__ import annotations

import inspect
import math

import numpy as np
from numba import njit
from scipy.spatial.distance import cdist

from . import measures
from ._validation import as_pair, check_min_samples
from .backends import cpu, cpu_inference
from .backends.numpy_ref import center as np_center
from .backends.stats import _hsic_b, _hsic_u, stream_inputs
from .kernels import KernelParams, shifted_power
from .neighbors import _check_k, _unit_rows as _nb_unit_rows, cycle_knn

#: row block used when forming stored Gram matrices (float64 rows of n)
_BLOCK_ROWS = 512

_KERNEL_KEYS = ("kernel", "sigma", "degree", "gamma", "coef0")

#: n from which stored Gram matrices for permutations are kept in float32
FLOAT32_FROM = 2048


# --------------------------------------------------------------------------- measure forms
class Form:
    """What a registered kernel measure computes, parsed from its kwargs.

    ``kind`` is "cka" (centred, ratio), "hsic" (centred, cross term only) or
    "ka" (uncentred ratio); ``unbiased`` selects Song et al.'s estimator.
    """

    def __init__(self, kind, unbiased, kernel, kparams):
        self.kind, self.unbiased, self.kernel, self.kparams = kind, unbiased, kernel, kparams

    @property
    def centred(self):
        return self.kind != "ka"


def parse_form(info, kwargs):
    """A :class:`Form` when ``info`` is cka/hsic/kernel_alignment with known kwargs, else None."""
    kw = dict(kwargs)
    if info.func is measures.cka:
        # the measure's own rule: estimator= (or the deprecated debiased=), validated
        unbiased = measures._estimator(kw.pop("estimator", "biased"), kw.pop("debiased", None), "cka")
        kind = "cka"
    elif info.func is measures.hsic:
        est = kw.pop("estimator", "biased")
        if est not in ("biased", "unbiased"):
            return None
        unbiased, kind = est == "unbiased", "hsic"
    elif info.func is measures.kernel_alignment:
        kind = "cka" if kw.pop("centered", False) else "ka"
        unbiased = False
    else:
        return None
    if set(kw) - set(_KERNEL_KEYS):
        return None
    kernel = kw.pop("kernel", "linear")
    return Form(kind, unbiased, kernel, kw)


def _prepared(X, Y, form):
    """Validated, centred (where the measure centres) float64 features and kernels."""
    kp = form.kparams
    Xv, Yv, kx, ky = measures._prepare(
        X, Y, form.kernel, kp.get("sigma"), kp.get("degree", 3), kp.get("gamma"),
        kp.get("coef0", 1.0), centered=form.centred,
        variance_for="CKA" if form.kind == "cka" else None, backend_name="numpy")
    if form.unbiased:
        check_min_samples(Xv.shape[0], 4, "unbiased HSIC estimator",
                          fix="use estimator='biased'")
    return (np.ascontiguousarray(Xv, dtype=np.float64), np.ascontiguousarray(Yv, dtype=np.float64),
            kx, ky)


def _positive(val, name, what):
    if not val > 0:
        raise ValueError(
            f"{what} is undefined: the self-similarity term of {name} is {val:.3g} <= 0 (the "
            f"kernel is zero on {name}, or an unbiased HSIC({name}, {name}) estimate is negative "
            "at small n). Use more samples, estimator='biased', or another kernel.")
    return val


def _finish(form, cross, sxx, syy):
    """Statistic from the cross term(s) and the fixed self terms (arrays welcome)."""
    if form.kind == "hsic":
        return cross
    return cross / math.sqrt(sxx * syy)


def _self_terms(form, n, kk, ll, rows_k=None, rows_l=None):
    """(sxx, syy, scale): the fixed self terms of a permutation null, checked.

    ``kk``, ``ll`` are <K,K>_F and <L,L>_F; ``rows_k = (K1, diag K)`` (likewise
    ``rows_l``) are needed for the unbiased estimator and, when given, used by
    the biased one (None: centred features, whose row sums are 0).
    """
    if form.kind == "ka":
        sxx, syy = _positive(kk, "X", "kernel alignment"), _positive(ll, "Y", "kernel alignment")
    elif form.unbiased:
        (rk, dk), (rl, dl) = rows_k, rows_l
        sxx, syy = _hsic_u(kk, rk, rk, dk, dk, n), _hsic_u(ll, rl, rl, dl, dl, n)
    elif rows_k is None:
        sxx, syy = kk / n**2, ll / n**2
    else:
        sxx, syy = _hsic_b(kk, rows_k[0], rows_k[0], n), _hsic_b(ll, rows_l[0], rows_l[0], n)
    if form.kind == "cka":
        _positive(sxx, "X", "CKA")
        _positive(syy, "Y", "CKA")
    return sxx, syy, (math.sqrt(abs(sxx * syy)) if form.kind == "hsic" else 1.0)


# --------------------------------------------------------------------------- linear, feature space
class LinearEngine:
    """CKA / KA / HSIC with linear kernels in feature space (d_X + d_Y <= n)."""

    def __init__(self, X, Y, form):
        self.form = form
        self.X, self.Y = X, Y
        n = X.shape[0]
        self.n = n
        kk = float(np.sum(np.square(X.T @ X)))
        ll = float(np.sum(np.square(Y.T @ Y)))
        rows_k = rows_l = None
        if form.unbiased:
            self.rk, self.dk = rows_k = X @ X.sum(axis=0), np.einsum("ij,ij->i", X, X)
            self.rl, self.dl = rows_l = Y @ Y.sum(axis=0), np.einsum("ij,ij->i", Y, Y)
        self.sxx, self.syy, self.scale = _self_terms(form, n, kk, ll, rows_k, rows_l)

    def null(self, perms):
        out = np.empty(len(perms))
        X, Y, n, f = self.X, self.Y, self.n, self.form
        for q, p in enumerate(perms):
            Yp = Y[p]
            kl = float(np.sum(np.square(X.T @ Yp)))
            if f.kind == "ka":
                cross = kl
            elif f.unbiased:
                cross = _hsic_u(kl, self.rk, self.rl[p], self.dk, self.dl[p], n)
            else:
                cross = kl / n**2
            out[q] = _finish(f, cross, self.sxx, self.syy)
        return out


# --------------------------------------------------------------------------- stored / streamed Grams
def kernel_block(A, B, sqa, sqb, k: KernelParams, aux_a=None, aux_b=None):
    """Cross Gram block k(a_i, b_j) (float64) for resolved kernel parameters.

    With ``k.shift`` the block is K - k0, computed without cancellation, and
    ``aux_a``/``aux_b`` are the polynomial offsets of
    :func:`~repalign_edu.backends.stats.stream_inputs` (as in
    :func:`~repalign_edu.kernels.gram_from_params`, block by block).
    """
    if k.name == "laplacian":      # exact distances: sqrt would amplify the expansion's rounding
        arg = -cdist(A, B) / k.sigma
        return np.expm1(arg) if k.shift else np.exp(arg)
    G = A @ B.T
    if k.name == "linear":
        return G
    if k.name == "polynomial":
        t = k.gamma * G
        if aux_a is not None:
            t = t + (aux_a[:, None] + aux_b[None, :])
        return shifted_power(t, k.coef0, k.degree) if k.shift else (t + k.coef0) ** k.degree
    sq = np.maximum(sqa[:, None] + sqb[None, :] - 2.0 * G, 0.0)
    arg = -sq / (2.0 * k.sigma**2)
    return np.expm1(arg) if k.shift else np.exp(arg)


def build_gram(X, k, dtype=np.float64, aux=None, center=False):
    """(K stored in ``dtype``, kk = <K,K>_F, row sums K1, diag K), all sums in float64.

    ``center=True`` stores HKH (H the centering matrix), centred block by block
    in float64 from the float64 row sums, and returns its statistics.
    """
    n = X.shape[0]
    sq = np.einsum("ij,ij->i", X, X)
    K = np.empty((n, n), dtype=dtype)
    r = np.empty(n)
    kk = 0.0
    for i0 in range(0, n, _BLOCK_ROWS):
        a = None if aux is None else aux[i0:i0 + _BLOCK_ROWS]
        blk = kernel_block(X[i0:i0 + _BLOCK_ROWS], X, sq[i0:i0 + _BLOCK_ROWS], sq, k, a, aux)
        r[i0:i0 + len(blk)] = blk.sum(axis=1)
        kk += float(np.sum(blk * blk))
        K[i0:i0 + len(blk)] = blk
    if center:
        mean, grand = r / n, float(r.sum()) / n**2
        kk = 0.0
        for i0 in range(0, n, _BLOCK_ROWS):
            blk = K[i0:i0 + _BLOCK_ROWS].astype(np.float64)
            blk -= mean[i0:i0 + _BLOCK_ROWS, None]
            blk -= mean[None, :]
            blk += grand
            r[i0:i0 + len(blk)] = blk.sum(axis=1)
            kk += float(np.sum(blk * blk))
            K[i0:i0 + _BLOCK_ROWS] = blk
    return K, kk, r, np.diagonal(K).astype(np.float64).copy()


def stored_grams(X, Y, form, kx, ky, dtype=np.float64):
    """The two stored Gram matrices of a kernel measure, each as :func:`build_gram`'s tuple.

    Centred measures get HKH and HLH, formed from the cancellation-free shifted
    kernels of :func:`~repalign_edu.backends.stats.stream_inputs` (K - 1 held
    by expm1 when K is nearly constant; polynomial kernels expanded about the
    column mean): every centred statistic is unchanged by K -> HKH, and no
    digit is lost when K is nearly constant.  Kernel alignment (uncentred)
    gets K and L themselves.
    """
    if form.centred:
        (U, pu, kx), (V, pv, ky) = stream_inputs(X, kx, np_center), stream_inputs(Y, ky, np_center)
        return build_gram(U, kx, dtype, pu, center=True), build_gram(V, ky, dtype, pv, center=True)
    return build_gram(X, kx, dtype), build_gram(Y, ky, dtype)


def gram_bytes(n, itemsize, count=2):
    return count * itemsize * n * n


class GramEngine:
    """Kernel CKA / KA / HSIC from two stored n x n matrices A (from X) and B (from Y).

    * biased centred:  A = HKH, B = HLH,     t_p = <A, P B P^T> = n^2 HSIC_b(X, Y_p);
    * unbiased:        A = HKH, B = HLH with zero diagonals, plus c_p = (A1).(B1)_p
      (Song et al.'s estimator is unchanged by K -> HKH);
    * uncentred KA:    A = K,  B = L.
    """

    def __init__(self, X, Y, form, kx, ky, dtype):
        self.form = form
        n = X.shape[0]
        self.n = n
        (A, kk, rk, dk), (B, ll, rl, dl) = stored_grams(X, Y, form, kx, ky, dtype)
        sk, sl = float(rk.sum()), float(rl.sum())
        self.sxx, self.syy, self.scale = _self_terms(form, n, kk, ll, (rk, dk), (rl, dl))
        if form.unbiased:
            np.fill_diagonal(A, 0.0)
            np.fill_diagonal(B, 0.0)
            self.ra, self.rb = rk - dk, rl - dl
            self.sa, self.sb = sk - float(dk.sum()), sl - float(dl.sum())
        # biased: A = HKH and B = HLH are centred, so t_p = <A, P B P^T> = n^2 HSIC_b(X, Y_p)
        self.A, self.B = A, B

    def null(self, perms):
        perms = np.asarray(perms, dtype=np.int64)
        t = cpu_inference.permuted_gram_sums(self.A, self.B, perms)
        n, f = self.n, self.form
        if f.kind == "ka":
            cross = t
        elif f.unbiased:
            c = self.rb[perms] @ self.ra
            cross = (t + self.sa * self.sb / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * c) / (n * (n - 3))
        else:
            cross = t / n**2
        return _finish(f, cross, self.sxx, self.syy)


class StreamEngine:
    """Kernel measures when the Gram matrices do not fit the budget: each permutation
    streams the Gram tiles of (X, Y_p) again (``backends.cpu.gram_stats``)."""

    def __init__(self, X, Y, form, kx, ky):
        self.form, self.X, self.Y, self.kx, self.ky = form, X, Y, kx, ky
        n = X.shape[0]
        self.n = n
        # centred measures use the cancellation-free statistics (see backends.base)
        s = cpu.gram_stats(X, Y, kx, ky, centered=form.centred)
        self.sxx, self.syy, self.scale = _self_terms(form, n, s.kk, s.ll, (s.rk, s.dk), (s.rl, s.dl))

    def null(self, perms):
        out = np.empty(len(perms))
        n, f = self.n, self.form
        for q, p in enumerate(perms):
            s = cpu.gram_stats(self.X, np.ascontiguousarray(self.Y[p]), self.kx, self.ky,
                               centered=f.centred)
            if f.kind == "ka":
                cross = s.kl
            elif f.unbiased:
                cross = _hsic_u(s.kl, s.rk, s.rl, s.dk, s.dl, n)
            else:
                cross = _hsic_b(s.kl, s.rk, s.rl, n)
            out[q] = _finish(f, cross, self.sxx, self.syy)
        return out


# --------------------------------------------------------------------------- mutual k-NN
def knn_normed(X, Y, k):
    """Validated, L2-normalised rows and k, exactly as :func:`measures.mutual_knn` forms them
    (the same arithmetic, so the same neighbour sets and the same statistic)."""
    X, Y = as_pair(X, Y)
    n = X.shape[0]
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= k < n:
        raise ValueError(f"k must be an integer with 1 <= k < n = {n}; got k={k!r}.")
    return measures._unit_rows(X, "X"), measures._unit_rows(Y, "Y"), int(k)


class KnnEngine:
    """Mutual k-NN: neighbour sets once (``backends.cpu.knn_sets``); a permutation relabels them."""

    scale = 1.0

    def __init__(self, X, Y, k):
        Xn, Yn, k = knn_normed(X, Y, k)
        self.n, self.k = Xn.shape[0], k
        self.NX, self.NY = cpu.knn_sets(Xn, k), cpu.knn_sets(Yn, k)

    def null(self, perms):
        return cpu_inference.knn_permuted_counts(self.NX, self.NY, perms) / (self.n * self.k)


# --------------------------------------------------------------------------- any measure
def call_measure(info, X, Y, kwargs, backend):
    """``info.func(X, Y, **kwargs)`` as a finite float, or a ValueError that says what is wrong."""
    kw = dict(kwargs)
    try:
        params = inspect.signature(info.func).parameters
        if "backend" in params and "backend" not in kw:
            kw["backend"] = backend
    except (TypeError, ValueError):
        pass
    try:
        val = info.func(X, Y, **kw)
    except TypeError as exc:
        raise ValueError(
            f"measure {info.name!r} rejected the arguments {sorted(kwargs)}: {exc}. Pass only "
            "keyword arguments that the measure accepts.") from None
    except (ArithmeticError, IndexError, KeyError, AttributeError, np.linalg.LinAlgError) as exc:
        raise ValueError(
            f"measure {info.name!r} failed on these inputs with {type(exc).__name__}: {exc}. "
            "Check the measure on (X, Y) first.") from exc
    try:
        val = float(val)
    except (TypeError, ValueError):
        raise ValueError(
            f"measure {info.name!r} must return one number; got {type(val).__name__}.") from None
    if not math.isfinite(val):
        raise ValueError(
            f"measure {info.name!r} returned {val} on these inputs; inference needs a finite "
            "value. Check the inputs (zero variance, too few samples) or the measure.")
    return val


class GenericEngine:
    """Calls the measure on (X, Y[p]) for every permutation (any callable)."""

    def __init__(self, info, X, Y, kwargs, backend):
        self.info, self.kwargs, self.backend = info, kwargs, backend
        self.X, self.Y = X, Y
        self.scale = 0.0

    def null(self, perms):
        return np.array([call_measure(self.info, self.X, self.Y[p], self.kwargs, self.backend)
                         for p in perms])


def make_permutation_engine(info, X, Y, kwargs, backend, memory_budget, allow_stream=True):
    """The fastest exact engine for this measure, and the name of the route taken."""
    form = parse_form(info, kwargs)
    if form is not None:
        Xv, Yv, kx, ky = _prepared(X, Y, form)
        n = Xv.shape[0]
        if measures._use_feature_space(Xv, Yv, kx, ky):
            return LinearEngine(Xv, Yv, form), "linear feature space"
        # float32 storage halves the memory traffic of each permutation's pass; its error on
        # the statistic is far below 1e-7 (benchmarks/results/inference.md), but small
        # problems, where traffic does not matter, keep float64
        dtypes = (np.float32,) if n >= FLOAT32_FROM else (np.float64, np.float32)
        for dtype in dtypes:
            if gram_bytes(n, np.dtype(dtype).itemsize) + 8 * _BLOCK_ROWS * n * 2 <= memory_budget:
                return GramEngine(Xv, Yv, form, kx, ky, dtype), f"stored Grams ({np.dtype(dtype).name})"
        if not allow_stream:
            raise ValueError(
                f"the two stored n x n Gram matrices need {gram_bytes(n, 4) / 1e9:.2f} GB (float32) "
                f"at n={n}, more than memory_budget={memory_budget / 1e9:.2f} GB. Raise "
                "memory_budget, test a random subset of the rows (the test stays valid), or use "
                "repalign_edu.permutation_test, which streams the Gram tiles (slower).")
        return StreamEngine(Xv, Yv, form, kx, ky), "streamed Grams"
    if info.func is measures.mutual_knn and set(kwargs) <= {"k"}:
        return KnnEngine(X, Y, kwargs.get("k", 10)), "k-NN relabelling"
    Xv, Yv = as_pair(X, Y)
    return GenericEngine(info, Xv, Yv, kwargs, backend), "measure per permutation"


# --------------------------------------------------------------------------- bootstrap engines
class LinearBootEngine:
    """Weighted feature-space statistics: a resample with counts c has

    mu = X^T a, S_XY = X^T diag(a) Y - mu_X mu_Y^T (a = c / n),

    and biased HSIC = ||S_XY||_F^2, CKA = ||S_XY||^2 / (||S_XX|| ||S_YY||); the
    uncentred KA drops the means.  This equals the measure on the copied rows.
    """

    #: largest n * (d_X d_Y + d_X^2 + d_Y^2) for the batched row-Kronecker route
    BATCH_LIMIT = 1 << 24

    def __init__(self, X, Y, form):
        self.form, self.X, self.Y = form, X, Y
        n, dx = X.shape
        dy = Y.shape[1]
        self.n = n
        self.batched = n * (dx * dy + dx * dx + dy * dy) <= self.BATCH_LIMIT
        if self.batched:
            self.Z = np.hstack([np.einsum("ij,ik->ijk", X, Y).reshape(n, -1),
                                np.einsum("ij,ik->ijk", X, X).reshape(n, -1),
                                np.einsum("ij,ik->ijk", Y, Y).reshape(n, -1), X, Y])
        self.dims = dx, dy

    def _from_moments(self, Mxy, Mxx, Myy, mx, my):
        f = self.form
        if f.centred:
            Mxy = Mxy - np.einsum("bi,bj->bij", mx, my)
            Mxx = Mxx - np.einsum("bi,bj->bij", mx, mx)
            Myy = Myy - np.einsum("bi,bj->bij", my, my)
        kl = np.sum(Mxy * Mxy, axis=(1, 2))
        if f.kind == "hsic":
            return kl
        return kl / np.sqrt(np.sum(Mxx * Mxx, axis=(1, 2)) * np.sum(Myy * Myy, axis=(1, 2)))

    def values(self, counts):
        counts = np.asarray(counts, dtype=np.float64)
        a = counts / counts.sum(axis=1, keepdims=True)
        dx, dy = self.dims
        if self.batched:
            M = a @ self.Z
            o = np.cumsum([0, dx * dy, dx * dx, dy * dy, dx, dy])
            b = len(a)
            return self._from_moments(M[:, o[0]:o[1]].reshape(b, dx, dy),
                                      M[:, o[1]:o[2]].reshape(b, dx, dx),
                                      M[:, o[2]:o[3]].reshape(b, dy, dy),
                                      M[:, o[3]:o[4]], M[:, o[4]:o[5]])
        out = np.empty(len(a))
        for q, w in enumerate(a):
            Xw = self.X * w[:, None]
            out[q] = self._from_moments((Xw.T @ self.Y)[None], (Xw.T @ self.X)[None],
                                        ((self.Y * w[:, None]).T @ self.Y)[None],
                                        (w @ self.X)[None], (w @ self.Y)[None])[0]
        return out

    def jackknife(self):
        """Leave-one-out values in O(n d^2) by rank-one downdates (X, Y centred or raw)."""
        X, Y, n, f = self.X, self.Y, self.n, self.form
        m = n - 1
        Pxy, Pxx, Pyy = X.T @ Y, X.T @ X, Y.T @ Y
        nx, ny = np.einsum("ij,ij->i", X, X), np.einsum("ij,ij->i", Y, Y)
        if f.centred:
            # centred features: sum_{j != i} x_j = -x_i, so S^(-i) = P/m - (n/m^2) x_i y_i^T
            g = n / m**2
        else:
            g = 1.0 / m
        def fro2(P, A, B, na, nb):
            return (np.sum(P * P) / m**2 - 2.0 * g / m * np.einsum("ij,ij->i", A @ P, B)
                    + g * g * na * nb)
        kl = fro2(Pxy, X, Y, nx, ny)
        if f.kind == "hsic":
            return kl
        return kl / np.sqrt(fro2(Pxx, X, X, nx, nx) * fro2(Pyy, Y, Y, ny, ny))


class GramBootEngine:
    """Kernel CKA / KA / HSIC of resamples from stored K, L and K∘L, K∘K, L∘L.

    Centred measures store HKH and HLH (:func:`stored_grams`): the centring of a
    resample removes any constant or row-and-column term that the full-sample
    centring H removes, so with ``self_pairs="keep"`` (and for the jackknife)
    the values are exactly those of the measure on the copied rows, without the
    cancellation of uncentred sums when K is nearly constant (e.g. an RBF
    bandwidth far above the spread of the data).  With ``"drop"`` the self-pairs
    are dropped from HKH, as the linear kernel (on centred features) always did.

    For counts c (one column per resample) the Gram statistics of the resample are
    sums weighted by c_i c_j.  With ``self_pairs="drop"`` a row drawn c_i times is
    not paired with its own copies: the c_i (c_i - 1) off-diagonal entries equal to
    K_ii are removed from every sum (weights c_i c_j for i != j and c_i on the
    diagonal).  "keep" equals the measure on the copied rows.
    """

    def __init__(self, X, Y, form, kx, ky, self_pairs):
        self.form, self.drop = form, self_pairs == "drop"
        (K, _, _, self.dK), (L, _, _, self.dL) = stored_grams(X, Y, form, kx, ky)
        self.K, self.L = K, L
        self.Mkl, self.Mkk, self.Mll = K * L, K * K, L * L
        self.dkl, self.dkk, self.dll = self.dK * self.dL, self.dK**2, self.dL**2
        self.n = X.shape[0]

    def _scalars(self, C, KC, LC, MklC, MkkC, MllC):
        """Statistics per column of the count matrix C (n, b) given the products with C."""
        f, n = self.form, self.n
        dK, dL = self.dK[:, None], self.dL[:, None]
        if self.drop:
            extra = C * C - C
            rk, rl = KC - (C - 1.0) * dK, LC - (C - 1.0) * dL
            kl = np.sum(C * MklC, 0) - self.dkl @ extra
            kk = np.sum(C * MkkC, 0) - self.dkk @ extra
            ll = np.sum(C * MllC, 0) - self.dll @ extra
        else:
            rk, rl = KC, LC
            kl, kk, ll = np.sum(C * MklC, 0), np.sum(C * MkkC, 0), np.sum(C * MllC, 0)
        m = C.sum(axis=0)             # resample size: n, or n - 1 for a leave-one-out column
        if f.kind == "ka":
            return kl / np.sqrt(kk * ll)
        sk, sl = np.sum(C * rk, 0), np.sum(C * rl, 0)
        if f.unbiased:
            def hu(ab, ra, rb, da, db, sa, sb):
                tr = ab - np.sum(C * da * db, 0)
                sa_, sb_ = sa - np.sum(C * da, 0), sb - np.sum(C * db, 0)
                cross = np.sum(C * (ra - da) * (rb - db), 0)
                return (tr + sa_ * sb_ / ((m - 1) * (m - 2)) - 2.0 / (m - 2) * cross) / (m * (m - 3))
            hxy = hu(kl, rk, rl, dK, dL, sk, sl)
            if f.kind == "hsic":
                return hxy
            return hxy / np.sqrt(hu(kk, rk, rk, dK, dK, sk, sk) * hu(ll, rl, rl, dL, dL, sl, sl))

        def hb(ab, ra, rb, sa, sb):
            return (ab - 2.0 * np.sum(C * ra * rb, 0) / m + sa * sb / m**2) / m**2
        hxy = hb(kl, rk, rl, sk, sl)
        if f.kind == "hsic":
            return hxy
        return hxy / np.sqrt(hb(kk, rk, rk, sk, sk) * hb(ll, rl, rl, sl, sl))

    def values(self, counts):
        C = np.ascontiguousarray(np.asarray(counts, dtype=np.float64).T)
        return self._scalars(C, self.K @ C, self.L @ C, self.Mkl @ C, self.Mkk @ C, self.Mll @ C)

    def jackknife(self, chunk=256):
        """Leave-one-out values: K c = K 1 - K e_i needs no product."""
        n = self.n
        out = np.empty(n)
        sums = [M.sum(axis=1) for M in (self.K, self.L, self.Mkl, self.Mkk, self.Mll)]
        for i0 in range(0, n, chunk):
            idx = np.arange(i0, min(n, i0 + chunk))
            C = np.ones((n, len(idx)))
            C[idx, np.arange(len(idx))] = 0.0
            prods = [s[:, None] - M[:, idx] for s, M in
                     zip(sums, (self.K, self.L, self.Mkl, self.Mkk, self.Mll))]
            out[idx] = self._scalars(C, *prods)
        return out


class KnnBootEngine:
    """Mutual k-NN of a resample without self-pairs: the neighbour sets are found among
    the distinct drawn rows (a row's copies are not its neighbours), and each row's
    overlap counts c_i times."""

    def __init__(self, X, Y, k, self_pairs):
        self.Xn, self.Yn, self.k = knn_normed(X, Y, k)
        self.n = self.Xn.shape[0]
        self.drop = self_pairs == "drop"

    def _score(self, idx, weights):
        if len(idx) <= self.k:
            return math.nan
        Xs, Ys = self.Xn[idx], self.Yn[idx]
        ov = cpu.knn_overlap(cpu.knn_sets(Xs, self.k), cpu.knn_sets(Ys, self.k))
        return float(weights @ ov) / (weights.sum() * self.k)

    def values(self, counts):
        out = np.empty(len(counts))
        for q, c in enumerate(np.asarray(counts, dtype=np.int64)):
            if self.drop:
                idx = np.flatnonzero(c)
                out[q] = self._score(idx, c[idx].astype(np.float64))
            else:
                idx = np.repeat(np.arange(self.n), c)
                out[q] = self._score(idx, np.ones(len(idx)))
        return out

    def jackknife(self):
        """Leave-one-out scores from (k+1)-neighbour lists found once.

        Without row i, the k neighbours of row j are its k+1 nearest with i taken
        out (the order of the others does not change), so only the rows that had i
        among their k neighbours change: O(n k) per left-out row, no new search.
        """
        n, k = self.n, self.k
        if n - 1 <= k + 1:
            return np.array([self._score(np.delete(np.arange(n), i), np.ones(n - 1)) for i in range(n)])
        NX, NY = cpu.knn_sets(self.Xn, k + 1), cpu.knn_sets(self.Yn, k + 1)
        base = np.array([len(set(NX[j, :k]) & set(NY[j, :k])) for j in range(n)])
        total = int(base.sum())
        affected = [[] for _ in range(n)]
        for j in range(n):
            for i in set(NX[j, :k]) | set(NY[j, :k]):
                affected[i].append(j)
        out = np.empty(n)
        for i in range(n):
            t = total - base[i]
            for j in affected[i]:
                sx = [v for v in NX[j] if v != i][:k]
                sy = [v for v in NY[j] if v != i][:k]
                t += len(set(sx) & set(sy)) - base[j]
            out[i] = t / ((n - 1) * k)
        return out


@njit(cache=True)
def _cycle_jackknife_kernel(NX, NY, k, ptr, who):
    """Leave-one-out cycle k-NN totals from (k+1)-neighbour lists NX, NY (n, k+1).

    Without row r a row's k neighbours are its k+1 nearest with r taken out.
    The hit of row i (i among the X-neighbours of its Y-neighbours) can change
    only if r is among the k+1 Y-neighbours of i, or among the k+1
    X-neighbours of one of those: ``who[ptr[j]:ptr[j+1]]`` lists the rows i
    with j among their k+1 Y-neighbours, so the rows to recheck for r are
    those of r and of every j with r in NX[j].  Returns (n,) int64 totals.
    """
    n = NX.shape[0]
    base = np.zeros(n, np.int64)
    for i in range(n):
        base[i] = _cycle_hit(NX, NY, k, i, -1)
    total = base.sum()
    out = np.empty(n, np.int64)
    seen = np.full(n, -1, np.int64)
    for r in range(n):
        t = total - base[r]
        seen[r] = r
        for a in range(ptr[r], ptr[r + 1]):          # rows whose Y-lists hold r
            i = who[a]
            if seen[i] != r:
                seen[i] = r
                t += _cycle_hit(NX, NY, k, i, r) - base[i]
        out[r] = t
    return out


@njit(cache=True)
def _first_k_without(row, k, r, buf):
    m = 0
    for v in row:
        if v != r:
            buf[m] = v
            m += 1
            if m == k:
                break
    return m


@njit(cache=True)
def _cycle_hit(NX, NY, k, i, r):
    """1 if i is among the k X-neighbours of one of its k Y-neighbours (row r left out)."""
    by = np.empty(k, np.int64)
    bx = np.empty(k, np.int64)
    my = _first_k_without(NY[i], k, r, by)
    for a in range(my):
        mx = _first_k_without(NX[by[a]], k, r, bx)
        for b in range(mx):
            if bx[b] == i:
                return 1
    return 0


class CycleKnnBootEngine(KnnBootEngine):
    """Cycle k-NN of a resample: neighbour sets among the distinct drawn rows, as for
    :class:`KnnBootEngine` (whose ``values`` it shares); each row's hit counts c_i
    times.  The jackknife uses (k+1)-neighbour lists found once."""

    def __init__(self, X, Y, k, self_pairs):
        X, Y = as_pair(X, Y)
        n = X.shape[0]
        self.Xn, self.Yn, self.k, self.n = _nb_unit_rows(X, "X"), _nb_unit_rows(Y, "Y"), _check_k(k, n), n
        self.drop = self_pairs == "drop"

    def _score(self, idx, weights):
        if len(idx) <= self.k:
            return math.nan
        NX = cpu.knn_sets(self.Xn[idx], self.k)
        NY = cpu.knn_sets(self.Yn[idx], self.k)
        hits = (NX[NY] == np.arange(len(idx))[:, None, None]).any(axis=(1, 2))
        return float(weights @ hits) / float(weights.sum())

    def jackknife(self):
        n, k = self.n, self.k
        if n - 1 <= k + 1:
            return np.array([self._score(np.delete(np.arange(n), i), np.ones(n - 1)) for i in range(n)])
        NX = np.ascontiguousarray(cpu.knn_sets(self.Xn, k + 1), dtype=np.int64)
        NY = np.ascontiguousarray(cpu.knn_sets(self.Yn, k + 1), dtype=np.int64)
        # rows to recheck when r is left out: those with r in their Y-list, and those with
        # some j in their Y-list whose X-list holds r
        rows_of_y = [[] for _ in range(n)]                 # j -> rows i with j in NY[i]
        for i in range(n):
            for j in NY[i]:
                rows_of_y[j].append(i)
        recheck = [set(rows_of_y[r]) for r in range(n)]
        for j in range(n):
            for r in NX[j]:
                recheck[r].update(rows_of_y[j])
        ptr = np.zeros(n + 1, np.int64)
        ptr[1:] = np.cumsum([len(s) for s in recheck])
        who = np.fromiter((i for s in recheck for i in sorted(s)), np.int64, count=int(ptr[-1]))
        return _cycle_jackknife_kernel(NX, NY, k, ptr, who) / (n - 1)


class GenericBootEngine:
    """The measure on copied rows X[idx], Y[idx] (any callable)."""

    def __init__(self, info, X, Y, kwargs, backend):
        self.info, self.kwargs, self.backend = info, kwargs, backend
        self.X, self.Y = X, Y
        self.n = X.shape[0]

    def _one(self, idx):
        try:
            return call_measure(self.info, self.X[idx], self.Y[idx], self.kwargs, self.backend)
        except ValueError:
            return math.nan          # a degenerate resample (e.g. all rows equal): dropped, counted

    def values(self, counts):
        ar = np.arange(self.n)
        return np.array([self._one(np.repeat(ar, c.astype(np.int64))) for c in counts])

    def jackknife(self):
        ar = np.arange(self.n)
        return np.array([self._one(np.delete(ar, i)) for i in range(self.n)])


def make_bootstrap_engine(info, X, Y, kwargs, backend, memory_budget, self_pairs):
    form = parse_form(info, kwargs)
    if form is not None:
        Xv, Yv, kx, ky = _prepared(X, Y, form)
        n = Xv.shape[0]
        if measures._use_feature_space(Xv, Yv, kx, ky) and not form.unbiased:
            return LinearBootEngine(Xv, Yv, form), "weighted feature-space statistics"
        if gram_bytes(n, 8, count=5) <= memory_budget:
            return GramBootEngine(Xv, Yv, form, kx, ky, self_pairs), "weighted stored Grams"
    if info.func is measures.mutual_knn and set(kwargs) <= {"k"}:
        return KnnBootEngine(X, Y, kwargs.get("k", 10), self_pairs), "k-NN on distinct rows"
    if info.func is cycle_knn and set(kwargs) <= {"k"}:
        return CycleKnnBootEngine(X, Y, kwargs.get("k", 10), self_pairs), "k-NN on distinct rows"
    Xv, Yv = as_pair(X, Y)
    return GenericBootEngine(info, Xv, Yv, kwargs, backend), "measure on copied rows"
