"""Exercises of lesson 09: scaling up with Numba (tiles, prange reductions, memory)."""
from __future__ import annotations

import numpy as np

from ._core import Exercise, call_student, compare_function, same


# --------------------------------------------------------------------------- gram memory
def _gram_gb(n):
    return 8.0 * n * n / 1e9


def _gram_gib(n):
    return 8.0 * n * n / 1024**3


def _gram_float32(n):
    return 4.0 * n * n / 1e9


def _gram_half(n):
    return 8.0 * n * (n + 1) / 2 / 1e9


def _check_gram_gb(fn):
    return compare_function(fn, _gram_gb, [(1_000,), (50_000,), (100_000,)], mistakes=[
        (_gram_gib, "that is GiB (1024^3 bytes); the exercise asks for GB = 1e9 bytes."),
        (_gram_float32, "that is float32 (4 bytes); the measures accumulate in float64 (8 bytes)."),
        (_gram_half, "a dense matrix stores all n * n entries, not only one triangle."),
    ], rtol=1e-6, passed="one float64 Gram matrix at n = 50,000 is 20 GB: it does not fit in a laptop.")


gram_gb = Exercise(
    id="09.gram_gb",
    prompt="Write gram_gb(n): the size in GB (1e9 bytes) of one dense n x n float64 Gram matrix.",
    checker=_check_gram_gb,
    reference=_gram_gb,
    answer_name="gram_gb",
    hints=("How many entries does the matrix have, and how many bytes is one float64?",
           "n * n entries of 8 bytes each; divide by 1e9."),
    mistakes=(_gram_gib, _gram_float32, _gram_half),
)


# --------------------------------------------------------------------------- tiled row sums
def _tiled_row_sums(X, sigma, tile):
    n = X.shape[0]
    sq = np.sum(X * X, axis=1)
    out = np.empty(n)
    for i0 in range(0, n, tile):
        A = X[i0:i0 + tile]
        D = np.maximum(sq[i0:i0 + tile, None] + sq[None, :] - 2 * A @ X.T, 0)
        out[i0:i0 + tile] = np.exp(-D / (2 * sigma**2)).sum(axis=1)
    return out


def _row_means(X, sigma, tile):
    return _tiled_row_sums(X, sigma, tile) / X.shape[0]


def _drop_last_tile(X, sigma, tile):
    out = _tiled_row_sums(X, sigma, tile)
    full = (X.shape[0] // tile) * tile
    out[full:] = 0.0
    return out


def _sigma_not_squared(X, sigma, tile):
    return _tiled_row_sums(X, np.sqrt(sigma), tile)


def _check_row_sums(fn):
    X = np.random.default_rng(17).normal(size=(203, 3))
    # 203 is not a multiple of 50: the last, shorter tile is easy to drop
    return compare_function(fn, _tiled_row_sums, [(X, 1.3, 32), (X, 1.3, 50), (X[:7], 0.8, 3)], mistakes=[
        (_row_means, "these are row means; the exercise asks for row sums K 1."),
        (_drop_last_tile, "the last tile is shorter than `tile` (203 is not a multiple of 50): keep it."),
        (_sigma_not_squared, "the RBF kernel is exp(-||x - x'||^2 / (2 sigma^2)): square sigma."),
    ], rtol=1e-10, atol=1e-12, passed="K 1 from tiles of shape (tile, n): O(n * tile) memory instead of O(n^2).")


tiled_row_sums = Exercise(
    id="09.tiled_row_sums",
    prompt="Write tiled_row_sums(X, sigma, tile): the row sums K 1 of the RBF Gram matrix, "
           "computed from row tiles K[i0:i0+tile, :] only (never the whole n x n matrix).",
    checker=_check_row_sums,
    reference=_tiled_row_sums,
    answer_name="tiled_row_sums",
    hints=("Loop over blocks of rows; for each block build only its (tile, n) slice of K.",
           "Loop i0 over range(0, n, tile); the squared distances of a tile are "
           "|a|^2 + |x|^2 - 2 a.x, i.e. sq[i0:i1, None] + sq[None, :] - 2 * X[i0:i1] @ X.T."),
    mistakes=(_row_means, _drop_last_tile, _sigma_not_squared),
)


# --------------------------------------------------------------------------- blocked sum
def _blocked_partial_sums(x, block):
    partial = np.array([x[b:b + block].sum() for b in range(0, len(x), block)])
    return partial, partial.sum()


def _blocked_floor(x, block):
    nb = len(x) // block
    partial = np.array([x[b * block:(b + 1) * block].sum() for b in range(nb)])
    return partial, partial.sum()


def _check_blocked(fn):
    x = np.random.default_rng(5).normal(size=1003)
    out = call_student(fn, x.copy(), 100)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return False, "return a pair (partial, total)."
    partial = np.asarray(out[0], dtype=float).ravel()
    if partial.shape != (11,):
        return False, (f"1003 values in blocks of 100 give 11 blocks (the last has 3 values); "
                       f"got {partial.shape[0]} partial sums.")
    ref_p, ref_t = _blocked_partial_sums(x, 100)
    if not same(partial, ref_p, rtol=1e-12, atol=1e-12)[0]:
        return False, "partial[b] should be the sum of x[b*block:(b+1)*block]."
    if not same(out[1], ref_t, rtol=1e-12, atol=1e-12)[0]:
        return False, "total should be the sum of the partial sums."
    return True, "one slot per block: no two workers ever write the same element."


blocked_partial_sums = Exercise(
    id="09.blocked_partial_sums",
    prompt="Write blocked_partial_sums(x, block): the per-block slot array partial[b] = "
           "sum(x[b*block:(b+1)*block]) and the total, added in block order.",
    checker=_check_blocked,
    reference=_blocked_partial_sums,
    answer_name="blocked_partial_sums",
    hints=("One slot per block; the last block may be shorter.",
           "There are ceil(len(x) / block) blocks: range(0, len(x), block) gives their starts."),
    mistakes=(_blocked_floor,),
)
