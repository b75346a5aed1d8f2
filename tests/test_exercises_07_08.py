"""The checkers of lessons 07 and 08 accept the reference answers and reject wrong ones."""
import numpy as np
import pytest

from repalign_edu.exercises import REGISTRY, check
from repalign_edu.exercises import lesson07 as ex5
from repalign_edu.exercises import lesson08 as ex6

ALL = [ex5.misalignment_by_hand, ex5.bound_by_hand, ex5.reparametrisation_prediction,
       ex5.softmax_lipschitz, ex6.mutual_knn_by_hand, ex6.chance_level, ex6.pairwise_cka]


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.id)
def test_reference_passes_and_stub_fails(exercise, capsys):
    assert exercise.check(exercise.reference, quiet=True)

    def stub(*args):
        raise NotImplementedError

    assert not exercise.check(stub, quiet=True)
    assert not exercise.check(None, quiet=True)
    assert exercise.id in REGISTRY and check(exercise.id, exercise.reference, quiet=True)
    exercise.check(None)
    out = capsys.readouterr().out
    assert "FAIL" in out and "Hint" in out


def test_misalignment_rejects_inverse_and_wrong_forms():
    def with_inv(F1, F2):
        S11, S12 = F1.T @ F1 / len(F1), F1.T @ F2 / len(F1)
        return np.trace(F2.T @ F2 / len(F1)) - np.trace(S12.T @ np.linalg.inv(S11) @ S12)

    def no_mean(F1, F2):
        R = F2 - F1 @ np.linalg.lstsq(F1, F2, rcond=None)[0]
        return np.sum(R**2)

    def total(F1, F2):
        return np.mean(np.sum(F2**2, axis=1))

    for wrong in (with_inv, no_mean, total):
        assert not ex5.misalignment_by_hand.check(wrong, quiet=True)


def test_bound_rejects_missing_cross_term_and_missing_root():
    assert not ex5.bound_by_hand.check(lambda R, A, k: R + k**2 * A, quiet=True)
    assert not ex5.bound_by_hand.check(lambda R, A, k: (np.sqrt(R) + k * A) ** 2, quiet=True)
    assert ex5.bound_by_hand.check(lambda R, A, k: R + k**2 * A + 2 * k * np.sqrt(A * R), quiet=True)


def test_predictions():
    assert not ex5.reparametrisation_prediction.check(0.5, quiet=True)
    assert not ex5.softmax_lipschitz.check(1.0, quiet=True)
    assert ex5.softmax_lipschitz.check(0.5, quiet=True)
    assert ex6.chance_level.check(0.0186, quiet=True)
    assert not ex6.chance_level.check(0.1, quiet=True)


def test_mutual_knn_rejects_unnormalised_and_pairwise_rejects_asymmetric():
    assert not ex6.mutual_knn_by_hand.check(ex6._mknn_unnormalised, quiet=True)
    assert not ex6.pairwise_cka.check(lambda reps: np.triu(ex6._pairwise_ref(reps)), quiet=True)
    assert not ex6.pairwise_cka.check(lambda reps: np.ones((3, 3)), quiet=True)
