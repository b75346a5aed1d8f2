"""Exercises of lesson 03: spectral alignment (paper section 3.1.2, appendix 6.1)."""
from __future__ import annotations

import numpy as np

from .. import spectral
from ..kernels import gram_matrix
from ._core import Exercise, call_student, compare_function, same


def _test_gram(seed=3, n=30):
    X = np.random.default_rng(seed).normal(size=(n, 4))
    return gram_matrix(X, "rbf", sigma=2.0)


# --------------------------------------------------------------------------- eigenpairs
def _my_eigenpairs(K):
    n = K.shape[0]
    eta, U = np.linalg.eigh(K / n)              # increasing eigenvalues
    return eta[::-1], np.sqrt(n) * U[:, ::-1]   # decreasing, orthonormal in L2(mu_n)


def _eig_of_K(K):
    eta, U = np.linalg.eigh(K)
    return eta[::-1], np.sqrt(len(K)) * U[:, ::-1]


def _eig_increasing(K):
    n = K.shape[0]
    eta, U = np.linalg.eigh(K / n)
    return eta, np.sqrt(n) * U


def _eig_unit_vectors(K):
    eta, U = np.linalg.eigh(K / K.shape[0])
    return eta[::-1], U[:, ::-1]


def _check_eigenpairs(fn):
    K = _test_gram()
    n = K.shape[0]
    out = call_student(fn, K.copy())
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return False, "return a pair (eta, phi)."
    try:
        eta, phi = (np.asarray(a, dtype=float) for a in out)
    except (TypeError, ValueError):
        return False, "eta and phi must be arrays of numbers."
    ref_eta, _ = spectral.mercer_eigenpairs(K)
    if eta.shape != (n,) or phi.shape != (n, n):
        return False, f"eta should have shape ({n},) and phi ({n}, {n}); got {eta.shape} and {phi.shape}."
    if np.allclose(eta, n * ref_eta, rtol=1e-8):
        return False, "these are the eigenvalues of K, not of the integral operator K/n: divide by n."
    if np.allclose(np.sort(eta), np.sort(ref_eta), rtol=1e-8) and not np.allclose(eta, ref_eta, rtol=1e-8):
        return False, "the eigenvalues are right but not in decreasing order (eigh returns them increasing)."
    if not same(eta, ref_eta, rtol=1e-8, atol=1e-12)[0]:
        return False, "eta is not the spectrum of K/n."
    # eigenvectors are defined up to sign (and rotation within repeated eigenvalues): test properties only
    if np.allclose(phi.T @ phi, np.eye(n), atol=1e-8):
        return False, ("phi is orthonormal in R^n, not in L2(mu_n): multiply the eigenvectors by sqrt(n) "
                       "so that (1/n) phi^T phi = I.")
    if not np.allclose(phi.T @ phi / n, np.eye(n), atol=1e-8):
        return False, "(1/n) phi^T phi is not the identity."
    if not np.allclose(phi @ np.diag(eta) @ phi.T / n, K / n, atol=1e-8):
        return False, ("(1/n) phi diag(eta) phi^T does not give back K/n: eigenvalues and eigenvectors "
                       "are mismatched.")
    return True, "eta is the spectrum of K/n and the phi_i are orthonormal in L2(mu_n)."


eigenpairs = Exercise(
    id="03.eigenpairs",
    prompt="Write my_eigenpairs(K) returning (eta, phi): eigenvalues of K/n (decreasing) and "
           "phi = sqrt(n) * eigenvectors, orthonormal in L2(mu_n).",
    checker=_check_eigenpairs,
    reference=_my_eigenpairs,
    answer_name="my_eigenpairs",
    hints=("The empirical integral operator is K/n, and L2(mu_n) has the inner product "
           "<f, g> = (1/n) sum_i f(x_i) g(x_i).",
           "np.linalg.eigh(K / n) returns increasing eigenvalues: reverse them with [::-1] (the columns "
           "of the eigenvector matrix too), then scale the eigenvectors by np.sqrt(n)."),
    mistakes=(_eig_of_K, _eig_increasing, _eig_unit_vectors),
)


