"""data.deep_zoo: shapes, every layer, determinism, the cache, random labels (cheap: 1-2 nets)."""
import numpy as np
import pytest

from repalign_edu import data


@pytest.fixture(scope="module")
def cold(tmp_path_factory):
    cache = tmp_path_factory.mktemp("deep_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REPALIGN_EDU_CACHE", str(cache))
        zoo = data.deep_zoo(seeds=(3,))
    return zoo, cache


def test_architecture_every_layer_and_accuracy(cold):
    zoo, _ = cold
    e = zoo[3]
    assert (e.depth, e.width, e.label_noise) == (data.DEEP_DEPTH, data.DEEP_WIDTH, 0.0)
    assert [W.shape for W in e.coefs] == [(64, 64)] + [(64, 64)] * 5 + [(64, 10)]
    X, y = data.load_digits()
    R = e.representations(X[e.test_idx])
    assert len(R) == 6 and all(r.shape == (540, 64) and r.min() >= 0 for r in R)
    for layer in (1, 4, 6):
        assert np.array_equal(R[layer - 1], e.representation(X[e.test_idx], layer))
    assert e.test_accuracy > 0.9
    assert e.test_accuracy == pytest.approx(np.mean(e.predict(X[e.test_idx]) == y[e.test_idx]))


def test_cache_round_trip_and_determinism(cold, monkeypatch):
    zoo, cache = cold
    files = list(cache.glob("mlp_full_w64_d6_s3_*.npz"))
    assert len(files) == 1 and not list(cache.glob(".tmp-*"))
    monkeypatch.setenv("REPALIGN_EDU_CACHE", str(cache))
    warm = data.deep_zoo(seeds=(3,))[3]                      # loads, does not retrain
    fresh = data.deep_zoo(seeds=(3,), cache=False)[3]        # retrains without the cache
    for W0, W1, W2 in zip(zoo[3].coefs, warm.coefs, fresh.coefs):
        assert np.array_equal(W0, W1) and np.array_equal(W0, W2)


def test_random_labels_are_a_different_network(cold, monkeypatch):
    zoo, cache = cold
    monkeypatch.setenv("REPALIGN_EDU_CACHE", str(cache))
    rnd = data.deep_zoo(seeds=(3,), label_noise=1.0)[3]
    assert rnd.label_noise == 1.0 and rnd.test_accuracy < 0.3
    assert len(list(cache.glob("mlp_full_w64_d6_s3_r100_*.npz"))) == 1
    assert not np.array_equal(rnd.coefs[0], zoo[3].coefs[0])


def test_noisy_labels_fraction_and_default_zoo_key_unchanged():
    y = np.arange(1000) % 10
    z = data._noisy_labels(y, 0.5, seed=1)
    changed = np.mean(z != y)
    assert 0.4 < changed < 0.5                        # half replaced; ~1/10 land on the truth
    assert np.array_equal(data._noisy_labels(y, 0.5, seed=1), z)
    assert "label_noise" not in data._cache_key("full", 64, 1, 0)
    assert data._cache_key("full", 64, 1, 0)["mlp_params"] == dict(data.MLP_PARAMS)


@pytest.mark.parametrize("kw, match", [(dict(label_noise=1.5), "label_noise"),
                                       (dict(label_noise=True), "label_noise"),
                                       (dict(seeds=()), "empty"), (dict(seeds=(-1,)), "seed"),
                                       (dict(cache="yes"), "cache")])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        data.deep_zoo(**kw)
