"""Headless tests of the lesson 07 and 08 widget functions."""
import matplotlib

matplotlib.use("Agg")

import pytest

from repalign_edu import stitching, widgets


def test_stitching_bound_holds_and_reports_the_chain():
    out = widgets.stitching_bound()
    assert set(out) == {"R2", "A2", "kappa2", "kappa_effective", "risk_stitched",
                        "minkowski_bound", "bound", "tightness"}
    assert out["risk_stitched"] <= out["minkowski_bound"] <= out["bound"]
    assert out["tightness"] >= 1 and out["kappa2"] == pytest.approx(1.0)
    assert out["bound"] == pytest.approx(stitching.theorem1_bound(out["R2"], out["A2"], out["kappa2"]))
    assert out["kappa_effective"] <= out["kappa2"]


def test_stitching_bound_is_tight_for_an_isometric_linear_head():
    out = widgets.stitching_bound(head="linear", anisotropy=1.0, label_noise=0.0, head_scale=2.0)
    assert out["R2"] < 1e-25
    assert out["tightness"] == pytest.approx(1.0, abs=1e-10)
    assert out["risk_stitched"] == pytest.approx(4.0 * out["A2"], rel=1e-10)


def test_stitching_bound_monotone_in_noise_and_plots():
    a = [widgets.stitching_bound(noise=s)["A2"] for s in (0.0, 0.3, 1.0)]
    assert a[0] < a[1] < a[2]
    assert widgets.stitching_bound(noise=0.5, plot=True)["bound"] > 0


@pytest.mark.parametrize("kw, word", [({"noise": -1}, "noise"), ({"head_scale": 0}, "head_scale"),
                                      ({"anisotropy": 0.5}, "anisotropy"), ({"head": "relu"}, "head"),
                                      ({"n": 5}, "n"), ({"seed": -1}, "seed"),
                                      ({"label_noise": float("nan")}, "label_noise")])
def test_stitching_bound_bad_input(kw, word):
    with pytest.raises(ValueError, match=word):
        widgets.stitching_bound(**kw)


def test_zoo_pair_alignment_small_networks(tmp_path, monkeypatch):
    monkeypatch.setenv("REPALIGN_EDU_CACHE", str(tmp_path))
    out = widgets.zoo_pair_alignment(width=8, view_1="left", view_2="right", seed_1=0, seed_2=1,
                                     plot=True)
    for key in ("accuracy_1", "accuracy_2", "cka", "mutual_knn", "accuracy_stitched"):
        assert 0 <= out[key] <= 1
    assert out["mutual_knn_chance"] == pytest.approx(10 / (540 - out["n_dropped"] - 1))
    assert 0 <= out["misalignment_relative"] <= 1
    # the same network against itself: perfect alignment, nothing lost by stitching
    same = widgets.zoo_pair_alignment(width=8, view_1="left", view_2="left", seed_1=0, seed_2=0)
    assert same["cka"] == pytest.approx(1.0) and same["mutual_knn"] == pytest.approx(1.0)
    assert same["misalignment_relative"] < 1e-20 and abs(same["excess_risk"]) < 1e-12
    assert same["accuracy_stitched"] == pytest.approx(same["accuracy_2"])


def test_zoo_pair_alignment_bad_input(tmp_path, monkeypatch):
    monkeypatch.setenv("REPALIGN_EDU_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match="view"):
        widgets.zoo_pair_alignment(width=8, view_1="top")
    with pytest.raises(ValueError, match="k"):
        widgets.zoo_pair_alignment(width=8, k=0)
