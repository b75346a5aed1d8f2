"""Which measure should you trust?  The field's sanity checks, run on the deep zoo.

Lesson 06 interprets what this module computes (and caches):

* :func:`layer_identification` -- Kornblith et al. (2019), section 6.1 and
  Table 2: for every layer of every network, is the most similar layer of
  another network (another seed) the one at the same depth?
* :func:`random_label_test`, :func:`input_noise_test`,
  :func:`layer_monotonicity` -- tests in the style of ReSi (Klabunde et al.
  2024): do the measures rank models trained with 0 / 50 / 100 % random
  labels, inputs with Gaussian noise of growing strength, and layers of
  growing depth in the expected order?
* :func:`specificity_test` -- Ding, Denain & Steinhardt (2021) in miniature:
  delete principal components, smallest variance first, and ask whether a
  measure moves with the accuracy of a linear probe (Spearman rho).

Conventions (fixed before anything is computed):

* **Measures** (:data:`TABLE2_MEASURES` are Kornblith et al.'s rows,
  :data:`EXTRA_MEASURES` the others in the package).  RBF CKA uses
  sigma = f x the median distance with f = 0.2, 0.4, 0.8, where the median
  distance is sqrt(median of the squared distances over all n^2 ordered
  pairs, diagonal included), as in Kornblith et al.'s code
  (``median_heuristic(X, include_diagonal=True)``); SVCCA keeps 0.99 of the
  variance; k-NN measures use k = 10.
* **Asymmetric measures** (PWCCA, linear regression) are symmetrised as
  S + S^T: s(a, b) = f(a, b) + f(b, a).
* **Ties**: the layers whose similarity is within 1e-9 (relative) of the
  row maximum are tied; the trial scores 1/|tied| if the correct layer is
  among them, else 0 -- the expected accuracy of breaking ties at random.
  A measure that gives every layer the same value scores chance, 1/L.
* **Intervals**: percentile bootstrap (2000 resamples) over the units that
  are independent draws: unordered network pairs for the accuracies, model
  pairs or deletion settings for the rank correlations.

Every numerical building block is the package's own (:mod:`repalign_edu.cca`,
:mod:`repalign_edu.neighbors`, :mod:`repalign_edu.kernels`); the per-pair fast
path here is tested against the public measures in ``tests/test_sanity.py``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata, spearmanr

from . import cca as _cca
from . import data as _data
from . import neighbors as _nb
from .kernels import gram_matrix, median_heuristic

__all__ = [
    "ALL_MEASURES",
    "EXTRA_MEASURES",
    "KORNBLITH_TABLE2",
    "TABLE2_MEASURES",
    "bootstrap_ci",
    "deep_zoo_representations",
    "identification_accuracy",
    "input_noise_test",
    "layer_identification",
    "layer_credit",
    "layer_monotonicity",
    "per_layer_accuracy",
    "pair_similarities",
    "prepare",
    "random_label_test",
    "similarity_matrices",
    "specificity_test",
]

#: Kornblith et al. (2019) Table 2: accuracy (%) of identifying the corresponding
#: layer of another Tiny-10 CNN trained on CIFAR-10 (10 seeds, logits excluded).
KORNBLITH_TABLE2 = {
    "CCA rho-bar": 1.4,
    "CCA R^2_CCA": 10.6,
    "SVCCA rho-bar": 9.9,
    "SVCCA R^2_CCA": 15.1,
    "PWCCA": 11.1,
    "linear regression": 45.4,
    "linear HSIC": 22.2,
    "linear CKA": 99.3,
    "RBF CKA 0.2": 80.6,
    "RBF CKA 0.4": 99.1,
    "RBF CKA 0.8": 99.3,
}
TABLE2_MEASURES = tuple(KORNBLITH_TABLE2)
#: further measures of the package, run through the same protocols
EXTRA_MEASURES = ("Procrustes (cos theta)", "mutual k-NN", "k-NN Jaccard", "CKNNA")
ALL_MEASURES = TABLE2_MEASURES + EXTRA_MEASURES
#: symmetrised as S + S^T
ASYMMETRIC = ("PWCCA", "linear regression")
RBF_FRACTIONS = (0.2, 0.4, 0.8)
SVCCA_VARIANCE = 0.99
K_NEIGHBOURS = 10
TIE_RTOL = 1e-9
#: bump when anything that changes the cached results changes in this file
SANITY_VERSION = "1"


# --------------------------------------------------------------------------- per-representation work
@dataclass(frozen=True)
class Prepared:
    """Everything one representation contributes to every pair (computed once).

    Attributes
    ----------
    basis, basis_svcca : repalign_edu.cca.Basis
        Thin SVD of the centred representation; and its truncation to
        :data:`SVCCA_VARIANCE` of the variance.
    nbhd : repalign_edu.neighbors.Neighbourhood
        k-NN structure (k = :data:`K_NEIGHBOURS`).
    rbf : tuple of ndarray (n, n)
        Centred RBF Gram matrices H K H, one per :data:`RBF_FRACTIONS`.
    """

    basis: _cca.Basis
    basis_svcca: _cca.Basis
    nbhd: _nb.Neighbourhood
    rbf: tuple = field(repr=False)


def prepare(X, *, k: int = K_NEIGHBOURS) -> Prepared:
    """Per-representation work of :func:`pair_similarities`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    k : int
        Neighbours of the k-NN measures.

    Returns
    -------
    Prepared

    Raises
    ------
    ValueError
        Invalid X, zero variance, a zero row (k-NN measures), k out of range.
    """
    b = _cca.basis(X)
    sigma = median_heuristic(b.Xc, include_diagonal=True)
    grams = []
    for f in RBF_FRACTIONS:
        K = gram_matrix(b.Xc, "rbf", sigma=f * sigma)
        K -= K.mean(axis=0)
        K -= K.mean(axis=1, keepdims=True)
        grams.append(K)
    return Prepared(b, b.truncate(SVCCA_VARIANCE), _nb.neighbourhood(X, k, backend="cpu"),
                    tuple(grams))


def pair_similarities(a: Prepared, b: Prepared, *, allow_degenerate: bool = False,
                      rbf: bool = True) -> dict:
    """Every measure of :data:`ALL_MEASURES` for one pair, asymmetric ones as S + S^T.

    One CCA of the pair serves every CCA-family measure (both directions of
    PWCCA and linear regression); one neighbour-overlap mask serves every
    k-NN measure.

    Parameters
    ----------
    a, b : Prepared
        From :func:`prepare` on the same n inputs.
    allow_degenerate : bool
        False: degenerate CCA or regression (see :mod:`repalign_edu.cca`)
        raises.  True: return the exact, data-independent values there
        (all canonical correlations 1, R^2 = 1) -- lesson 06 uses this to
        show what goes wrong with fewer samples than features.
    rbf : bool
        Include the RBF CKA entries (:func:`similarity_matrices` computes
        them for all pairs at once instead).

    Returns
    -------
    dict name -> float
        PWCCA and linear regression are f(a, b) + f(b, a), in [0, 2].

    Raises
    ------
    ValueError
        Degenerate CCA or regression without ``allow_degenerate``.
    """
    bx, by = a.basis, b.basis
    if not allow_degenerate:
        _cca._check_degenerate(bx, by, 0.0, "CCA")
        _cca._check_regression(by, 0.0)
        _cca._check_regression(bx, 0.0)
    pair = _cca._cca(bx, by, 0.0)
    rho, rho_sv = pair.rho, _cca._cca(a.basis_svcca, b.basis_svcca, 0.0).rho
    C = (bx.s[:, None] * pair.M0) * by.s[None, :]      # same singular values as Xc^T Yc
    hsic = float(np.sum(C * C))
    shared = _nb._mutual_mask(a.nbhd.idx, b.nbhd.idx)
    k = a.nbhd.idx.shape[1]
    out = {
        "CCA rho-bar": float(np.mean(rho)),
        "CCA R^2_CCA": float(np.mean(rho**2)),
        "SVCCA rho-bar": float(np.mean(rho_sv)),
        "SVCCA R^2_CCA": float(np.mean(rho_sv**2)),
        "PWCCA": float(sum(_cca._pwcca_both(pair, bx, by))),
        "linear regression": (_cca._regression_from_overlap(pair.M0, bx, pair.fy)
                              + _cca._regression_from_overlap(pair.M0.T, by, pair.fx)),
        "linear HSIC": float(np.ldexp(hsic / bx.n**2, 2 * (bx.log2_scale + by.log2_scale))),
        "linear CKA": hsic / np.sqrt(float(np.sum(bx.s**4)) * float(np.sum(by.s**4))),
        "Procrustes (cos theta)": float(np.sum(np.linalg.svd(C, compute_uv=False))
                                        / np.sqrt(np.sum(bx.s**2) * np.sum(by.s**2))),
        "mutual k-NN": float(np.mean(shared.sum(axis=(1, 2))) / k),
        "k-NN Jaccard": _nb._jaccard_from(a.nbhd, b.nbhd, shared),
        "CKNNA": float(_nb._cknna_from(a.nbhd, b.nbhd, shared)),
    }
    if rbf:
        for f, Ka, Kb in zip(RBF_FRACTIONS, a.rbf, b.rbf):
            out[f"RBF CKA {f}"] = float(np.vdot(Ka, Kb) / np.sqrt(np.vdot(Ka, Ka) * np.vdot(Kb, Kb)))
    return out


# --------------------------------------------------------------------------- the deep zoo's representations
def deep_zoo_representations(seeds=_data.DEEP_SEEDS, *, n_samples=None, label_noise=0.0,
                             input_noise=0.0, sample_seed=0):
    """Every hidden layer of every deep-zoo network on the held-out digits.

    Parameters
    ----------
    seeds : sequence of int
        Networks of :func:`repalign_edu.data.deep_zoo`.
    n_samples : int or None
        None: all 540 test digits; else a random subset of that size
        (``np.random.default_rng(sample_seed)``, sorted).
    label_noise : float
        Which deep zoo (fraction of random training labels).
    input_noise : float
        Standard deviation of Gaussian pixel noise added to the inputs
        (:func:`repalign_edu.data.noisy_view`, seed ``sample_seed + 1``).

    Returns
    -------
    list (networks) of lists (layers) of ndarray (n, 64)
    """
    zoo = _data.deep_zoo(seeds=seeds, label_noise=label_noise)
    X, _ = _data.load_digits()
    te = next(iter(zoo.values())).test_idx
    if n_samples is not None:
        te = np.sort(np.random.default_rng(sample_seed).choice(te, size=int(n_samples),
                                                                replace=False))
    inputs = X[te] if input_noise == 0 else _data.noisy_view(X[te], input_noise,
                                                             seed=sample_seed + 1)
    return [zoo[s].representations(inputs) for s in seeds]


# --------------------------------------------------------------------------- layer identification
def similarity_matrices(reps, *, allow_degenerate: bool = False) -> dict:
    """S[name][i, j, l, m] = measure(layer l of network i, layer m of network j).

    Asymmetric measures are symmetrised, S + S^T.  Every block between two
    different networks is computed; of the within-network blocks (i == j)
    only layer 1 against every layer (for :func:`layer_monotonicity`), the
    other entries are NaN.

    Parameters
    ----------
    reps : list (N networks) of lists (L layers) of ndarray (n, d)
    allow_degenerate : bool
        See :func:`pair_similarities`.

    Returns
    -------
    dict name -> ndarray, shape (N, N, L, L), float64
    """
    N, L = len(reps), len(reps[0])
    prep = [prepare(R) for net in reps for R in net]          # index i * L + l
    S = {m: np.full((N, N, L, L), np.nan) for m in ALL_MEASURES}
    for p in range(N * L):
        i, l = divmod(p, L)
        for q in range(p, N * L):
            j, m = divmod(q, L)
            if i == j and l != 0:
                continue
            vals = pair_similarities(prep[p], prep[q], allow_degenerate=allow_degenerate,
                                     rbf=False)
            for name, v in vals.items():
                S[name][i, j, l, m] = S[name][j, i, m, l] = v
    for c, f in enumerate(RBF_FRACTIONS):                      # all pairs in one product
        G = np.stack([P.rbf[c].ravel() for P in prep])
        inner = G @ G.T
        inner = 0.5 * (inner + inner.T)                        # exactly symmetric
        norms = np.sqrt(np.diag(inner))
        cka = (inner / np.outer(norms, norms)).reshape(N, L, N, L).transpose(0, 2, 1, 3)
        S[f"RBF CKA {f}"] = np.where(np.isnan(S["linear CKA"]), np.nan, cka)
    return S


def layer_credit(S) -> np.ndarray:
    """Credit of every trial: C[i, j, l] for layer l of network i matched in network j.

    Parameters
    ----------
    S : ndarray, shape (N, N, L, L)
        From :func:`similarity_matrices` (one measure).

    Returns
    -------
    ndarray, shape (N, N, L)
        1/|tied| if layer l is among the layers tied for the row maximum of
        S[i, j, l, :], else 0 (the tie rule of the module docstring); NaN for i == j.
    """
    S = np.asarray(S, dtype=np.float64)
    N, _, L, _ = S.shape
    with np.errstate(invalid="ignore"):                     # NaN within-network blocks
        top = S.max(axis=3, keepdims=True)
        tied = S >= top - TIE_RTOL * np.maximum(1.0, np.abs(top))
        hit = tied[..., np.arange(L), np.arange(L)]              # (N, N, L): l among the tied
        credit = hit / tied.sum(axis=3)
    credit[np.arange(N), np.arange(N)] = np.nan
    return credit


def per_layer_accuracy(S) -> np.ndarray:
    """Identification accuracy of each layer, averaged over ordered network pairs (i != j).

    Returns
    -------
    ndarray, shape (L,)
    """
    C = layer_credit(S)
    N = C.shape[0]
    return C[~np.eye(N, dtype=bool)].mean(axis=0)


def identification_accuracy(S) -> np.ndarray:
    """Per-pair accuracy of identifying the corresponding layer, with the tie rule.

    Parameters
    ----------
    S : ndarray, shape (N, N, L, L)
        From :func:`similarity_matrices` (one measure).

    Returns
    -------
    ndarray, shape (N, N)
        A[i, j] (i != j): mean over the L layers l of network i of the
        credit of "argmax_m S[i, j, l, m] == l" (1/|tied| for a tie that
        contains l); NaN on the diagonal (no trial).
    """
    return layer_credit(S).mean(axis=2)


def bootstrap_ci(units, statistic, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0):
    """Percentile bootstrap interval over resampled independent units.

    Parameters
    ----------
    units : int
        Number of independent units P (resampled with replacement).
    statistic : callable(idx) -> ndarray (n_boot,)
        Vectorised: ``idx`` has shape (n_boot, P), one resample per row;
        return the statistic of every resample (NaN where undefined).
    n_boot : int
    level : float in (0, 1)
    seed : int
        Seed of ``np.random.default_rng``.

    Returns
    -------
    (low, high) : floats
        NaN, NaN when the statistic is never finite (e.g. a Spearman rho of a
        constant).

    Notes
    -----
    Efron's percentile interval.  The units must be independent draws: the
    network pairs of :func:`layer_identification` share networks, so their
    interval is somewhat too narrow (a pairs bootstrap, not a network one).
    """
    rng = np.random.default_rng(seed)
    vals = np.asarray(statistic(rng.integers(0, units, (n_boot, units))), dtype=float)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return float("nan"), float("nan")
    a = (1.0 - level) / 2.0
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1.0 - a))


def _pair_accuracy_summary(A):
    N = A.shape[0]
    iu = np.triu_indices(N, 1)
    per_pair = 0.5 * (A[iu] + A.T[iu])                       # both directions of a pair
    lo, hi = bootstrap_ci(len(per_pair), lambda idx: per_pair[idx].mean(axis=1))
    return float(per_pair.mean()), lo, hi


# --------------------------------------------------------------------------- caching
def _cache_key(name, params):
    zoo_key = _data._cache_key("full", _data.DEEP_WIDTH, _data.DEEP_DEPTH, 0,
                               dict(_data.DEEP_MLP_PARAMS))
    return {"sanity_version": SANITY_VERSION, "what": name, "params": params,
            "zoo": {k: v for k, v in zoo_key.items() if k != "seed"}}


def _cached(name, params, compute, cache=True):
    """Load the arrays of ``compute()`` from the cache, or compute and store them."""
    key = _cache_key(name, params)
    directory = _data._usable_cache_dir() if cache else None
    if directory is None:
        return compute()
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = directory / f"sanity_{name}_{digest}.npz"
    try:
        with np.load(path, allow_pickle=False) as f:
            if json.loads(str(f["key"])) == key:
                return {k: f[k] for k in f.files if k != "key"}
    except (OSError, ValueError, KeyError, EOFError):
        pass
    out = compute()
    _data._atomic_savez(path, key=np.array(json.dumps(key, sort_keys=True)), **out)
    return out


def _matrices_cached(n_samples, allow_degenerate, seeds, cache):
    def compute():
        reps = deep_zoo_representations(seeds, n_samples=n_samples)
        S = similarity_matrices(reps, allow_degenerate=allow_degenerate)
        return {m: S[m] for m in ALL_MEASURES}

    return _cached("matrices", {"n_samples": n_samples, "degenerate": allow_degenerate,
                                "seeds": list(seeds)}, compute, cache)


@dataclass(frozen=True)
class IdentificationResult:
    """Result of :func:`layer_identification`.

    Attributes
    ----------
    accuracy : dict name -> float
        Fraction (0..1) of trials that find the corresponding layer.
    ci : dict name -> (low, high)
        95% bootstrap interval over network pairs.
    matrices : dict name -> ndarray (N, N, L, L)
    n_samples, n_networks, n_layers : int
    """

    accuracy: dict
    ci: dict
    matrices: dict = field(repr=False)
    n_samples: int = 0
    n_networks: int = 0
    n_layers: int = 0

    def to_markdown(self, published: bool = True) -> str:
        """Our accuracies (%) with intervals, next to Kornblith et al.'s Table 2."""
        head = "| measure | ours (%) | 95% CI | published (%) |\n|---|---|---|---|"
        rows = []
        for m in self.accuracy:
            lo, hi = self.ci[m]
            pub = KORNBLITH_TABLE2.get(m)
            rows.append(f"| {m} | {100 * self.accuracy[m]:.1f} | {100 * lo:.1f}-{100 * hi:.1f} | "
                        + (f"{pub:.1f}" if pub is not None else "--") + " |")
        return "\n".join([head, *rows])

    def __str__(self):
        return self.to_markdown()


