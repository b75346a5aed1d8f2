"""The measure registry: names, kinds, bounds and resolution of callables."""
import math

import numpy as np
import pytest

import repalign_edu as ra

REQUIRED = ("cka", "kernel_alignment", "hsic", "distance_alignment", "mutual_knn", "rsa",
            "procrustes_distance")


def test_required_names_registered_with_metadata():
    for name in REQUIRED:
        info = ra.MEASURES.info(name)
        assert info.func is ra.MEASURES[name]
        assert info.kind in ("similarity", "distance")
        assert info.bounds[0] <= info.bounds[1]


def test_values_lie_in_registered_bounds():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    Y = X @ rng.normal(size=(4, 3)) + 0.3 * rng.normal(size=(40, 3))
    for name in REQUIRED:
        info = ra.MEASURES.info(name)
        v = ra.MEASURES[name](X, Y)
        assert isinstance(v, float) and info.bounds[0] <= v <= info.bounds[1], (name, v)


def test_best_values():
    assert ra.MEASURES.info("cka").best == 1.0
    assert ra.MEASURES.info("distance_alignment").best == 0.0
    assert not ra.resolve_measure(lambda a, b: 0.0).bounded


def test_unknown_name_lists_registered():
    with pytest.raises(ValueError, match="registered: .*cka"):
        ra.resolve_measure("ckaa")
    with pytest.raises(ValueError, match="callable"):
        ra.resolve_measure(3)


def test_registered_callable_keeps_metadata_and_register_decorator():
    assert ra.resolve_measure(ra.cka).name == "cka"

    @ra.register(name="_test_const", kind="distance", bounds=(0, math.inf))
    def const(X, Y):
        """A constant."""
        return 0.0

    try:
        assert ra.MEASURES.info("_test_const").kind == "distance"
        assert ra.MEASURES.info("_test_const").summary == "A constant."
    finally:
        del ra.MEASURES._infos["_test_const"]
    with pytest.raises(ValueError, match="kind"):
        ra.register(const, kind="score")
