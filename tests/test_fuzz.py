"""Issue 9: property-based fuzz test over every public function.

Inputs (hypothesis): 0-50 rows, 0-20 columns, every dtype, magnitudes from
1e-300 to 1e300, constant columns, duplicate rows, Fortran-ordered and
strided arrays.  Property: each call returns a finite value inside its
documented range, or raises a ValueError with a message; never another
exception, never NaN or inf.  Where a function takes ``backend=``, numpy and
cpu agree to 1e-10 relative whenever both return a value.

Every measure registered in ``repalign_edu.MEASURES`` is covered
automatically (its range is ``MEASURES.info(name).bounds``), plus the explicit
list ``OTHERS`` of the remaining public functions.  Derandomised, so CI
sees the same examples on every run.
"""
from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import repalign_edu as ra
from repalign_edu import cross_covariance as cc
from repalign_edu import gaussian, metrics, stitching
from repalign_edu.kernels import centering_matrix, gram_matrix, median_heuristic

DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_,
          np.complex128]
RTOL = 1e-10
#: measures whose numpy and cpu backends still break exact ties (duplicate rows, integer
#: data) differently: issue 9 kind 4, owned by the k-NN code.  Their agreement is checked on
#: tie-free float input only; drop the exemption when kind 4 lands.
TIE_SENSITIVE = {"mutual_knn"}


@st.composite
def arrays(draw, n=None, d=None):
    n = draw(st.integers(0, 50)) if n is None else n
    d = draw(st.integers(0, 20)) if d is None else d
    seed = draw(st.integers(0, 2**32 - 1))
    r = np.random.default_rng(seed)
    exponent = draw(st.sampled_from([0, 0, 0, -300, -150, -8, 8, 100, 160, 300]))
    A = r.normal(size=(n, d)) * 10.0 ** exponent if n * d else np.zeros((n, d))
    if n and d and draw(st.booleans()):                 # a constant column
        A[:, draw(st.integers(0, d - 1))] = draw(st.sampled_from([0.0, 1.0, 1e6]))
    if n > 1 and draw(st.booleans()):                   # duplicate rows
        k = draw(st.integers(1, n - 1))
        A[-k:] = A[:k]
    if draw(st.booleans()):
        A = A + draw(st.sampled_from([1.0, 1e4, -1e6]))  # a common offset
    dtype = draw(st.sampled_from(DTYPES))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        A = A.astype(dtype)
    layout = draw(st.sampled_from(["C", "F", "strided", "reversed"]))
    if layout == "F":
        A = np.asfortranarray(A)
    elif layout == "strided" and n:
        big = np.repeat(A, 2, axis=0)
        A = big[::2]
    elif layout == "reversed" and d:
        A = A[:, ::-1]
    return A


def _has_backend(f):
    try:
        return "backend" in inspect.signature(f).parameters
    except (TypeError, ValueError):
        return False


def _check_value(v, bounds, name):
    if isinstance(v, (tuple, list)):
        v = v[0]
    if hasattr(v, "statistic"):
        v = v.statistic
    if isinstance(v, np.ndarray):
        assert np.all(np.isfinite(v)), f"{name}: non-finite array"
        return None
    if hasattr(v, "S"):      # a stitcher
        assert np.all(np.isfinite(v.S)) and np.all(np.isfinite(v.b)), name
        return None
    assert isinstance(v, float), f"{name} returned {type(v).__name__}, not a Python float"
    assert math.isfinite(v), f"{name} returned {v}"
    lo, hi = bounds
    assert lo <= v <= hi, f"{name} = {v!r} outside [{lo}, {hi}]"
    return v


