"""Is this alignment real?  Permutation p-values, bootstrap intervals, null-calibrated scores.

* :func:`permutation_test` -- the measure of (X, Y) against K row permutations of
  Y: an add-one p-value, the (1 - alpha) critical value and the calibrated score
  of Groeger, Wen & Brbic (2026);
* :func:`bootstrap_ci` -- a pairs bootstrap over rows (percentile or BCa) and a
  jackknife interval;
* :func:`calibrate_layers` -- the same null for the best of many layer pairs:
  each null draw applies one permutation to every layer of Y (Groeger et al.,
  Algorithm 2), so the search over layer pairs is paid for.

Every function takes ``measure=``: a name registered in
:data:`repalign_edu.MEASURES` or any callable ``f(X, Y) -> float``, with
``**measure_kwargs`` passed on.  The work a permutation does not change is done
once (see :mod:`repalign_edu._inference_engines`): centring, self terms and
bandwidths; stored Gram matrices; neighbour sets.

Reproducibility: the permutations (and bootstrap counts) are drawn on the host
from ``numpy.random.default_rng(seed)``, in batches whose size depends only on
n, and every null value is summed in a fixed order by one thread.  The same
seed gives a bitwise-identical null for every thread count, and for every
``backend`` on the fast paths (their null is always evaluated by the same CPU
code; a measure called per permutation runs on the backend it is given).

Bootstrap and duplicated rows
-----------------------------
A resample holds some rows several times.  For a kernel measure a row drawn
twice pairs with its own copy, giving an off-diagonal Gram entry equal to K_ii
(1 for an RBF kernel); the unbiased (U-statistic) estimators exclude i = j
precisely because such terms are biased.  For U-statistics the literature
leaves these "self-pairs" out (Arvesen 1969) or uses the jackknife, which never
duplicates a row (Efron & Stein 1981).  ``self_pairs="drop"`` does the former
(weights c_i c_j for distinct rows, each row's copies only on the diagonal) and
``method="jackknife"`` the latter.  We measured the coverage of each choice
against population values (``benchmarks/bench_inference.py``; results in
``benchmarks/results/inference.md``):

* unbiased estimators with the linear (or polynomial) kernel: dropping
  self-pairs is essential.  There a copy's "off-diagonal" entry K_ii = ||x_i||^2
  is far larger than a typical K_ij.  Debiased linear CKA, d = 20, n = 300:
  percentile coverage 98% with "drop", 30% with "keep"; the jackknife 98%.
* with the RBF kernel K_ii = 1 is comparable to the entries of near neighbours,
  and keeping the copies covers better, for the unbiased estimator too (n = 200:
  debiased percentile 95% "keep" vs 82% "drop"; biased 88-94% vs 65-76%):
  dropping the copies' pairs also shifts the centring terms.

So ``self_pairs="auto"`` (the default) drops self-pairs for unbiased estimators
with linear or polynomial kernels and for mutual k-NN, and keeps them
otherwise.  The jackknife, which never duplicates a row, covers at 95-98% in all
of these cases except the biased CKA with d not small against n (below).
Mutual k-NN: a copied row is its copy's nearest neighbour in X and in Y, which
inflates the overlap, so resamples search neighbours among the distinct drawn
rows.  Even so a resample holds only about 63% distinct rows, whose
neighbourhoods are wider, and the bootstrap distribution of mutual k-NN sits
above the estimate: use ``method="jackknife"`` for mutual k-NN (its
leave-one-out values come from (k+1)-neighbour lists found once).

The biased linear CKA has an upward bias of order d/n.  The percentile interval
inherits it twice (estimate and resamples) and can miss the truth completely
when d is not small against n (d = 20, n = 300: coverage 0%; "basic" 93%,
``estimator="unbiased"`` with the percentile interval 98%).  For d << n all methods
cover at about 95% (d = 3, n = 500: 95-96%).
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

from collections.abc import Mapping

import numpy as np
from scipy.stats import norm

from . import _inference_engines as eng
from ._validation import check_option, check_seed
from .backends import resolve_backend
from .measures import mutual_knn as _mutual_knn
from .neighbors import cycle_knn as _cycle_knn
from .registry import MeasureInfo, resolve_measure

#: default memory budget for stored matrices (bytes)
DEFAULT_MEMORY_BUDGET = 2 * 10**9

#: permutation indices drawn and evaluated per batch (8 bytes each)
_BATCH_INDICES = 1 << 20

#: null values within this distance of the observed one (relative to the measure's
#: scale) count as ties: they are equal up to rounding, e.g. for discrete data
_TIE_RTOL = 1e-12

AGGREGATES = ("max", "min", "mean", "median")
BOOTSTRAP_METHODS = ("percentile", "basic", "bca", "jackknife")
SELF_PAIRS = ("auto", "drop", "keep")


# --------------------------------------------------------------------------- results
def _num(x):
    return None if x is None else float(x)


def _fmt(x):
    return "n/a" if x is None else f"{x:.4g}"


@dataclass(frozen=True, eq=False)
class PermutationResult:
    """Result of :func:`permutation_test` (frozen).

    Attributes
    ----------
    statistic : float
        The measure of the observed pairing.
    null : ndarray, shape (n_permutations,)
        The measure of X against each row permutation of Y.
    pvalue : float
        (1 + #{null >= statistic}) / (K + 1) for a similarity (<= for a distance).
    threshold : float
        The (1 - alpha) critical value: the ceil((1 - alpha)(K + 1))-th smallest
        of the statistic and the K null values together (largest, for a distance).
    calibrated : float or None
        clip((statistic - threshold) / (s_max - threshold), 0, 1) for a bounded
        similarity (mirrored for a distance); None for an unbounded measure.
    alpha, n_permutations, measure, measure_kwargs, route
        ``route`` names the fast path used (e.g. "linear feature space").
    """

    statistic: float
    null: np.ndarray = field(repr=False)
    pvalue: float
    threshold: float
    calibrated: float | None
    alpha: float
    n_permutations: int
    measure: str
    measure_kwargs: dict
    route: str = ""

    def __str__(self):
        return (f"{self.measure} = {self.statistic:.4g}, p = {self.pvalue:.4g} "
                f"({self.n_permutations} permutations), {1 - self.alpha:.0%} null threshold "
                f"{self.threshold:.4g}, calibrated {_fmt(self.calibrated)}")

    def _repr_html_(self):
        rows = [("measure", self.measure), ("statistic", f"{self.statistic:.6g}"),
                ("p-value", f"{self.pvalue:.4g}"), ("permutations", self.n_permutations),
                (f"threshold (1 - alpha = {1 - self.alpha:g})", f"{self.threshold:.6g}"),
                ("calibrated score", _fmt(self.calibrated)),
                ("null mean ± sd", f"{np.mean(self.null):.4g} ± {np.std(self.null):.2g}")]
        return _html_table("PermutationResult", rows)

    def to_dict(self):
        """JSON-ready dict (the null as a list)."""
        return {"type": "permutation_test", "measure": self.measure,
                "measure_kwargs": _jsonable(self.measure_kwargs), "statistic": self.statistic,
                "pvalue": self.pvalue, "threshold": self.threshold,
                "calibrated": _num(self.calibrated), "alpha": self.alpha,
                "n_permutations": self.n_permutations, "route": self.route,
                "null": [float(v) for v in self.null]}


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Result of :func:`bootstrap_ci` (frozen).

    Attributes
    ----------
    statistic : float
        The measure on the full sample.
    low, high : float
        The interval at ``level``.
    level : float
    method : {"percentile", "basic", "bca", "jackknife"}
    replicates : ndarray
        The bootstrap replicates (the n leave-one-out values for "jackknife").
    n_resamples : int
    measure, measure_kwargs, self_pairs, route
    """

    statistic: float
    low: float
    high: float
    level: float
    method: str
    replicates: np.ndarray = field(repr=False)
    n_resamples: int
    measure: str
    measure_kwargs: dict
    self_pairs: str = "drop"
    route: str = ""

    def __str__(self):
        return (f"{self.measure} = {self.statistic:.4g}, {self.level:.0%} CI "
                f"[{self.low:.4g}, {self.high:.4g}] ({self.method}, "
                f"{len(self.replicates)} {'leave-one-out values' if self.method == 'jackknife' else 'resamples'})")

    def _repr_html_(self):
        rows = [("measure", self.measure), ("statistic", f"{self.statistic:.6g}"),
                (f"{self.level:.0%} interval", f"[{self.low:.6g}, {self.high:.6g}]"),
                ("method", self.method), ("replicates", len(self.replicates))]
        return _html_table("BootstrapResult", rows)

    def to_dict(self):
        """JSON-ready dict."""
        return {"type": "bootstrap_ci", "measure": self.measure,
                "measure_kwargs": _jsonable(self.measure_kwargs), "statistic": self.statistic,
                "low": self.low, "high": self.high, "level": self.level, "method": self.method,
                "n_resamples": self.n_resamples, "self_pairs": self.self_pairs,
                "route": self.route, "replicates": [float(v) for v in self.replicates]}


@dataclass(frozen=True, eq=False)
class LayerCalibration:
    """Result of :func:`calibrate_layers` (frozen).

    Attributes
    ----------
    matrix : ndarray, shape (len(layers_X), len(layers_Y))
        Raw scores of every layer pair.
    statistic : float
        ``agg`` of the matrix (e.g. the best layer pair).
    null : ndarray, shape (n_permutations,)
        ``agg`` of the permuted matrix, one permutation applied to every layer of Y.
    pvalue, threshold, calibrated, alpha, n_permutations, agg, measure, measure_kwargs
        As in :class:`PermutationResult`, for the aggregate.
    best : (int, int)
        Indices of the best layer pair (by the measure's kind).
    """

    matrix: np.ndarray = field(repr=False)
    statistic: float
    null: np.ndarray = field(repr=False)
    pvalue: float
    threshold: float
    calibrated: float | None
    alpha: float
    n_permutations: int
    agg: str
    measure: str
    measure_kwargs: dict
    best: tuple = (0, 0)

    def __str__(self):
        lx, ly = self.matrix.shape
        return (f"{self.agg} {self.measure} over {lx}x{ly} layer pairs = {self.statistic:.4g} "
                f"(best pair {self.best}), p = {self.pvalue:.4g} ({self.n_permutations} "
                f"permutations), threshold {self.threshold:.4g}, calibrated {_fmt(self.calibrated)}")

    def _repr_html_(self):
        rows = [("measure", f"{self.agg} of {self.measure}"), ("statistic", f"{self.statistic:.6g}"),
                ("best pair", self.best), ("p-value", f"{self.pvalue:.4g}"),
                ("permutations", self.n_permutations), ("threshold", f"{self.threshold:.6g}"),
                ("calibrated score", _fmt(self.calibrated)),
                ("layer pairs", "x".join(map(str, self.matrix.shape)))]
        return _html_table("LayerCalibration", rows)

    def to_dict(self):
        """JSON-ready dict."""
        return {"type": "calibrate_layers", "measure": self.measure,
                "measure_kwargs": _jsonable(self.measure_kwargs), "agg": self.agg,
                "matrix": self.matrix.tolist(), "statistic": self.statistic,
                "best": list(self.best), "pvalue": self.pvalue, "threshold": self.threshold,
                "calibrated": _num(self.calibrated), "alpha": self.alpha,
                "n_permutations": self.n_permutations, "null": [float(v) for v in self.null]}


def _jsonable(d):
    out = {}
    for k, v in d.items():
        if isinstance(v, (np.generic,)):
            v = v.item()
        elif isinstance(v, (tuple, np.ndarray)):
            v = [float(x) for x in v]
        elif not isinstance(v, (int, float, str, bool, type(None), list)):
            v = repr(v)
        out[k] = v
    return out


def _html_table(title, rows):
    body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table><caption><b>{title}</b></caption>{body}</table>"


# --------------------------------------------------------------------------- validation
def _check_count(value, name, hint):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}. {hint}")
    return int(value)


