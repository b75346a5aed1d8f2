"""numba.cuda backend: tiled, streaming GPU kernels (same interface as :mod:`.cpu`).

Design rules (see lesson 09; they mirror the CPU backend):

* **No n x n matrix on the device.**  The Gram kernels walk the n x n index
  square in tiles of ``TILE x TILE`` (64 x 64) entries.  A thread block of
  ``TPB x TPB`` = 16 x 16 = 256 threads owns one tile at a time; each thread
  computes an ``R x R`` = 4 x 4 register micro-tile (rows ``ty + 16 r``,
  columns ``tx + 16 c``), so a block produces 64 x 64 kernel values per tile.
* **Shared-memory tiles.**  The inner products <x_i, x_j> of a tile are
  accumulated over the features in chunks of ``DK`` = 16: the block copies
  the 64 rows x 16 features of the tile's row points and of its column points
  into two shared arrays (``As``, ``Bs``, shape (DK, TILE_PAD), padded against
  bank conflicts), synchronises, and every thread does 4 x 4 fused
  multiply-adds per feature from them.  K and L of a tile are computed one
  after the other and reuse the same shared arrays.
* **Grid.**  ``gridDim.x`` = number of row tiles, ``gridDim.y`` = ``G``
  column groups; block (b, g) handles row tile b against column tiles
  g, g + G, g + 2G, ...  ``G`` depends only on n (about ``TARGET_BLOCKS``
  blocks in all), never on the device, so the summation order -- and the
  result, bit for bit -- is the same on every run and every GPU model.
* **Deterministic reductions, no float atomics.**  Each thread keeps float64
  running sums over all its tiles; at the end the block reduces them by a
  fixed-order tree in shared memory and writes one slot of a per-block
  partial array (``part[block] = ...``); row sums are tree-reduced across the
  16 column threads and written to ``rows[i, g]``.  The host adds the
  partials in a fixed order.  Extra device memory is
  O(n (d_X + d_Y) + n G + #blocks), G <= n / TILE.
* **Precision.**  float64 input runs a float64 kernel.  float32 input runs a
  float32 kernel: inner products and kernel values are float32 (two times
  the GPU's float64 throughput, or more), and every *accumulation over
  pairs* (<K,L>_F, <K,K>_F, <L,L>_F, row sums) is float64.  Lines that are
  meant to be float64 in the float32 kernels carry the comment
  ``# f64-acc``; ``benchmarks/ptx_float32_check.py`` checks from the PTX
  that no other line emits float64 arithmetic.  No fastmath.

Distance-based kernels (rbf, laplacian) use |x_i - x_j|^2 = |x_i|^2 +
|x_j|^2 - 2 <x_i, x_j>, clamped at 0, as the cpu backend does; the squared
norms are computed on the device with exactly the arithmetic of the tile
inner products, so the diagonal distances come out exactly 0.

``knn_sets`` runs one thread per row (128 rows per block), streams the
other rows through shared memory in tiles of 32, and keeps a sorted top-k
list per thread in local memory (k <= ``KMAX`` = 64).

The dense GEMM used by the linear feature-space routes (``matmul``) uses the
same 64 x 64 micro-tiled shared-memory scheme with split-K: the k axis is
cut into S chunks (grid z), each block writes its own (S, m, n) slice and
the host adds the slices in order, so d x d products with k = n = 100,000
still fill the GPU.

Importing this module never touches the GPU; kernels are compiled on first
call.  Calling it needs a CUDA GPU or the CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1`` set before numba is imported; about 30,000 times
slower than NumPy, so tiny inputs only).
"""
from __future__ import annotations

import math

import numpy as np
from numba import config as _numba_config
from numba import cuda

from .stats import GramStats, streamed_gram_stats

# capabilities (see :mod:`.base`)
NAME = "cuda"
STREAMING = True
NATIVE_FLOAT32 = True
PERMUTED_SUMS = False