def _call(f, name, bounds, *args, **kw):
    """The value (or None after a ValueError); any other exception fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = f(*args, **kw)
    except ValueError as exc:
        assert str(exc).strip(), f"{name}: ValueError without a message"
        return None
    return _check_value(v, bounds, name)


#: absolute slack for values that are differences of O(1) kernel means (MMD^2, HSIC of
#: bounded kernels, debiased CKA) and whose true value is 0: rounding of the terms, not a bug
ATOL = 1e-14


def _agree(a, b, name):
    if a is None or b is None:
        assert (a is None) == (b is None), f"{name}: numpy gave {a}, cpu gave {b}"
        return
    scale = max(abs(a), abs(b))
    assert abs(a - b) <= RTOL * scale + ATOL, f"{name}: numpy {a!r} vs cpu {b!r}"


INF = (-math.inf, math.inf)
#: public functions outside the registry: (name, call(X, Y), bounds)
OTHERS = [
    ("hsic unbiased", lambda X, Y, **b: ra.hsic(X, Y, "rbf", estimator="unbiased", **b), INF),
    ("hsic rbf", lambda X, Y, **b: ra.hsic(X, Y, "rbf", **b), (0.0, math.inf)),
    ("cka unbiased rbf", lambda X, Y, **b: ra.cka(X, Y, "rbf", estimator="unbiased", **b),
     (-1.0, 1.0)),
    ("cka laplacian", lambda X, Y, **b: ra.cka(X, Y, "laplacian", **b), (0.0, 1.0)),
    ("cka polynomial", lambda X, Y, **b: ra.cka(X, Y, "polynomial", degree=2, **b), (0.0, 1.0)),
    ("kernel_alignment centred", lambda X, Y, **b: ra.kernel_alignment(X, Y, "rbf", centered=True, **b),
     (0.0, 1.0)),
    ("mmd2 rbf", lambda X, Y, **b: ra.mmd2(X, Y[:, :X.shape[1]] if Y.shape[1] >= X.shape[1] else X[::-1], **b),
     (0.0, math.inf)),
    ("mmd2 linear unbiased", lambda X, Y, **b: ra.mmd2(X, X[::-1] + 1, "linear", estimator="unbiased", **b),
     INF),
    ("median_heuristic", lambda X, Y: median_heuristic(X), (0.0, math.inf)),
    ("gram_matrix rbf", lambda X, Y: gram_matrix(X, "rbf"), INF),
    ("gram_matrix linear", lambda X, Y: gram_matrix(X), INF),
    ("centering_matrix", lambda X, Y: centering_matrix(X.shape[0]), INF),
    ("rdm correlation", lambda X, Y: metrics.rdm(X, "correlation"), INF),
    ("rsa pearson cosine", lambda X, Y: metrics.rsa(X, Y, metric="cosine", method="pearson"),
     (-1.0, 1.0)),
    ("angular_procrustes", lambda X, Y: metrics.angular_procrustes_distance(X, Y, alpha=0.5),
     (0.0, math.pi / 2)),
    ("procrustes size-and-shape", lambda X, Y: metrics.procrustes_distance(X, Y, normalize=False),
     (0.0, math.inf)),
    ("partial_whiten", lambda X, Y: metrics.partial_whiten(X, 0.0), INF),
    ("sample_canonical_correlations", lambda X, Y: gaussian.sample_canonical_correlations(X, Y, reg=1e-3),
     INF),
    ("coco", lambda X, Y: cc.coco(X, Y), (0.0, math.inf)),
    ("kcc", lambda X, Y: cc.kcc(X, Y, kappa=0.1), (0.0, 1.0)),
    ("cross_covariance_spectrum", lambda X, Y: cc.cross_covariance_spectrum(X, Y, "linear"), INF),
    ("hsic_test", lambda X, Y: ra.hsic_test(X, Y, n_permutations=9, seed=0), INF),
    ("fit_linear_stitch", lambda X, Y: stitching.fit_linear_stitch(X, Y, ridge=1e-3), INF),
    ("stitching_misalignment", lambda X, Y: stitching.stitching_misalignment(X, Y),
     (0.0, math.inf)),
]


def _registry_cases():
    return [(name, ra.MEASURES[name], ra.MEASURES.info(name).bounds) for name in sorted(ra.MEASURES)]


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_public_function_returns_a_finite_value_in_range_or_a_valueerror(data):
    n = data.draw(st.integers(0, 50), label="n")
    X = data.draw(arrays(n=n), label="X")
    Y = data.draw(st.one_of(arrays(n=n), arrays()), label="Y")
    ties = (X.dtype.kind != "f" or Y.dtype.kind != "f"
            or (n > 1 and (len(np.unique(np.asarray(X, dtype=complex), axis=0)) < n
                           or len(np.unique(np.asarray(Y, dtype=complex), axis=0)) < n)))
    for name, f, bounds in _registry_cases() + OTHERS:
        if _has_backend(f) or name in {c[0] for c in OTHERS if "**b" in inspect.getsource(c[1])}:
            got = [_call(f, f"{name}[{b}]", bounds, X, Y, backend=b) for b in ("numpy", "cpu")]
            if not (ties and name in TIE_SENSITIVE):
                _agree(*got, name)
        else:
            _call(f, name, bounds, X, Y)
