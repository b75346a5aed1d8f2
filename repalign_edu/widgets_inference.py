"""Pure functions behind the widgets of lesson 05 (inference for alignment).

Kept apart from :mod:`repalign_edu.widgets` (one module per concern); same
conventions: plain numbers in, a dict of plain data out, a figure only when
``plot=True``, a headless test in ``tests/test_widgets_05.py``.
"""
from __future__ import annotations

import numpy as np


def permutation_null(width=32, n=200, *, seed=0, n_permutations=200, trained=False, plot=False):
    """Lesson 05 widget: the permutation null of linear CKA between two networks.

    Two one-hidden-layer ReLU networks of the same ``width`` read the same n
    digits (:func:`repalign_edu.data.untrained_network`, seeds ``seed + 1`` and
    ``seed + 2``; with ``trained=True`` the zoo's trained networks, seeds 0 and 1).
    Their hidden representations are compared by linear CKA, and the rows of the
    second are permuted ``n_permutations`` times
    (:func:`repalign_edu.permutation_test`).

    Parameters
    ----------
    width : int >= 1
    n : int, 10 <= n <= 1797
        Number of digits (the first n of ``data.load_digits()``).
    seed : int >= 0
    n_permutations : int >= 1
    trained : bool
    plot : bool
        Draw the null histogram, the observed value and the threshold.

    Returns
    -------
    dict
        ``statistic``, ``pvalue``, ``threshold``, ``calibrated`` (floats),
        ``null_mean``, ``null_sd`` and ``null`` (the array).

    Raises
    ------
    ValueError
        n outside [10, 1797], bad width or seed.
    """
    from .data import load_digits, model_zoo, untrained_network
    from .inference import permutation_test

    X, _ = load_digits()
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 10 <= n <= len(X):
        raise ValueError(f"n must be an integer in [10, {len(X)}]; got {n!r}.")
    if trained:
        zoo = model_zoo(widths=(width,), seeds=(0, 1))
        nets = zoo[("full", width, 0)], zoo[("full", width, 1)]
    else:
        nets = untrained_network(width, seed=seed + 1), untrained_network(width, seed=seed + 2)
    F1, F2 = (net.representation(X[:n]) for net in nets)
    res = permutation_test(F1, F2, "cka", n_permutations=n_permutations, seed=seed)
    out = {"statistic": res.statistic, "pvalue": res.pvalue, "threshold": res.threshold,
           "calibrated": res.calibrated, "null_mean": float(res.null.mean()),
           "null_sd": float(res.null.std()), "null": res.null}
    if plot:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 2.8))
        ax.hist(res.null, bins=30, color="0.6", label="permutation null")
        ax.axvline(res.threshold, color="C1", ls="--", label="95% threshold")
        ax.axvline(res.statistic, color="C0", lw=2, label="observed")
        ax.set_xlim(0, 1)
        ax.set_xlabel("linear CKA")
        ax.set_title(f"{'trained' if trained else 'untrained'} width {width}, n = {n}: "
                     f"p = {res.pvalue:.3g}, calibrated {res.calibrated:.2f}")
        ax.legend(fontsize=8)
        plt.show()
    return out
