"""Lesson 06's widget (headless), without building the deep zoo.

Its exercises are tested with every other exercise in tests/test_exercises.py.
"""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from repalign_edu import sanity, widgets


def test_layer_matrix_widget(monkeypatch):
    N, L = 10, 6
    rng = np.random.default_rng(0)
    mats = {m: rng.random((N, N, L, L)) for m in sanity.ALL_MEASURES}
    mats["linear CKA"][0, 1] = np.eye(L) + 0.1
    fake = sanity.IdentificationResult({m: 0.5 for m in mats}, {m: (0.4, 0.6) for m in mats}, mats,
                                       540, N, L)
    monkeypatch.setattr(sanity, "layer_identification", lambda: fake)
    out = widgets.layer_matrix("linear CKA", 0, 1, plot=True)
    assert out["accuracy"] == 1.0 and np.array_equal(out["best"], np.arange(1, L + 1))
    assert np.array_equal(out["matrix"], mats["linear CKA"][0, 1])
    for bad in (dict(measure="nope"), dict(seed_a=11), dict(seed_b=0), dict(seed_a=True)):
        with pytest.raises(ValueError):
            widgets.layer_matrix(**{"measure": "linear CKA", "seed_a": 0, "seed_b": 1, **bad})
