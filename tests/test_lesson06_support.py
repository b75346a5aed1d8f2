"""Lesson 06's exercise checkers and widget (headless), without building the deep zoo."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from repalign_edu import sanity, widgets
from repalign_edu.exercises import REGISTRY, check, unfinished
from repalign_edu.exercises import lesson06 as ex

ALL = [ex.identify, ex.forced, ex.kept]


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.id)
def test_reference_passes_stub_and_garbage_fail(exercise, capsys):
    assert exercise.check(exercise.reference, quiet=True)
    assert exercise.id in REGISTRY and check(exercise.id, exercise.reference, quiet=True)
    for wrong in (unfinished, None, "text", 3.5, {"a": 1}):
        assert not exercise.check(wrong, quiet=True)
    assert not exercise.check(unfinished)
    assert f"FAIL [{exercise.id}]" in capsys.readouterr().out


def test_typical_mistakes_are_explained(capsys):
    def argmax_only(S):                   # ignores ties: first maximum wins
        S = np.asarray(S)
        return float(np.mean(np.argmax(S, axis=1) == np.arange(len(S))))

    assert not ex.identify.check(argmax_only)
    assert "ties" in capsys.readouterr().out
    assert not ex.forced.check(15)
    assert "n - 1" in capsys.readouterr().out

    def kept_by_s(s, variance):           # uses s instead of s**2
        frac = np.cumsum(s) / np.sum(s)
        return int(np.searchsorted(frac, variance) + 1)

    assert not ex.kept.check(kept_by_s)
    assert "squared" in capsys.readouterr().out


def test_identify_reference_is_the_sanity_rule():
    S = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0], [3.0, 0.0, 1.0]])
    assert ex.identify.reference(S) == pytest.approx((0.5 + 1 + 0) / 3)


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