#: threads per block side (blocks are TPB x TPB)
TPB = 16
#: register micro-tile per thread (R x R kernel values)
R = 4
#: rows and columns of a Gram tile handled by one block
TILE = TPB * R
#: features per shared-memory chunk
DK = 16
#: threads per 2-D block
NT = TPB * TPB
#: aim for about this many blocks in a grid (fixes G and split-K from shapes only)
TARGET_BLOCKS = 2048
#: shortest k-slice of the split-K GEMM
KMIN_SPLIT = 256
#: largest k supported by :func:`knn_sets` (per-thread top-k array)
KMAX = 64
MAX_KNN_K = KMAX
#: threads (= rows) per block in the k-NN kernel, and columns per k-NN tile
KNB = 128
KTJ = 32

# padded shared-array widths (shapes must be plain constants for numba)
TILE_PAD = TILE + 1
KNB_PAD = KNB + 1
KTJ_PAD = KTJ + 1
_LOADS = TILE * DK // NT  # shared-memory elements each thread loads per chunk (4)


def _device_fn(fn):
    """cuda.jit(device=True), inlined at the NVVM level where supported (not the simulator)."""
    if not _numba_config.ENABLE_CUDASIM:
        try:
            return cuda.jit(device=True, forceinline=True)(fn)
        except TypeError:  # pragma: no cover - numba's built-in numba.cuda lacks forceinline
            pass
    return cuda.jit(device=True)(fn)


# --------------------------------------------------------------------------- device helpers
@_device_fn
def _tile_dot(P, Q, i0, j0, fa, fb, As, Bs, acc):
    """acc[r, c] += sum_{f in [fa, fb)} P[i0 + ty + 16 r, f] * Q[j0 + tx + 16 c, f].

    Called by all threads of a 16 x 16 block (it synchronises).  Rows past the
    end of P or Q contribute zeros.  ``As``/``Bs``/``acc`` fix the precision.
    """
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    tid = ty * TPB + tx
    np_ = P.shape[0]
    nq = Q.shape[0]
    for f0 in range(fa, fb, DK):
        w = min(DK, fb - f0)
        for q in range(_LOADS):
            ell = tid + q * NT
            f = ell % DK
            t = ell // DK
            i = i0 + t
            if i < np_ and f < w:
                As[f, t] = P[i, f0 + f]
            else:
                As[f, t] = 0
            j = j0 + t
            if j < nq and f < w:
                Bs[f, t] = Q[j, f0 + f]
            else:
                Bs[f, t] = 0
        cuda.syncthreads()
        for f in range(w):
            for r in range(R):
                av = As[f, ty + TPB * r]
                for c in range(R):
                    acc[r, c] += av * Bs[f, tx + TPB * c]
        cuda.syncthreads()


@cuda.jit
def _sqnorm_kernel(A, out):
    """out[i] = sum_f A[i, f]^2 in A's dtype, with exactly the arithmetic of
    :func:`_tile_dot` (same order, same fused multiply-adds).  So the diagonal
    |x_i|^2 + |x_i|^2 - 2 <x_i, x_i> is exactly 0 and k(x_i, x_i) is exact;
    norms computed any other way leave sq ~ 1e-16 there, which the laplacian
    kernel turns into a 1e-8 error through the square root."""
    i = cuda.grid(1)
    if i < A.shape[0]:
        acc = out[i]  # out arrives zeroed, in A's dtype
        for f in range(A.shape[1]):
            acc += A[i, f] * A[i, f]
        out[i] = acc


def _make_kval(T):
    """Kernel value k from (dot, |x_i|^2, |x_j|^2) computed entirely in dtype T."""

    @_device_fn
    def kval(code, dot, ni, nj, a, c0, deg, shift):
        # code: 0 linear, 1 rbf, 2 laplacian, 3 polynomial (see kernels.KERNELS);
        # ni, nj: squared norms (rbf, laplacian) or the polynomial offsets p_i, p_j.
        # shift: return k - k0 without cancellation (k0 = 1, or c0^deg for polynomial)
        if code == 0:
            return dot
        if code == 3:
            t = a * dot + (ni + nj)
            if shift:
                if c0 > T(0.0) and t > T(-0.5) * c0:
                    return c0 ** deg * math.expm1(deg * math.log1p(t / c0))
                return (c0 + t) ** deg - c0 ** deg
            return (t + c0) ** deg
        sq = ni + nj - T(2.0) * dot
        if sq < T(0.0):
            sq = T(0.0)
        if code == 2:
            sq = math.sqrt(sq)
        if shift:
            return math.expm1(-a * sq)
        return math.exp(-a * sq)

    return kval


