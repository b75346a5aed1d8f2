"""Dask backend: the cpu backend's tiles as tasks over row chunks (extra ``[dask]``).

The same building blocks as :mod:`.cpu` (``gram_stats``, ``kernel_sum``,
``matmul``, ``row_stats``, ``center``, ``knn_sets``, ``knn_overlap``), for
inputs that are numpy arrays, memory maps or dask arrays (zarr, stacks of
``.npy`` files), cut into chunks of rows.  Nothing of size n x n is formed
and no task holds more than a few chunks.

How the work is cut
-------------------
* **Chunks.**  A dask array keeps its row chunks (its columns are merged into
  one chunk).  A numpy array or memory map is cut into
  :func:`chunk_rows` rows per chunk: ``dask.config.set({"repalign_edu.chunk_rows":
  4096})`` changes it (default :data:`CHUNK_ROWS`).  A memory-mapped
  ``.npy`` (``numpy.load(path, mmap_mode="r")``) is read chunk by chunk from
  its file by each task (an ordinary read, so the pages do not stay resident).
* **Gram statistics.**  One task per pair of chunks (I, J), I <= J, runs the
  cpu backend's tile micro-kernels (``_dots``, ``_apply_kernel``) on the pair
  in a Numba function compiled with ``nogil=True``, so the threads of one
  worker run in parallel.  Off-diagonal pairs count twice and give the row
  sums of chunk I and the column sums of chunk J (the row sums of the mirrored
  pair); a diagonal pair uses the symmetry of its own tiles.
* **Fixed order.**  The partial sums are combined by one task per chunk I, in
  the order J = 0, 1, ..., then over I in order.  The task graph depends only
  on n and the chunking, never on the scheduler or the number of workers, so
  the result is bitwise reproducible; it agrees with ``cpu`` to rounding
  (about 1e-14 relative in float64: the summation order differs).
* **Linear feature-space statistics** (``matmul(A.T, B)`` and ``center``)
  merge per-chunk (count, column means, centred cross products) pairwise
  with the update of Chan, Golub & LeVeque (1979)::

      n = n_a + n_b,   delta_x = mean_x,b - mean_x,a   (same for y)
      mean_x = mean_x,a + delta_x n_b / n
      C_xy = C_xy,a + C_xy,b + (n_a n_b / n) delta_x delta_y^T

  in a binary tree of fixed shape, so a large mean never meets a small
  variance in one float sum: float32 input with large means stays accurate.
* **k nearest neighbours.**  A task per chunk pair forms the block of inner
  products (BLAS) and its per-row top-k lists; the lists of one row chunk are
  merged in a tree.  The order is "larger inner product first, ties to the
  smaller index": a strict total order, so the merged list is the same as
  the cpu backend's whatever the merge order.
* **Median heuristic.**  :func:`repalign_edu.kernels.median_heuristic` takes
  the same subsample as on the other backends: ``max_samples=2000`` rows
  drawn without replacement by ``numpy.random.default_rng(0)``, sorted;
  only those rows are read.

Schedulers
----------
Every reduction ends in one ``dask.compute`` call, so it runs on whatever
scheduler Dask is set to: the default (local threads), or a
``dask.distributed`` client.  A ``Client(...)`` becomes the default when it
is created; ``with client.as_current():`` or
``dask.config.set(scheduler=client)`` choose one explicitly.  No
``client=`` argument is needed.  Each task is single-threaded Numba code or
a BLAS call: on the local threaded scheduler the BLAS pool is limited to one
thread during the computation; on distributed workers start them with one
thread of Numba/BLAS each (the Nanny sets ``OMP_NUM_THREADS=1`` etc. by
default, see ``README.md``).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace

import dask
import dask.array as da
from functools import partial

import numpy as np
from numba import njit

from . import cpu
from .cpu import ROWS, TILE, _apply_kernel, _dots, _knn_push, _lane_totals, _pair_rows
from .stats import GramStats, _nearly_one, centring_offset, three_products

# capabilities (see :mod:`.base`)
NAME = "dask"
STREAMING = True
NATIVE_FLOAT32 = False
MAX_KNN_K = None
LAZY_INPUTS = True
PERMUTED_SUMS = False

#: default rows per chunk for numpy / memory-mapped input (a multiple of cpu.TILE)
CHUNK_ROWS = 4096
#: fan-in of the fixed-shape merge trees (Chan update, k-NN lists)
_TREE = 2

_CACHE = True


# --------------------------------------------------------------------------- inputs
def chunk_rows() -> int:
    """Rows per chunk for numpy / memory-mapped input: ``repalign_edu.chunk_rows`` in dask.config."""
    rows = dask.config.get("repalign_edu.chunk_rows", CHUNK_ROWS)
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
        raise ValueError(
            f"dask.config 'repalign_edu.chunk_rows' must be a positive integer; got {rows!r}."
        )
    return int(rows)


def is_dask_array(A) -> bool:
    """True for a :class:`dask.array.Array`."""
    return isinstance(A, da.Array)


def _read_rows(filename, offset, dtype, d, start, stop):
    """Rows [start, stop) of a C-ordered (n, d) array stored at ``offset`` in ``filename``."""
    dtype = np.dtype(dtype)
    with open(filename, "rb") as f:
        f.seek(offset + start * d * dtype.itemsize)
        out = np.fromfile(f, dtype=dtype, count=(stop - start) * d)
    return out.reshape(stop - start, d)


def _from_memmap(mm: np.memmap, rows: int) -> da.Array:
    """A dask array whose tasks read their rows from ``mm``'s file (no mapping kept)."""
    n, d = mm.shape
    blocks = [
        da.from_delayed(dask.delayed(_read_rows, pure=True)(mm.filename, mm.offset, mm.dtype.str,
                                                           d, s, min(n, s + rows)),
                        shape=(min(n, s + rows) - s, d), dtype=mm.dtype)
        for s in range(0, n, rows)
    ]
    return da.concatenate(blocks, axis=0)


