"""Input validation: the one place that turns user input into checked arrays.

Every public measure calls these helpers first, so the backends can assume
clean, finite, C-contiguous float arrays of the right shape.  Each failure is
a ``ValueError`` whose message names the argument and says how to fix it.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np

BACKENDS = ("auto", "numpy", "cpu", "cuda", "dask")
ESTIMATORS = ("biased", "unbiased")


def _nonfinite_message(arr: np.ndarray, name: str, paired: bool) -> str:
    """Count the rows with NaN/inf, list the first few, and say how to drop them."""
    bad_rows = np.flatnonzero(~np.isfinite(arr).all(axis=1))
    i = int(bad_rows[0])
    j = int(np.flatnonzero(~np.isfinite(arr[i]))[0])
    shown = ", ".join(map(str, bad_rows[:5])) + (", ..." if len(bad_rows) > 5 else "")
    n_bad = int((~np.isfinite(arr)).sum())
    drop = (f"Drop those rows from both X and Y (e.g. keep = np.isfinite(X).all(1) & "
            "np.isfinite(Y).all(1)) so that the rows stay paired, or impute them."
            if paired else f"Drop or impute those rows of {name}.")
    return (f"{name} contains {n_bad} non-finite value(s) (NaN or +-inf) in {len(bad_rows)} "
            f"row(s): {shown}; the first is {name}[{i}, {j}] = {arr[i, j]}. {drop}")


def _check_counts(shape, name: str, min_samples: int) -> None:
    """Raise unless a 2-D ``shape`` has >= 1 feature and >= ``min_samples`` rows."""
    n, d = shape
    if d < 1:
        raise ValueError(f"{name} has no features (shape {shape}); pass at least one column.")
    if n < min_samples:
        raise ValueError(
            f"{name} has n={n} samples but this measure needs at least {min_samples}; "
            "pass more rows."
        )


def as_representation(X, name: str = "X", *, min_samples: int = 2,
                      paired: bool = False) -> np.ndarray:
    """Check a representation and return it as a C-contiguous float array.

    Parameters
    ----------
    X : array_like, shape (n, d)
        n samples (rows) of d features.  float32 and float64 are kept;
        integer and boolean input is converted to float64.
    name : str
        Argument name used in error messages.
    min_samples : int
        Smallest n the caller accepts.

    Returns
    -------
    ndarray, shape (n, d), dtype float32 or float64, C-contiguous.

    Raises
    ------
    ValueError
        If X is not 2-D, has fewer than ``min_samples`` rows or no columns,
        is not numeric, or contains NaN or +-inf (the message gives the
        position of the first bad entry).
    """
    if _is_dask_array(X):
        return _as_dask_representation(X, name, min_samples)
    arr = np.asarray(X)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
    ):
        raise ValueError(
            f"{name} must be a numeric array of shape (n_samples, n_features); "
            f"got dtype {arr.dtype}. Convert it with np.asarray({name}, dtype=float)."
        )
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real-valued; got complex dtype {arr.dtype}.")
    if arr.ndim != 2:
        hint = (
            f"use {name}.reshape(-1, 1) for a single feature or "
            f"{name}.reshape(1, -1) for a single sample"
            if arr.ndim == 1
            else f"flatten the trailing axes with {name}.reshape(len({name}), -1)"
        )
        raise ValueError(
            f"{name} must be 2-D with shape (n_samples, n_features); got ndim={arr.ndim} "
            f"with shape {arr.shape}: {hint}."
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    _check_counts(arr.shape, name, min_samples)
    # a finite sum implies finite entries (NaN and inf propagate); the sum is one pass
    # without a temporary, and only a non-finite (or overflowing) sum needs the full check
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    if not np.isfinite(total) and not np.isfinite(arr).all():
        raise ValueError(_nonfinite_message(arr, name, paired))
    return np.ascontiguousarray(arr)


def _is_dask_array(X) -> bool:
    """True for a dask array (checked without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "chunks")


#: names (dask tokens) of dask arrays already checked for finite values
_CHECKED_DASK: set = set()


