"""Tests for repalign_edu.data: digits, views, model zoo, cache, baselines.

Most tests use a few small networks; one module-scoped fixture builds the
default zoo once (about 10 s) for the accuracy floors, the cold-build budget
and the cache round trip.
"""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from repalign_edu import data


def _arrays(entry):
    return entry.coefs + entry.intercepts


def _same_weights(a, b):
    return len(_arrays(a)) == len(_arrays(b)) and all(
        np.array_equal(x, y) for x, y in zip(_arrays(a), _arrays(b))
    )


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


@pytest.fixture(scope="module")
def default_zoo(tmp_path_factory):
    """The default zoo, built cold into a fresh cache dir, plus its timing."""
    cache = tmp_path_factory.mktemp("zoo_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REPALIGN_EDU_CACHE", str(cache))
        w0, c0 = time.perf_counter(), time.process_time()
        zoo = data.model_zoo()
        cold = (time.perf_counter() - w0, time.process_time() - c0)
    return zoo, cold, cache


@pytest.fixture(scope="module")
def deep_entry():
    """One small depth-2 network (no cache)."""
    return data.model_zoo(widths=(16,), seeds=(1,), depth=2, cache=False)["full", 16, 1]


# --------------------------------------------------------------------------
# data, views, split
# --------------------------------------------------------------------------
def test_load_digits_shapes_dtypes(digits):
    X, y = digits
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    # fresh, writable copies each call
    X2, _ = data.load_digits()
    X2[0, 0] = 5.0
    assert data.load_digits()[0][0, 0] == X[0, 0]


def test_two_views_partition_pixels(digits):
    X, _ = digits
    left, right = data.two_views(X)
    assert left.shape == right.shape == (1797, 32)
    assert left.dtype == right.dtype == np.float64
    img = X.reshape(-1, 8, 8)
    rebuilt = np.concatenate([left.reshape(-1, 8, 4), right.reshape(-1, 8, 4)], axis=2)
    assert np.array_equal(rebuilt.reshape(-1, 64), X)
    assert np.array_equal(left.reshape(-1, 8, 4), img[:, :, :4])
    # as a column partition: indices of the left and right pixels cover 0..63 once
    cols = np.arange(64, dtype=float).reshape(1, 64)
    lc, rc = data.two_views(cols)
    assert sorted(np.concatenate([lc[0], rc[0]]).astype(int)) == list(range(64))


def test_two_views_rejects_wrong_shape():
    with pytest.raises(ValueError, match="64"):
        data.two_views(np.zeros((3, 63)))
    with pytest.raises(ValueError, match="2-D"):
        data.two_views(np.zeros(64))


def test_noisy_view(digits):
    X, _ = digits
    a = data.noisy_view(X, noise=0.3, seed=0)
    b = data.noisy_view(X, noise=0.3, seed=0)
    c = data.noisy_view(X, noise=0.3, seed=1)
    assert a.shape == X.shape and a.dtype == np.float64
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert abs(np.std(a - X) - 0.3) < 0.01
    assert np.array_equal(data.noisy_view(X, noise=0.0), X)
    with pytest.raises(ValueError, match="noise"):
        data.noisy_view(X, noise=-0.1)
    with pytest.raises(ValueError, match="seed"):
        data.noisy_view(X, seed=-1)


def test_train_test_split_indices(digits):
    _, y = digits
    tr, te = data.train_test_split_indices()
    assert tr.dtype == te.dtype == np.int64
    assert len(tr) == 1257 and len(te) == 540
    assert np.intersect1d(tr, te).size == 0
    assert np.array_equal(np.sort(np.concatenate([tr, te])), np.arange(1797))
    # stratified: every class has ~30% of its images in the test part
    frac = np.bincount(y[te], minlength=10) / np.bincount(y, minlength=10)
    assert np.all(np.abs(frac - 0.3) < 0.01)
    tr2, te2 = data.train_test_split_indices()
    assert np.array_equal(tr, tr2) and np.array_equal(te, te2)
    with pytest.raises(ValueError, match="test_size"):
        data.train_test_split_indices(test_size=1.5)


