"""Exercises of lesson 03: spectral alignment (paper section 3.1.2, appendix 6.1)."""
from __future__ import annotations

import numpy as np

from .. import spectral
from ..kernels import gram_matrix
from ._core import Exercise, close


def _test_gram(seed=3, n=30):
    X = np.random.default_rng(seed).normal(size=(n, 4))
    return gram_matrix(X, "rbf", sigma=2.0)


# --------------------------------------------------------------------------- eigenpairs
def _eigenpairs_ref(K):
    K = np.asarray(K, dtype=float)
    n = K.shape[0]
    eta, U = np.linalg.eigh(K / n)
    order = np.argsort(eta)[::-1]
    return eta[order], np.sqrt(n) * U[:, order]


def _check_eigenpairs(fn):
    K = _test_gram()
    n = K.shape[0]
    out = fn(K)
    if not isinstance(out, tuple) or len(out) != 2:
        return False, "return a pair (eta, phi)."
    eta, phi = (np.asarray(a, dtype=float) for a in out)
    ref_eta, _ = spectral.mercer_eigenpairs(K)
    if eta.shape != (n,) or phi.shape != (n, n):
        return False, f"eta should have shape ({n},) and phi ({n}, {n}); got {eta.shape} and {phi.shape}."
    if np.allclose(eta, n * ref_eta, rtol=1e-8):
        return False, "these are the eigenvalues of K, not of the integral operator K/n: divide by n."
    if np.allclose(np.sort(eta), np.sort(ref_eta), rtol=1e-8) and not np.allclose(eta, ref_eta, rtol=1e-8):
        return False, "the eigenvalues are right but not in decreasing order (eigh returns them increasing)."
    if not np.allclose(eta, ref_eta, rtol=1e-8, atol=1e-12):
        return False, "eta is not the spectrum of K/n."
    gram = phi.T @ phi / n
    if np.allclose(phi.T @ phi, np.eye(n), atol=1e-8):
        return False, ("phi is orthonormal in R^n, not in L2(mu_n): multiply the eigenvectors by sqrt(n) "
                       "so that (1/n) phi^T phi = I.")
    if not np.allclose(gram, np.eye(n), atol=1e-8):
        return False, "(1/n) phi^T phi is not the identity."
    if not np.allclose(phi @ np.diag(eta) @ phi.T, K, atol=1e-8):
        return False, "phi diag(eta) phi^T does not give back K: eigenvalues and eigenvectors are mismatched."
    return True, "eta is the spectrum of K/n and the phi_i are orthonormal in L2(mu_n)."


eigenpairs = Exercise(
    id="03.eigenpairs",
    prompt="Write my_eigenpairs(K) returning (eta, phi): eigenvalues of K/n (decreasing) and "
           "phi = sqrt(n) * eigenvectors, orthonormal in L2(mu_n).",
    checker=_check_eigenpairs,
    hint_text="np.linalg.eigh(K / n) returns increasing eigenvalues; reverse with [::-1] (columns too), "
              "then scale the eigenvectors by np.sqrt(n).",
    solution_text=(
        "def my_eigenpairs(K):\n    n = K.shape[0]\n    eta, U = np.linalg.eigh(K / n)\n"
        "    return eta[::-1], np.sqrt(n) * U[:, ::-1]"
    ),
    reference=_eigenpairs_ref,
)


# --------------------------------------------------------------------------- spectral KA
def _spectral_ka_ref(eta1, eta2, C):
    h1 = np.asarray(eta1, float) / np.linalg.norm(eta1)
    h2 = np.asarray(eta2, float) / np.linalg.norm(eta2)
    C = np.asarray(C, float)
    return float(h1 @ (C * C) @ h2)


def _check_spectral_ka(fn):
    rng = np.random.default_rng(5)
    eta1, eta2 = np.sort(rng.random(6))[::-1], np.sort(rng.random(6))[::-1]
    C, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    expected = spectral.spectral_alignment(eta1, eta2, C)
    try:
        value = float(fn(eta1, eta2, C))
    except (TypeError, ValueError):
        return False, "return a single number."
    no_square = float((eta1 / np.linalg.norm(eta1)) @ C @ (eta2 / np.linalg.norm(eta2)))
    if abs(value - no_square) < 1e-9 and abs(value - expected) > 1e-9:
        return False, ("you used C, not C o C: the overlaps must be squared (this is the paper's "
                       "erratum in section 3.1.2).")
    return close(value, expected, rtol=1e-9)


spectral_ka = Exercise(
    id="03.spectral_ka",
    prompt="Write my_spectral_ka(eta1, eta2, C) = <eta_hat_1, (C o C) eta_hat_2>.",
    checker=_check_spectral_ka,
    hint_text="Normalise each spectrum by its Euclidean norm; C * C is the Hadamard square; "
              "then eta_hat_1 @ (C * C) @ eta_hat_2.",
    solution_text=(
        "def my_spectral_ka(eta1, eta2, C):\n    h1 = eta1 / np.linalg.norm(eta1)\n"
        "    h2 = eta2 / np.linalg.norm(eta2)\n    return h1 @ (C * C) @ h2"
    ),
    reference=_spectral_ka_ref,
)


# --------------------------------------------------------------------------- KARE
def _kare_ref(K, y, lam):
    K = np.asarray(K, float)
    y = np.asarray(y, float)
    n = K.shape[0]
    M = np.linalg.inv(K / n + lam * np.eye(n))
    return float((y @ M @ M @ y / n) / (np.trace(M) / n) ** 2)


def _check_kare(fn):
    K = _test_gram(seed=8)
    y = np.sin(np.arange(K.shape[0]))
    for lam in (1e-3, 1e-1):
        ok, msg = close(fn(K, y, lam), spectral.kare(K, y, lam), rtol=1e-8)
        if not ok:
            return False, f"at lambda = {lam}: {msg} Check the 1/n factors: M = (K/n + lambda I)^-1."
    return True, "your KARE matches for two values of lambda."


kare = Exercise(
    id="03.kare",
    prompt="Write my_kare(K, y, lam) = (1/n) y^T M^2 y / ((1/n) Tr M)^2 with M = (K/n + lam I)^-1.",
    checker=_check_kare,
    hint_text="M = np.linalg.inv(K / n + lam * np.eye(n)); numerator y @ M @ M @ y / n; "
              "denominator (np.trace(M) / n) ** 2.",
    solution_text=(
        "def my_kare(K, y, lam):\n    n = K.shape[0]\n    M = np.linalg.inv(K / n + lam * np.eye(n))\n"
        "    return (y @ M @ M @ y / n) / (np.trace(M) / n) ** 2"
    ),
    reference=_kare_ref,
)
