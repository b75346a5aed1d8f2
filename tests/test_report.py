"""repalign_edu.report (compare / layers / stitch) and plotting.alignment_matrix."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import repalign_edu as ra  # noqa: E402
from repalign_edu import plotting, report  # noqa: E402
from repalign_edu.stitching import theorem1_bound  # noqa: E402


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 6))
    Y = X @ rng.normal(size=(6, 5)) + 0.5 * rng.normal(size=(80, 5))
    return X, Y


def test_parse_measure():
    assert report.parse_measure("cka-rbf") == ("cka-rbf", "cka", {"kernel": "rbf"})
    assert report.parse_measure("mutual-knn:k=20") == ("mutual-knn:k=20", "mutual_knn", {"k": 20})
    assert report.parse_measure("kernel-alignment:centered=true")[2] == {"centered": True}
    assert report.parse_measure("cka:kernel=rbf:sigma=2.5")[2] == {"kernel": "rbf", "sigma": 2.5}
    with pytest.raises(ValueError, match="unknown measure 'nope'.*cka-rbf"):
        report.parse_measure("nope")
    with pytest.raises(ValueError, match="takes no option 'q'"):
        report.parse_measure("cka:q=1")
    with pytest.raises(ValueError, match="key=value"):
        report.parse_measure("cka:rbf")


def test_compare_values_and_objects(pair):
    X, Y = pair
    res = report.compare(X, Y, measures=["cka", "ka", "procrustes"])
    assert res["cka"].value == pytest.approx(ra.cka(X, Y), rel=1e-12)
    assert res["ka"].value == pytest.approx(ra.kernel_alignment(X, Y), rel=1e-12)
    assert res["procrustes"].kind == "distance"
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["measures"]["ka"]["value"] == res["ka"].value and d["n"] == 80
    assert "cka" in str(res) and f"{res['cka'].value:.4g}" in str(res)
    assert f"{res['cka'].value:.4g}" in res._repr_html_()
    with pytest.raises(ValueError, match="measures is empty"):
        report.compare(X, Y, measures=[])
    with pytest.raises(ValueError, match="permutations"):
        report.compare(X, Y, measures="cka", permutations=-1)
    with pytest.raises(ValueError, match="ci must be"):
        report.compare(X, Y, measures="cka", ci=1.0)


def test_layers_matrix_and_best(pair):
    X, Y = pair
    la = {"a": X, "b": X[:, :2], "c": np.sin(X), "d": X ** 3}
    lb = {"u": Y, "v": Y[:, :1]}
    res = report.layers(la, lb, measure="cka")
    want = np.array([[ra.cka(x, y) for y in lb.values()] for x in la.values()])
    np.testing.assert_allclose(res.matrix, want, rtol=1e-12)
    assert [b for _, b, _ in res.best_for_A] == [["u", "v"][j] for j in want.argmax(1)]
    assert [b for _, b, _ in res.best_for_B] == [list(la)[i] for i in want.argmax(0)]
    dist = report.layers(la, lb, measure="procrustes")
    assert [b for _, b, _ in dist.best_for_A] == [["u", "v"][j] for j in dist.matrix.argmin(1)]
    ax = res.figure().axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["u", "v"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c", "d"]


def test_stitch_theorem1_and_exact_linear_case(pair):
    X, Y = pair
    y = np.digitize(X[:, 0], [-0.5, 0.5])                 # 3 classes
    res = report.stitch(X, Y, y, seed=1)
    assert res.risk_stitched <= res.bound + 1e-12         # Theorem 1 on held-out rows
    assert res.bound == pytest.approx(theorem1_bound(res.risk_B, res.misalignment, res.kappa))
    assert res.n_test == 24 and res.task == "classification" and res.classes == ("0", "1", "2")
    # B an invertible affine map of A: A~_2 = 0 and stitching loses nothing
    M = np.random.default_rng(0).normal(size=(6, 6)) + 3 * np.eye(6)
    exact = report.stitch(X, X @ M + 1.0, y, seed=1)
    assert exact.misalignment < 1e-20 and exact.unexplained < 1e-20
    assert exact.risk_stitched == pytest.approx(exact.risk_B, rel=1e-9, abs=1e-12)
    assert exact.accuracy_stitched == exact.accuracy_B
    with pytest.raises(ValueError, match="test_fraction"):
        report.stitch(X, Y, y, test_fraction=0.0)
    with pytest.raises(ValueError, match="80 labels"):
        report.stitch(X[:50], Y[:50], y)


def test_stitch_regression_targets_and_text_labels(pair):
    X, Y = pair
    t = X[:, 0] + 0.1 * X[:, 1] ** 2                       # real-valued target: regression
    res = report.stitch(X, Y, t, seed=0)
    assert res.task == "regression" and res.accuracy_B is None and res.classes is None
    assert res.risk_stitched <= res.bound + 1e-12
    words = np.where(X[:, 0] > 0, "pos", "neg")              # text labels become classes
    res2 = report.stitch(X, Y, words, seed=0)
    assert res2.classes == ("neg", "pos") and 0.5 < res2.accuracy_B <= 1.0
    d = res2.to_dict()
    assert d["classes"] == ["neg", "pos"] and d["task"] == "classification"
    assert "Theorem 1" in str(res2) and "Theorem 1 bound" in res2._repr_html_(with_figure=False)


def test_alignment_matrix_rectangular_labels_and_validation():
    M = np.arange(24).reshape(4, 6) / 24
    fig, ax = plt.subplots()
    plotting.alignment_matrix(M, list("abcd"), [f"L{j}" for j in range(6)], ax=ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == list("abcd")
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"L{j}" for j in range(6)]
    assert len(ax.texts) == 24 and len(fig.axes) == 2    # values annotated + colourbar on this figure
    plt.close(fig)
    fig, ax = plt.subplots()
    plotting.alignment_matrix(np.eye(3), ["x", "y", "z"], ax=ax)   # square: one set of labels for both
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]
    plt.close(fig)
    with pytest.raises(ValueError, match="col_labels has 4 entries but M has 6 columns"):
        plotting.alignment_matrix(M, list("abcd"), list("abcd"))
    fig, ax = plt.subplots()
    plotting.alignment_matrix(M, list("abcd"), ax=ax)   # rectangular, no column labels: indices
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(j) for j in range(6)]
    plt.close(fig)
    with pytest.raises(ValueError, match="rectangular matrix needs col_labels"):
        plotting.alignment_matrix(M, list("abcd"), list("abcde"))
    with pytest.raises(ValueError, match="row_labels has 3 entries but M has 4 rows"):
        plotting.alignment_matrix(M, list("abc"), list("abcdef"))
    with pytest.raises(ValueError, match="2-D"):
        plotting.alignment_matrix(np.zeros(3), None)
    with pytest.raises(ValueError, match="vmin"):
        plotting.alignment_matrix(np.eye(2), vmin=1, vmax=0)
    plt.close("all")
