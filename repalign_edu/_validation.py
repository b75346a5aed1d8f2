"""Input validation: the one place that turns user input into checked arrays.

Every public measure calls these helpers first, so the backends can assume
clean, finite, C-contiguous float arrays of the right shape.  Each failure is
a ``ValueError`` whose message names the argument and says how to fix it.
"""
from __future__ import annotations

from numbers import Real

import numpy as np

BACKENDS = ("auto", "numpy", "cpu", "cuda")
ESTIMATORS = ("biased", "unbiased")


def as_representation(X, name: str = "X", *, min_samples: int = 2) -> np.ndarray:
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
    n, d = arr.shape
    if d < 1:
        raise ValueError(f"{name} has no features (shape {arr.shape}); pass at least one column.")
    if n < min_samples:
        raise ValueError(
            f"{name} has n={n} samples but this measure needs at least {min_samples}; "
            "pass more rows."
        )
    # a finite sum implies finite entries (NaN and inf propagate); the sum is one pass
    # without a temporary, and only a non-finite (or overflowing) sum needs the full check
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    if not np.isfinite(total) and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))
        i, j = bad[0]
        raise ValueError(
            f"{name} contains {len(bad)} non-finite value(s) (NaN or +-inf); the first is "
            f"{name}[{i}, {j}] = {arr[i, j]}. Remove or impute those rows before measuring."
        )
    return np.ascontiguousarray(arr)


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
    X = as_representation(X, nx, min_samples=min_samples)
    Y = as_representation(Y, ny, min_samples=min_samples)
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
