"""The exercise checkers of lessons 01 and 02 accept the references and reject wrong answers."""
import numpy as np
import pytest

from repalign_edu.exercises import check, lesson01, lesson02

ALL = [lesson01.squared_distances, lesson01.da_from_ka, lesson01.procrustes,
       lesson01.translation_invariance, lesson02.hsic_biased, lesson02.gaussian_mi,
       lesson02.w2_true, lesson02.null_rejection_rate]


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.id)
def test_reference_passes_and_stub_fails(ex, capsys):
    assert ex.check(ex.reference, quiet=True)
    assert not ex.check(stub if callable(ex.reference) else None, quiet=True)
    assert check(ex.id, ex.reference, quiet=True)
    ex.check(stub)
    assert "FAIL" in capsys.readouterr().out


def test_wrong_answers_get_targeted_hints(capsys):
    # distances instead of squared distances
    lesson01.squared_distances.check(lambda X: np.sqrt(lesson01._sqdist_ref(X)))
    assert "squares" in capsys.readouterr().out
    # the paper's norm-vs-squared-norm slip
    def da_norm(X, Y):
        K1, K2 = X @ X.T, Y @ Y.T
        A = np.sum(K1 * K2) / np.sqrt(np.sum(K1**2) * np.sum(K2**2))
        return 8 * np.sqrt(np.mean(K1**2)) * (1 - A)
    assert not lesson01.da_from_ka.check(da_norm, quiet=True)
    # uncentred Procrustes
    def no_center(X, Y):
        X, Y = X / np.linalg.norm(X), Y / np.linalg.norm(Y)
        return np.sqrt(max(2 - 2 * np.linalg.svd(X.T @ Y, compute_uv=False).sum(), 0))
    lesson01.procrustes.check(no_center)
    assert "centre" in capsys.readouterr().out
    # the paper's W2 formula
    lesson02.w2_true.check(lambda r: 2 * np.sum(1 - np.sqrt(1 - np.asarray(r) ** 2)))
    assert "coupling" in capsys.readouterr().out
    # HSIC without centring
    lesson02.hsic_biased.check(lambda K, L: np.trace(K @ L) / len(K) ** 2)
    assert "centring" in capsys.readouterr().out
    assert not lesson02.gaussian_mi.check(lambda r: -0.5 * np.sum(np.log(1 - np.asarray(r))), quiet=True)


def test_translation_set_answers():
    assert not lesson01.translation_invariance.check({"KA (linear)"}, quiet=True)
    assert not lesson01.translation_invariance.check({"no such measure"}, quiet=True)
    assert not lesson01.translation_invariance.check(3, quiet=True)
    ok = set(lesson01.TRANSLATION_INVARIANT)
    assert lesson01.translation_invariance.check(list(ok), quiet=True)


def test_translation_answer_agrees_with_invariance_table():
    from repalign_edu import metrics
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    Y = np.tanh(X) + 0.2 * rng.normal(size=(40, 4))
    t = metrics.invariance_table(X, Y)
    measured = {m for m in t.measures if t.invariant[m, "translation"]}
    assert measured == set(lesson01.TRANSLATION_INVARIANT)


def test_numeric_answers():
    assert lesson02.null_rejection_rate.check(0.05, quiet=True)
    assert not lesson02.null_rejection_rate.check(0.5, quiet=True)
