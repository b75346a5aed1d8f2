"""The checkers of lesson 10 accept the reference answers and reject wrong ones."""
import numpy as np
import pytest

from repalign_edu.exercises import REGISTRY, check
from repalign_edu.exercises import lesson10 as ex
from repalign_edu.io import Representation, _pair_rows


@pytest.mark.parametrize("exercise", [ex.pair_by_id, ex.significant], ids=lambda e: e.id)
def test_reference_passes_and_stub_fails(exercise, capsys):
    assert exercise.check(exercise.reference, quiet=True)

    def stub(*args):
        raise NotImplementedError

    assert not exercise.check(stub, quiet=True)
    assert not exercise.check(None, quiet=True)
    assert exercise.id in REGISTRY and check(exercise.id, exercise.reference, quiet=True)
    exercise.check(None)
    assert "Hint" in capsys.readouterr().out


def test_pair_reference_agrees_with_the_package():
    rng = np.random.default_rng(0)
    ids_a = [f"p{k}" for k in rng.integers(0, 30, 40)]
    ids_b = [f"p{k}" for k in rng.integers(0, 30, 35)]
    a = Representation(np.zeros((40, 1)), "A", np.array(ids_a))
    b = Representation(np.zeros((35, 1)), "B", np.array(ids_b))
    rows_a, rows_b, pairing, _ = _pair_rows(a, b, "id")
    ra, rb = ex.pair_by_id.reference(ids_a, ids_b)
    np.testing.assert_array_equal(ra, rows_a)
    np.testing.assert_array_equal(rb, rows_b)


def test_pair_rejects_keeping_duplicates_and_wrong_order():
    def keep_dups(ids_a, ids_b):
        pairs = [(i, j) for i, a in enumerate(ids_a) for j, b in enumerate(ids_b) if a == b]
        return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])

    def reversed_order(ids_a, ids_b):
        ra, rb = ex.pair_by_id.reference(ids_a, ids_b)
        return ra[::-1], rb[::-1]

    assert not ex.pair_by_id.check(keep_dups, quiet=True)
    assert not ex.pair_by_id.check(reversed_order, quiet=True)


def test_significant_rejects_common_mistakes():
    assert not ex.significant.check(lambda r: list(r["measures"]), quiet=True)
    assert not ex.significant.check(
        lambda r: [k for k, m in r["measures"].items() if m["calibrated"]], quiet=True)
