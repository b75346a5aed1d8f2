"""Permutation tests of independence built on HSIC (paper section 3.3).

Under H0 (X and Y independent) the pairing of rows carries no information,
so the HSIC of (X, Y_pi) for a random permutation pi of Y's rows has the
same distribution as the HSIC of (X, Y).  Comparing the observed statistic
with many permuted ones gives an exact-level test (Gretton et al. 2008).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import ESTIMATORS, as_pair, check_min_samples, check_option, check_seed
from .backends import get_backend, resolve_backend
from .kernels import gram_from_params
from .backends.numpy_ref import center
from .backends.stats import stream_inputs
from .kernels import as_kernel, resolve_pair

#: largest n accepted by :func:`hsic_test`: it holds two n x n float64
#: matrices (8 n^2 bytes each, 1.6 GB together at n = 10,000) and briefly
#: about three more while forming them.
MAX_SAMPLES = 10_000

#: permutation indices generated and evaluated per batch (8 bytes each)
_BATCH_INDICES = 1 << 22

#: permuted statistics within this relative distance of the observed one
#: count as ties (>=): they are equal up to rounding, e.g. for discrete data.
_TIE_RTOL = 1e-12


@dataclass(frozen=True)
class HSICTestResult:
    """Result of :func:`hsic_test`.

    Attributes
    ----------
    statistic : float
        HSIC of the observed pairing (the chosen estimator, squared kernel units).
    pvalue : float
        (1 + #{permuted statistic >= observed}) / (1 + n_permutations), in
        (0, 1]; its smallest possible value is 1 / (1 + n_permutations).
    n_permutations : int
    """

    statistic: float
    pvalue: float
    n_permutations: int


def _numpy_permuted_sums(A, B, rb, perms):
    """t[p] = sum_ij A_ij B_{p_i p_j}, c[p] = sum_i (A1)_i rb_{p_i}: the reference for
    :func:`repalign_edu.backends.cpu.permuted_sums` (plain NumPy, one permutation at a time)."""
    ra = A.sum(axis=1)
    t = np.array([np.sum(A * B[np.ix_(p, p)]) for p in perms])
    c = np.array([ra @ rb[p] for p in perms])
    return t, c


def hsic_test(X, Y, kernel: str = "rbf", *, sigma=None, n_permutations: int = 1000, seed=None,
              estimator: str = "biased", backend: str = "auto") -> HSICTestResult:
    """Permutation test of independence between paired samples, with HSIC as statistic.

    The statistic is HSIC(X, Y) (see :func:`repalign_edu.hsic`):

    * biased:   T = Tr(K H L H) / n^2 = sum_ij (HKH)_ij L_ij / n^2;
    * unbiased: Song et al. (2012) eq. 5 with zero-diagonal K~, L~.

    Each of ``n_permutations`` uniformly random permutations pi of Y's rows
    gives T_pi = HSIC(X, Y_pi), i.e. L_ij replaced by L_{pi_i pi_j}.  The
    p-value counts the observed pairing as one of the permutations
    (Phipson & Smyth 2010), so it is never 0 and, under H0,
    P(p <= alpha) <= alpha for every alpha (a valid test)::

        p = (1 + #{pi : T_pi >= T}) / (1 + n_permutations)

    Permuted statistics equal to T up to rounding (relative 1e-12) count as
    ties.  The Gram matrices are formed and centred once; each permutation
    then costs O(n^2) (a Numba ``prange`` over permutations on the cpu
    backend).

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        Paired samples (row i of X goes with row i of Y).
    kernel : {"rbf", "linear", "laplacian", "polynomial"}
        The same kernel family on X and on Y; polynomial uses degree 3,
        gamma 1/d, coef0 1.
    sigma : None, float or (float, float)
        Bandwidths as in :func:`repalign_edu.hsic` (None: median heuristic on
        X and on Y separately).
    n_permutations : int >= 1
        Number of random permutations.  The smallest attainable p-value is
        1 / (1 + n_permutations).
    seed : None, int or numpy.random.Generator
        Seed of ``numpy.random.default_rng``; the same seed gives the same
        permutations, hence the same p-value, for any thread count.
    estimator : {"biased", "unbiased"}
        HSIC estimator used as the statistic (unbiased needs n >= 4).
    backend : {"auto", "numpy", "cpu", "cuda"}
        Where the permutation statistics are evaluated: "numpy" (reference
        loop) or the Numba CPU kernel ("cpu"; "auto" and "cuda" use it too,
        as the permutation loop has no GPU kernel).

    Returns
    -------
    HSICTestResult
        ``statistic`` (float), ``pvalue`` (float in (0, 1]), ``n_permutations``.

    Raises
    ------
    ValueError
        Invalid X or Y (shape, NaN/inf, different n); n > ``MAX_SAMPLES``
        (the test holds two n x n float64 matrices); unknown kernel,
        estimator or backend; sigma <= 0; n_permutations < 1; n < 4 with
        estimator="unbiased".

    Notes
    -----
    Memory: two n x n float64 matrices are kept (8 n^2 bytes each: 144 MB together
    at n = 3,000, 1.6 GB at n = 10,000), and forming the Gram matrices
    briefly needs about three more; plus at most 32 MB of permutation
    indices.

    References
    ----------
    Gretton, Fukumizu, Teo, Song, Schoelkopf & Smola (2008), "A kernel
    statistical test of independence", NIPS 20.  Phipson & Smyth (2010),
    "Permutation p-values should never be zero", Stat. Appl. Genet. Mol.
    Biol. 9(1).  Song et al. (2012), JMLR 13, eq. 5.  Paper section 3.3.

    Examples
    --------
    >>> import numpy as np, repalign_edu as ra
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 2))
    >>> ra.hsic_test(X, X**2, n_permutations=200, seed=0).pvalue < 0.01
    True
    """
    check_option(estimator, ESTIMATORS, "estimator")
    name = resolve_backend(backend)
    if (isinstance(n_permutations, bool) or not isinstance(n_permutations, (int, np.integer))
            or n_permutations < 1):
        raise ValueError(
            f"n_permutations must be an integer >= 1; got {n_permutations!r}. "
            "Use 1000 or more for p-values near 0.01."
        )
    n_permutations = int(n_permutations)
    Xv, Yv = as_pair(X, Y)
    n = Xv.shape[0]
    if n > MAX_SAMPLES:
        raise ValueError(
            f"X and Y have n={n} samples, but hsic_test holds two n x n float64 matrices "
            f"({2 * 8 * n * n / 1e9:.1f} GB) and accepts at most n={MAX_SAMPLES}. Test a "
            "random subset of the rows (the test stays valid), e.g. idx = "
            f"np.random.default_rng(0).choice(n, {MAX_SAMPLES}, replace=False)."
        )
    unbiased = estimator == "unbiased"
    if unbiased:
        check_min_samples(n, 4, "unbiased HSIC estimator")
    seed = check_seed(seed)
    kx, ky = resolve_pair(as_kernel(kernel, sigma), Xv, Yv)
    # centred features, K held up to a constant without cancellation (HSIC does not see it)
    (Xc, px, kx), (Yc, py, ky) = stream_inputs(Xv, kx, center), stream_inputs(Yv, ky, center)
    K = gram_from_params(Xc, kx, px)
    L = gram_from_params(Yc, ky, py)
    if unbiased:
        np.fill_diagonal(K, 0.0)
        np.fill_diagonal(L, 0.0)
        A, B = K, L
        sk, sl = float(K.sum()), float(L.sum())
    else:
        # Tr(K H L H) = <HKH, L>_F: centre one matrix only, in place
        col, row, grand = K.mean(axis=0), K.mean(axis=1), K.mean()
        K -= col[None, :]
        K -= row[:, None]
        K += grand
        A, B = K, L
    del K, L
    rb = B.sum(axis=1)
    sums = _numpy_permuted_sums if name == "numpy" else get_backend("cpu").permuted_sums

    def statistic(perms):
        t, c = sums(A, B, rb, perms)
        if unbiased:
            return (t + sk * sl / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * c) / (n * (n - 3))
        return t / n**2

    observed = float(statistic(np.arange(n, dtype=np.int64)[None, :])[0])
    rng = np.random.default_rng(seed)
    threshold = observed - _TIE_RTOL * abs(observed)
    exceed = 0
    batch = max(64, _BATCH_INDICES // n)
    for start in range(0, n_permutations, batch):
        m = min(batch, n_permutations - start)
        perms = np.empty((m, n), dtype=np.int64)
        for q in range(m):
            perms[q] = rng.permutation(n)
        exceed += int(np.count_nonzero(statistic(perms) >= threshold))
    return HSICTestResult(statistic=observed, pvalue=(1 + exceed) / (1 + n_permutations),
                          n_permutations=n_permutations)
