"""Exercises of lesson 09: scaling up with Numba (tiles, prange reductions, memory)."""
from __future__ import annotations

import numpy as np

from ..kernels import KernelParams, gram_from_params
from ._core import Exercise, close


# --------------------------------------------------------------------------- gram memory
def _gram_gb_ref(n):
    return 8.0 * n * n / 1e9


def _check_gram_gb(fn):
    for n in (1_000, 50_000, 100_000):
        v = fn(n)
        ok, msg = close(v, _gram_gb_ref(n), rtol=1e-6)
        if not ok:
            if np.isclose(float(v), 8.0 * n * n / 1024**3, rtol=1e-6):
                return False, "that is GiB (1024^3 bytes); the exercise asks for GB = 1e9 bytes."
            if np.isclose(float(v), 4.0 * n * n / 1e9, rtol=1e-6):
                return False, "that is float32 (4 bytes); the measures accumulate in float64 (8 bytes)."
            return False, f"n = {n:,}: {msg}"
    return True, "one float64 Gram matrix at n = 50,000 is 20 GB: it does not fit in a laptop."


gram_gb = Exercise(
    id="09.gram_gb",
    prompt="Write gram_gb(n): the size in GB (1e9 bytes) of one dense n x n float64 Gram matrix.",
    checker=_check_gram_gb,
    hint_text="n * n entries of 8 bytes each; divide by 1e9.",
    solution_text="def gram_gb(n):\n    return 8.0 * n * n / 1e9",
    reference=_gram_gb_ref,
)


# --------------------------------------------------------------------------- tiled row sums
def _row_sums_ref(X, sigma, tile):
    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    sq = np.einsum("ij,ij->i", X, X)
    out = np.empty(n)
    for i0 in range(0, n, tile):
        A = X[i0:i0 + tile]
        D = np.maximum(sq[i0:i0 + tile, None] + sq[None, :] - 2.0 * A @ X.T, 0.0)
        out[i0:i0 + tile] = np.exp(-D / (2.0 * sigma**2)).sum(axis=1)
    return out


def _check_row_sums(fn):
    rng = np.random.default_rng(17)
    X = rng.normal(size=(203, 3))
    sigma, tile = 1.3, 32
    expected = gram_from_params(X, KernelParams("rbf", sigma=sigma)).sum(axis=1)
    out = np.asarray(fn(X, sigma, tile), dtype=float)
    if out.shape != (203,):
        return False, f"return one sum per row, shape (203,); got {out.shape}."
    if np.allclose(out, expected / 203):
        return False, "these are row means; the exercise asks for row sums K 1."
    if not np.allclose(out, expected, rtol=1e-10, atol=1e-12):
        return False, "the row sums differ from K 1 of the full RBF Gram matrix."
    # the tiled answer must not depend on the tile size (a last partial tile is easy to drop)
    out2 = np.asarray(fn(X, sigma, 50), dtype=float)
    if not np.allclose(out2, expected, rtol=1e-10, atol=1e-12):
        return False, "with tile=50 (203 is not a multiple of 50) the result is wrong: keep the last, shorter tile."
    return True, "K 1 from tiles of shape (tile, n): O(n * tile) memory instead of O(n^2)."


tiled_row_sums = Exercise(
    id="09.tiled_row_sums",
    prompt="Write tiled_row_sums(X, sigma, tile): the row sums K 1 of the RBF Gram matrix, "
           "computed from row tiles K[i0:i0+tile, :] only (never the whole n x n matrix).",
    checker=_check_row_sums,
    hint_text="Loop i0 over range(0, n, tile); the squared distances of a tile are "
              "|a|^2 + |x|^2 - 2 a.x, i.e. sq[i0:i1, None] + sq[None, :] - 2 * X[i0:i1] @ X.T.",
    solution_text=(
        "def tiled_row_sums(X, sigma, tile):\n"
        "    n = X.shape[0]\n    sq = np.sum(X * X, axis=1)\n    out = np.empty(n)\n"
        "    for i0 in range(0, n, tile):\n"
        "        A = X[i0:i0 + tile]\n"
        "        D = np.maximum(sq[i0:i0 + tile, None] + sq[None, :] - 2 * A @ X.T, 0)\n"
        "        out[i0:i0 + tile] = np.exp(-D / (2 * sigma**2)).sum(axis=1)\n"
        "    return out"
    ),
    reference=_row_sums_ref,
)


# --------------------------------------------------------------------------- blocked sum
def _blocked_ref(x, block):
    x = np.asarray(x, dtype=float)
    partial = [float(np.sum(x[b:b + block])) for b in range(0, len(x), block)]
    total = 0.0
    for p in partial:
        total += p
    return np.array(partial), total


def _check_blocked(fn):
    x = np.random.default_rng(5).normal(size=1003)
    out = fn(x, 100)
    if not isinstance(out, tuple) or len(out) != 2:
        return False, "return a pair (partial, total)."
    partial, total = np.asarray(out[0], dtype=float), float(out[1])
    if partial.shape != (11,):
        return False, (f"1003 values in blocks of 100 give 11 blocks (the last has 3 values); "
                       f"got {partial.shape[0]} partial sums.")
    ref_p, ref_t = _blocked_ref(x, 100)
    if not np.allclose(partial, ref_p, rtol=1e-12, atol=1e-12):
        return False, "partial[b] should be the sum of x[b*block:(b+1)*block]."
    if not np.isclose(total, ref_t, rtol=1e-12):
        return False, "total should be the sum of the partial sums."
    return True, "one slot per block: no two workers ever write the same element."


blocked_partial_sums = Exercise(
    id="09.blocked_partial_sums",
    prompt="Write blocked_partial_sums(x, block): the per-block slot array partial[b] = "
           "sum(x[b*block:(b+1)*block]) and the total, added in block order.",
    checker=_check_blocked,
    hint_text="There are ceil(len(x) / block) blocks: range(0, len(x), block) gives their starts.",
    solution_text=(
        "def blocked_partial_sums(x, block):\n"
        "    partial = np.array([x[b:b + block].sum() for b in range(0, len(x), block)])\n"
        "    return partial, partial.sum()"
    ),
    reference=_blocked_ref,
)