def as_array(A) -> da.Array:
    """Wrap ``A`` as a dask array chunked by rows only (columns in one chunk).

    Parameters
    ----------
    A : numpy.ndarray, numpy.memmap or dask.array.Array, shape (n, d)
        A dask array keeps its row chunks.  An unsliced memory map of a
        C-ordered file (``numpy.load(path, mmap_mode="r")``) becomes tasks
        that read their rows from the file; other arrays are cut into
        :func:`chunk_rows` rows.  Anything else is passed to ``numpy.asarray``.

    Returns
    -------
    dask.array.Array
        Lazy; nothing is read.  Validation happens afterwards, chunk by chunk
        (:func:`repalign_edu._validation.as_representation`).
    """
    if is_dask_array(A):
        return A.rechunk({1: -1}) if A.ndim == 2 and A.numblocks[1] != 1 else A
    if (isinstance(A, np.memmap) and A.ndim == 2 and A.flags.c_contiguous
            and getattr(A, "filename", None) and isinstance(A.base, __import__("mmap").mmap)):
        return _from_memmap(A, chunk_rows())
    A = np.asarray(A)
    if A.ndim != 2:
        return da.from_array(A)  # the validator reports the shape
    if _distributed_client() is not None:
        return _from_blocks(A, chunk_rows())
    return da.from_array(A, chunks=(chunk_rows(), -1))


def _distributed_client():
    """The active dask.distributed client, or None (local scheduler, or distributed missing)."""
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def _from_blocks(A: np.ndarray, rows: int) -> da.Array:
    """A dask array with one graph key per row block of ``A``.

    For a distributed scheduler: the blocks are independent root tasks, which
    the scheduler spreads over the workers (``da.from_array`` would make the
    whole array one key, held by one worker that then gets most of the tasks).
    """
    n, d = A.shape
    blocks = [da.from_delayed(dask.delayed(np.ascontiguousarray(A[s:min(n, s + rows)]),
                                           pure=True), shape=(min(n, s + rows) - s, d),
                              dtype=A.dtype)
              for s in range(0, n, rows)]
    return da.concatenate(blocks, axis=0)


def as_input(A):
    """The ``LAZY_INPUTS`` hook of :mod:`.base`: numpy arrays, memory maps and dask arrays
    become row-chunked dask arrays (see :func:`as_array`), before validation."""
    if is_dask_array(A) or isinstance(A, np.ndarray):
        return as_array(A)
    return A


def _blocks(A: da.Array):
    """Row blocks of a row-chunked dask array as delayed objects, and their start offsets."""
    A = as_array(A)
    starts = np.concatenate([[0], np.cumsum(A.chunks[0])[:-1]]).astype(int)
    return list(A.to_delayed()[:, 0]), [int(s) for s in starts]