def _make_gram_kernel(T, kval):
    """The gram_stats kernel for input dtype T (np.float32 or np.float64)."""

    @cuda.jit
    def gram_kernel(X, Y, nx, ny, kxc, kxa, kxc0, kxdeg, kxs, kyc, kya, kyc0, kydeg, kys,
                    offx, offy, part, rowk, rowl, dk, dl):
        As = cuda.shared.array((DK, TILE_PAD), T)
        Bs = cuda.shared.array((DK, TILE_PAD), T)
        red = cuda.shared.array((3, NT), np.float64)
        rbuf = cuda.shared.array((2, TILE, TPB), np.float64)
        acck = cuda.local.array((R, R), T)
        accl = cuda.local.array((R, R), T)
        rk = cuda.local.array(R, np.float64)
        rl = cuda.local.array(R, np.float64)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * TPB + tx
        g = cuda.blockIdx.y
        ngroups = cuda.gridDim.y
        n = X.shape[0]
        ntiles = (n + TILE - 1) // TILE
        i0 = cuda.blockIdx.x * TILE
        kl = 0.0  # f64-acc
        kk = 0.0  # f64-acc
        ll = 0.0  # f64-acc
        for r in range(R):
            rk[r] = 0.0  # f64-acc
            rl[r] = 0.0  # f64-acc
        for jt in range(g, ntiles, ngroups):
            j0 = jt * TILE
            for r in range(R):
                for c in range(R):
                    acck[r, c] = 0
                    accl[r, c] = 0
            _tile_dot(X, X, i0, j0, 0, X.shape[1], As, Bs, acck)
            _tile_dot(Y, Y, i0, j0, 0, Y.shape[1], As, Bs, accl)
            for r in range(R):
                i = i0 + ty + TPB * r
                if i < n:
                    for c in range(R):
                        j = j0 + tx + TPB * c
                        if j < n:
                            kv = np.float64(kval(kxc, acck[r, c], nx[i], nx[j], kxa, kxc0, kxdeg, kxs)) - (offx[i] + offx[j])  # f64-acc
                            lv = np.float64(kval(kyc, accl[r, c], ny[i], ny[j], kya, kyc0, kydeg, kys)) - (offy[i] + offy[j])  # f64-acc
                            kl += kv * lv  # f64-acc
                            kk += kv * kv  # f64-acc
                            ll += lv * lv  # f64-acc
                            rk[r] += kv  # f64-acc
                            rl[r] += lv  # f64-acc
                            if i == j:
                                dk[i] = kv
                                dl[i] = lv
        # fixed-order tree reduction of the block's three sums
        red[0, tid] = kl
        red[1, tid] = kk
        red[2, tid] = ll
        cuda.syncthreads()
        s = NT // 2
        while s > 0:
            if tid < s:
                red[0, tid] += red[0, tid + s]  # f64-acc
                red[1, tid] += red[1, tid + s]  # f64-acc
                red[2, tid] += red[2, tid + s]  # f64-acc
            cuda.syncthreads()
            s //= 2
        if tid == 0:
            b = cuda.blockIdx.y * cuda.gridDim.x + cuda.blockIdx.x
            part[b, 0] = red[0, 0]
            part[b, 1] = red[1, 0]
            part[b, 2] = red[2, 0]
        # row sums: tree over the 16 column threads of each row
        for r in range(R):
            rbuf[0, ty + TPB * r, tx] = rk[r]
            rbuf[1, ty + TPB * r, tx] = rl[r]
        cuda.syncthreads()
        s = TPB // 2
        while s > 0:
            if tx < s:
                for r in range(R):
                    rbuf[0, ty + TPB * r, tx] += rbuf[0, ty + TPB * r, tx + s]  # f64-acc
                    rbuf[1, ty + TPB * r, tx] += rbuf[1, ty + TPB * r, tx + s]  # f64-acc
            cuda.syncthreads()
            s //= 2
        if tx == 0:
            for r in range(R):
                i = i0 + ty + TPB * r
                if i < n:
                    rowk[i, g] = rbuf[0, ty + TPB * r, 0]
                    rowl[i, g] = rbuf[1, ty + TPB * r, 0]

    return gram_kernel