def layer_identification(n_samples=None, *, seeds=_data.DEEP_SEEDS, allow_degenerate=False,
                         cache=True) -> IdentificationResult:
    """Kornblith et al.'s (2019) layer-identification sanity check on the deep zoo.

    For each ordered pair of networks (i, j), i != j, and each hidden layer
    l of network i: is argmax_m s(layer l of i, layer m of j) equal to l?
    The accuracy is the mean over the N (N - 1) L trials, with the tie rule
    of the module docstring.

    Parameters
    ----------
    n_samples : int or None
        None: the 540 held-out digits; else a random subset (fewer samples
        than the 64 features: set ``allow_degenerate=True``).
    seeds : sequence of int
        Deep-zoo networks (default the ten).
    allow_degenerate : bool
        See :func:`pair_similarities`.
    cache : bool
        Cache the similarity matrices in :func:`repalign_edu.data.cache_dir`.

    Returns
    -------
    IdentificationResult

    References
    ----------
    Kornblith, Norouzi, Lee & Hinton (2019), ICML, section 6.1, Table 2.
    """
    seeds = tuple(seeds)
    S = _matrices_cached(n_samples, allow_degenerate, seeds, cache)
    acc, ci = {}, {}
    for m in ALL_MEASURES:
        a, lo, hi = _pair_accuracy_summary(identification_accuracy(S[m]))
        acc[m], ci[m] = a, (lo, hi)
    N, _, L, _ = S[ALL_MEASURES[0]].shape
    n = 540 if n_samples is None else int(n_samples)
    return IdentificationResult(acc, ci, S, n, N, L)