@contextmanager
def _one_blas_thread_if_local():
    """One BLAS thread per task: limit the pool while a local (threaded) scheduler runs."""
    if _distributed_client() is not None:
        yield                      # distributed workers: thread counts are set per worker
        return
    with cpu._one_blas_thread():
        yield


def _compute(*objs):
    with _one_blas_thread_if_local():
        return dask.compute(*objs)


def _tree(items, merge):
    """Reduce a list of delayed objects pairwise in a binary tree of fixed shape."""
    merge = dask.delayed(merge, pure=True)
    while len(items) > 1:
        items = [merge(*items[i:i + _TREE]) if len(items[i:i + _TREE]) > 1 else items[i]
                 for i in range(0, len(items), _TREE)]
    return items[0]


def _f64(block) -> np.ndarray:
    return np.ascontiguousarray(block, dtype=np.float64)


# --------------------------------------------------------------------------- Gram statistics
@njit(nogil=True, cache=_CACHE)
def _pair_kernel(Xi, XjT, axi, axj, Yi, YjT, ayi, ayj, kx, ky, oxi, oxj, oyi, oyj, use_off,
                 same):
    """Statistics of the chunk pair (I, J): Xi, Yi are chunk I, XjT, YjT chunk J transposed.

    ``ax*``, ``ay*`` are the per-row vectors of cpu's ``_apply_kernel`` (squared
    norms, or the polynomial offsets); with ``use_off`` the values are
    K_ij - ox_i - ox_j (likewise L), as in cpu's ``_stats_pair``.
    Returns (scalars, rk_I, rl_I, ck_J, cl_J, dk_I, dl_I): <K,L>, <K,K>, <L,L>
    over the pair (doubled for I != J), row sums over chunk I's rows, column
    sums over chunk J's rows (unused when ``same``), diagonals when ``same``.
    Tiles of TILE x TILE, rows ROWS at a time, as in the cpu backend.
    """
    ni = Xi.shape[0]
    nj = XjT.shape[1]
    out = np.zeros(3)
    rk = np.zeros(ni)
    rl = np.zeros(ni)
    ck = np.zeros(nj)
    cl = np.zeros(nj)
    dk = np.zeros(ni if same else 0)
    dl = np.zeros(ni if same else 0)
    DX = np.empty((ROWS, TILE))
    DY = np.empty((ROWS, TILE))
    lanes = np.empty((3, TILE))
    for a0 in range(0, ni, TILE):
        a1 = min(ni, a0 + TILE)
        b_first = a0 if same else 0
        for b0 in range(b_first, nj, TILE):
            b1 = min(nj, b0 + TILE)
            w = b1 - b0
            diag_tile = same and a0 == b0
            lanes[:, :] = 0.0
            s_kl = lanes[0, :w]
            s_kk = lanes[1, :w]
            s_ll = lanes[2, :w]
            for i0 in range(a0, a1, ROWS):
                nr = min(ROWS, a1 - i0)
                _pair_rows(Xi, XjT, axi, axj, Yi, YjT, ayi, ayj, kx, ky, oxi, oxj, oyi, oyj,
                           use_off, i0, nr, b0, b1, DX, DY)
                for r in range(nr):
                    kr = DX[r, :w]
                    lr = DY[r, :w]
                    sk = 0.0
                    sl = 0.0
                    for t in range(w):
                        kv = kr[t]
                        lv = lr[t]
                        s_kl[t] += kv * lv
                        s_kk[t] += kv * kv
                        s_ll[t] += lv * lv
                        sk += kv
                        sl += lv
                    rk[i0 + r] += sk
                    rl[i0 + r] += sl
                    if diag_tile:
                        dk[i0 + r] = kr[i0 + r - b0]
                        dl[i0 + r] = lr[i0 + r - b0]
                    else:
                        for t in range(w):
                            ck[b0 + t] += kr[t]
                            cl[b0 + t] += lr[t]
            kl, kk, ll = _lane_totals(lanes, w)
            weight = 1.0 if diag_tile else 2.0
            out[0] += weight * kl
            out[1] += weight * kk
            out[2] += weight * ll
    if same:  # column sums of the off-diagonal tiles are row sums of the same chunk
        for i in range(ni):
            rk[i] += ck[i]
            rl[i] += cl[i]
    return out, rk, rl, ck, cl, dk, dl


def _aux(block, kp, given):
    """cpu's per-row kernel vector for one chunk (``given``: that chunk's polynomial offsets)."""
    return cpu._aux(block, kp, given)