_kval64 = _make_kval(np.float64)
_kval32 = _make_kval(np.float32)
_gram_kernel64 = _make_gram_kernel(np.float64, _kval64)
_gram_kernel32 = _make_gram_kernel(np.float32, _kval32)


@cuda.jit
def _kernel_sum_kernel(A, B, na2, nb2, code, ka, kc0, kdeg, kshift, exclude_diag, part):
    """part[block] = sum of k(a_i, b_j) over the block's tiles (float64)."""
    As = cuda.shared.array((DK, TILE_PAD), np.float64)
    Bs = cuda.shared.array((DK, TILE_PAD), np.float64)
    red = cuda.shared.array(NT, np.float64)
    acc = cuda.local.array((R, R), np.float64)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    tid = ty * TPB + tx
    na = A.shape[0]
    nb = B.shape[0]
    ntiles = (nb + TILE - 1) // TILE
    i0 = cuda.blockIdx.x * TILE
    tot = 0.0
    for jt in range(cuda.blockIdx.y, ntiles, cuda.gridDim.y):
        j0 = jt * TILE
        for r in range(R):
            for c in range(R):
                acc[r, c] = 0.0
        _tile_dot(A, B, i0, j0, 0, A.shape[1], As, Bs, acc)
        for r in range(R):
            i = i0 + ty + TPB * r
            if i < na:
                for c in range(R):
                    j = j0 + tx + TPB * c
                    if j < nb and not (exclude_diag and i == j):
                        tot += _kval64(code, acc[r, c], na2[i], nb2[j], ka, kc0, kdeg, kshift)
    red[tid] = tot
    cuda.syncthreads()
    s = NT // 2
    while s > 0:
        if tid < s:
            red[tid] += red[tid + s]
        cuda.syncthreads()
        s //= 2
    if tid == 0:
        part[cuda.blockIdx.y * cuda.gridDim.x + cuda.blockIdx.x] = red[0]


@cuda.jit
def _gemm_kernel(P, Q, kchunk, out):
    """out[s, i, j] = sum_{f in chunk s} P[i, f] Q[j, f]  (i.e. P @ Q.T, split-K)."""
    As = cuda.shared.array((DK, TILE_PAD), np.float64)
    Bs = cuda.shared.array((DK, TILE_PAD), np.float64)
    acc = cuda.local.array((R, R), np.float64)
    s = cuda.blockIdx.z
    fa = s * kchunk
    fb = min(P.shape[1], fa + kchunk)
    i0 = cuda.blockIdx.x * TILE
    j0 = cuda.blockIdx.y * TILE
    for r in range(R):
        for c in range(R):
            acc[r, c] = 0.0
    _tile_dot(P, Q, i0, j0, fa, fb, As, Bs, acc)
    for r in range(R):
        i = i0 + cuda.threadIdx.y + TPB * r
        for c in range(R):
            j = j0 + cuda.threadIdx.x + TPB * c
            if i < out.shape[1] and j < out.shape[2]:
                out[s, i, j] = acc[r, c]