# --------------------------------------------------------------------------
# model zoo
# --------------------------------------------------------------------------
def test_default_zoo_accuracy_and_cold_time(default_zoo):
    zoo, (wall_s, cpu_s), _ = default_zoo
    assert list(zoo) == [("full", w, s) for w in data.WIDTHS for s in data.SEEDS]
    for (view, width, seed), e in zoo.items():
        assert (e.view, e.width, e.seed, e.depth, e.trained) == (view, width, seed, 1, True)
        assert len(e.coefs) == len(e.intercepts) == 2
        assert e.coefs[0].shape == (64, width) and e.coefs[1].shape == (width, 10)
        if width >= 32:
            assert e.test_accuracy >= 0.90, (width, seed, e.test_accuracy)
        else:
            assert e.test_accuracy > 0.5, (width, seed, e.test_accuracy)
    print(f"default zoo cold build: {wall_s:.1f} s wall, {cpu_s:.1f} s CPU")
    # CPU time of this process, not wall time: the budget is for an idle
    # 2-core machine, and training is single-threaded (BLAS limited to 1
    # thread), so CPU time is what wall time would be without other load.
    assert cpu_s <= 30.0, f"default zoo took {cpu_s:.1f} CPU s cold (budget 30 s)"


def test_cache_round_trip(default_zoo, monkeypatch):
    zoo, _, cache = default_zoo
    monkeypatch.setenv("REPALIGN_EDU_CACHE", str(cache))
    assert len(list(cache.glob("mlp_full_*.npz"))) == 21
    assert not list(cache.glob(".tmp-*")), "temporary files left behind"

    def no_training(*args, **kwargs):
        raise AssertionError("warm load must not retrain")

    monkeypatch.setattr(data, "_train_mlp", no_training)
    w0, c0 = time.perf_counter(), time.process_time()
    warm = data.model_zoo()
    wall_s, cpu_s = time.perf_counter() - w0, time.process_time() - c0
    print(f"default zoo warm load: {wall_s:.3f} s wall, {cpu_s:.3f} s CPU")
    assert cpu_s <= 2.0
    assert list(warm) == list(zoo)
    for key in zoo:
        assert _same_weights(warm[key], zoo[key])
        assert warm[key].test_accuracy == zoo[key].test_accuracy
        assert np.array_equal(warm[key].test_idx, zoo[key].test_idx)


def test_zoo_bitwise_deterministic_without_cache(monkeypatch, tmp_path):
    # cache=False must neither read nor write
    monkeypatch.setenv("REPALIGN_EDU_CACHE", str(tmp_path))
    kw = dict(widths=(16,), seeds=(0,), views=("full", "left"), cache=False)
    a, b = data.model_zoo(**kw), data.model_zoo(**kw)
    assert list(tmp_path.iterdir()) == []
    X, _ = data.load_digits()
    for key in a:
        assert _same_weights(a[key], b[key])
        Xv = X if key[0] == "full" else data.two_views(X)[0]
        assert np.array_equal(a[key].representation(Xv), b[key].representation(Xv))
    d2a = data.model_zoo(widths=(8,), seeds=(2,), depth=2, cache=False)
    d2b = data.model_zoo(widths=(8,), seeds=(2,), depth=2, cache=False)
    assert _same_weights(d2a["full", 8, 2], d2b["full", 8, 2])


def test_views_and_depth(deep_entry, digits):
    X, _ = digits
    zoo = data.model_zoo(widths=(32,), seeds=(0,), views="right", cache=False)
    e = zoo["right", 32, 0]
    assert e.n_features_in == 32 and e.coefs[0].shape == (32, 32)
    _, XR = data.two_views(X)
    assert e.representation(XR).shape == (1797, 32)
    assert e.test_accuracy > 0.7
    with pytest.raises(ValueError, match=r"two_views\(X\)\[1\]"):
        e.representation(X)

    d = deep_entry
    assert d.depth == 2 and len(d.coefs) == 3
    assert [W.shape for W in d.coefs] == [(64, 16), (16, 16), (16, 10)]
    assert d.test_accuracy > 0.8


