"""The backend interface: the building blocks every measure is made of.

A backend is a module (``numpy_ref``, ``cpu``, ``cuda``, ``dask``) that
provides the functions below with exactly these signatures, and the
capability constants.  The measures in :mod:`repalign_edu.measures` validate
their input once, ask the chosen backend for building blocks, and apply one
formula (:mod:`repalign_edu.backends.algebra`); they never ask which backend
they talk to.  Inputs reaching a backend are already validated: 2-D,
finite, float32 or float64, C-contiguous, with resolved kernels
(:class:`~repalign_edu.kernels.KernelParams`).

Building blocks
---------------
``gram_stats(X, Y, kx, ky, *, centered=False) -> GramStats``
    Gram statistics of K (k_X on the rows of X) and L (k_Y on the rows of Y):
    <K,L>_F, <K,K>_F, <L,L>_F, row sums K1, L1 and diagonals (see
    :class:`~repalign_edu.backends.stats.GramStats`).  With
    ``centered=True`` the statistics may be those of any
    K~ = K - c - a 1^T - 1 a^T (a constant c and a row offset a chosen by
    the backend, likewise for L): then H K~ H = H K H, and the biased and
    unbiased HSIC (Song et al. 2012, eq. 5) computed from them are unchanged,
    while the sums lose no precision to cancellation when K is nearly
    constant (a large RBF bandwidth, a polynomial kernel on data with a large
    offset).  The shared recipe is
    :func:`~repalign_edu.backends.stats.streamed_gram_stats`.  Uncentred
    kernel alignment needs ``centered=False``.
``kernel_sum(A, B, k, exclude_diag=False) -> float``
    sum_{i,j} k(a_i, b_j) (skipping i == j when asked), for MMD.  Passing the
    same object twice (``A is B``) allows the symmetric half-sum.  With
    ``k.shift`` the sum is of k - k0 (k0 = 1 for rbf/laplacian, coef0^degree
    for polynomial), computed without cancellation.
``knn_sets(Xn, k) -> ndarray (n, k) int64``
    The k largest inner products per row, self excluded, sorted by
    decreasing value; exact ties go to the smaller index.
``knn_overlap(A, B) -> ndarray (n,) int64``
    |A_i & B_i| for two neighbour-index arrays.
``matmul(A, B) -> ndarray float64``
    The dense product A @ B (feature-space routes: d x d results).
``center(A) -> ndarray``
    Column-centred copy of A (n, d), means in float64; float64 out, or the
    input dtype where ``NATIVE_FLOAT32``.
``row_stats(A) -> (ndarray (n,), ndarray (n,))``
    (A @ A.sum(0), squared row norms): K 1 and diag K of K = A A^T.
``feature_products(X, Y) -> (X^T Y, X^T X, Y^T Y)``
    The three d x d products of the linear feature-space route, float64
    (every backend in this package uses
    :func:`~repalign_edu.backends.stats.three_products` with its own ``matmul``;
    a backend may compute them together).

Capabilities (module constants, never found by testing names)
-------------------------------------------------------------
``NAME`` : str
    The backend's name as passed to ``backend=``.
``STREAMING`` : bool
    True if no n x n matrix is ever formed (False for ``numpy``, which
    materialises Gram matrices and is limited by memory).
``NATIVE_FLOAT32`` : bool
    True if float32 input is computed in float32 (kernel values) with
    float64 accumulation; False if every input is cast to float64 first.
``MAX_KNN_K`` : int or None
    Largest k that ``knn_sets`` supports (None: any k < n).
``LAZY_INPUTS`` : bool
    True if the module provides ``as_input(A)``, which the measures apply to
    each input *before* validation: the dask backend turns numpy arrays,
    memory maps and dask arrays into row-chunked dask arrays, so that
    validation and every building block read them chunk by chunk.
``PERMUTED_SUMS`` : bool
    True if the module provides ``permuted_sums(A, B, rb, perms)`` for the
    HSIC permutation test (see :mod:`repalign_edu.independence`).
"""
from __future__ import annotations

from typing import Optional, Protocol, Tuple

import numpy as np

from .stats import GramStats

#: the functions every backend module provides
BUILDING_BLOCKS = ("gram_stats", "kernel_sum", "knn_sets", "knn_overlap", "matmul", "center",
                   "row_stats", "feature_products")
#: the capability constants every backend module defines
CAPABILITIES = ("NAME", "STREAMING", "NATIVE_FLOAT32", "MAX_KNN_K", "LAZY_INPUTS",
                "PERMUTED_SUMS")


class Backend(Protocol):
    """Static description of a backend module (for type checkers and readers)."""

    NAME: str
    STREAMING: bool
    NATIVE_FLOAT32: bool
    MAX_KNN_K: Optional[int]
    LAZY_INPUTS: bool
    PERMUTED_SUMS: bool

    def gram_stats(self, X: np.ndarray, Y: np.ndarray, kx, ky, *,
                   centered: bool = False) -> GramStats: ...

    def kernel_sum(self, A: np.ndarray, B: np.ndarray, k, exclude_diag: bool = False) -> float: ...

    def knn_sets(self, Xn: np.ndarray, k: int) -> np.ndarray: ...

    def knn_overlap(self, A: np.ndarray, B: np.ndarray) -> np.ndarray: ...

    def matmul(self, A: np.ndarray, B: np.ndarray) -> np.ndarray: ...

    def center(self, A: np.ndarray) -> np.ndarray: ...

    def row_stats(self, A: np.ndarray) -> Tuple[np.ndarray, np.ndarray]: ...
    def feature_products(self, X: np.ndarray, Y: np.ndarray) -> Tuple[np.ndarray, ...]: ...


def check_backend_module(module) -> None:
    """Raise TypeError if ``module`` lacks a building block or a capability constant.

    Used by the tests (and by :func:`repalign_edu.backends.get_backend` on
    first import), so a backend that misses part of the interface fails loudly.
    """
    missing = [f for f in BUILDING_BLOCKS if not callable(getattr(module, f, None))]
    missing += [c for c in CAPABILITIES if not hasattr(module, c)]
    if missing:
        raise TypeError(f"backend module {module.__name__} does not implement "
                        f"{', '.join(missing)} (see repalign_edu.backends.base).")