def _pair_task(xi, xj, yi, yj, kx, ky, sides, same):
    """One chunk pair.  ``sides`` holds, for chunks I and J, the slices of the optional
    per-row vectors (px, py: polynomial offsets; offx, offy: centring offsets)."""
    (pxi, pxj, pyi, pyj, oxi, oxj, oyi, oyj) = sides
    xi, yi = _f64(xi), _f64(yi)
    xj, yj = (xi, yi) if same else (_f64(xj), _f64(yj))
    use_off = oxi is not None or oyi is not None
    zi, zj = np.zeros(xi.shape[0]), np.zeros(xj.shape[0])
    return _pair_kernel(
        xi, np.ascontiguousarray(xj.T), _aux(xi, kx, pxi), _aux(xj, kx, pxj),
        yi, np.ascontiguousarray(yj.T), _aux(yi, ky, pyi), _aux(yj, ky, pyj),
        cpu._ktuple(kx), cpu._ktuple(ky),
        zi if oxi is None else oxi, zj if oxj is None else oxj,
        zi if oyi is None else oyi, zj if oyj is None else oyj, use_off, same)


def _chunk_combine(rows_part, cols_part):
    """Chunk I's statistics from its pairs: ``rows_part`` = pairs (I, J >= I) in J order
    (the first is the diagonal pair), ``cols_part`` = pairs (J < I, I) in J order."""
    scal = np.zeros(3)
    rk = np.zeros_like(rows_part[0][1])
    rl = np.zeros_like(rk)
    for part in cols_part:
        rk += part[3]
        rl += part[4]
    for part in rows_part:
        scal += part[0]
        rk += part[1]
        rl += part[2]
    return scal, rk, rl, rows_part[0][5], rows_part[0][6]


def _slices(v, starts, sizes):
    return [None] * len(starts) if v is None else [
        np.ascontiguousarray(v[s:s + m], dtype=np.float64) for s, m in zip(starts, sizes)]


def _stream(X, Y, kx, ky, px=None, py=None, offx=None, offy=None):
    """One pass over all chunk pairs as tasks: (kl, kk, ll, rk, rl, dk, dl).

    The stream of :func:`repalign_edu.backends.stats.streamed_gram_stats`: the
    kernels are K_ij - offx_i - offx_j (polynomial kernels add px_i + px_j
    inside the power), None meaning zeros.
    """
    X = as_array(X)
    Y = as_array(Y).rechunk({0: X.chunks[0], 1: -1})
    xb, starts = _blocks(X)
    yb, _ = _blocks(Y)
    sizes = list(X.chunks[0])
    c = len(xb)
    vec = [_slices(v, starts, sizes) for v in (px, py, offx, offy)]
    pair = dask.delayed(_pair_task, pure=True)
    parts = {(i, j): pair(xb[i], xb[j], yb[i], yb[j], kx, ky,
                          tuple(x for v in vec for x in (v[i], v[j])), i == j)
             for i in range(c) for j in range(i, c)}
    combine = dask.delayed(_chunk_combine, pure=True)
    chunks = [combine([parts[i, j] for j in range(i, c)], [parts[j, i] for j in range(i)])
              for i in range(c)]
    (chunks,) = _compute(chunks)
    scal = np.zeros(3)
    for part in chunks:
        scal += part[0]
    cat = [np.concatenate([part[q] for part in chunks]) for q in range(1, 5)]
    return float(scal[0]), float(scal[1]), float(scal[2]), cat[0], cat[1], cat[2], cat[3]


def _stream_inputs(A, kp):
    """:func:`repalign_edu.backends.stats.stream_inputs` for a dask array, lazily.

    The same recipe (centred features; rbf/laplacian held as K - 1 when a
    typical value exceeds 1/e; the polynomial expanded around the mean with
    per-row offsets p), with the column mean from :func:`column_mean` and p
    computed chunk by chunk.
    """
    if kp.name != "polynomial":
        U = center(A)
        return U, None, replace(kp, shift=kp.name in ("rbf", "laplacian") and _nearly_one(U, kp))
    A = as_array(A)
    m = column_mean(A)
    U = A.map_blocks(_subtract, m, dtype=np.float64)
    (p,) = _compute(U @ m)
    p = kp.gamma * p
    s = kp.gamma * float(m @ m) + kp.coef0
    return U, p, replace(kp, coef0=s, shift=True)