# --------------------------------------------------------------------------- ReSi-style tests
#: a sequence whose spread is below this (relative) is constant: its ranks would be rounding noise
CONSTANT_RTOL = 1e-9


def _constant(x, axis=None):
    x = np.asarray(x, float)
    return np.ptp(x, axis=axis) <= CONSTANT_RTOL * np.maximum(1.0, np.max(np.abs(x), axis=axis))


def _spearman(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    if _constant(x) or _constant(y):
        return float("nan")                                   # a constant cannot be ranked
    return float(spearmanr(x, y)[0])


def _spearman_rows(A, B):
    """Spearman rho of each row pair (A[r], B[r]) at once: Pearson of average ranks.

    NaN for a row pair in which either row is constant (within :data:`CONSTANT_RTOL`).
    """
    flat = _constant(A, axis=1) | _constant(B, axis=1)
    ra, rb = rankdata(A, axis=1), rankdata(B, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt(np.sum(ra * ra, axis=1) * np.sum(rb * rb, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((den > 0) & ~flat, np.sum(ra * rb, axis=1) / den, np.nan)


def _bootstrap_spearman(X, Y, *, n_boot=1000):
    """Interval of Spearman rho(X, Y) over resampled units (axis 0 of X and Y)."""
    return bootstrap_ci(X.shape[0], lambda idx: _spearman_rows(
        X[idx].reshape(len(idx), -1), Y[idx].reshape(len(idx), -1)), n_boot=n_boot)


@dataclass(frozen=True)
class RankingResult:
    """Result of a ReSi-style ranking test.

    Attributes
    ----------
    levels : ndarray, shape (G,)
        The grouping variable (label noise, input-noise strength, depth).
    values : dict name -> ndarray, shape (G, P)
        Similarity of each of P comparisons at each level.
    rho : dict name -> float
        Spearman correlation between the level and the similarity over all
        G x P values (expected negative); NaN where the measure is constant.
    ci : dict name -> (low, high)
        95% bootstrap interval of rho over the P comparisons.
    correct : dict name -> bool
        The mean similarity falls strictly from level to level.
    """

    levels: np.ndarray
    values: dict
    rho: dict
    ci: dict
    correct: dict

    def to_markdown(self, what="level") -> str:
        head = f"| measure | Spearman rho (similarity vs {what}) | 95% CI | mean similarity by {what} | ranked correctly |"
        rows = [head, "|---|---|---|---|---|"]
        for m in self.values:
            means = ", ".join(f"{v:.3f}" for v in self.values[m].mean(axis=1))
            lo, hi = self.ci[m]
            rows.append(f"| {m} | {self.rho[m]:.2f} | {lo:.2f} to {hi:.2f} | {means} | "
                        f"{'yes' if self.correct[m] else 'no'} |")
        return "\n".join(rows)

    def __str__(self):
        return self.to_markdown()


def _ranking(levels, values):
    levels = np.asarray(levels, float)
    rho, ci, correct = {}, {}, {}
    for m, V in values.items():
        G, P = V.shape
        lv = np.repeat(levels, P)
        rho[m] = _spearman(lv, V.ravel())
        ci[m] = _bootstrap_spearman(np.broadcast_to(levels[None, :], (P, G)), V.T)
        means = V.mean(axis=1)
        correct[m] = bool(np.all(np.diff(means) < 0))
    return RankingResult(levels, values, rho, ci, correct)


def _values_to(result_arrays):
    return {m: result_arrays[m] for m in ALL_MEASURES}


def _graded_similarities(layer, models, refs, levels, representations_at):
    """Every measure between each model's layer at each level and each clean reference.

    ``representations_at(level)`` gives the models' per-layer representations at
    one level (label noise, input noise); returns {measure: (G, len(models) * len(refs))}.
    """
    ref_prep = [prepare(deep_zoo_representations((r,))[0][layer - 1]) for r in refs]
    out = {m: np.empty((len(levels), len(models) * len(refs))) for m in ALL_MEASURES}
    for g, level in enumerate(levels):
        for a, net in enumerate(representations_at(level)):
            pa = prepare(net[layer - 1])
            for b, pb in enumerate(ref_prep):
                s = pair_similarities(pa, pb)
                for m in ALL_MEASURES:
                    out[m][g, a * len(refs) + b] = s[m]
    return out


def random_label_test(*, layer: int = 6, models=(0, 1, 2), refs=(3, 4, 5, 6, 7, 8, 9),
                      noise_levels=(0.0, 0.5, 1.0), cache=True) -> RankingResult:
    """ReSi's random-label test in miniature.

    Networks of the deep zoo trained with a fraction 0, 0.5 or 1 of random
    training labels (seeds ``models``) are compared, at hidden layer
    ``layer``, with clean networks of other seeds (``refs``) on the held-out
    digits.  A trustworthy measure gives less similarity the more labels were
    random.

    Parameters
    ----------
    layer : int in 1..6
        Hidden layer compared.
    models : sequence of int
        Seeds of the networks trained at each label-noise level.
    refs : sequence of int
        Seeds of the clean reference networks (disjoint from ``models``).
    noise_levels : sequence of float in [0, 1]
        Fractions of random training labels, increasing.
    cache : bool
        Cache the similarities in :func:`repalign_edu.data.cache_dir`.

    Returns
    -------
    RankingResult
        ``levels`` = ``noise_levels``; values (G, len(models) * len(refs)).
    """
    def compute():
        return _graded_similarities(layer, models, refs, noise_levels,
                                    lambda ln: deep_zoo_representations(models, label_noise=ln))

    vals = _cached("random_labels", {"layer": layer, "models": list(models), "refs": list(refs),
                                     "levels": list(noise_levels)}, compute, cache)
    return _ranking(noise_levels, _values_to(vals))


def input_noise_test(*, layer: int = 6, models=(0, 1, 2), refs=(3, 4, 5),
                     strengths=(0.0, 0.1, 0.3, 0.6), cache=True) -> RankingResult:
    """Gaussian noise on the inputs at growing strength (ReSi-style).

    Network ``model`` sees the held-out digits plus pixel noise of standard
    deviation ``strength`` (pixels are in [0, 1]); a clean network of another
    seed (``refs``) sees the clean digits.  Similarity at hidden layer
    ``layer`` should fall as the noise grows.

    Parameters
    ----------
    layer : int in 1..6
    models, refs : sequence of int
        Seeds of the networks that see noisy inputs / clean inputs.
    strengths : sequence of float >= 0
        Noise standard deviations (pixel units), increasing.
    cache : bool

    Returns
    -------
    RankingResult
        ``levels`` = ``strengths``.
    """
    def compute():
        return _graded_similarities(layer, models, refs, strengths,
                                    lambda st: deep_zoo_representations(models, input_noise=st))

    vals = _cached("input_noise", {"layer": layer, "models": list(models), "refs": list(refs),
                                   "strengths": list(strengths)}, compute, cache)
    return _ranking(strengths, _values_to(vals))


def layer_monotonicity(result: IdentificationResult) -> RankingResult:
    """Similarity of layer 1 to layer l (same network) should fall as l grows.

    Uses the within-network blocks of :func:`layer_identification`'s
    matrices: for each network, s(layer 1, layer l) for l = 2..L.

    Parameters
    ----------
    result : IdentificationResult

    Returns
    -------
    RankingResult
        ``levels`` = depths 2..L; P = the N networks.
    """
    values = {}
    for m, S in result.matrices.items():
        N = S.shape[0]
        values[m] = np.stack([S[i, i, 0, 1:] for i in range(N)], axis=1)   # (L-1, N)
    return _ranking(np.arange(2, result.n_layers + 1), values)


# --------------------------------------------------------------------------- specificity (Ding et al.)
@dataclass(frozen=True)
class SpecificityResult:
    """Result of :func:`specificity_test`.

    Attributes
    ----------
    kept : ndarray, shape (D,)
        Number of principal components kept (the rest, smallest variance
        first, deleted); 0 stands for "all" (nothing deleted).
    accuracy : ndarray, shape (S, D)
        Linear-probe test accuracy for each setting (network, layer) and deletion.
    similarity : dict name -> ndarray (S, D)
        Similarity between the original and the deleted representation.
    rho : dict name -> float
        Spearman rho between the measure's movement (1 - s / s_0, s_0 its value
        with nothing deleted) and the probe's accuracy drop, pooled over
        all settings and deletions; NaN where the measure does not move
        (constant within :data:`CONSTANT_RTOL`: its ranks would be rounding noise).
    ci : dict name -> (low, high)
        95% bootstrap interval of rho over the settings.
    """

    kept: np.ndarray
    accuracy: np.ndarray
    similarity: dict
    rho: dict
    ci: dict

    def to_markdown(self) -> str:
        rows = ["| measure | Spearman rho (movement vs accuracy drop) | 95% CI | moves? |",
                "|---|---|---|---|"]
        for m in self.similarity:
            lo, hi = self.ci[m]
            moves = not bool(_constant(self.similarity[m]))
            r = "--" if np.isnan(self.rho[m]) else f"{self.rho[m]:.2f}"
            c = "--" if np.isnan(lo) else f"{lo:.2f} to {hi:.2f}"
            rows.append(f"| {m} | {r} | {c} | {'yes' if moves else 'no'} |")
        return "\n".join(rows)

    def __str__(self):
        return self.to_markdown()


def _delete_components(R_train, R_test, n_keep):
    """Keep the ``n_keep`` largest principal components (fitted on train), delete the rest.

    ``n_keep = 0`` keeps every non-null component (nothing is deleted).
    """
    mean = R_train.mean(axis=0)
    _, s, Vt = np.linalg.svd(R_train - mean, full_matrices=False)
    r = int(np.sum(s > max(R_train.shape) * np.finfo(float).eps * s[0]))
    V = Vt[:r if n_keep == 0 else min(n_keep, r)].T
    return ((R_train - mean) @ V) @ V.T + mean, ((R_test - mean) @ V) @ V.T + mean


def _probe_accuracy(Ztr, ytr, Zte, yte):
    from sklearn.linear_model import RidgeClassifier

    return float(RidgeClassifier(alpha=1.0).fit(Ztr, ytr).score(Zte, yte))


def specificity_test(*, nets=(0, 1), layers=(2, 4, 6),
                     kept=(0, 32, 24, 16, 12, 8, 6, 4, 2), cache=True) -> SpecificityResult:
    """Ding, Denain & Steinhardt (2021)'s principal-component deletion test, in miniature.

    For each setting (network ``net``, hidden layer ``layer``): fit PCA on
    the training digits' representation, keep its ``k`` components of
    largest variance (k in ``kept``; 0: all) and delete the others, smallest
    variance first; train a linear probe
    (``sklearn.linear_model.RidgeClassifier``) on the deleted training
    representation and score it on the held-out digits; compare the deleted
    held-out representation with the original one by every measure.

    A measure is *specific* in Ding et al.'s sense when its movement away
    from the original tracks the probe's accuracy drop (large positive
    Spearman rho); one that does not move while accuracy falls is blind to
    the change, one that moves while accuracy stays put flags harmless ones.

    Parameters
    ----------
    nets : sequence of int
        Deep-zoo seeds.
    layers : sequence of int in 1..6
    kept : sequence of int >= 0
        Components kept (0: all, the reference point of the movement).
    cache : bool

    Returns
    -------
    SpecificityResult

    References
    ----------
    Ding, Denain & Steinhardt (2021) "Grounding representation similarity
    with statistical testing", NeurIPS, section 4 (principal component deletion).
    """
    def compute():
        zoo = _data.deep_zoo(seeds=tuple(nets))
        X, y = _data.load_digits()
        out = {m: np.empty((len(nets) * len(layers), len(kept))) for m in ALL_MEASURES}
        out["accuracy"] = np.empty((len(nets) * len(layers), len(kept)))
        srow = 0
        for net in nets:
            e = zoo[net]
            Rtr_all, Rte_all = e.representations(X[e.train_idx]), e.representations(X[e.test_idx])
            for layer in layers:
                Rtr, Rte = Rtr_all[layer - 1], Rte_all[layer - 1]
                p0 = prepare(Rte)
                for c, k in enumerate(kept):
                    Ztr, Zte = _delete_components(Rtr, Rte, k)
                    out["accuracy"][srow, c] = _probe_accuracy(Ztr, y[e.train_idx], Zte, y[e.test_idx])
                    pk = prepare(Zte)
                    s = pair_similarities(p0, pk)
                    for m in ALL_MEASURES:
                        out[m][srow, c] = s[m]
                srow += 1
        return out

    vals = _cached("specificity", {"nets": list(nets), "layers": list(layers),
                                   "kept": list(kept)}, compute, cache)
    acc = vals["accuracy"]
    sims, rho, ci = {}, {}, {}
    drop = acc[:, :1] - acc
    for m in ALL_MEASURES:
        V = vals[m]
        sims[m] = V
        move = 1.0 - V / V[:, :1]
        rho[m] = _spearman(move.ravel(), drop.ravel())
        ci[m] = ((float("nan"), float("nan")) if np.isnan(rho[m]) else
                 _bootstrap_spearman(move, drop))
    return SpecificityResult(np.asarray(kept), acc, sims, rho, ci)
