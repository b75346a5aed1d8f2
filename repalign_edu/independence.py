"""Permutation tests of independence built on HSIC (paper section 3.3).

Under H0 (X and Y independent) the pairing of rows carries no information,
so the HSIC of (X, Y_pi) for a random permutation pi of Y's rows has the
same distribution as the HSIC of (X, Y).  Comparing the observed statistic
with many permuted ones gives an exact-level test (Gretton et al. 2008).
"""
from __future__ import annotations

import numpy as np

from ._validation import ESTIMATORS, check_option
from .inference import DEFAULT_MEMORY_BUDGET, PermutationResult, permutation_test

#: kept for compatibility: hsic_test's result is a PermutationResult
HSICTestResult = PermutationResult


def _numpy_permuted_sums(A, B, rb, perms):
    """t[p] = sum_ij A_ij B_{p_i p_j}, c[p] = sum_i (A1)_i rb_{p_i}: the reference for
    :func:`repalign_edu.backends.cpu.permuted_sums` (plain NumPy, one permutation at a time)."""
    ra = A.sum(axis=1)
    t = np.array([np.sum(A * B[np.ix_(p, p)]) for p in perms])
    c = np.array([ra @ rb[p] for p in perms])
    return t, c


def hsic_test(X, Y, kernel: str = "rbf", *, sigma=None, n_permutations: int = 1000, seed=None,
              estimator: str = "biased", backend: str = "auto",
              memory_budget: float = DEFAULT_MEMORY_BUDGET, progress: bool | None = False
              ) -> PermutationResult:
    """Permutation test of independence between paired samples, with HSIC as statistic.

    A thin wrapper: ``permutation_test(X, Y, "hsic", kernel=kernel, sigma=sigma,
    estimator=estimator, ...)`` (see :func:`repalign_edu.permutation_test`).
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
    ties.  The Gram matrices are formed and centred once and stored (float64
    below n = 2048, else float32 storage with float64 sums); each permutation
    then costs one pass over them.  The
    linear kernel with d_X + d_Y <= n works in feature space (no n x n matrix).

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
        permutations, hence the same p-value, for any thread count and backend.
    estimator : {"biased", "unbiased"}
        HSIC estimator used as the statistic (unbiased needs n >= 4).
    backend : {"auto", "numpy", "cpu", "cuda"}
        Validated; the permutation loop runs on the CPU for every backend.
    memory_budget : float
        Bytes for the two stored n x n matrices (default 2 GB: n up to about
        22,300 in float32 storage).
    progress : bool or None
        tqdm progress bar on stderr (None: only when stderr is a terminal).

    Returns
    -------
    PermutationResult
        ``statistic`` (float), ``pvalue`` (float in (0, 1]), ``n_permutations``,
        ``null``, ``threshold``...

    Raises
    ------
    ValueError
        Invalid X or Y (shape, NaN/inf, different n); the two Gram matrices do
        not fit ``memory_budget`` even in float32 (the message gives the size
        and the fixes); unknown kernel, estimator or backend; sigma <= 0;
        n_permutations < 1; n < 4 with estimator="unbiased".

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
    return permutation_test(X, Y, "hsic", kernel=kernel, sigma=sigma, estimator=estimator,
                            n_permutations=n_permutations, seed=seed, backend=backend,
                            memory_budget=memory_budget, stream=False, progress=progress)
