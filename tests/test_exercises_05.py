"""The lesson 05 checkers accept the reference, reject the stub and typical mistakes."""
import numpy as np

import repalign_edu as ra
from repalign_edu.exercises import lesson05 as ex
from repalign_edu.exercises import unfinished


def test_references_pass_and_stubs_fail():
    for e in (ex.add_one_pvalue, ex.calibrated_score, ex.null_mean):
        assert e.check(e.reference, quiet=True)
        assert not e.check(unfinished, quiet=True)
        assert not e.check(None, quiet=True)


def test_typical_mistakes_fail():
    assert not ex.add_one_pvalue.check(lambda t, null: np.mean(np.asarray(null) >= t), quiet=True)
    assert not ex.add_one_pvalue.check(lambda t, null: (1 + np.sum(np.asarray(null) > t)) / (len(null) + 1),
                                       quiet=True)
    assert not ex.calibrated_score.check(lambda t, null, a, s: t - np.quantile(null, 0.95), quiet=True)
    assert not ex.null_mean.check(lambda a, b, n: a * b / n, quiet=True)


def test_references_agree_with_the_package():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    X[:, 0] += Y[:, 0]
    res = ra.permutation_test(X, Y, n_permutations=99, seed=1)
    assert ex.add_one_pvalue.reference(res.statistic, res.null) == res.pvalue
    assert ex.calibrated_score.reference(res.statistic, res.null) == res.calibrated
