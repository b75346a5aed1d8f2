"""Headless tests of the lesson 01 and 02 widget functions."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np
import pytest

from repalign_edu import widgets

SIMILARITIES = ("KA (linear)", "CKA (linear)", "CKA (rbf, median)", "RSA (Spearman)",
                "RSA (Pearson)", "mutual kNN")
DISTANCES = ("D (distance alignment)", "Procrustes", "angular Procrustes", "shape metric, alpha=0")


def test_metric_response_rotation_changes_nothing():
    out = widgets.metric_response(angle=37.0, n=60)
    assert set(out["values"]) == set(SIMILARITIES + DISTANCES)
    for k in SIMILARITIES:
        assert out["values"][k] == pytest.approx(1.0, abs=1e-9), k
    for k in DISTANCES:
        assert out["values"][k] == pytest.approx(0.0, abs=1e-6), k
    assert out["X"].shape == out["Y"].shape == (60, 8) and out["labels"].shape == (60,)


def test_metric_response_scaling_moves_only_distance_alignment():
    out = widgets.metric_response(scale=2.0, n=60)
    # Y = 2X: d_2^2 = 4 d_1^2, so D = 9 mean(d_1^4) and D_relative = 9 exactly
    assert out["D_relative"] == pytest.approx(9.0, rel=1e-12)
    for k in SIMILARITIES:
        assert out["values"][k] == pytest.approx(1.0, abs=1e-9), k
    assert out["values"]["Procrustes"] == pytest.approx(0.0, abs=1e-6)


def test_metric_response_shift_and_stretch():
    shifted = widgets.metric_response(shift=2.0, n=60)["values"]
    assert shifted["KA (linear)"] < 0.99 and shifted["mutual kNN"] < 1.0
    assert shifted["CKA (linear)"] == pytest.approx(1.0, abs=1e-9)
    stretched = widgets.metric_response(stretch=3.0, n=60)["values"]
    assert stretched["CKA (linear)"] < 0.99 and stretched["Procrustes"] > 0.05
    assert stretched["shape metric, alpha=0"] == pytest.approx(0.0, abs=1e-6)


def test_metric_response_plot_runs():
    out = widgets.metric_response(noise=0.5, n=40, plot=True)
    plt.close("all")
    assert out["values"]["CKA (linear)"] < 1.0


def test_dependence_response_linear_case_has_closed_form_mi():
    for a in (0.0, 0.5, 0.9):
        out = widgets.dependence_response(a, 0.0, n=100)
        assert out["mi_true"] == pytest.approx(-0.5 * np.log(1 - a * a), abs=1e-8)
        assert out["corr"] == pytest.approx(a)


def test_dependence_response_nonlinear_is_uncorrelated_but_dependent():
    out = widgets.dependence_response(0.9, 1.0, n=300)
    assert out["corr"] == 0.0
    assert out["mi_true"] > 0.5               # strong dependence ...
    assert out["mi_gaussian"] < 0.05          # ... that the Gaussian formula misses
    indep = widgets.dependence_response(0.0, 1.0, n=300)
    assert out["hsic_rbf"] > 5 * indep["hsic_rbf"]


def test_dependence_response_plot_runs():
    out = widgets.dependence_response(0.5, 0.5, n=50, plot=True)
    plt.close("all")
    assert set(out) >= {"hsic_rbf", "hsic_linear", "mmd2_rbf", "mi_true", "mi_gaussian", "mi_knn"}


@pytest.mark.parametrize("call, match", [
    (lambda: widgets.metric_response(scale=0), "scale"),
    (lambda: widgets.metric_response(noise=-1), "noise"),
    (lambda: widgets.metric_response(angle=np.inf), "angle"),
    (lambda: widgets.metric_response(n=5), "n must"),
    (lambda: widgets.dependence_response(1.0, 0.0), "strength"),
    (lambda: widgets.dependence_response(0.5, 1.5), "nonlinearity"),
    (lambda: widgets.dependence_response(0.5, 0.0, n=10), "n must"),
])
def test_bad_input_raises_valueerror_naming_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
