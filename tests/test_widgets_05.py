"""Headless tests of the lesson 05 widget function."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import repalign_edu as ra
from repalign_edu import data, widgets_inference


def test_permutation_null_reports_the_permutation_test():
    out = widgets_inference.permutation_null(width=16, n=120, n_permutations=99, seed=3)
    X, _ = data.load_digits()
    F1 = data.untrained_network(16, seed=4).representation(X[:120])
    F2 = data.untrained_network(16, seed=5).representation(X[:120])
    res = ra.permutation_test(F1, F2, n_permutations=99, seed=3)
    assert out["statistic"] == pytest.approx(ra.cka(F1, F2), rel=1e-12)
    np.testing.assert_array_equal(out["null"], res.null)
    assert out["pvalue"] == res.pvalue == 0.01 and out["threshold"] == res.threshold
    assert out["null_mean"] < out["threshold"] < out["statistic"]


def test_wider_untrained_networks_align_more_and_the_plot_draws():
    narrow = widgets_inference.permutation_null(width=8, n=150, n_permutations=20)
    wide = widgets_inference.permutation_null(width=128, n=150, n_permutations=20, plot=True)
    assert wide["statistic"] > narrow["statistic"] + 0.3
    assert wide["null_mean"] > narrow["null_mean"]


@pytest.mark.parametrize("kw", [{"n": 5}, {"n": 10_000}, {"n": 50.0}])
def test_permutation_null_bad_n(kw):
    with pytest.raises(ValueError, match="n must be"):
        widgets_inference.permutation_null(**kw)