def gram_stats(X, Y, kx, ky, *, centered: bool = False) -> GramStats:
    """:class:`~repalign_edu.backends.stats.GramStats` of k_X on X and k_Y on Y, as Dask tasks.

    Parameters
    ----------
    X : array_like or dask array, shape (n, d_X)
    Y : array_like or dask array, shape (n, d_Y)
        Same n; both are cut at X's row chunks.  Any float dtype: each task
        converts its chunks to float64.
    kx, ky : KernelParams
        Resolved kernels of X and Y.
    centered : bool
        Statistics for the centred measures, by the recipe of
        :func:`repalign_edu.backends.stats.streamed_gram_stats` (centred
        features, expm1-shifted rbf/laplacian, the polynomial expanded around
        the mean and doubly centred in a second pass); see :mod:`.base`.

    Returns
    -------
    GramStats
        <K,L>_F, <K,K>_F, <L,L>_F, row sums K1, L1 and diagonals, float64;
        equal to the cpu backend's up to the order of float64 sums.

    Notes
    -----
    c chunks give c (c + 1) / 2 pair tasks, c combine tasks and one final
    task; a pair task reads 2 chunks of X and of Y and returns O(chunk) floats.
    """
    if not centered:
        return GramStats(*_stream(X, Y, kx, ky))
    U, px, kx2 = _stream_inputs(X, kx)
    V, py, ky2 = _stream_inputs(Y, ky)
    out = _stream(U, V, kx2, ky2, px, py)
    if "polynomial" in (kx.name, ky.name):
        offx = centring_offset(out[3]) if kx.name == "polynomial" else None
        offy = centring_offset(out[4]) if ky.name == "polynomial" else None
        out = _stream(U, V, kx2, ky2, px, py, offx, offy)
    return GramStats(*out)


# --------------------------------------------------------------------------- kernel sums (MMD)
@njit(nogil=True, cache=_CACHE)
def _sum_kernel(A, BT, na2, nb2, k, skip_offset, exclude_diag):
    """sum_{r,t} k(a_r, b_t), skipping r == t + skip_offset when ``exclude_diag``."""
    m = A.shape[0]
    n = BT.shape[1]
    D = np.empty((ROWS, TILE))
    acc = np.zeros(TILE)
    total = 0.0
    for b0 in range(0, n, TILE):
        b1 = min(n, b0 + TILE)
        w = b1 - b0
        acc[:] = 0.0
        for i0 in range(0, m, ROWS):
            nr = min(ROWS, m - i0)
            _dots(A, i0, nr, BT, b0, b1, D)
            _apply_kernel(D, nr, w, na2, i0, nb2, b0, k[0], k[1], k[2], k[3], k[4])
            for r in range(nr):
                row = D[r, :w]
                if exclude_diag:
                    t = i0 + r - skip_offset - b0
                    if 0 <= t < w:
                        row[t] = 0.0
                for t in range(w):
                    acc[t] += row[t]
        s = 0.0
        for t in range(w):
            s += acc[t]
        total += s
    return total


def _sum_task(a, b, k, skip_offset, exclude_diag, weight):
    a = _f64(a)
    b = a if b is None else _f64(b)
    return weight * _sum_kernel(a, np.ascontiguousarray(b.T), _aux(a, k, None), _aux(b, k, None),
                                cpu._ktuple(k), skip_offset, exclude_diag)


def _ordered_sum(parts):
    s = 0.0
    for p in parts:
        s += p
    return s


def _colsum(block):
    return _f64(block).sum(axis=0)