@cuda.jit
def _knn_kernel(Xn, k, out):
    """out[i] = indices of the k largest <x_i, x_j>, j != i, ties -> smaller j.

    One thread per row (KNB rows per block).  Column points are streamed in
    tiles of KTJ rows through shared memory; each thread keeps a sorted
    top-k list in local memory and inserts candidates in increasing j with a
    strict '>', so an equal value never displaces an earlier (smaller) index.
    """
    As = cuda.shared.array((DK, KNB_PAD), np.float64)
    Bs = cuda.shared.array((DK, KTJ_PAD), np.float64)
    dots = cuda.local.array(KTJ, np.float64)
    best_v = cuda.local.array(KMAX, np.float64)
    best_j = cuda.local.array(KMAX, np.int64)
    tid = cuda.threadIdx.x
    n = Xn.shape[0]
    d = Xn.shape[1]
    i0 = cuda.blockIdx.x * KNB
    i = i0 + tid
    for p in range(k):
        best_v[p] = -math.inf
        best_j[p] = -1
    for j0 in range(0, n, KTJ):
        for c in range(KTJ):
            dots[c] = 0.0
        for f0 in range(0, d, DK):
            w = min(DK, d - f0)
            for q in range(DK):  # KNB * DK elements, KNB threads
                ell = tid + q * KNB
                f = ell % DK
                t = ell // DK
                if i0 + t < n and f < w:
                    As[f, t] = Xn[i0 + t, f0 + f]
                else:
                    As[f, t] = 0.0
            for q in range(KTJ * DK // KNB):
                ell = tid + q * KNB
                f = ell % DK
                t = ell // DK
                if j0 + t < n and f < w:
                    Bs[f, t] = Xn[j0 + t, f0 + f]
                else:
                    Bs[f, t] = 0.0
            cuda.syncthreads()
            for f in range(w):
                av = As[f, tid]
                for c in range(KTJ):
                    dots[c] += av * Bs[f, c]
            cuda.syncthreads()
        if i < n:
            for c in range(KTJ):
                j = j0 + c
                if j < n and j != i:
                    v = dots[c]
                    if v > best_v[k - 1]:
                        p = k - 1
                        while p > 0 and v > best_v[p - 1]:
                            best_v[p] = best_v[p - 1]
                            best_j[p] = best_j[p - 1]
                            p -= 1
                        best_v[p] = v
                        best_j[p] = j
    if i < n:
        for p in range(k):
            out[i, p] = best_j[p]


@cuda.jit
def _overlap_kernel(A, B, counts):
    i = cuda.grid(1)
    if i < A.shape[0]:
        c = 0
        for p in range(A.shape[1]):
            for q in range(B.shape[1]):
                if A[i, p] == B[i, q]:
                    c += 1
                    break
        counts[i] = c


# --------------------------------------------------------------------------- host side
def _as_matrix(A, name, dtype=None):
    A = np.asarray(A)
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-D; got shape {A.shape}.")
    if dtype is not None:
        A = A.astype(dtype, copy=False)
    return np.ascontiguousarray(A)


def _groups(n_row_tiles: int, n_col_tiles: int) -> int:
    """Column groups G: about TARGET_BLOCKS blocks, from the shapes only."""
    g = max(1, -(-TARGET_BLOCKS // n_row_tiles))
    return int(min(g, n_col_tiles, 65535))


def _row_sqnorms(d_A, n: int, dtype):
    """Device array of squared row norms of the device matrix d_A (see _sqnorm_kernel)."""
    d_out = cuda.to_device(np.zeros(n, dtype=dtype))
    if n:
        _sqnorm_kernel[-(-n // 128), 128](d_A, d_out)
    return d_out


def _aux(d_A, n: int, kp, given, dtype):
    """Device vector of the kernel's per-row term: squared norms, or polynomial offsets."""
    if kp.name == "polynomial":
        return cuda.to_device(np.zeros(n, dtype) if given is None else np.asarray(given, dtype))
    return _row_sqnorms(d_A, n, dtype)


def _stream(X, Y, kx, ky, px=None, py=None, offx=None, offy=None):
    """One pass over the tiles: (kl, kk, ll, rk, rl, dk, dl) (see stats.streamed_gram_stats)."""
    X = np.asarray(X)
    Y = np.asarray(Y)
    T = np.float32 if (X.dtype == np.float32 and Y.dtype == np.float32) else np.float64
    X = _as_matrix(X, "X", T)
    Y = _as_matrix(Y, "Y", T)
    n = X.shape[0]
    if Y.shape[0] != n:
        raise ValueError(f"X and Y must have the same number of rows; got {n} and {Y.shape[0]}.")
    ntiles = -(-n // TILE)
    ngroups = _groups(ntiles, ntiles)
    nblocks = ntiles * ngroups
    kxt, kyt = kx.as_tuple(), ky.as_tuple()
    d_part = cuda.device_array((nblocks, 3), np.float64)
    d_rowk = cuda.device_array((n, ngroups), np.float64)
    d_rowl = cuda.device_array((n, ngroups), np.float64)
    d_dk = cuda.device_array(n, np.float64)
    d_dl = cuda.device_array(n, np.float64)
    zeros = np.zeros(n)
    d_offx = cuda.to_device(zeros if offx is None else np.asarray(offx, np.float64))
    d_offy = cuda.to_device(zeros if offy is None else np.asarray(offy, np.float64))
    kern = _gram_kernel32 if T is np.float32 else _gram_kernel64
    d_X, d_Y = cuda.to_device(X), cuda.to_device(Y)
    kern[(ntiles, ngroups), (TPB, TPB)](
        d_X, d_Y, _aux(d_X, n, kx, px, T), _aux(d_Y, n, ky, py, T),
        int(kxt[0]), T(kxt[1]), T(kxt[2]), T(kxt[3]), bool(kx.shift),
        int(kyt[0]), T(kyt[1]), T(kyt[2]), T(kyt[3]), bool(ky.shift),
        d_offx, d_offy, d_part, d_rowk, d_rowl, d_dk, d_dl)
    part = d_part.copy_to_host()
    tot = [math.fsum(part[:, c]) for c in range(3)]  # order-independent, exact rounding
    rowk = d_rowk.copy_to_host()
    rowl = d_rowl.copy_to_host()
    return (float(tot[0]), float(tot[1]), float(tot[2]), rowk.sum(axis=1), rowl.sum(axis=1),
            d_dk.copy_to_host(), d_dl.copy_to_host())


def gram_stats(X: np.ndarray, Y: np.ndarray, kx, ky, *, centered: bool = False) -> GramStats:
    """Streaming :class:`GramStats` of k_X on X and k_Y on Y, on the GPU.

    Parameters
    ----------
    X : ndarray, shape (n, d_X), float32 or float64
    Y : ndarray, shape (n, d_Y), float32 or float64
        Both float32: the float32 kernel (float32 kernel values, float64
        sums).  Otherwise both are cast to float64.
    kx, ky : KernelParams
        Resolved kernels (``as_tuple() = (code, a, coef0, degree)``).
    centered : bool
        Statistics for the centred measures, without cancellation (see
        :mod:`.base` and :func:`~.stats.streamed_gram_stats`).

    Returns
    -------
    GramStats
        kl, kk, ll as Python floats; rk, rl, dk, dl float64 arrays of length n.

    Raises
    ------
    ValueError
        X or Y not 2-D, or different numbers of rows.
    """
    if np.ndim(X) != 2 or np.ndim(Y) != 2 or np.shape(X)[0] != np.shape(Y)[0]:
        _stream(X, Y, kx, ky)   # raises the ValueError
    return streamed_gram_stats(_stream, center, X, Y, kx, ky, centered=centered)


def center(A: np.ndarray) -> np.ndarray:
    """Column-centred copy of A, means in float64; float32 input stays float32.

    Centring removes the large mean that float32 could not resolve, so
    rounding the centred values back to float32 is harmless.
    """
    A = np.asarray(A)
    A64 = A.astype(np.float64, copy=False)
    Ac = A64 - A64.mean(axis=0)
    return np.ascontiguousarray(Ac.astype(A.dtype, copy=False) if A.dtype == np.float32 else Ac)


def row_stats(A: np.ndarray):
    """(A @ A.sum(0), squared row norms) of an (n, d) array, in float64 on the host (O(n d))."""
    A = np.asarray(A, dtype=np.float64)
    return A @ A.sum(axis=0), np.einsum("ij,ij->i", A, A)


def kernel_sum(A: np.ndarray, B: np.ndarray, k, exclude_diag: bool = False) -> float:
    """sum_{i,j} k(a_i, b_j) on the GPU without forming the cross Gram matrix.

    Parameters
    ----------
    A : ndarray, shape (m, d);  B : ndarray, shape (n, d)
        Cast to float64.
    k : KernelParams
    exclude_diag : bool
        Skip the terms i == j (for the unbiased MMD^2 with A is B).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Not 2-D, or A and B with different numbers of features.
    """
    A = _as_matrix(A, "A", np.float64)
    B = _as_matrix(B, "B", np.float64)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B need the same number of features; got {A.shape[1]} and {B.shape[1]}.")
    rt, ct = -(-A.shape[0] // TILE), -(-B.shape[0] // TILE)
    ngroups = _groups(rt, ct)
    d_part = cuda.device_array(rt * ngroups, np.float64)
    code, a, c0, deg = k.as_tuple()
    d_A, d_B = cuda.to_device(A), cuda.to_device(B)
    _kernel_sum_kernel[(rt, ngroups), (TPB, TPB)](
        d_A, d_B, _aux(d_A, A.shape[0], k, None, np.float64),
        _aux(d_B, B.shape[0], k, None, np.float64),
        int(code), float(a), float(c0), float(deg), bool(k.shift), bool(exclude_diag), d_part)
    return float(math.fsum(d_part.copy_to_host()))


def matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Dense product A @ B on the GPU (float64, tiled shared-memory GEMM, split-K).

    Parameters
    ----------
    A : ndarray, shape (m, k);  B : ndarray, shape (k, p)
        Any layout (transposed views are fine); cast to float64.

    Returns
    -------
    ndarray, shape (m, p), float64

    Raises
    ------
    ValueError
        Not 2-D, or inner dimensions that differ.
    """
    A = _as_matrix(A, "A", np.float64)
    Bt = _as_matrix(np.asarray(B).T, "B", np.float64)  # (p, k): rows are B's columns
    m, kdim = A.shape
    p = Bt.shape[0]
    if Bt.shape[1] != kdim:
        raise ValueError(f"matmul: inner dimensions differ ({A.shape} @ {np.asarray(B).shape}).")
    if m == 0 or p == 0 or kdim == 0:
        return np.zeros((m, p))
    gm, gp = -(-m // TILE), -(-p // TILE)
    # split-K: about TARGET_BLOCKS blocks, at most 64 slices of at least KMIN_SPLIT
    # features each, chunk lengths a multiple of DK
    nsplit = int(min(64, max(1, -(-TARGET_BLOCKS // (gm * gp))), -(-kdim // KMIN_SPLIT)))
    kchunk = -(-kdim // nsplit)
    kchunk = -(-kchunk // DK) * DK
    nsplit = -(-kdim // kchunk)
    d_out = cuda.device_array((nsplit, m, p), np.float64)
    _gemm_kernel[(gm, gp, nsplit), (TPB, TPB)](cuda.to_device(A), cuda.to_device(Bt),
                                                int(kchunk), d_out)
    out = d_out.copy_to_host()
    C = out[0].copy()
    for s in range(1, nsplit):  # fixed order
        C += out[s]
    return C


def knn_sets(Xn: np.ndarray, k: int) -> np.ndarray:
    """(n, k) int64 indices of the k largest inner products per row, self excluded.

    Each row lists its neighbours by decreasing inner product; ties go to the
    smaller index (as in the ``cpu`` and ``numpy`` backends).

    Parameters
    ----------
    Xn : ndarray, shape (n, d)
        Usually L2-normalised rows; cast to float64.
    k : int, 1 <= k < n and k <= KMAX (64)

    Raises
    ------
    ValueError
        Xn not 2-D, k out of range, or k > KMAX (use backend="cpu").
    """
    Xn = _as_matrix(Xn, "Xn", np.float64)
    n = Xn.shape[0]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n:
        raise ValueError(f"k must be an integer with 1 <= k < n = {n}; got k={k!r}.")
    if k > KMAX:
        raise ValueError(f"the cuda k-NN kernel supports k <= {KMAX}; got k={k}. "
                         "Use backend='cpu' for larger k.")
    d_out = cuda.device_array((n, int(k)), np.int64)
    _knn_kernel[-(-n // KNB), KNB](cuda.to_device(Xn), int(k), d_out)
    return d_out.copy_to_host()


def knn_overlap(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Per-row size of the intersection of two (n, k) neighbour-index arrays (int64)."""
    A = _as_matrix(A, "A", np.int64)
    B = _as_matrix(B, "B", np.int64)
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"A and B need the same number of rows; got {A.shape[0]} and {B.shape[0]}.")
    d_counts = cuda.device_array(A.shape[0], np.int64)
    _overlap_kernel[-(-A.shape[0] // 128), 128](cuda.to_device(A), cuda.to_device(B), d_counts)
    return d_counts.copy_to_host()