def test_representation_head_reproduce_sklearn(deep_entry, digits):
    X, _ = digits
    cases = [
        (data.model_zoo(widths=(32,), seeds=(0,), cache=False)["full", 32, 0], X),
        (deep_entry, X),
        (data.model_zoo(widths=(16,), seeds=(0,), views="left", cache=False)["left", 16, 0],
         data.two_views(X)[0]),
    ]
    for e, Xv in cases:
        clf = data._train_mlp(e.view, e.width, e.depth, e.seed)
        assert all(np.array_equal(a, b) for a, b in zip(clf.coefs_, e.coefs))
        ref = clf.predict_proba(Xv)
        for layer in range(1, e.depth + 1):
            Z = e.representation(Xv, layer=layer)
            assert Z.shape == (len(Xv), e.width) and Z.dtype == np.float64
            assert Z.min() >= 0.0
            np.testing.assert_allclose(e.head(Z, layer=layer), ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(e.predict_proba(Xv), ref, rtol=0, atol=1e-12)
        assert np.array_equal(e.predict(Xv), clf.predict(Xv))
        np.testing.assert_allclose(
            np.exp(e.logits(Xv)) / np.exp(e.logits(Xv)).sum(1, keepdims=True), ref, atol=1e-12
        )
        te = e.test_idx
        assert e.test_accuracy == pytest.approx(clf.score(Xv[te], data.load_digits()[1][te]))


def test_entry_arrays_read_only(deep_entry):
    with pytest.raises(ValueError):
        deep_entry.coefs[0][0, 0] = 1.0
    with pytest.raises(AttributeError):
        deep_entry.width = 3


def test_untrained_network(digits):
    X, _ = digits
    u = data.untrained_network(32, seed=0)
    assert u.trained is False and u.depth == 1
    assert [W.shape for W in u.coefs] == [(64, 32), (32, 10)]
    for W, b in zip(u.coefs, u.intercepts):
        bound = np.sqrt(6.0 / (W.shape[0] + W.shape[1]))
        assert np.abs(W).max() <= bound and np.abs(b).max() <= bound
    assert _same_weights(u, data.untrained_network(32, seed=0))
    assert not _same_weights(u, data.untrained_network(32, seed=1))
    trained = data.model_zoo(widths=(32,), seeds=(0,), cache=False)["full", 32, 0]
    assert not np.allclose(u.representation(X), trained.representation(X))
    assert u.test_accuracy < 0.5 < trained.test_accuracy
    u3 = data.untrained_network(8, seed=0, view="left", depth=3)
    assert [W.shape for W in u3.coefs] == [(32, 8), (8, 8), (8, 8), (8, 10)]
    XL = data.two_views(X)[0]
    np.testing.assert_allclose(u3.head(u3.representation(XL, 2), 2), u3.predict_proba(XL))


# --------------------------------------------------------------------------
# cache behaviour
# --------------------------------------------------------------------------
def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("REPALIGN_EDU_CACHE", str(tmp_path / "c"))
    assert data.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("REPALIGN_EDU_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_dir() == tmp_path / "xdg" / "repalign_edu"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_dir() == tmp_path / "home" / ".cache" / "repalign_edu"


def test_cache_key_covers_settings():
    base = data._cache_key("full", 32, 1, 0)
    paths = {
        data._cache_path(Path("."), k)
        for k in (
            base,
            data._cache_key("left", 32, 1, 0),
            data._cache_key("full", 64, 1, 0),
            data._cache_key("full", 32, 2, 0),
            data._cache_key("full", 32, 1, 1),
        )
    }
    assert len(paths) == 5
    for field in ("sklearn", "numpy", "cache_version", "mlp_params", "split"):
        assert field in base
    assert base["mlp_params"]["max_iter"] == data.MLP_PARAMS["max_iter"]


def test_cache_corrupt_file_is_retrained(monkeypatch, tmp_path):
    monkeypatch.setenv("REPALIGN_EDU_CACHE", str(tmp_path))
    first = data.model_zoo(widths=(8,), seeds=(0,))["full", 8, 0]
    (path,) = tmp_path.glob("mlp_full_w8_d1_s0_*.npz")
    path.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="unreadable cache file"):
        again = data.model_zoo(widths=(8,), seeds=(0,))["full", 8, 0]
    assert _same_weights(first, again)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rewritten file loads cleanly
        assert _same_weights(first, data.model_zoo(widths=(8,), seeds=(0,))["full", 8, 0])


def test_cache_unwritable_falls_back(monkeypatch, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setenv("REPALIGN_EDU_CACHE", str(blocker / "sub"))
    with pytest.warns(RuntimeWarning, match="not writable"):
        zoo = data.model_zoo(widths=(8,), seeds=(0,))
    assert zoo["full", 8, 0].test_accuracy > 0.3
    assert os.path.isfile(blocker)


# --------------------------------------------------------------------------
# non-learned representations
# --------------------------------------------------------------------------
def test_pixel_and_pca_representations(digits):
    from sklearn.decomposition import PCA

    X, _ = digits
    P = data.pixel_representation(X)
    assert np.array_equal(P, X) and P is not X and P.dtype == np.float64

    Z = data.pca_representation(X, n_components=10)
    assert Z.shape == (1797, 10) and Z.dtype == np.float64
    tr, _ = data.train_test_split_indices()
    ref = PCA(n_components=10, svd_solver="full").fit(X[tr]).transform(X)
    np.testing.assert_allclose(Z, ref, atol=1e-10)
    assert np.array_equal(Z, data.pca_representation(X, n_components=10))
    ZL = data.pca_representation(data.two_views(X)[0], n_components=32, view="left")
    assert ZL.shape == (1797, 32)


def test_random_fourier_features(digits):
    X, _ = digits
    F = data.random_fourier_features(X[:200], n_components=2000, gamma=0.1, seed=0)
    assert F.shape == (200, 2000) and F.dtype == np.float64
    assert np.array_equal(F, data.random_fourier_features(X[:200], n_components=2000, gamma=0.1))
    assert not np.array_equal(F, data.random_fourier_features(X[:200], 2000, 0.1, seed=1))
    sq = ((X[:200, None, :] - X[None, :200, :]) ** 2).sum(-1)
    assert np.abs(F @ F.T - np.exp(-0.1 * sq)).mean() < 0.05


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: data.model_zoo(views=("top",), cache=False), "view"),
        (lambda: data.model_zoo(widths=(0,), cache=False), "width"),
        (lambda: data.model_zoo(widths=(8.5,), cache=False), "width"),
        (lambda: data.model_zoo(widths=(), cache=False), "widths"),
        (lambda: data.model_zoo(seeds=(-1,), cache=False), "seed"),
        (lambda: data.model_zoo(depth=0, cache=False), "depth"),
        (lambda: data.model_zoo(cache="yes"), "cache"),
        (lambda: data.untrained_network(0), "width"),
        (lambda: data.untrained_network(8, view="middle"), "view"),
        (lambda: data.pca_representation(np.zeros((3, 64)), n_components=65), "n_components"),
        (lambda: data.pca_representation(np.zeros((3, 32))), "columns"),
        (lambda: data.pca_representation(np.zeros((3, 64)), view="diag"), "view"),
        (lambda: data.random_fourier_features(np.zeros((3, 4)), gamma=0), "gamma"),
        (lambda: data.random_fourier_features(np.zeros((3, 4)), n_components=0), "n_components"),
        (lambda: data.pixel_representation(np.array([[np.nan]])), "non-finite"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_layer_and_shapes(deep_entry, digits):
    X, _ = digits
    for layer in (0, 3, -1, 1.0, True):
        with pytest.raises(ValueError, match="layer must be an integer from 1 to 2"):
            deep_entry.representation(X, layer=layer)
    with pytest.raises(ValueError, match="columns"):
        deep_entry.representation(X[:, :32])
    with pytest.raises(ValueError, match="width 16"):
        deep_entry.head(np.zeros((3, 15)))