def kernel_sum(A, B, k, exclude_diag: bool = False) -> float:
    """sum_{i,j} k(a_i, b_j) over chunk pairs as Dask tasks, no cross Gram matrix formed.

    Parameters
    ----------
    A : array_like or dask array, shape (m, d)
    B : array_like or dask array, shape (n, d)
        Pass the same object twice to use the symmetry of k (pairs I <= J).
    k : KernelParams
    exclude_diag : bool
        Skip the terms i == j (the U-statistic of MMD).

    Returns
    -------
    float
        The linear kernel uses the exact shortcut <sum_i a_i, sum_j b_j>.
        With ``k.shift`` the sum is of k - k0 (see :mod:`.base`).
    """
    symmetric = A is B
    A = as_array(A)
    B = A if symmetric else as_array(B)
    ab, a0 = _blocks(A)
    bb, b0 = (ab, a0) if symmetric else _blocks(B)
    if k.name == "linear":
        col = dask.delayed(_colsum, pure=True)
        sa = _tree([col(x) for x in ab], _add)
        sb = sa if symmetric else _tree([col(x) for x in bb], _add)
        parts = [sa, sb]
        if exclude_diag:
            m = min(A.shape[0], B.shape[0])
            parts.append(da.einsum("ij,ij->", A[:m].astype(np.float64),
                                   B[:m].astype(np.float64)))
        got = _compute(*parts)
        total = float(got[0] @ got[1])
        return total - float(got[2]) if exclude_diag else total
    task = dask.delayed(_sum_task, pure=True)
    parts = []
    for i in range(len(ab)):
        for j in range(i if symmetric else 0, len(bb)):
            same = symmetric and i == j
            weight = 2.0 if symmetric and i != j else 1.0
            parts.append(task(ab[i], None if same else bb[j], k, b0[j] - a0[i], exclude_diag,
                              weight))
    (total,) = _compute(_tree(parts, _add_many) if parts else 0.0)
    return float(total)


def _add(*xs):
    out = xs[0].copy() if isinstance(xs[0], np.ndarray) else xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def _add_many(*xs):
    return _ordered_sum(xs)


# --------------------------------------------------------------------------- linear statistics
def _moments(a, b):
    """(count, mean_a, mean_b, C_ab = (a - mean_a)^T (b - mean_b)) of one chunk, float64."""
    a = _f64(a)
    b = a if b is None else _f64(b)
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    ac, bc = a - ma, b - mb
    return a.shape[0], ma, mb, ac.T @ bc


def _chan_merge(*parts):
    """Merge per-chunk moments with the pairwise update of Chan, Golub & LeVeque (1979)."""
    n, ma, mb, C = parts[0]
    C = C.copy()
    for nb, ma2, mb2, C2 in parts[1:]:
        tot = n + nb
        da_, db_ = ma2 - ma, mb2 - mb
        C += C2 + (n * nb / tot) * np.outer(da_, db_)
        ma = ma + da_ * (nb / tot)
        mb = mb + db_ * (nb / tot)
        n = tot
    return n, ma, mb, C


def _mean_part(a):
    a = _f64(a)
    return a.shape[0], a.mean(axis=0)


def _mean_merge(*parts):
    n, m = parts[0]
    for nb, m2 in parts[1:]:
        tot = n + nb
        m = m + (m2 - m) * (nb / tot)
        n = tot
    return n, m


def moments(A, B=None):
    """Column means and centred cross products of A and B in one pass, Chan-merged.

    Parameters
    ----------
    A : array_like or dask array, shape (n, d_A)
    B : array_like or dask array, shape (n, d_B), optional (default A)

    Returns
    -------
    n : int
    mean_a : ndarray (d_A,), float64
    mean_b : ndarray (d_B,), float64
    C : ndarray (d_A, d_B), float64
        sum_i (a_i - mean_a)(b_i - mean_b)^T.
    """
    A = as_array(A)
    ab, _ = _blocks(A)
    if B is None:
        bb = [None] * len(ab)
    else:
        bb, _ = _blocks(as_array(B).rechunk({0: A.chunks[0], 1: -1}))
    mom = dask.delayed(_moments, pure=True)
    (res,) = _compute(_tree([mom(a, b) for a, b in zip(ab, bb)], _chan_merge))
    return res


def column_mean(A) -> np.ndarray:
    """Column means of A (n, d) as float64, per-chunk means merged pairwise (Chan et al.)."""
    ab, _ = _blocks(as_array(A))
    part = dask.delayed(_mean_part, pure=True)
    (res,) = _compute(_tree([part(a) for a in ab], _mean_merge))
    return res[1]


def _subtract(block, mean):
    return _f64(block) - mean


def center(A) -> da.Array:
    """Column-centred float64 dask array A - mean(A), lazy; the mean is computed now.

    Parameters
    ----------
    A : array_like or dask array, shape (n, d), float32 or float64

    Returns
    -------
    dask.array.Array, shape (n, d), float64, with A's row chunks.
    """
    A = as_array(A)
    mean = column_mean(A)
    return A.map_blocks(_subtract, mean, dtype=np.float64)