# --------------------------------------------------------------------------- spectral KA
def _my_spectral_ka(eta1, eta2, C):
    h1 = eta1 / np.linalg.norm(eta1)
    h2 = eta2 / np.linalg.norm(eta2)
    return h1 @ (C * C) @ h2


def _spectral_ka_unsquared(eta1, eta2, C):
    return (eta1 / np.linalg.norm(eta1)) @ C @ (eta2 / np.linalg.norm(eta2))


def _spectral_ka_unnormalised(eta1, eta2, C):
    return eta1 @ (C * C) @ eta2


def _spectral_inputs():
    rng = np.random.default_rng(5)
    eta1, eta2 = np.sort(rng.random(6))[::-1], np.sort(rng.random(6))[::-1]
    C, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    return [(eta1, eta2, C), (eta1[:4] * 3.0, eta2[:4], C[:4, :4])]


def _check_spectral_ka(fn):
    return compare_function(fn, _my_spectral_ka, _spectral_inputs(), mistakes=[
        (_spectral_ka_unsquared, "you used C, not C o C: the overlaps must be squared (the paper's "
                                 "erratum in section 3.1.2; the unsquared sum is not even well defined, "
                                 "because it changes with the signs of the eigenvectors)."),
        (_spectral_ka_unnormalised, "normalise each spectrum by its Euclidean norm first (eta_hat = eta / ||eta||)."),
    ], rtol=1e-9, passed="your spectral KA matches spectral.spectral_alignment.")


spectral_ka = Exercise(
    id="03.spectral_ka",
    prompt="Write my_spectral_ka(eta1, eta2, C) = <eta_hat_1, (C o C) eta_hat_2>.",
    checker=_check_spectral_ka,
    reference=_my_spectral_ka,
    answer_name="my_spectral_ka",
    hints=("Two ingredients: normalised spectra and the entrywise (Hadamard) square of C.",
           "eta_hat = eta / np.linalg.norm(eta); C * C is the Hadamard square; then "
           "eta_hat_1 @ (C * C) @ eta_hat_2."),
    mistakes=(_spectral_ka_unsquared, _spectral_ka_unnormalised),
)


# --------------------------------------------------------------------------- KARE
def _my_kare(K, y, lam):
    n = K.shape[0]
    M = np.linalg.inv(K / n + lam * np.eye(n))
    return (y @ M @ M @ y / n) / (np.trace(M) / n) ** 2


def _kare_no_over_n(K, y, lam):
    n = K.shape[0]
    M = np.linalg.inv(K + lam * np.eye(n))
    return (y @ M @ M @ y / n) / (np.trace(M) / n) ** 2


def _kare_unsquared_denominator(K, y, lam):
    n = K.shape[0]
    M = np.linalg.inv(K / n + lam * np.eye(n))
    return (y @ M @ M @ y / n) / (np.trace(M) / n)


def _kare_single_M(K, y, lam):
    n = K.shape[0]
    M = np.linalg.inv(K / n + lam * np.eye(n))
    return (y @ M @ y / n) / (np.trace(M) / n) ** 2


def _check_kare(fn):
    K = _test_gram(seed=8)
    y = np.sin(np.arange(K.shape[0]))
    return compare_function(fn, _my_kare, [(K, y, 1e-3), (K, y, 1e-1)], mistakes=[
        (_kare_no_over_n, "check the 1/n factors: M = (K/n + lambda I)^-1."),
        (_kare_unsquared_denominator, "the denominator is ((1/n) Tr M) squared."),
        (_kare_single_M, "the numerator is (1/n) y^T M^2 y: M appears twice."),
    ], passed="your KARE matches spectral.kare for two values of lambda.")


kare = Exercise(
    id="03.kare",
    prompt="Write my_kare(K, y, lam) = (1/n) y^T M^2 y / ((1/n) Tr M)^2 with M = (K/n + lam I)^-1.",
    checker=_check_kare,
    reference=_my_kare,
    answer_name="my_kare",
    hints=("Compute M once, then the numerator and the denominator separately.",
           "M = np.linalg.inv(K / n + lam * np.eye(n)); numerator y @ M @ M @ y / n; "
           "denominator (np.trace(M) / n) ** 2."),
    mistakes=(_kare_no_over_n, _kare_unsquared_denominator, _kare_single_M),
)