def _as_dask_representation(X, name: str, min_samples: int):
    """The checks of :func:`as_representation` for a dask array (backend="dask").

    Shape and dtype are checked at once; finiteness in one chunked pass
    (remembered per dask token, so a second call does not read the data
    again).  The array stays lazy: float32/float64 kept, others cast to float64.
    """
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_) or np.iscomplexobj(
            np.empty(0, X.dtype)):
        raise ValueError(
            f"{name} must be a real numeric array of shape (n_samples, n_features); "
            f"got dtype {X.dtype}. Convert it with {name}.astype(float)."
        )
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (n_samples, n_features); got ndim={X.ndim} "
            f"with shape {X.shape}: reshape it to (n_samples, n_features)."
        )
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    _check_counts(X.shape, name, min_samples)
    if X.name not in _CHECKED_DASK:
        from .backends.dask import all_finite, first_nonfinite

        if not all_finite(X):
            count, i, j, value = first_nonfinite(X)
            raise ValueError(
                f"{name} contains {count} non-finite value(s) (NaN or +-inf); the first is "
                f"{name}[{i}, {j}] = {value}. Remove or impute those rows before measuring."
            )
        _CHECKED_DASK.add(X.name)
    return X


def as_pair(X, Y, *, min_samples: int = 2, same_n: bool = True, names=("X", "Y")):
    """Validate two representations that share their rows (paired samples).

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        d_X and d_Y may differ; n must agree when ``same_n`` is True.
    names : (str, str)
        Argument names used in error messages.

    Returns
    -------
    (X, Y) : two float arrays.  If their float dtypes differ, both are
    promoted to float64.

    Raises
    ------
    ValueError
        For the cases of :func:`as_representation`, and if X and Y have a
        different number of rows.
    """
    nx, ny = names
    X = as_representation(X, nx, min_samples=min_samples, paired=same_n)
    Y = as_representation(Y, ny, min_samples=min_samples, paired=same_n)
    if same_n and X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"{nx} and {ny} must have the same number of samples (rows are paired); got "
            f"{nx} with n={X.shape[0]} and {ny} with n={Y.shape[0]}. Pass the same inputs' "
            "representations in the same order."
        )
    if X.dtype != Y.dtype:
        X, Y = X.astype(np.float64), Y.astype(np.float64)
    return X, Y


def check_option(value, allowed, name: str) -> str:
    """Return ``value`` if it is one of ``allowed`` else raise ValueError."""
    if value not in allowed:
        raise ValueError(
            f"unknown {name} {value!r}; choose one of {', '.join(map(repr, allowed))}."
        )
    return value


