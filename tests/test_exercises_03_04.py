"""Exercise checkers of lessons 03 and 04: references pass, stubs and typical mistakes fail, nothing raises."""
import numpy as np
import pytest

from repalign_edu.exercises import REGISTRY, check
from repalign_edu.exercises import lesson03 as ex3
from repalign_edu.exercises import lesson04 as ex4

ALL = [ex3.eigenpairs, ex3.spectral_ka, ex3.kare, ex4.linear_cka, ex4.invariances, ex4.saturation]


def _stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.id)
def test_reference_passes_stub_and_garbage_fail(exercise, capsys):
    assert exercise.check(exercise.reference, quiet=True)
    assert exercise.id in REGISTRY and check(exercise.id, exercise.reference, quiet=True)
    for wrong in (_stub, None, "text", 3.0, {"a": 1}):
        if wrong == exercise.reference:
            continue
        assert not exercise.check(wrong, quiet=True)          # never raises
    assert not exercise.check(_stub)
    out = capsys.readouterr().out
    assert f"FAIL [{exercise.id}]" in out and "Hint" in out


def test_eigenpairs_typical_mistakes(capsys):
    def eig_of_K(K):                       # forgot the 1/n
        n = K.shape[0]
        e, U = np.linalg.eigh(K)
        return e[::-1], np.sqrt(n) * U[:, ::-1]

    def increasing(K):                     # forgot to sort
        n = K.shape[0]
        e, U = np.linalg.eigh(K / n)
        return e, np.sqrt(n) * U

    def unit_vectors(K):                   # orthonormal in R^n instead of L2(mu_n)
        n = K.shape[0]
        e, U = np.linalg.eigh(K / n)
        return e[::-1], U[:, ::-1]

    for fn, words in ((eig_of_K, "divide by n"), (increasing, "decreasing order"), (unit_vectors, "sqrt(n)")):
        assert not ex3.eigenpairs.check(fn)
        assert words in capsys.readouterr().out


def test_spectral_ka_missing_square(capsys):
    def no_square(eta1, eta2, C):
        return (eta1 / np.linalg.norm(eta1)) @ C @ (eta2 / np.linalg.norm(eta2))

    assert not ex3.spectral_ka.check(no_square)
    assert "erratum" in capsys.readouterr().out


def test_kare_wrong_normalisation():
    def no_over_n(K, y, lam):
        n = K.shape[0]
        M = np.linalg.inv(K + lam * np.eye(n))
        return (y @ M @ M @ y / n) / (np.trace(M) / n) ** 2

    assert not ex3.kare.check(no_over_n, quiet=True)


def test_linear_cka_uncentred(capsys):
    def uncentred(X, Y):
        return np.linalg.norm(Y.T @ X) ** 2 / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y))

    assert not ex4.linear_cka.check(uncentred)
    assert "centre the columns" in capsys.readouterr().out


def test_invariances_wrong_entry(capsys):
    answer = {k: dict(v) for k, v in ex4.invariances.reference.items()}
    answer["KA"]["translation"] = True
    assert not ex4.invariances.check(answer)
    assert "KA under translation" in capsys.readouterr().out
    answer["KA"]["translation"] = "no"
    assert not ex4.invariances.check(answer, quiet=True)


def test_saturation_accepts_one_only():
    assert ex4.saturation.check(1.0, quiet=True)
    assert not ex4.saturation.check(0.0, quiet=True)
    assert not ex4.saturation.check(0.5, quiet=True)