def matmul(A, B) -> np.ndarray:
    """A @ B for the feature-space statistics: A = X.T (d_X, n), B = Y (n, d_Y).

    Dask inputs are reduced over row chunks with :func:`moments`
    (A @ B = C + n mean_x mean_y^T), so nothing of size n is gathered; numpy
    inputs use :func:`repalign_edu.backends.cpu.matmul`.

    Returns
    -------
    ndarray, shape (d_X, d_Y), float64
    """
    if not (is_dask_array(A) or is_dask_array(B)):
        return cpu.matmul(A, B)
    n, mx, my, C = moments(as_array(A.T), B)
    return C + n * np.outer(mx, my)



feature_products = partial(three_products, matmul)
feature_products.__doc__ = "(X^T Y, X^T X, Y^T Y) by three ``matmul`` calls (see :mod:`.base`)."

def _row_stats_task(block, s):
    a = _f64(block)
    return a @ s, np.einsum("ij,ij->i", a, a)


def row_stats(A):
    """(A @ A.sum(0), squared row norms): K 1 and diag K for K = A A^T, as float64 n-vectors."""
    A = as_array(A)
    ab, _ = _blocks(A)
    col = dask.delayed(_colsum, pure=True)
    (s,) = _compute(_tree([col(a) for a in ab], _add))
    task = dask.delayed(_row_stats_task, pure=True)
    (parts,) = _compute([task(a, s) for a in ab])
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


# --------------------------------------------------------------------------- k nearest neighbours
@njit(nogil=True, cache=_CACHE)
def _block_topk(S, i_off, j_off, k, best_v, best_j):
    """Push the block S[r, t] = <x_{i_off+r}, x_{j_off+t}> into per-row top-k lists (self out)."""
    for r in range(S.shape[0]):
        i = i_off + r
        for t in range(S.shape[1]):
            j = j_off + t
            if j != i:
                _knn_push(best_v, best_j, r, S[r, t], j, k)


@njit(nogil=True, cache=_CACHE)
def _merge_lists(v1, j1, v2, j2, k):
    bv = v1.copy()
    bj = j1.copy()
    for r in range(v2.shape[0]):
        for p in range(k):
            if j2[r, p] >= 0:
                _knn_push(bv, bj, r, v2[r, p], j2[r, p], k)
    return bv, bj


def _knn_task(xi, xj, i_off, j_off, k, n):
    xi, xj = _f64(xi), _f64(xj)
    best_v = np.full((xi.shape[0], k), -np.inf)
    best_j = np.full((xi.shape[0], k), n, dtype=np.int64)
    _block_topk(xi @ xj.T, i_off, j_off, k, best_v, best_j)
    return best_v, best_j


def _knn_merge(*parts):
    v, j = parts[0]
    for v2, j2 in parts[1:]:
        v, j = _merge_lists(v, j, v2, j2, v.shape[1])
    return v, j


def knn_sets(Xn, k: int) -> np.ndarray:
    """(n, k) int64 indices of the k largest inner products per row, self excluded.

    One task per chunk pair forms the inner-product block and its per-row
    top-k lists; the lists of a row chunk are merged in a tree of fixed
    shape.  Rows are sorted by decreasing inner product, ties to the smaller
    index (as the cpu backend and ``numpy.argsort(-S, kind="stable")``).
    """
    Xn = as_array(Xn)
    n = Xn.shape[0]
    k = int(k)
    xb, starts = _blocks(Xn)
    task = dask.delayed(_knn_task, pure=True)
    rows = [_tree([task(xb[i], xb[j], starts[i], starts[j], k, n) for j in range(len(xb))],
                  _knn_merge) for i in range(len(xb))]
    (rows,) = _compute(rows)
    return np.concatenate([r[1] for r in rows])


def knn_overlap(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Per-row size of the intersection of two (n, k) neighbour-index arrays (O(n k^2))."""
    return cpu.knn_overlap(A, B)


# --------------------------------------------------------------------------- validation helpers
def all_finite(A) -> bool:
    """True when every entry of A is finite: one chunked pass, nothing gathered."""
    (ok,) = _compute(da.isfinite(as_array(A)).all())
    return bool(ok)


def first_nonfinite(A):
    """(count, i, j, value) of the non-finite entries of a dask array (for error messages)."""
    A = as_array(A)
    bad = ~da.isfinite(A)
    count = int(bad.sum().compute())
    flat = int(da.argmax(bad.ravel()).compute())
    i, j = divmod(flat, A.shape[1])
    return count, i, j, float(A[i, j].compute())