def check_positive(value, name: str) -> float:
    """Return ``value`` as a float if it is a finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a positive real number; got {value!r}.")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(
            f"{name} must be a finite number > 0; got {value}. "
            + ("Pass sigma=None to use the median heuristic." if "sigma" in name else "")
        )
    return value


def check_min_samples(n: int, needed: int, what: str, fix: str = "use estimator='biased'") -> None:
    """Raise a ValueError if ``n < needed`` for the estimator ``what``; ``fix`` ends the message."""
    if n < needed:
        raise ValueError(
            f"the {what} needs n >= {needed} samples; got n={n}. Pass more samples or {fix}."
        )


# --------------------------------------------------------------------------- generic checkers
def check_scalar(x, name: str, target_type=Real, *, min_val=None, max_val=None,
                 include_boundaries: str = "both", allow_none: bool = False, fix: str = ""):
    """Validate a scalar parameter, in the manner of scikit-learn's ``check_scalar``.

    Parameters
    ----------
    x : object
        The value.
    name : str
        Parameter name for the message.
    target_type : numbers.Real or numbers.Integral
        Integral accepts Python and NumPy integers (and floats with an
        integral value, e.g. 3.0); Real accepts any real number.  Booleans
        are never accepted as numbers.
    min_val, max_val : float, optional
        Bounds; ``include_boundaries`` is "both", "left", "right" or "neither".
    allow_none : bool
        Return None for None.
    fix : str
        Appended to the message (how to fix it).

    Returns
    -------
    int or float (or None).

    Raises
    ------
    ValueError
        Wrong type, NaN or +-inf, or outside the bounds.
    """
    if x is None and allow_none:
        return None
    kind = "an integer" if target_type is Integral else "a real number"
    tail = f" {fix}" if fix else ""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, Real):
        raise ValueError(f"{name} must be {kind}; got {x!r} of type {type(x).__name__}.{tail}")
    if not np.isfinite(float(x)):
        raise ValueError(f"{name} must be a finite number; got {x!r}.{tail}")
    if target_type is Integral:
        if not isinstance(x, Integral):
            if float(x) != int(x):
                raise ValueError(f"{name} must be an integer; got {x!r}.{tail}")
        x = int(x)
    else:
        x = float(x)
    lo_ok = min_val is None or (x >= min_val if include_boundaries in ("both", "left")
                                else x > min_val)
    hi_ok = max_val is None or (x <= max_val if include_boundaries in ("both", "right")
                                else x < max_val)
    if not (lo_ok and hi_ok):
        left = "[" if include_boundaries in ("both", "left") else "("
        right = "]" if include_boundaries in ("both", "right") else ")"
        lo = "-inf" if min_val is None else f"{min_val:g}"
        hi = "inf" if max_val is None else f"{max_val:g}"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}; got {x!r}.{tail}")
    return x


def check_bool(x, name: str) -> bool:
    """Return ``x`` as a bool if it is True/False (Python or NumPy), else raise ValueError."""
    if not isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {x!r} of type {type(x).__name__}.")
    return bool(x)


def check_seed(seed, name: str = "seed"):
    """Validate a seed for ``numpy.random.default_rng``: None, an int >= 0, a Generator or SeedSequence.

    Returns the seed unchanged (an int as a Python int).

    Raises
    ------
    ValueError
        Strings, floats, booleans, negative integers or anything else.
    """
    if seed is None or isinstance(seed, (np.random.Generator, np.random.SeedSequence)):
        return seed
    return check_scalar(seed, name, Integral, min_val=0,
                        fix="Pass None, a non-negative int or a numpy.random.Generator.")


def check_vector(v, name: str, *, length: int | None = None, min_length: int = 1) -> np.ndarray:
    """Validate a 1-D finite real vector and return it as float64.

    Raises
    ------
    ValueError
        Not 1-D, not numeric, NaN/inf, wrong length.
    """
    arr = np.asarray(v)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) \
            or np.iscomplexobj(arr):
        raise ValueError(f"{name} must be a real numeric vector; got dtype {arr.dtype}.")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}. Use np.ravel({name}).")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} must have length {length}; got {arr.shape[0]}.")
    if arr.shape[0] < min_length:
        raise ValueError(f"{name} needs at least {min_length} entries; got {arr.shape[0]}.")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr))
        raise ValueError(f"{name} contains {len(bad)} NaN or +-inf entries (first at index "
                         f"{int(bad[0])}); remove them.")
    return arr


#: the one rule for "symmetric": |M - M^T| <= SYM_RTOL * max|M| entrywise
SYM_RTOL = 1e-8


def check_square_matrix(M, name: str, *, symmetric: bool = False, min_size: int = 1) -> np.ndarray:
    """Validate a square, finite, real matrix (symmetric if asked) and return it as float64.

    Symmetry is checked with one rule across the package:
    max |M - M^T| <= ``SYM_RTOL`` * max |M|.

    Raises
    ------
    ValueError
        Not 2-D, not square, too small, NaN/inf, or not symmetric.
    """
    arr = np.asarray(M)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) \
            or np.iscomplexobj(arr):
        raise ValueError(f"{name} must be a real numeric matrix; got dtype {arr.dtype}.")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square (n, n) matrix; got shape {arr.shape}.")
    if arr.shape[0] < min_size:
        raise ValueError(f"{name} must be at least {min_size} x {min_size}; got {arr.shape}.")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(arr)).sum())} NaN or +-inf entries.")
    if symmetric:
        scale = float(np.max(np.abs(arr))) if arr.size else 0.0
        if float(np.max(np.abs(arr - arr.T), initial=0.0)) > SYM_RTOL * scale:
            raise ValueError(f"{name} must be symmetric (|{name} - {name}.T| <= {SYM_RTOL:g} "
                             f"max|{name}|); symmetrise it with ({name} + {name}.T) / 2.")
    return arr