def _check_unit(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1; got {value!r} "
                         f"(e.g. {name}={0.95 if name == 'level' else 0.05}).")
    return float(value)


def _check_budget(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value > 0:
        raise ValueError(f"memory_budget must be a positive number of bytes; got {value!r}.")
    return float(value)


def _group_index(groups, n):
    """Lists of row indices per group, or None for unrestricted permutations."""
    if groups is None:
        return None
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != n:
        raise ValueError(f"groups must be a 1-D array of n={n} labels (one per row of X and Y); "
                         f"got shape {g.shape}.")
    _, inv = np.unique(g, return_inverse=True)
    members = [np.flatnonzero(inv == j) for j in range(inv.max() + 1)]
    members = [m for m in members if len(m) > 1]
    if not members:
        raise ValueError("groups has only singleton groups, so no row can move and every "
                         "permutation is the identity. Use coarser groups (rows that are "
                         "exchangeable) or groups=None.")
    return members


def _draw(rng, n, m, members):
    perms = np.empty((m, n), dtype=np.int64)
    for q in range(m):
        if members is None:
            perms[q] = rng.permutation(n)
        else:
            p = np.arange(n)
            for idx in members:
                p[idx] = idx[rng.permutation(len(idx))]
            perms[q] = p
    return perms


def _progress(total, desc, progress):
    from tqdm import tqdm

    # None: tqdm's own rule, a bar only when stderr is a terminal
    return tqdm(total=total, desc=desc, disable=None if progress is None else not progress,
                file=sys.stderr, leave=True)


def _run_null(engines, n, n_permutations, seed, members, progress, desc):
    """Observed value(s) and the null, evaluated batch by batch with the same permutations."""
    rng = np.random.default_rng(check_seed(seed))
    ident = np.arange(n, dtype=np.int64)[None, :]
    observed = [float(e.null(ident)[0]) for e in engines]
    batch = max(1, min(n_permutations, _BATCH_INDICES // n))
    nulls = np.empty((n_permutations, len(engines)))
    with _progress(n_permutations, desc, progress) as bar:
        for start in range(0, n_permutations, batch):
            m = min(batch, n_permutations - start)
            perms = _draw(rng, n, m, members)
            for j, e in enumerate(engines):
                nulls[start:start + m, j] = e.null(perms)
            bar.update(m)
    if not np.all(np.isfinite(nulls)):
        raise ValueError("the measure returned a non-finite value on a permuted pairing; "
                         "inference needs finite values. Check the inputs or the measure.")
    return np.array(observed), nulls


def _decide(info: MeasureInfo, statistic, null, alpha, scale):
    """pvalue, threshold and calibrated score (Groeger et al. 2026) for either kind."""
    K = len(null)
    tol = _TIE_RTOL * max(abs(statistic), scale)
    sim = info.kind == "similarity"
    if sim:
        exceed = int(np.count_nonzero(null >= statistic - tol))
    else:
        exceed = int(np.count_nonzero(null <= statistic + tol))
    pvalue = (1 + exceed) / (K + 1)
    pooled = np.sort(np.append(null, statistic))
    r = int(math.ceil((1.0 - alpha) * (K + 1) - 1e-9))
    threshold = float(pooled[r - 1] if sim else pooled[K + 1 - r])
    calibrated = None
    if info.bounded:
        best = info.best
        span = (best - threshold) if sim else (threshold - best)
        if span <= 0:
            calibrated = 0.0
        else:
            gain = (statistic - threshold) if sim else (threshold - statistic)
            calibrated = float(min(1.0, max(0.0, gain / span)))
    return pvalue, threshold, calibrated


# --------------------------------------------------------------------------- permutation test
def permutation_test(X, Y, measure="cka", *, n_permutations: int = 1000, alpha: float = 0.05,
                     groups=None, seed=None, backend: str = "auto",
                     memory_budget: float = DEFAULT_MEMORY_BUDGET, stream: bool = True,
                     progress: bool | None = False, **measure_kwargs) -> PermutationResult:
    """Permutation test of alignment, with an add-one p-value and a calibrated score.

    Under H0 (no alignment beyond chance) the pairing of rows carries no
    information, so f(X, Y_pi), with the rows of Y permuted by a uniformly random
    pi, has the law of f(X, Y).  With K permuted values ("the null")::

        p          = (1 + #{k : null_k >= f(X, Y)}) / (K + 1)          (similarity)
        threshold  = ceil((1 - alpha)(K + 1))-th smallest of {f(X, Y)} u null
        calibrated = clip((f(X, Y) - threshold) / (s_max - threshold), 0, 1)

    mirrored for a distance (<=, the largest, and the distance's minimum instead of
    s_max).  p is never 0 and P(p <= alpha) <= alpha under H0 (Phipson & Smyth
    2010).  The calibrated score is 0 for anything the null can produce and
    rescales the rest to [0, 1] (Groeger, Wen & Brbic 2026, eq. 3).

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        Paired representations (row i of X goes with row i of Y).
    measure : str or callable
        A key of :data:`repalign_edu.MEASURES` or ``f(X, Y) -> float`` (taken as an
        unbounded similarity unless registered).
    n_permutations : int >= 1
        K; the smallest attainable p-value is 1 / (K + 1).
    alpha : float in (0, 1)
        Level of the threshold.
    groups : None or array_like, shape (n,)
        Labels; permutations only shuffle rows within a group (for rows that are
        not exchangeable: several views of one object, blocks of a time series).
    seed : None, int or numpy.random.Generator
    backend : {"auto", "numpy", "cpu", "cuda"}
        The fast paths (CKA, KA, HSIC, mutual k-NN) run on the CPU whatever the
        backend, so their null is the same bits on all backends.  A measure
        evaluated per permutation gets ``backend`` and computes there; its null
        then agrees across backends to rounding.
    memory_budget : float
        Bytes allowed for stored n x n matrices (default 2 GB).  Kernel measures
        store two Gram matrices (float64 below n = 2048; from there, or when
        float64 does not fit, float32 storage with float64 accumulation, whose
        error on the null is below 1e-9, measured) and stream their tiles per
        permutation when neither fits.
    stream : bool
        When the Gram matrices do not fit ``memory_budget``: stream the tiles for
        every permutation (True; O(n^2 d) per permutation) or raise (False).
    progress : bool or None
        Show a tqdm progress bar on stderr (None: only when stderr is a terminal).
    **measure_kwargs
        Passed to the measure (``kernel="rbf"``, ``estimator="unbiased"``, ``k=10``...).

    Returns
    -------
    PermutationResult
        ``statistic``, ``null`` (K,), ``pvalue``, ``threshold``, ``calibrated``,
        ``n_permutations``, ``measure``, ``measure_kwargs``, ``route``.

    Raises
    ------
    ValueError
        n_permutations < 1; alpha outside (0, 1); groups of the wrong length or
        only singletons; an unknown measure name (the message lists the registered
        ones); a measure that returns NaN or inf; the measure's own input errors
        (shapes, NaN/inf in X or Y, zero variance...).

    Notes
    -----
    Cost per permutation: linear CKA/KA/HSIC one product X^T Y_pi (n d_X d_Y);
    other kernels one pass over two stored n x n matrices (n^2/2 products);
    mutual k-NN O(n k) (neighbour sets relabelled); any other measure one call.

    References
    ----------
    Phipson & Smyth (2010), Stat. Appl. Genet. Mol. Biol. 9(1).  Gretton et al.
    (2008), NIPS 20.  Groeger, Wen & Brbic (2026), "Revisiting the Platonic
    representation hypothesis", ICML, arXiv 2602.14486, Algorithm 1.

    Examples
    --------
    >>> import numpy as np, repalign_edu as ra
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 5))
    >>> res = ra.permutation_test(X, X @ rng.normal(size=(5, 3)), n_permutations=99, seed=0)
    >>> res.pvalue
    0.01
    """
    info = resolve_measure(measure)
    n_permutations = _check_count(n_permutations, "n_permutations",
                                  "Use 1000 or more for p-values near 0.01.")
    alpha = _check_unit(alpha, "alpha")
    backend = resolve_backend(backend)
    memory_budget = _check_budget(memory_budget)
    engine, route = eng.make_permutation_engine(info, X, Y, measure_kwargs, backend,
                                                memory_budget, bool(stream))
    members = _group_index(groups, _engine_n(engine, X))
    observed, nulls = _run_null([engine], _engine_n(engine, X), n_permutations, seed, members,
                                progress, f"permutations ({info.name})")
    stat, null = float(observed[0]), nulls[:, 0].copy()
    scale = engine.scale if engine.scale else abs(stat)
    pvalue, threshold, calibrated = _decide(info, stat, null, alpha, scale)
    return PermutationResult(stat, null, pvalue, threshold, calibrated, alpha, n_permutations,
                             info.name, dict(measure_kwargs), route)


def _engine_n(engine, X):
    return int(getattr(engine, "n", None) or np.shape(X)[0])


# --------------------------------------------------------------------------- bootstrap
def bootstrap_ci(X, Y, measure="cka", *, n_resamples: int = 1000, level: float = 0.95,
                 method: str = "percentile", seed=None, backend: str = "auto",
                 self_pairs: str = "auto", memory_budget: float = DEFAULT_MEMORY_BUDGET,
                 progress: bool | None = False, **measure_kwargs) -> BootstrapResult:
    """Confidence interval for an alignment measure: pairs bootstrap over rows, or jackknife.

    A resample draws n rows with replacement, keeping the pairing; it is a count
    vector c (c_i copies of row i), and the fast paths evaluate the measure from
    weighted statistics instead of copied rows (weighted feature-space moments for
    linear CKA/KA/HSIC; weighted sums of stored Gram matrices for other kernels).

    * ``"percentile"``: the (1 -/+ level)/2 quantiles of the replicates;
    * ``"basic"``: (2 theta-hat - q_hi, 2 theta-hat - q_lo), the percentile interval
      reflected about the estimate, which removes the bootstrap estimate of the bias
      (Davison & Hinkley 1997, eq. 5.6).  Prefer it for biased CKA when d is not
      small against n: the plug-in estimator is biased upward by O(d/n), the
      resamples are biased again, and the percentile interval can miss the estimate;
    * ``"bca"``: bias-corrected and accelerated (Efron 1987), with z0 from the
      share of replicates below the estimate and the acceleration from the
      jackknife, a = sum(d^3) / (6 (sum d^2)^1.5), d_i = mean - theta_(i);
    * ``"jackknife"``: theta-hat -/+ z_{(1+level)/2} se_jack, with
      se_jack^2 = (n-1)/n sum (theta_(i) - mean)^2 over the n leave-one-out values
      (Efron & Tibshirani 1993, ch. 11).  It never duplicates a row.  (Its bias
      correction n theta-hat - (n-1) mean is not applied: for mutual k-NN, whose
      leave-one-out values all move the same way, it overshoots.)

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
    measure : str or callable
        As in :func:`permutation_test`.
    n_resamples : int >= 1
        Bootstrap resamples (ignored by "jackknife").
    level : float in (0, 1)
    method : {"percentile", "basic", "bca", "jackknife"}
    seed : None, int or numpy.random.Generator
    backend : {"auto", "numpy", "cpu", "cuda"}
        Passed to a measure evaluated on copied rows.
    self_pairs : {"auto", "keep", "drop"}
        How a row drawn several times pairs with its own copies (see the module
        notes).  "keep": the plain bootstrap of copied rows; "drop": those pairs are
        left out (kernel measures: weights c_i c_j for i != j, c_i on the diagonal;
        mutual k-NN: neighbours are searched among the distinct drawn rows).
        "auto" (default): "drop" for unbiased estimators with linear or
        polynomial kernels and for mutual k-NN, "keep" otherwise: the better
        calibrated choice for each (measured in benchmarks/results/inference.md).  For biased CKA with d
        not small against n, use estimator="unbiased" or method="basic".
    memory_budget : float
        Bytes for stored matrices (five n x n float64 for kernel measures).
    progress : bool or None
        tqdm progress bar on stderr (None: only when stderr is a terminal).
    **measure_kwargs
        Passed to the measure.  Bandwidths chosen by the median heuristic are
        fixed at their full-sample values for every resample.

    Returns
    -------
    BootstrapResult
        ``statistic``, ``low``, ``high``, ``level``, ``method``, ``replicates``.

    Raises
    ------
    ValueError
        n_resamples < 1; level outside (0, 1); unknown method or self_pairs; an
        unknown measure; a measure returning NaN on the full sample; more than
        half of the resamples degenerate (e.g. zero variance); bad X, Y.

    References
    ----------
    Efron & Tibshirani (1993), An Introduction to the Bootstrap, ch. 13-14 (percentile,
    BCa) and ch. 11 (jackknife).  Efron (1987), JASA 82.  Arvesen (1969), Ann. Math.
    Statist. 40 (jackknifing U-statistics).

    Examples
    --------
    >>> import numpy as np, repalign_edu as ra
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); Y = X + rng.normal(size=(200, 3))
    >>> ci = ra.bootstrap_ci(X, Y, n_resamples=200, seed=0)
    >>> ci.low < ci.statistic < ci.high
    True
    """
    info = resolve_measure(measure)
    n_resamples = _check_count(n_resamples, "n_resamples", "Use 1000 or more for 95% intervals.")
    level = _check_unit(level, "level")
    check_option(method, BOOTSTRAP_METHODS, "method")
    check_option(self_pairs, SELF_PAIRS, "self_pairs")
    backend = resolve_backend(backend)
    memory_budget = _check_budget(memory_budget)
    if self_pairs == "auto":
        unbiased = measure_kwargs.get("debiased") or measure_kwargs.get("estimator") == "unbiased"
        diagonal_heavy = measure_kwargs.get("kernel", "linear") in ("linear", "polynomial")
        self_pairs = ("drop" if info.func in (_mutual_knn, _cycle_knn) or (unbiased and diagonal_heavy)
                      else "keep")
    engine, route = eng.make_bootstrap_engine(info, X, Y, measure_kwargs, backend,
                                              memory_budget, self_pairs)
    n = engine.n
    stat = float(engine.values(np.ones((1, n)))[0])
    if not math.isfinite(stat):
        eng.call_measure(info, X, Y, measure_kwargs, backend)   # raises the measure's own error
        raise ValueError(f"measure {info.name!r} is not finite on the full sample; check X and Y.")
    if method == "jackknife" or method == "bca":
        jack = engine.jackknife()
        jack = jack[np.isfinite(jack)]
        if len(jack) < 2:
            raise ValueError("the jackknife needs at least 2 finite leave-one-out values.")
    if method == "jackknife":
        se = math.sqrt((n - 1) / n * float(np.sum((jack - jack.mean()) ** 2)))
        z = norm.ppf(0.5 + level / 2)
        return BootstrapResult(stat, stat - z * se, stat + z * se, level, method, jack, 0,
                               info.name, dict(measure_kwargs), self_pairs, route)
    rng = np.random.default_rng(check_seed(seed))
    batch = max(1, min(n_resamples, 256, _BATCH_INDICES // n))
    reps = np.empty(n_resamples)
    with _progress(n_resamples, f"resamples ({info.name})", progress) as bar:
        for start in range(0, n_resamples, batch):
            m = min(batch, n_resamples - start)
            counts = _counts(rng, n, m)
            reps[start:start + m] = engine.values(counts)
            bar.update(m)
    finite = reps[np.isfinite(reps)]
    if len(finite) < 0.5 * n_resamples:
        raise ValueError(f"{n_resamples - len(finite)} of {n_resamples} resamples gave no finite "
                         "value (e.g. zero variance in a resample); use more samples.")
    lo_q, hi_q = 0.5 - level / 2, 0.5 + level / 2
    if method == "bca":
        below = (np.count_nonzero(finite < stat) + 0.5 * np.count_nonzero(finite == stat))
        frac = min(max(below / len(finite), 0.5 / len(finite)), 1 - 0.5 / len(finite))
        z0 = norm.ppf(frac)
        d = jack.mean() - jack
        den = 6.0 * float(np.sum(d * d)) ** 1.5
        a = float(np.sum(d**3)) / den if den > 0 else 0.0
        qs = []
        for q in (lo_q, hi_q):
            zq = norm.ppf(q)
            qs.append(float(norm.cdf(z0 + (z0 + zq) / (1.0 - a * (z0 + zq)))))
        lo_q, hi_q = qs
    low, high = np.quantile(finite, [lo_q, hi_q])
    if method == "basic":
        low, high = 2.0 * stat - high, 2.0 * stat - low
    return BootstrapResult(stat, float(low), float(high), level, method, reps, n_resamples,
                           info.name, dict(measure_kwargs), self_pairs, route)


def _counts(rng, n, m):
    """(m, n) bootstrap counts: row q holds how often each of the n rows is drawn
    in n draws with replacement (multinomial(n, 1/n), from uniform indices)."""
    draws = rng.integers(0, n, size=(m, n)) + (np.arange(m) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=m * n).reshape(m, n)


# --------------------------------------------------------------------------- layers
def calibrate_layers(layers_X, layers_Y, measure="cka", *, agg: str = "max",
                     n_permutations: int = 1000, alpha: float = 0.05, groups=None, seed=None,
                     backend: str = "auto", memory_budget: float = DEFAULT_MEMORY_BUDGET,
                     progress: bool | None = False, **measure_kwargs) -> LayerCalibration:
    """Calibrate the best (or mean) score over many layer pairs against one shared null.

    Reporting max_{a,b} f(X_a, Y_b) over layer pairs inflates the score: the
    maximum of many chance values is larger than one.  Each null draw applies ONE
    row permutation pi to every layer of Y and takes the same aggregate,
    agg_{a,b} f(X_a, (Y_b)_pi), so the search is part of the null (Groeger, Wen &
    Brbic 2026, Algorithm 2).  p-value, threshold and calibrated score are those
    of :func:`permutation_test` applied to the aggregate.

    Parameters
    ----------
    layers_X : sequence of array_like, each (n, d_a), or dict {layer name: array}
    layers_Y : sequence of array_like, each (n, d_b), or dict {layer name: array}
        All layers share the same n rows (the same inputs, in the same order).
        A dict (e.g. from :func:`repalign_edu.extract.activations`) is taken in
        its iteration order.
    measure : str or callable
    agg : {"max", "min", "mean", "median"}
        Aggregate over the len(layers_X) x len(layers_Y) matrix.  "max" is the
        best pair of a similarity; use "min" for a distance.
    n_permutations, alpha, groups, seed, backend, memory_budget, progress
        As in :func:`permutation_test` (the budget is shared by all pairs).
    **measure_kwargs
        Passed to the measure.

    Returns
    -------
    LayerCalibration
        ``matrix``, ``statistic``, ``null``, ``pvalue``, ``threshold``,
        ``calibrated``, ``best`` (the best pair's indices).

    Raises
    ------
    ValueError
        Empty layer lists, layers with different n, and the errors of
        :func:`permutation_test`.

    References
    ----------
    Groeger, Wen & Brbic (2026), arXiv 2602.14486, Algorithm 2.
    """
    info = resolve_measure(measure)
    check_option(agg, AGGREGATES, "agg")
    n_permutations = _check_count(n_permutations, "n_permutations",
                                  "Use 1000 or more for p-values near 0.01.")
    alpha = _check_unit(alpha, "alpha")
    backend = resolve_backend(backend)
    memory_budget = _check_budget(memory_budget)
    # a mapping {layer name: array} (as extract.activations and .npz files give) is its values
    layers_X = list(layers_X.values()) if isinstance(layers_X, Mapping) else layers_X
    layers_Y = list(layers_Y.values()) if isinstance(layers_Y, Mapping) else layers_Y
    for layers, name in ((layers_X, "layers_X"), (layers_Y, "layers_Y")):
        if (isinstance(layers, np.ndarray) and layers.ndim == 2 or not hasattr(layers, "__len__")
                or len(layers) == 0 or any(np.ndim(A) != 2 for A in layers)):
            raise ValueError(f"{name} must be a non-empty list (or dict) of (n, d) arrays, one per "
                             "layer.")
    lx, ly = len(layers_X), len(layers_Y)
    ns = {np.shape(A)[0] for A in list(layers_X) + list(layers_Y)}
    if len(ns) != 1:
        raise ValueError(f"every layer must have the same n rows (the same inputs); got n in "
                         f"{sorted(ns)}.")
    budget = memory_budget / (lx * ly)
    engines = []
    for a in range(lx):
        for b in range(ly):
            e, _ = eng.make_permutation_engine(info, layers_X[a], layers_Y[b], measure_kwargs,
                                               backend, budget)
            engines.append(e)
    n = ns.pop()
    members = _group_index(groups, n)
    observed, nulls = _run_null(engines, n, n_permutations, seed, members, progress,
                                f"layer permutations ({info.name})")
    reduce = {"max": np.max, "min": np.min, "mean": np.mean, "median": np.median}[agg]
    matrix = observed.reshape(lx, ly)
    stat = float(reduce(matrix))
    null = reduce(nulls, axis=1)
    flat = int(np.argmax(matrix) if info.kind == "similarity" else np.argmin(matrix))
    scales = [e.scale for e in engines if e.scale]
    scale = max(scales) if scales else abs(stat)
    pvalue, threshold, calibrated = _decide(info, stat, null, alpha, scale)
    return LayerCalibration(matrix, stat, null, pvalue, threshold, calibrated, alpha,
                            n_permutations, agg, info.name, dict(measure_kwargs),
                            (flat // ly, flat % ly))
