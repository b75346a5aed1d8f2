"""Spectral view of kernel alignment: Mercer eigenpairs from samples, spectral KA,
kernel-target alignment, cumulative power, KARE/GCV and concentration of KA.

Everything here works on the *empirical* measure mu_n = (1/n) sum_i delta_{x_i}.
On L2(mu_n) (functions known by their n sample values, inner product
<g, h> = (1/n) sum_i g(x_i) h(x_i)) the integral operator of the paper
(section 3.1.2),

    L_K g(x) = int K(x, x') g(x') dmu(x'),

becomes the matrix K/n.  Its eigenpairs are the sample version of the Mercer
decomposition K = sum_i eta_i phi_i (x) phi_i with phi_i orthonormal in
L2(mu_n):

    K/n = U diag(eta) U^T,     phi_i = sqrt(n) U[:, i],     (1/n) Phi^T Phi = I.

All functions take Gram matrices (or their eigenpairs) as float64 arrays, so
they work for any kernel; build Gram matrices with
:func:`repalign_edu.gram_matrix`.  Eigendecompositions materialise n x n and
cost O(n^3): keep n in the hundreds (n = 500 takes well under a second).

References
----------
Insulla, Huang & Rosasco (2025), "Towards a Learning Theory of Representation
Alignment", sections 3.1.2-3.1.3 and appendix 6.1, 6.3.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from ._validation import as_representation, check_scalar

__all__ = [
    "cumulative_power",
    "gcv",
    "gram_alignment",
    "kare",
    "ka_subsample_alignments",
    "kernel_target_alignment",
    "krr_predict",
    "lemma1_bound",
    "mercer_eigenpairs",
    "overlap_matrix",
    "spectral_alignment",
    "spectral_alignment_from_grams",
    "spectral_target_alignment",
    "target_weights",
]


# --------------------------------------------------------------------------- validation
def _as_gram(K, name: str = "K", *, symmetric: bool = True) -> np.ndarray:
    """Check a Gram matrix: finite, 2-D, square (and symmetric); return float64."""
    K = np.asarray(as_representation(K, name, min_samples=1), dtype=np.float64)
    n, m = K.shape
    if symmetric:
        if n != m:
            raise ValueError(
                f"{name} must be a square Gram matrix of shape (n, n); got shape {K.shape}. "
                "Build it with repalign_edu.gram_matrix(X, kernel)."
            )
        scale = max(float(np.max(np.abs(K))), 1e-300)
        asym = float(np.max(np.abs(K - K.T)))
        if asym > 1e-8 * scale:
            raise ValueError(
                f"{name} must be symmetric (a Gram matrix K_ij = k(x_i, x_j)); "
                f"max |{name} - {name}^T| = {asym:.3g}. Symmetrise it with ({name} + {name}.T) / 2."
            )
    return K


def _as_vector(v, name: str, *, n: int | None = None) -> np.ndarray:
    """Check a finite real 1-D array (optionally of length n); return float64."""
    arr = np.asarray(v)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) \
            or np.iscomplexobj(arr):
        raise ValueError(f"{name} must be a real numeric 1-D array; got dtype {arr.dtype}.")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}. Use {name}.ravel() if it is a vector.")
    arr = arr.astype(np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one value.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or +-inf; remove them.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have length {n}; got {arr.shape[0]}.")
    return arr


def _as_targets(y, n: int, name: str = "y") -> np.ndarray:
    """Targets as an (n, t) float64 matrix: a vector (n,) or a matrix (n, t)."""
    arr = np.asarray(y)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    arr = np.asarray(as_representation(arr, name, min_samples=1), dtype=np.float64)
    if arr.shape[0] != n:
        raise ValueError(
            f"{name} must have one row per sample, n={n}; got {arr.shape[0]} rows. "
            "Pass the targets of the samples the Gram matrix was built from."
        )
    return arr


def _as_lambdas(lam, name: str = "lam") -> tuple[np.ndarray, bool]:
    """Ridge parameters: a positive scalar or a 1-D array of positive values."""
    scalar = np.ndim(lam) == 0
    if scalar and (isinstance(lam, bool) or not isinstance(lam, (Real, np.floating, np.integer))):
        raise ValueError(f"{name} must be a positive number or an array of them; got {lam!r}.")
    arr = np.atleast_1d(np.asarray(lam, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a positive number or a 1-D array of them; got shape {np.shape(lam)}.")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(
            f"{name} must be finite and > 0 (the ridge parameter lambda); got {arr[~(np.isfinite(arr) & (arr > 0))][0]}. "
            "Use a log-spaced grid such as np.logspace(-6, 0, 25)."
        )
    return arr, scalar


def _check_positive_int(value, name: str, minimum: int = 1) -> int:
    return check_scalar(value, name, Integral, min_val=minimum)


# --------------------------------------------------------------------------- eigenpairs
def mercer_eigenpairs(K, n_components=None):
    """Empirical Mercer eigenpairs: the spectrum of the integral operator K/n.

    On the empirical measure mu_n the integral operator L_K of the paper
    (section 3.1.2) is the matrix K/n acting on L2(mu_n).  With the
    eigendecomposition K/n = U diag(eta) U^T (U orthogonal)::

        eta_i  = i-th largest eigenvalue of K/n,
        phi_i  = sqrt(n) U[:, i]     (values of the eigenfunction at the samples),

    so that <phi_i, phi_j>_{L2(mu_n)} = (1/n) phi_i^T phi_j = delta_ij and
    K = n U diag(eta) U^T, i.e. K(x_a, x_b) = sum_i eta_i phi_i(x_a) phi_i(x_b)
    (Mercer's expansion, Cucker & Smale 2002).  The eta_i converge to the
    eigenvalues of the population operator (Rosasco, Belkin & De Vito 2010).

    Parameters
    ----------
    K : array_like, shape (n, n)
        Symmetric Gram matrix K_ab = k(x_a, x_b), any real dtype (converted
        to float64).
    n_components : int, optional
        Keep only the top ``n_components`` eigenpairs (1 <= n_components <= n).
        None keeps all n.

    Returns
    -------
    eta : ndarray, shape (k,), float64
        Eigenvalues of K/n in decreasing order.  For a PSD kernel they are
        >= 0 up to rounding (values of order -1e-16 * eta_1 can appear and are
        returned unchanged, never clipped).
    phi : ndarray, shape (n, k), float64
        Column i holds phi_i at the n samples; (1/n) phi^T phi = I_k.

    Raises
    ------
    ValueError
        K not square, not symmetric (relative asymmetry > 1e-8), not finite;
        ``n_components`` not an integer in [1, n].

    References
    ----------
    Paper section 3.1.2 ("Spectral interpretation of KA"); Cucker & Smale
    (2002); Rosasco, Belkin & De Vito (2010), JMLR 11.

    Examples
    --------
    >>> import numpy as np
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> eta, phi = mercer_eigenpairs(K)
    >>> eta                      # eigenvalues of K/2
    array([1.5, 0.5])
    >>> np.allclose(phi.T @ phi / 2, np.eye(2))
    True
    """
    K = _as_gram(K, "K")
    n = K.shape[0]
    if n_components is not None:
        n_components = _check_positive_int(n_components, "n_components")
        if n_components > n:
            raise ValueError(f"n_components must be at most n = {n}; got {n_components}.")
    Ks = 0.5 * (K + K.T) / n
    eta, U = np.linalg.eigh(Ks)
    order = np.argsort(eta)[::-1]
    eta, U = eta[order], U[:, order]
    if n_components is not None:
        eta, U = eta[:n_components], U[:, :n_components]
    return eta, np.sqrt(n) * U


def overlap_matrix(phi1, phi2):
    """Overlaps of two sets of eigenfunctions: C_ij = <phi_1i, phi_2j>_{L2(mu_n)}.

    C_{1,2} = (1/n) Phi_1^T Phi_2, the matrix of the paper's spectral form of
    kernel alignment (section 3.1.2).  For complete orthonormal systems C is
    orthogonal, and every row and column of C o C sums to 1.

    Parameters
    ----------
    phi1 : array_like, shape (n, k1)
    phi2 : array_like, shape (n, k2)
        Eigenfunction values at the same n samples (as returned by
        :func:`mercer_eigenpairs`).

    Returns
    -------
    C : ndarray, shape (k1, k2), float64

    Raises
    ------
    ValueError
        Not 2-D, not finite, or a different number of rows.

    References
    ----------
    Paper section 3.1.2: [C_{1,2}]_ij = <phi_{1,i}, phi_{2,j}>.
    """
    P1 = np.asarray(as_representation(phi1, "phi1", min_samples=1), dtype=np.float64)
    P2 = np.asarray(as_representation(phi2, "phi2", min_samples=1), dtype=np.float64)
    if P1.shape[0] != P2.shape[0]:
        raise ValueError(
            f"phi1 and phi2 must be evaluated at the same samples; got n={P1.shape[0]} "
            f"and n={P2.shape[0]} rows."
        )
    return P1.T @ P2 / P1.shape[0]


def spectral_alignment(eta1, eta2, C):
    """Kernel alignment from spectra and eigenfunction overlaps.

    The paper's spectral form (section 3.1.2), with eta_hat_q = eta_q / ||eta_q||_2::

        A(K_1, K_2) = <eta_hat_1, (C o C) eta_hat_2>
                    = sum_ij eta_1i eta_2j <phi_1i, phi_2j>^2 / sqrt(sum eta_1i^2 sum eta_2j^2)
                    = sum_ij <f_1i, f_2j>^2 / sqrt(sum eta_1i^2 sum eta_2j^2),

    where o is the Hadamard product and f_qi = sqrt(eta_qi) phi_qi.
    **Erratum:** the paper prints the first numerator as sum <f_1i, f_2j>
    without the square; the square is needed for the identity.  With full
    eigendecompositions of two Gram matrices on the same sample this equals
    the Frobenius form <K_1, K_2>_F / (||K_1||_F ||K_2||_F) exactly.  Special
    cases: C = I gives <eta_hat_1, eta_hat_2>; flat spectra give
    ||C||_F^2 / sqrt(k1 k2).

    Parameters
    ----------
    eta1 : array_like, shape (k1,)
    eta2 : array_like, shape (k2,)
        Eigenvalues (any order, matching the rows / columns of C).
    C : array_like, shape (k1, k2)
        Overlaps C_ij = <phi_1i, phi_2j> (:func:`overlap_matrix`).

    Returns
    -------
    float
        The alignment, in [0, 1] for PSD kernels and orthonormal systems.

    Raises
    ------
    ValueError
        Non-finite input, shapes that do not match C, or an all-zero spectrum.

    References
    ----------
    Paper section 3.1.2 ("Spectral Interpretation of KA").
    """
    e1 = _as_vector(eta1, "eta1")
    e2 = _as_vector(eta2, "eta2")
    Cm = np.asarray(as_representation(C, "C", min_samples=1), dtype=np.float64)
    if Cm.shape != (e1.size, e2.size):
        raise ValueError(
            f"C must have shape (len(eta1), len(eta2)) = ({e1.size}, {e2.size}); got {Cm.shape}."
        )
    for e, name in ((e1, "eta1"), (e2, "eta2")):
        if not np.linalg.norm(e) > 0:
            raise ValueError(f"{name} is all zeros: the kernel is 0 and its alignment is undefined.")
    h1, h2 = e1 / np.linalg.norm(e1), e2 / np.linalg.norm(e2)
    return float(h1 @ (Cm * Cm) @ h2)


def gram_alignment(K1, K2, *, centered=False):
    """Kernel alignment of two precomputed Gram matrices (the Frobenius form).

    ::

        A(K_1, K_2) = <K_1, K_2>_F / (||K_1||_F ||K_2||_F),

    and with ``centered=True`` the same for H K_1 H and H K_2 H
    (H = I - 11^T/n), i.e. CKA.  Use it when the Gram matrices are not built
    from features by one of the package kernels (e.g. K_1 K_1 / n, or a
    target kernel); for features use :func:`repalign_edu.kernel_alignment`.

    Parameters
    ----------
    K1, K2 : array_like, shape (n, n)
        Symmetric Gram matrices on the same n samples.
    centered : bool
        Centre both matrices first.

    Returns
    -------
    float
        In [0, 1] for PSD matrices (a similarity).

    Raises
    ------
    ValueError
        K1 or K2 not square / symmetric / finite, of different sizes, or
        zero (after centring, when ``centered``).

    References
    ----------
    Paper section 3.1.1; Cristianini et al. (2001); Kornblith et al. (2019).
    """
    from .backends.numpy_ref import frobenius_alignment
    from .kernels import centering_matrix

    K1 = _as_gram(K1, "K1")
    K2 = _as_gram(K2, "K2")
    if K1.shape != K2.shape:
        raise ValueError(f"K1 and K2 must be Gram matrices on the same samples; got shapes {K1.shape} and {K2.shape}.")
    scales = (np.linalg.norm(K1), np.linalg.norm(K2))
    if centered:
        H = centering_matrix(K1.shape[0])
        K1, K2 = H @ K1 @ H, H @ K2 @ H
    for K, scale, name in ((K1, scales[0], "K1"), (K2, scales[1], "K2")):
        # after centring, a constant matrix leaves only rounding error: treat it as zero
        if not np.linalg.norm(K) > 1e-12 * scale:
            raise ValueError(f"{name} is zero{' after centring' if centered else ''}: the alignment is undefined.")
    return frobenius_alignment(K1, K2)


def spectral_alignment_from_grams(K1, K2):
    """Kernel alignment of two Gram matrices computed through their spectra.

    Eigendecomposes K_1/n and K_2/n (:func:`mercer_eigenpairs`), forms
    C = (1/n) Phi_1^T Phi_2 (:func:`overlap_matrix`) and returns
    <eta_hat_1, (C o C) eta_hat_2> (:func:`spectral_alignment`).  It equals
    :func:`repalign_edu.kernel_alignment` (the Frobenius form) up to rounding;
    its purpose is to make the spectral reading computable.

    Parameters
    ----------
    K1, K2 : array_like, shape (n, n)
        Symmetric Gram matrices on the same n samples.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        K1 or K2 not square / symmetric / finite, or of different sizes.

    References
    ----------
    Paper section 3.1.2.
    """
    K1 = _as_gram(K1, "K1")
    K2 = _as_gram(K2, "K2")
    if K1.shape != K2.shape:
        raise ValueError(f"K1 and K2 must be Gram matrices on the same samples; got shapes {K1.shape} and {K2.shape}.")
    eta1, phi1 = mercer_eigenpairs(K1)
    eta2, phi2 = mercer_eigenpairs(K2)
    return spectral_alignment(eta1, eta2, overlap_matrix(phi1, phi2))


# --------------------------------------------------------------------------- task alignment
def kernel_target_alignment(K, y):
    """Kernel-target alignment A(K, y y^T) (Cristianini et al. 2001).

    ::

        A(K, y y^T) = <K, y y^T>_F / (||K||_F ||y y^T||_F) = y^T K y / (||K||_F ||y||^2).

    For a target matrix Y of shape (n, t) (e.g. one-hot labels) the target
    kernel is Y Y^T: A = Tr(Y^T K Y) / (||K||_F ||Y Y^T||_F).

    Parameters
    ----------
    K : array_like, shape (n, n)
        Symmetric Gram matrix.
    y : array_like, shape (n,) or (n, t)
        Targets (labels in {-1, +1}, regression values, or one-hot rows).

    Returns
    -------
    float
        In [0, 1] for a PSD K (a similarity).

    Raises
    ------
    ValueError
        Bad K; y with a different number of rows or non-finite; y = 0 or K = 0.

    References
    ----------
    Paper section 3.1.2 (A(K, h o h)) and appendix 6.1, Remark 7;
    Cristianini, Shawe-Taylor, Elisseeff & Kandola (2001).
    """
    K = _as_gram(K, "K")
    Y = _as_targets(y, K.shape[0])
    T = Y @ Y.T
    nk, nt = np.linalg.norm(K), np.linalg.norm(T)
    if not nk > 0:
        raise ValueError("K is all zeros: the alignment is undefined.")
    if not nt > 0:
        raise ValueError("y is all zeros: the alignment is undefined.")
    return float(np.sum(Y * (K @ Y)) / (nk * nt))


def target_weights(eta, phi, y):
    """The paper's weights w of a target h = sum_i w_i f_i = sum_i w_i sqrt(eta_i) phi_i.

    On the sample, the L2(mu_n) coefficient of y on phi_i is
    v_i = <y, phi_i> = (1/n) phi_i^T y, and w_i = v_i / sqrt(eta_i).  Then
    eta_i w_i^2 = v_i^2 is the part of ||y||^2_{L2(mu_n)} carried by
    eigenfunction i (used by :func:`cumulative_power`) and
    :func:`spectral_target_alignment` reproduces
    :func:`kernel_target_alignment` when all n eigenpairs are used.

    Parameters
    ----------
    eta : array_like, shape (k,)
        Eigenvalues (:func:`mercer_eigenpairs`); all must be > 0.
    phi : array_like, shape (n, k)
        Eigenfunctions at the samples.
    y : array_like, shape (n,)
        Scalar target at the same samples.

    Returns
    -------
    w : ndarray, shape (k,), float64

    Raises
    ------
    ValueError
        Shapes that do not match; non-finite input; an eigenvalue <= 0
        (w_i is undefined: the Gram matrix is singular; keep fewer
        components with ``mercer_eigenpairs(K, n_components=...)``).

    References
    ----------
    Paper section 3.1.2 (target h = sum w_i f_i) and appendix 6.1
    (h_mu = sum_i w_i sqrt(eta_i) phi_i; Canatar et al. 2021).
    """
    e = _as_vector(eta, "eta")
    P = np.asarray(as_representation(phi, "phi", min_samples=1), dtype=np.float64)
    if P.shape[1] != e.size:
        raise ValueError(f"phi must have one column per eigenvalue: {e.size} columns; got {P.shape[1]}.")
    yv = _as_vector(y, "y", n=P.shape[0])
    if np.any(e <= 0):
        i = int(np.argmax(e <= 0))
        raise ValueError(
            f"eta[{i}] = {e[i]:.3g} <= 0, so w_i = <y, phi_i> / sqrt(eta_i) is undefined (the Gram "
            "matrix is singular). Keep only the positive part with "
            "mercer_eigenpairs(K, n_components=...), or use a kernel with a positive spectrum."
        )
    v = P.T @ yv / P.shape[0]
    return v / np.sqrt(e)


def spectral_target_alignment(eta, w):
    """Kernel-target alignment from the spectrum: the paper's A(K, h o h).

    With K = sum_i eta_i phi_i (x) phi_i and h = sum_i w_i sqrt(eta_i) phi_i::

        A(K, h (x) h) = sum_i eta_i^2 w_i^2 / ( sqrt(sum_i eta_i^2) * sum_i eta_i w_i^2 ).

    **Erratum (extent of the radical):** the paper's typesetting puts both
    sums of the denominator under the square root; only sum eta_i^2 belongs
    there, because Tr(L_{h(x)h}^2)^{1/2} = ||h||^2_{L2} = sum eta_i w_i^2.

    Parameters
    ----------
    eta : array_like, shape (k,)
        Eigenvalues of the integral operator.
    w : array_like, shape (k,)
        Target weights (:func:`target_weights`).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Different lengths, non-finite values, an all-zero spectrum or target.

    References
    ----------
    Paper section 3.1.2.
    """
    e = _as_vector(eta, "eta")
    wv = _as_vector(w, "w", n=e.size)
    num = float(np.sum(e**2 * wv**2))
    s2 = float(np.sqrt(np.sum(e**2)))
    energy = float(np.sum(e * wv**2))
    if not s2 > 0:
        raise ValueError("eta is all zeros: the alignment is undefined.")
    if energy == 0:
        raise ValueError("w: sum eta_i w_i^2 is 0 (the target is 0): the alignment is undefined.")
    return num / (s2 * energy)


def cumulative_power(eta, w):
    """Cumulative power distribution C(k) of a target (Canatar et al. 2021).

    With the eigenvalues sorted in decreasing order::

        C(k) = sum_{i <= k} eta_i w_i^2 / sum_i eta_i w_i^2,   k = 1..len(eta),

    the fraction of the target's variance ||h||^2 explained by the top k
    eigenfunctions of the kernel.  C is non-decreasing and its last value is
    C(inf) = 1 (over a complete system).  The faster C rises to 1, the better
    the kernel is aligned with the task.  (The paper writes C(n); here the
    argument is called k to avoid a clash with the sample size.)

    Parameters
    ----------
    eta : array_like, shape (m,)
        Eigenvalues (sorted internally, decreasing; ties keep their order).
    w : array_like, shape (m,)
        Target weights, same order as eta (:func:`target_weights`).

    Returns
    -------
    C : ndarray, shape (m,), float64
        C[k - 1] = C(k); C[-1] = 1.

    Raises
    ------
    ValueError
        Different lengths, non-finite values, or a zero target
        (sum eta_i w_i^2 = 0).

    References
    ----------
    Paper appendix 6.1; Canatar, Bordelon & Pehlevan (2021), Nature
    Communications 12, "Spectral bias and task-model alignment ...".
    """
    e = _as_vector(eta, "eta")
    wv = _as_vector(w, "w", n=e.size)
    order = np.argsort(-e, kind="stable")
    power = (e * wv**2)[order]
    total = float(power.sum())
    if not total > 0:
        raise ValueError("w: sum eta_i w_i^2 must be > 0, but the target is zero (or eta is not >= 0).")
    C = np.cumsum(power) / total
    C[-1] = 1.0
    return C


def _ridge_eigen(K):
    K = _as_gram(K, "K")
    n = K.shape[0]
    s, U = np.linalg.eigh(0.5 * (K + K.T) / n)
    return K, n, s, U


def kare(K, y, lam):
    """Kernel alignment risk estimator (KARE) of kernel ridge regression.

    Jacot, Simsek, Spadaro, Hongler & Gabriel (2020); paper appendix 6.1::

        rho(lam, y, K) = (1/n) <(K/n + lam I)^{-2}, y y^T> / ( (1/n) Tr (K/n + lam I)^{-1} )^2.

    It is computed from one eigendecomposition of K/n, so a whole grid of
    lambdas costs O(n^3 + n^2 t + n len(lam)).  For a target matrix Y (n, t)
    the inner product is with Y Y^T, i.e. the sum over the t outputs.  KARE
    is exactly the generalised cross-validation score :func:`gcv` of the same
    ridge problem (Craven & Wahba 1978; Golub, Heath & Wahba 1979).

    Parameters
    ----------
    K : array_like, shape (n, n)
        Symmetric PSD training Gram matrix.
    y : array_like, shape (n,) or (n, t)
        Training targets.
    lam : float or array_like of float, shape (m,)
        Ridge parameters lambda > 0, in the 1/n convention of
        :func:`krr_predict` (the penalty is n lam ||f||^2 on the sum of squares).

    Returns
    -------
    float or ndarray, shape (m,)
        The estimated test risk (a squared error, summed over outputs).

    Raises
    ------
    ValueError
        Bad K; y not matching K; lam <= 0 or non-finite (the message names
        ``lam``).

    References
    ----------
    Paper appendix 6.1; Jacot et al. (2020), NeurIPS 33.
    """
    K, n, s, U = _ridge_eigen(K)
    Y = _as_targets(y, n)
    lams, scalar = _as_lambdas(lam)
    proj2 = np.sum((U.T @ Y) ** 2, axis=1)                      # (n,) energy of y on each eigvec
    d = 1.0 / (s[None, :] + lams[:, None])                      # (m, n) eigenvalues of M
    num = (d**2 @ proj2) / n
    den = (d.sum(axis=1) / n) ** 2
    out = num / den
    return float(out[0]) if scalar else out


def gcv(K, y, lam):
    """Generalised cross-validation score of kernel ridge regression.

    With the hat matrix A_lam = K (K + n lam I)^{-1} (fitted values A_lam y)::

        GCV(lam) = (1/n) ||(I - A_lam) y||^2 / ( (1/n) Tr(I - A_lam) )^2.

    Computed directly with a linear solve per lambda (no eigendecomposition),
    so it is an independent route to the same number as :func:`kare`: since
    I - A_lam = lam (K/n + lam I)^{-1}, the factors lam^2 cancel and
    GCV = KARE exactly.

    Parameters
    ----------
    K : array_like, shape (n, n)
        Symmetric PSD training Gram matrix.
    y : array_like, shape (n,) or (n, t)
    lam : float or array_like of float
        Ridge parameters lambda > 0 (1/n convention, as :func:`kare`).

    Returns
    -------
    float or ndarray, shape (m,)

    Raises
    ------
    ValueError
        As :func:`kare`.

    References
    ----------
    Craven & Wahba (1978); Golub, Heath & Wahba (1979), Technometrics 21;
    paper appendix 6.1 (the equivalence is stated there).
    """
    K = _as_gram(K, "K")
    n = K.shape[0]
    Y = _as_targets(y, n)
    lams, scalar = _as_lambdas(lam)
    out = np.empty(lams.size)
    I = np.eye(n)
    for k, lm in enumerate(lams):
        R = I - np.linalg.solve(K + n * lm * I, K).T        # I - A_lam (A symmetric)
        res = R @ Y
        out[k] = (np.sum(res**2) / n) / (np.trace(R) / n) ** 2
    return float(out[0]) if scalar else out


def krr_predict(K_train, y_train, K_test_train, lam):
    """Kernel ridge regression: fit on the training Gram matrix, predict new points.

    Minimises (1/n) sum_i (f(x_i) - y_i)^2 + lam ||f||_H^2 over the RKHS; the
    representer theorem gives f(x) = sum_i alpha_i k(x, x_i) with::

        alpha = (K + n lam I)^{-1} y.

    (scikit-learn's ``KernelRidge(alpha=a)`` is the same with a = n lam.)

    Parameters
    ----------
    K_train : array_like, shape (n, n)
        Symmetric Gram matrix of the training points.
    y_train : array_like, shape (n,) or (n, t)
    K_test_train : array_like, shape (m, n)
        k(x_test_a, x_train_b).
    lam : float
        Ridge parameter > 0.

    Returns
    -------
    ndarray, shape (m,) or (m, t), float64
        Predictions (same trailing shape as y_train).

    Raises
    ------
    ValueError
        Shapes that do not match (the message names the argument), lam <= 0.

    References
    ----------
    Paper appendix 6.1 (the ridge estimator behind KARE); Schoelkopf &
    Smola (2002), section 4.
    """
    K = _as_gram(K_train, "K_train")
    n = K.shape[0]
    vec = np.ndim(y_train) == 1
    Y = _as_targets(y_train, n, "y_train")
    Kt = np.asarray(as_representation(K_test_train, "K_test_train", min_samples=1), dtype=np.float64)
    if Kt.shape[1] != n:
        raise ValueError(
            f"K_test_train must have one column per training point, n={n}; got shape {Kt.shape}."
        )
    lams, scalar = _as_lambdas(lam)
    if not scalar:
        raise ValueError(f"lam must be a single positive number here; got shape {np.shape(lam)}.")
    alpha = np.linalg.solve(K + n * lams[0] * np.eye(n), Y)
    pred = Kt @ alpha
    return pred[:, 0] if vec else pred


# --------------------------------------------------------------------------- concentration
def lemma1_bound(n, delta=0.05):
    """The concentration radius of the paper's Lemma 1: sqrt(32 log(2/delta) / n).

    Lemma 1 (main text) states Â - A <= epsilon with probability >= 1 - delta.
    The precise version, appendix Lemma 4, assumes bounded kernels
    |K_q| <= C_q (with C = max C_1 C_2 = 1 for the constant 32, e.g. RBF
    kernels), bounds |Â_{1,2} - A_{1,2}| <= epsilon for the unnormalised
    V-statistic Â_{1,2} = <K_1, K_2>_F / n^2 by McDiarmid's inequality and
    gives |Â - A| <= C(X) epsilon for the normalised alignment, where C(X)
    is a data-dependent factor.

    Parameters
    ----------
    n : int or array_like of int
        Sample size(s), >= 1.
    delta : float
        Failure probability, in (0, 1).

    Returns
    -------
    float or ndarray
        epsilon = sqrt(32 log(2 / delta) / n).

    Raises
    ------
    ValueError
        n < 1 or not finite; delta outside (0, 1).

    References
    ----------
    Paper section 3.1.3 (Lemma 1) and appendix 6.3 (Lemma 4);
    Cristianini, Kandola, Elisseeff & Shawe-Taylor (2006).
    """
    delta = check_scalar(delta, "delta", Real, min_val=0.0, max_val=1.0,
                         include_boundaries="neither", fix="delta is a probability.")
    scalar = np.ndim(n) == 0
    arr = np.atleast_1d(np.asarray(n, dtype=np.float64))
    if not np.all(np.isfinite(arr)) or np.any(arr < 1):
        raise ValueError(f"n must be a sample size >= 1; got {n!r}.")
    eps = np.sqrt(32.0 * np.log(2.0 / delta) / arr)
    return float(eps[0]) if scalar else eps


def ka_subsample_alignments(K1, K2, sizes, n_draws=200, seed=0):
    """Empirical KA on random sub-samples of a finite population.

    Take the N points behind the Gram matrices as the population mu (uniform
    on N points).  For each sample size n and each draw, sample n indices
    i.i.d. from mu (with replacement, as in Lemma 4) and compute::

        Â_{1,2} = <K_1[S, S], K_2[S, S]>_F / n^2        (the V-statistic of Lemma 4)
        Â       = Â_{1,2} / sqrt(Â_{1,1} Â_{2,2})        (empirical KA)

    Compare with the population values A_{1,2} = <K_1, K_2>_F / N^2 and
    A = A(K_1, K_2) of the whole population
    (:func:`repalign_edu.kernel_alignment` on all N points).

    Parameters
    ----------
    K1, K2 : array_like, shape (N, N)
        Symmetric population Gram matrices.
    sizes : sequence of int
        Sample sizes n, each >= 1.
    n_draws : int
        Number of independent samples per size, >= 1.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    dict
        ``"A_hat"``: ndarray (len(sizes), n_draws) of Â;
        ``"A12_hat"``: ndarray (len(sizes), n_draws) of Â_{1,2};
        ``"A"``: float, the population alignment;
        ``"A12"``: float, the population <K_1, K_2>_F / N^2;
        ``"sizes"``: ndarray of int.

    Raises
    ------
    ValueError
        Bad Gram matrices or different N; a size < 1; n_draws < 1.

    References
    ----------
    Paper section 3.1.3 (Lemma 1) and appendix 6.3 (Lemma 4, proof by
    McDiarmid's inequality).
    """
    K1 = _as_gram(K1, "K1")
    K2 = _as_gram(K2, "K2")
    if K1.shape != K2.shape:
        raise ValueError(f"K1 and K2 must be on the same population; got shapes {K1.shape} and {K2.shape}.")
    try:
        sizes = [int(_check_positive_int(s, "sizes")) for s in np.atleast_1d(sizes).tolist()]
    except TypeError:
        raise ValueError(f"sizes must be a sequence of integers >= 1; got {sizes!r}.") from None
    n_draws = _check_positive_int(n_draws, "n_draws")
    N = K1.shape[0]
    rng = np.random.default_rng(seed)
    A_hat = np.empty((len(sizes), n_draws))
    A12_hat = np.empty((len(sizes), n_draws))
    for a, n in enumerate(sizes):
        for b in range(n_draws):
            idx = rng.integers(0, N, size=n)
            k1, k2 = K1[np.ix_(idx, idx)], K2[np.ix_(idx, idx)]
            s12, s11, s22 = np.sum(k1 * k2), np.sum(k1 * k1), np.sum(k2 * k2)
            A12_hat[a, b] = s12 / n**2
            A_hat[a, b] = s12 / np.sqrt(s11 * s22)
    s12, s11, s22 = np.sum(K1 * K2), np.sum(K1 * K1), np.sum(K2 * K2)
    return {"A_hat": A_hat, "A12_hat": A12_hat, "A": float(s12 / np.sqrt(s11 * s22)),
            "A12": float(s12 / N**2), "sizes": np.asarray(sizes, dtype=np.int64)}
