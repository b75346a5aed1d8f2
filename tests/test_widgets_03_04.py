"""Headless tests of the widget functions of lessons 03 and 04 (repalign_edu.widgets)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import repalign_edu as ra  # noqa: E402
from repalign_edu import data, widgets  # noqa: E402


# --------------------------------------------------------------------------- lesson 03
def test_spectral_bandwidth_identities():
    r = widgets.spectral_bandwidth(1.0, n=120, n_eigs=15, seed=1)
    assert set(r) == {"sigma", "eta_1", "eta_2", "ka", "ka_spectral", "kta", "effective_dim"}
    assert r["eta_1"].shape == r["eta_2"].shape == (15,)
    assert np.all(np.diff(r["eta_1"]) <= 0) and np.all(np.diff(r["eta_2"]) <= 0)
    assert abs(r["ka"] - r["ka_spectral"]) < 1e-10                      # spectral form = Frobenius form
    assert 0 < r["kta"] < 1
    # the same number straight from the public API, with the widget's data and bandwidths
    X, _ = data.load_digits()
    idx = np.sort(np.random.default_rng(1).choice(len(X), size=120, replace=False))
    X1, X2 = data.two_views(X[idx])
    assert r["sigma"][0] == pytest.approx(ra.median_heuristic(X1), rel=1e-14)
    assert r["ka"] == pytest.approx(ra.kernel_alignment(X1, X2, "rbf", backend="numpy"), abs=1e-14)


def test_spectral_bandwidth_limits():
    n = 100
    narrow = widgets.spectral_bandwidth(0.05, n=n, n_eigs=5)
    wide = widgets.spectral_bandwidth(30.0, n=n, n_eigs=5)
    # K -> I: flat spectrum eta_i -> 1/n, d_eff -> n; K -> 11^T: one eigenvalue 1, d_eff -> 1
    assert narrow["effective_dim"][0] > 0.8 * n
    np.testing.assert_allclose(narrow["eta_1"], 1 / n, rtol=0.2)
    assert wide["effective_dim"][0] < 1.1 and wide["eta_1"][0] > 0.99
    assert narrow["ka"] > 0.99 and wide["ka"] > 0.99                   # uncentred KA -> 1 at both extremes


def test_spectral_bandwidth_plot():
    r = widgets.spectral_bandwidth(1.0, n=40, n_eigs=5, plot=True)
    assert len(plt.gcf().axes) == 2
    plt.close("all")
    assert abs(r["ka"] - r["ka_spectral"]) < 1e-10


@pytest.mark.parametrize("kwargs, match", [
    ({"scale": 0.0}, "scale"), ({"scale": -1.0}, "scale"), ({"scale": np.inf}, "scale"),
    ({"scale": 1.0, "n": 5}, "n must be"), ({"scale": 1.0, "n": 40, "n_eigs": 41}, "n_eigs"),
    ({"scale": 1.0, "n": 40, "seed": -1}, "seed"),
])
def test_spectral_bandwidth_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.spectral_bandwidth(**kwargs)


# --------------------------------------------------------------------------- lesson 04
def test_cka_bandwidth_saturation_and_median():
    r = widgets.cka_bandwidth(1.0, n=80, seed=0, n_grid=3)
    # sigma = 1 on raw pixel units: both Gram matrices are the identity, CKA = 1 for any pair
    assert r["cka_related"] == pytest.approx(1.0, abs=1e-9)
    assert r["cka_unrelated"] == pytest.approx(1.0, abs=1e-9)
    assert r["cka_related_median"] > 2 * r["cka_unrelated_median"]
    assert min(r["median_sigma"]) > 20
    np.testing.assert_allclose(r["grid"], [0.1, 10.0, 1000.0], rtol=1e-12)
    assert r["grid_related"][0] == pytest.approx(1.0, abs=1e-9)
    assert r["grid_unrelated"][0] == pytest.approx(1.0, abs=1e-9)
    assert r["grid_unrelated"][2] < 0.3                                  # large sigma: close to linear CKA
    # the same number from the public API
    X, _ = data.load_digits()
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(X), size=80, replace=False))
    L, R = data.two_views(16.0 * X[idx])
    assert r["cka_related_median"] == pytest.approx(ra.cka(L, R, "rbf", backend="numpy"), abs=1e-14)
    assert r["grid_related"][1] == pytest.approx(ra.cka(L, R, "rbf", sigma=10.0, backend="numpy"), abs=1e-14)
    assert r["cka_related_linear"] == pytest.approx(ra.cka(L, R, backend="numpy"), abs=1e-14)
    assert abs(r["grid_unrelated"][2] - r["cka_unrelated_linear"]) < 0.02       # sigma = 1000 ~ linear


def test_cka_bandwidth_plot():
    r = widgets.cka_bandwidth(30.0, n=40, n_grid=2, plot=True)
    assert len(plt.gcf().axes) == 1
    plt.close("all")
    assert r["cka_related"] < 1


@pytest.mark.parametrize("kwargs, match", [
    ({"sigma": 0.0}, "sigma"), ({"sigma": np.nan}, "sigma"), ({"sigma": 1.0, "n": 5}, "n must be"),
    ({"sigma": 1.0, "n": 40, "n_grid": 1}, "n_grid"), ({"sigma": 1.0, "n": 40, "seed": True}, "seed"),
])
def test_cka_bandwidth_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.cka_bandwidth(**kwargs)
