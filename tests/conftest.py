"""Shared test fixtures.

``XY``: a dependent, nonlinear pair of representations, X ~ N(0, I) (n, d_x) and
Y = tanh(X W) + 0.3 noise (n, d_y), drawn from ``np.random.default_rng(seed)``. A test
module sets its shape with a module-level ``XY_SHAPE = (n, d_x, d_y)`` (default
(120, 6, 4)) and, optionally, ``XY_SEED`` (default 0). ``tanh_pair`` is the same
generator as a plain function, for tests that need several pairs.
"""
import numpy as np
import pytest


def tanh_pair(n=120, d_x=6, d_y=4, seed=0, noise=0.3):
    """X ~ N(0, I_{d_x}) and Y = tanh(X W) + noise * N(0, I_{d_y}), W ~ N(0, 1)^{d_x x d_y}."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d_x))
    Y = np.tanh(X @ rng.normal(size=(d_x, d_y))) + noise * rng.normal(size=(n, d_y))
    return X, Y


@pytest.fixture(scope="module")
def XY(request):
    n, d_x, d_y = getattr(request.module, "XY_SHAPE", (120, 6, 4))
    return tanh_pair(n, d_x, d_y, seed=getattr(request.module, "XY_SEED", 0))
