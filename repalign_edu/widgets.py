"""Pure functions behind the lessons' interactive widgets.

Each widget cell in a lesson is a thin ``ipywidgets.interact`` wrapper around
one function here.  The functions take plain numbers, return plain data
(dicts of floats and arrays) and draw nothing unless asked, so every widget has
a headless test in ``tests/test_widgets.py``.
"""
from __future__ import annotations

import functools


def plot_only(fn):
    """Wrap a widget function for ``ipywidgets.interact`` so that only its figure shows.

    ``interact`` displays whatever the function returns; the functions here
    return their numbers (for the headless tests), so a widget cell calls
    ``interact(plot_only(f), ..., plot=fixed(True))``.  The wrapper keeps
    ``f``'s signature (``functools.wraps``), which ``interact`` reads.
    """
    @functools.wraps(fn)
    def shown(*args, **kwargs):
        fn(*args, **kwargs)

    return shown



# --------------------------------------------------------------------------- lesson 03
def spectral_bandwidth(scale=1.0, *, n=300, n_eigs=40, seed=0, plot=False):
    """Lesson 03 widget: how the RBF bandwidth shapes the spectrum and the alignment.

    Draws ``n`` digits (``np.random.default_rng(seed)``), splits them into the
    two half-image modalities of :func:`repalign_edu.data.two_views`, and
    builds RBF Gram matrices with bandwidths sigma_q = scale * median
    heuristic of view q.  For each view it returns the top ``n_eigs``
    eigenvalues eta_i of the empirical integral operator K_q/n
    (:func:`repalign_edu.spectral.mercer_eigenpairs`), and it returns the
    kernel alignment of the two views computed twice: the Frobenius form
    <K_1, K_2>_F / (||K_1||_F ||K_2||_F) (:func:`repalign_edu.kernel_alignment`,
    NumPy backend) and the spectral form <eta_hat_1, (C o C) eta_hat_2>
    (:func:`repalign_edu.spectral.spectral_alignment_from_grams`), plus the
    kernel-target alignment of the left view with the one-hot labels.

    Parameters
    ----------
    scale : float
        Bandwidth multiplier, > 0 (1 = the median heuristic).
    n : int
        Number of digits, 10 <= n <= 1797.
    n_eigs : int
        Number of leading eigenvalues returned per view, 1 <= n_eigs <= n.
    seed : int
        Seed of the sub-sample.
    plot : bool
        Draw the spectra (log scale) and the alignments when True.

    Returns
    -------
    dict
        ``sigma``: (sigma_1, sigma_2); ``eta_1``, ``eta_2``: ndarray (n_eigs,)
        decreasing; ``ka``: float (Frobenius); ``ka_spectral``: float (equal
        to ``ka`` up to rounding); ``kta``: float, A(K_1, Y Y^T) with one-hot
        Y; ``effective_dim``: (float, float), the participation ratio
        (sum eta)^2 / sum eta^2 of each full spectrum.

    Raises
    ------
    ValueError
        scale <= 0 or not finite; n, n_eigs or seed out of range.

    References
    ----------
    Paper section 3.1.2 (spectral interpretation of KA); lesson 03.
    """
    import numpy as np

    from . import spectral
    from ._validation import check_positive
    from .data import load_digits, two_views
    from .kernels import gram_matrix, median_heuristic
    from .measures import kernel_alignment

    scale = check_positive(scale, "scale")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 10 <= n <= 1797:
        raise ValueError(f"n must be an integer in [10, 1797] (number of digits); got {n!r}.")
    if isinstance(n_eigs, bool) or not isinstance(n_eigs, (int, np.integer)) or not 1 <= n_eigs <= n:
        raise ValueError(f"n_eigs must be an integer in [1, n={n}]; got {n_eigs!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}.")
    X, y = load_digits()
    idx = np.sort(np.random.default_rng(seed).choice(len(X), size=int(n), replace=False))
    X1, X2 = two_views(X[idx])
    sig = (scale * median_heuristic(X1), scale * median_heuristic(X2))
    K1 = gram_matrix(X1, "rbf", sigma=sig[0])
    K2 = gram_matrix(X2, "rbf", sigma=sig[1])
    e1, _ = spectral.mercer_eigenpairs(K1)
    e2, _ = spectral.mercer_eigenpairs(K2)
    ka = kernel_alignment(X1, X2, "rbf", sigma=sig, backend="numpy")
    ka_spec = spectral.spectral_alignment_from_grams(K1, K2)
    kta = spectral.kernel_target_alignment(K1, np.eye(10)[y[idx]])
    eff = tuple(float(e.sum() ** 2 / np.sum(e**2)) for e in (e1, e2))
    out = {"sigma": sig, "eta_1": e1[:n_eigs], "eta_2": e2[:n_eigs], "ka": ka,
           "ka_spectral": ka_spec, "kta": kta, "effective_dim": eff}
    if plot:
        import matplotlib.pyplot as plt

        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9.0, 3.4))
        i = np.arange(1, n_eigs + 1)
        ax0.semilogy(i, np.clip(out["eta_1"], 1e-12, None), "o-", ms=3, label="left view $\\eta_{1,i}$")
        ax0.semilogy(i, np.clip(out["eta_2"], 1e-12, None), "s-", ms=3, label="right view $\\eta_{2,i}$")
        ax0.set_ylim(1e-6, 1.2)
        ax0.set_xlabel("$i$")
        ax0.set_ylabel("eigenvalue of $K/n$")
        ax0.set_title(f"spectra, $\\sigma$ = {scale:.2g} x median")
        ax0.legend()
        names = ["KA (Frobenius)", "KA (spectral)", "KTA left view"]
        vals = [ka, ka_spec, kta]
        ax1.barh(names, vals, color=["C0", "C1", "C2"])
        for k, v in enumerate(vals):
            ax1.text(min(v, 0.8) + 0.02, k, f"{v:.4f}", va="center")
        ax1.set_xlim(0, 1.05)
        ax1.set_title(f"effective dim: {eff[0]:.1f} / {eff[1]:.1f}")
        plt.show()
    return out


# --------------------------------------------------------------------------- lesson 04
def cka_bandwidth(sigma=1.0, *, n=150, seed=0, n_grid=17, plot=False):
    """Lesson 04 widget: RBF-CKA with a fixed bandwidth vs the median heuristic.

    Takes ``n`` digits in sklearn's raw pixel units (intensities 0..16, i.e.
    unnormalised features) and two pairs of representations: a *related*
    pair (left and right half of the same images) and an *unrelated* pair
    (left halves vs the right halves of a random permutation of the images).
    It returns the RBF-CKA of both pairs with the fixed bandwidth ``sigma``
    (the same for both representations) and with the median heuristic, and
    the CKA of both pairs over a log grid of fixed bandwidths.  Small fixed
    bandwidths make every Gram matrix close to the identity, so CKA -> 1 for
    *both* pairs: it saturates and no longer tells related from unrelated.

    Parameters
    ----------
    sigma : float
        Fixed RBF bandwidth, in raw pixel units, > 0.
    n : int
        Number of digits, 10 <= n <= 1797.
    seed : int
        Seed of the sub-sample and of the permutation.
    n_grid : int
        Number of points of the bandwidth grid, 2 <= n_grid <= 200
        (log-spaced from 0.1 to 1000).
    plot : bool
        Draw CKA against sigma (both pairs, fixed and median) when True.

    Returns
    -------
    dict
        ``cka_related``, ``cka_unrelated``: float, fixed ``sigma``;
        ``cka_related_median``, ``cka_unrelated_median``: float, median
        heuristic; ``cka_related_linear``, ``cka_unrelated_linear``: float,
        linear CKA (the limit sigma -> inf); ``median_sigma``: (float, float), the median-heuristic
        bandwidths of the left and right views; ``grid``: ndarray (n_grid,);
        ``grid_related``, ``grid_unrelated``: ndarray (n_grid,).

    Raises
    ------
    ValueError
        sigma <= 0 or not finite; n, seed or n_grid out of range.

    References
    ----------
    Kornblith et al. (2019), section 3 (RBF CKA and its bandwidth); lesson 04.
    """
    import numpy as np

    from ._validation import check_positive
    from .data import load_digits, two_views
    from .kernels import median_heuristic
    from .measures import cka

    sigma = check_positive(sigma, "sigma")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 10 <= n <= 1797:
        raise ValueError(f"n must be an integer in [10, 1797] (number of digits); got {n!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}.")
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or not 2 <= n_grid <= 200:
        raise ValueError(f"n_grid must be an integer in [2, 200]; got {n_grid!r}.")
    X, _ = load_digits()
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(X), size=int(n), replace=False))
    L, R = two_views(16.0 * X[idx])
    R_perm = R[rng.permutation(int(n))]

    def both(s):
        return (cka(L, R, "rbf", sigma=s, backend="numpy"),
                cka(L, R_perm, "rbf", sigma=s, backend="numpy"))

    grid = np.logspace(-1, 3, int(n_grid))
    vals = np.array([both(float(s)) for s in grid])
    rel, unrel = both(sigma)
    rel_m, unrel_m = both(None)
    out = {"cka_related": rel, "cka_unrelated": unrel, "cka_related_median": rel_m,
           "cka_unrelated_median": unrel_m,
           "cka_related_linear": cka(L, R, backend="numpy"),
           "cka_unrelated_linear": cka(L, R_perm, backend="numpy"),
           "median_sigma": (median_heuristic(L), median_heuristic(R)),
           "grid": grid, "grid_related": vals[:, 0], "grid_unrelated": vals[:, 1]}
    if plot:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        ax.semilogx(grid, vals[:, 0], "-", color="C0", label="related (left vs right half)")
        ax.semilogx(grid, vals[:, 1], "-", color="C1", label="unrelated (right halves shuffled)")
        ax.plot([sigma], [rel], "o", color="C0")
        ax.plot([sigma], [unrel], "o", color="C1")
        ax.axhline(rel_m, color="C0", ls=":", label=f"median heuristic: {rel_m:.3f}")
        ax.axhline(unrel_m, color="C1", ls=":", label=f"median heuristic: {unrel_m:.3f}")
        ax.axvline(sigma, color="0.5", lw=0.8)
        ax.set_xlabel("fixed RBF bandwidth $\\sigma$ (raw pixel units)")
        ax.set_ylabel("CKA")
        ax.set_ylim(-0.02, 1.05)
        ax.set_title(f"$\\sigma$ = {sigma:.3g}: CKA related {rel:.3f}, unrelated {unrel:.3f}")
        ax.legend(fontsize=7, loc="center right")
        plt.show()
    return out


# --------------------------------------------------------------------------- lesson 01
def metric_response(angle=0.0, scale=1.0, stretch=1.0, shift=0.0, noise=0.0, *, n=150,
                    n_components=8, seed=0, plot=False):
    """Lesson 01 widget: transform one representation and watch every metric respond.

    X is the PCA representation (``n_components`` scores,
    :func:`repalign_edu.data.pca_representation`) of ``n`` digits drawn with
    ``np.random.default_rng(seed)``.  Y is X after, in this order: a rotation
    by ``angle`` degrees in the plane of the first two components, a stretch
    of the first component by ``stretch`` (an anisotropic, invertible linear
    map), an isotropic scaling by ``scale``, a translation by ``shift`` times
    the root-mean-square row norm of X along a fixed random direction, and
    additive Gaussian noise of standard deviation ``noise`` times the RMS
    per-coordinate spread of X.  Every measure of
    :func:`repalign_edu.metrics.default_measures` is evaluated on (X, Y).

    Parameters
    ----------
    angle : float
        Rotation angle in degrees.
    scale : float > 0
    stretch : float > 0
        1 means no stretch.
    shift : float >= 0
    noise : float >= 0
    n : int, 10 <= n <= 1797
    n_components : int, 2 <= n_components <= 64
    seed : int >= 0
    plot : bool
        Draw the two point clouds (first two coordinates) and a bar chart of
        the measures when True.

    Returns
    -------
    dict
        ``values``: dict name -> float (the measures on (X, Y)); ``D_relative``:
        D(d_1, d_2) / mean(d_1^4), a scale-free version of the distance
        alignment; ``X``, ``Y``: ndarray (n, n_components); ``labels``:
        ndarray (n,) of digit classes.  With angle alone every measure stays
        at its identity value (similarities 1, distances 0).

    Raises
    ------
    ValueError
        Non-finite angle; scale or stretch <= 0; shift or noise < 0; n,
        n_components or seed out of range.

    References
    ----------
    Paper section 3.2 (distance alignment); Kornblith et al. (2019);
    Williams et al. (2021); lesson 01.
    """
    import numpy as np

    from ._validation import check_positive
    from .data import load_digits, pca_representation
    from .metrics import default_measures, rdm

    if isinstance(angle, bool) or not isinstance(angle, (int, float, np.floating, np.integer)) \
            or not np.isfinite(angle):
        raise ValueError(f"angle must be a finite number of degrees; got {angle!r}.")
    scale = check_positive(scale, "scale")
    stretch = check_positive(stretch, "stretch")
    for v, name in ((shift, "shift"), (noise, "noise")):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) \
                or not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0; got {v!r}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 10 <= n <= 1797:
        raise ValueError(f"n must be an integer in [10, 1797] (number of digits); got {n!r}.")
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) \
            or not 2 <= n_components <= 64:
        raise ValueError(f"n_components must be an integer in [2, 64]; got {n_components!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}.")
    Xall, yall = load_digits()
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(Xall), size=int(n), replace=False))
    X = pca_representation(Xall[idx], int(n_components))
    d = X.shape[1]
    th = np.deg2rad(float(angle))
    R = np.eye(d)
    R[:2, :2] = [[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]
    S = np.ones(d)
    S[0] = stretch
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    eps = rng.standard_normal(X.shape)
    rms_row = np.sqrt(np.mean(np.sum(X**2, axis=1)))
    Y = scale * (X @ R) * S + shift * rms_row * u + noise * (rms_row / np.sqrt(d)) * eps
    values = {name: float(f(X, Y)) for name, f in default_measures().items()}
    d_rel = values["D (distance alignment)"] / float(np.mean(rdm(X, "sqeuclidean") ** 2))
    out = {"values": values, "D_relative": d_rel, "X": X, "Y": Y, "labels": yall[idx]}
    if plot:
        import matplotlib.pyplot as plt

        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10.0, 3.8),
                                       gridspec_kw={"width_ratios": [1, 1.4]})
        ax0.scatter(X[:, 0], X[:, 1], s=6, c="0.6", label="X (PCA of digits)")
        ax0.scatter(Y[:, 0], Y[:, 1], s=6, c=yall[idx], cmap="tab10", label="Y = T(X)")
        ax0.set_aspect("equal", adjustable="datalim")
        ax0.set_title("first two coordinates")
        ax0.legend(fontsize=7, loc="upper left")
        names = [k for k in values if k != "D (distance alignment)"] + ["D / mean(d^4)"]
        vals = [values[k] for k in values if k != "D (distance alignment)"] + [d_rel]
        ax1.barh(names, vals, color=["C0" if k in ("Procrustes", "angular Procrustes",
                                                    "shape metric, alpha=0", "D / mean(d^4)")
                                     else "C2" for k in names])
        for k, v in enumerate(vals):
            ax1.text(min(v, 1.4) + 0.02, k, f"{v:.3f}", va="center", fontsize=7)
        ax1.set_xlim(0, 1.6)
        ax1.invert_yaxis()
        ax1.set_title("green: similarity (1 = same), blue: distance (0 = same)", fontsize=9)
        plt.show()
    return out


# --------------------------------------------------------------------------- lesson 02
def dependence_response(strength=0.5, nonlinearity=0.0, *, n=200, seed=0, plot=False):
    """Lesson 02 widget: dependence strength and nonlinearity vs HSIC, MMD and MI.

    A synthetic pair (:func:`repalign_edu.gaussian.sample_additive_pair`): x ~ N(0, 1) and::

        y = a f_t(x) + sqrt(1 - a^2) e,   e ~ N(0, 1),
        f_t(x) = ((1 - t) x + t (x^2 - 1)/sqrt(2)) / sqrt((1 - t)^2 + t^2)

    with a = ``strength`` and t = ``nonlinearity``; f_t has mean 0 and
    variance 1, and corr(x, y) = a (1 - t) / sqrt((1 - t)^2 + t^2), so at t = 1
    the pair is uncorrelated yet strongly dependent.

    Parameters
    ----------
    strength : float in [0, 1)
    nonlinearity : float in [0, 1]
    n : int, 20 <= n <= 2000
    seed : int >= 0
    plot : bool
        Draw the scatter and the measures when True.

    Returns
    -------
    dict of float
        ``hsic_rbf``: biased HSIC, RBF kernels, median heuristic;
        ``hsic_linear``: biased HSIC, linear kernels (= squared sample
        covariance); ``mmd2_rbf``: unbiased MMD^2 between the joint sample
        and a sample of the product of marginals (y shuffled 5 times), product RBF
        kernel with the same bandwidths (estimates the same population value
        as ``hsic_rbf``); ``mi_true``: exact mutual information (nats, by
        quadrature, :func:`repalign_edu.gaussian.mutual_information_additive`;
        -1/2 log(1 - a^2) at t = 0); ``mi_gaussian``: -1/2
        log(1 - r^2) from the sample correlation r (the Gaussian formula,
        blind to nonlinear dependence); ``mi_knn``: the Kraskov k-NN
        estimate (``sklearn.feature_selection.mutual_info_regression``);
        ``corr``: the population correlation of x and y; plus ``x``, ``y``
        (ndarray (n,)).

    Raises
    ------
    ValueError
        strength outside [0, 1), nonlinearity outside [0, 1], n or seed out
        of range.

    References
    ----------
    Gretton et al. (2005, 2012); Kraskov, Stoegbauer & Grassberger (2004);
    paper sections 3.3-3.4; lesson 02.
    """
    import numpy as np
    from sklearn.feature_selection import mutual_info_regression

    from .cross_covariance import product_kernel_samples
    from .gaussian import (mutual_information_additive, mutual_information_from_rho,
                           sample_additive_pair, sample_canonical_correlations)
    from .kernels import median_heuristic
    from .measures import hsic, mmd2

    for v, name, hi_ok in ((strength, "strength", False), (nonlinearity, "nonlinearity", True)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) \
                or not (0.0 <= v < 1.0 or (hi_ok and v == 1.0)):
            rng_txt = "[0, 1]" if hi_ok else "[0, 1)"
            raise ValueError(f"{name} must be a number in {rng_txt}; got {v!r}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 20 <= n <= 2000:
        raise ValueError(f"n must be an integer in [20, 2000]; got {n!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}.")
    a, t = float(strength), float(nonlinearity)
    rng = np.random.default_rng(seed)
    X, Y = sample_additive_pair(a, t, int(n), seed=rng)
    x, y = X[:, 0], Y[:, 0]
    sig = (median_heuristic(X), median_heuristic(Y))
    zj, _ = product_kernel_samples(X, Y, "rbf", sigma=sig)
    zp = np.vstack([np.column_stack([zj[:, 0], zj[rng.permutation(int(n)), 1]])
                    for _ in range(5)])                   # 5 shuffles: 5n product draws
    r_hat = sample_canonical_correlations(X, Y)
    out = {
        "hsic_rbf": hsic(X, Y, "rbf", sigma=sig, backend="numpy"),
        "hsic_linear": hsic(X, Y, "linear", backend="numpy"),
        "mmd2_rbf": mmd2(zj, zp, "rbf", sigma=1.0, estimator="unbiased", backend="numpy"),
        "mi_true": mutual_information_additive(a, t),
        "mi_gaussian": mutual_information_from_rho(np.minimum(r_hat, 1 - 1e-12)),
        "mi_knn": float(mutual_info_regression(X, y, n_neighbors=3, random_state=int(seed))[0]),
        "corr": float(a * (1 - t) / np.sqrt((1 - t) ** 2 + t**2)),
        "x": x, "y": y,
    }
    if plot:
        import matplotlib.pyplot as plt

        fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(11.0, 3.4),
                                            gridspec_kw={"width_ratios": [1.1, 1, 1]})
        ax0.scatter(x, y, s=6, alpha=0.7)
        ax0.set_xlabel("$x$")
        ax0.set_ylabel("$y$")
        ax0.set_title(f"strength {a:.2f}, nonlinearity {t:.2f}")
        ax1.bar(["HSIC (rbf)", "MMD$^2$ (joint vs\nproduct)"], [out["hsic_rbf"], out["mmd2_rbf"]],
                color=["C0", "C1"])
        ax1.set_ylim(min(0.0, out["mmd2_rbf"]) - 0.005, 0.12)
        ax1.set_title("kernel dependence")
        names = ["MI exact", "MI Gaussian\nformula", "MI k-NN"]
        vals = [out["mi_true"], out["mi_gaussian"], out["mi_knn"]]
        ax2.bar(names, vals, color=["C2", "C3", "C4"])
        ax2.set_ylim(0, max(1.2, max(vals) * 1.1))
        ax2.set_title("mutual information (nats)")
        plt.show()
    return out


# --------------------------------------------------------------------------- lesson 07
def stitching_bound(noise=0.3, head_scale=1.0, label_noise=0.1, anisotropy=1.0, *, head="tanh",
                    n=400, seed=0, plot=False):
    """Lesson 07 widget: Theorem 1's bound against the measured stitched risk.

    A synthetic pair in the setting of the paper's Theorem 1 (recipe 17 of
    the paper notes): x ~ N(0, I_6), f_2(x) = x[:4] (d_2 = 4) and
    f_1(x) = tanh(x A) + noise * eps (d_1 = 6, A a fixed random 6 x 6
    matrix), so f_2 is only approximately a linear function of f_1.  The
    head is g_2(z) = W tanh(z) (``head="tanh"``) or g_2(z) = W z
    (``head="linear"``) with W = head_scale * Q_1 diag(s) Q_2^T, singular
    values s from 1 down to 1/anisotropy, so kappa_2 = ||W||_2 = head_scale
    (tanh is 1-Lipschitz; for the linear head this is exact).  Targets:
    y = g_2(f_2(x)) + label_noise * eps'.  The stitcher is the least-squares
    S* (:func:`repalign_edu.stitching.fit_linear_stitch`) and everything is
    measured by :func:`repalign_edu.stitching.stitching_risk`.

    With ``head="linear"``, ``anisotropy=1`` (W is kappa times an orthogonal
    matrix) and ``label_noise=0`` the bound is attained: R_2 = 0 and the
    stitched risk equals kappa_2^2 A~_2.

    Parameters
    ----------
    noise : float >= 0
        Noise added to f_1 (raises A~_2).
    head_scale : float > 0
        kappa_2, the Lipschitz constant of g_2.
    label_noise : float >= 0
        Standard deviation of the target noise (R_2(H_2) is about
        4 * label_noise^2).
    anisotropy : float >= 1
        Ratio of the largest to the smallest singular value of W (1: an
        isometry up to the scale).
    head : {"tanh", "linear"}
    n : int, 20 <= n <= 20000
    seed : int >= 0
    plot : bool
        Draw the measured risk, the bound after the proof's first step and
        the bound when True.

    Returns
    -------
    dict of float
        ``R2`` (R_2(h_2)), ``A2`` (A~_2), ``kappa2``, ``kappa_effective``
        (sqrt(E||g_2(S f_1) - g_2(f_2)||^2 / A~_2)), ``risk_stitched``,
        ``minkowski_bound``, ``bound`` (Theorem 1), ``tightness``
        (bound / risk_stitched, >= 1).

    Raises
    ------
    ValueError
        An argument out of range (named in the message).

    References
    ----------
    Paper section 4.2, Theorem 1 (Eq. 2); lesson 07.
    """
    import numpy as np

    from . import stitching
    from ._validation import check_positive

    for v, name in ((noise, "noise"), (label_noise, "label_noise")):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) \
                or not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0; got {v!r}.")
    head_scale = check_positive(head_scale, "head_scale")
    anisotropy = check_positive(anisotropy, "anisotropy")
    if anisotropy < 1:
        raise ValueError(f"anisotropy must be >= 1 (largest / smallest singular value); got {anisotropy}.")
    if head not in ("tanh", "linear"):
        raise ValueError(f"unknown head {head!r}; choose 'tanh' or 'linear'.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 20 <= n <= 20000:
        raise ValueError(f"n must be an integer in [20, 20000]; got {n!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}.")
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(6, 6)) / np.sqrt(6)
    Q1, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    Q2, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    X = rng.normal(size=(int(n), 6))
    F2 = X[:, :4].copy()
    F1 = np.tanh(X @ A) + float(noise) * rng.normal(size=(int(n), 6))
    s = np.logspace(0, -np.log10(anisotropy), 4)
    W = head_scale * (Q1 * s) @ Q2.T
    if head == "linear":
        g2 = stitching.linear_head(W)
    else:
        g2 = stitching.Head(fn=lambda Z: np.tanh(Z) @ W.T, d_in=4, d_out=4, kappa=head_scale,
                            exact=False, name="W tanh(z)")
    Y = g2(F2) + float(label_noise) * rng.normal(size=(int(n), 4))
    r = stitching.stitching_risk(F1, F2, g2, Y)
    out = {"R2": r.risk_model2, "A2": r.misalignment, "kappa2": r.kappa2,
           "kappa_effective": r.kappa_effective, "risk_stitched": r.risk_stitched,
           "minkowski_bound": r.minkowski_bound, "bound": r.bound, "tightness": r.tightness}
    if plot:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 2.8))
        names = ["$R_2(h_2)$", "measured $R^{stitch}_{1,2}(S^*)$",
                 "after Minkowski step", "Theorem 1 bound"]
        vals = [out["R2"], out["risk_stitched"], out["minkowski_bound"], out["bound"]]
        ax.barh(names, vals, color=["0.6", "C0", "C2", "C1"])
        for k, v in enumerate(vals):
            ax.text(v, k, f" {v:.3g}", va="center", fontsize=8)
        ax.set_xlim(0, 1.25 * max(vals) + 1e-12)
        ax.invert_yaxis()
        ax.set_title(f"bound / measured = {out['tightness']:.2f}   "
                     f"($\\kappa_2$ = {out['kappa2']:.2g}, effective {out['kappa_effective']:.2g})")
        plt.show()
    return out


# --------------------------------------------------------------------------- lesson 08
def zoo_pair_alignment(width=64, view_1="left", view_2="right", seed_1=0, seed_2=1, *, k=10,
                       plot=False):
    """Lesson 08 widget: alignment and stitching between two networks of the zoo.

    Trains (or loads from the cache) two networks of
    :func:`repalign_edu.data.model_zoo` with the same ``width`` (one hidden
    layer), reading ``view_1`` and ``view_2`` of the digits, with seeds
    ``seed_1`` and ``seed_2``.  On the held-out test digits it compares
    their hidden representations f_1, f_2 with linear CKA, mutual k-NN
    (Huh et al. 2024; rows of zero norm, i.e. inputs that switch off every
    ReLU unit of either network, are left out) and the relative stitching
    misalignment A~_2 / E||f_2||^2, and it stitches f_1 into network 2's head
    with a linear stitcher fitted on the training digits.

    Parameters
    ----------
    width : int >= 1
        Hidden width of both networks (widths not yet cached train in a
        few seconds).
    view_1, view_2 : {"full", "left", "right"}
    seed_1, seed_2 : int >= 0
    k : int >= 1
        Neighbours of the mutual k-NN.
    plot : bool
        Draw the measures and the accuracies when True.

    Returns
    -------
    dict of float
        ``accuracy_1``, ``accuracy_2``: test accuracies of the two networks;
        ``cka``; ``mutual_knn``; ``mutual_knn_chance`` (k / (n - 1));
        ``misalignment_relative`` (A~_2 / E||f_2||^2 on the test digits);
        ``accuracy_stitched`` (g_2 o S o f_1 on the test digits);
        ``excess_risk`` (R^stitch_{1,2}(S) - R_2(h_2), square loss on one-hot
        labels); ``n_dropped`` (rows left out of the mutual k-NN).

    Raises
    ------
    ValueError
        Unknown view, bad width, seed or k (from the zoo or here).

    References
    ----------
    Huh et al. (2024); paper sections 1 and 4.2; lesson 08.
    """
    import numpy as np

    from . import stitching
    from .data import load_digits, model_zoo, two_views
    from .measures import cka, mutual_knn

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1; got {k!r}.")
    zoo = model_zoo(widths=(width,), seeds=tuple(dict.fromkeys((seed_1, seed_2))),
                    views=tuple(dict.fromkeys((view_1, view_2))))
    e1, e2 = zoo[(view_1, width, seed_1)], zoo[(view_2, width, seed_2)]
    X, y = load_digits()
    left, right = two_views(X)
    inputs = {"full": X, "left": left, "right": right}
    tr, te = e1.train_idx, e1.test_idx
    F1, F2 = e1.representation(inputs[view_1][te]), e2.representation(inputs[view_2][te])
    S = stitching.fit_linear_stitch(e1.representation(inputs[view_1][tr]),
                                    e2.representation(inputs[view_2][tr]))
    r = stitching.stitching_risk(F1, F2, stitching.zoo_head(e2), y[te], stitcher=S)
    keep = (np.linalg.norm(F1, axis=1) > 0) & (np.linalg.norm(F2, axis=1) > 0)
    n_keep = int(keep.sum())
    k_eff = int(min(k, n_keep - 1))
    out = {
        "accuracy_1": e1.test_accuracy, "accuracy_2": e2.test_accuracy,
        "cka": cka(F1, F2),
        "mutual_knn": mutual_knn(F1[keep], F2[keep], k=k_eff),
        "mutual_knn_chance": k_eff / (n_keep - 1),
        "misalignment_relative": stitching.stitching_misalignment(F1, F2) / float(np.mean(np.sum(F2**2, 1))),
        "accuracy_stitched": r.accuracy_stitched, "excess_risk": r.excess,
        "n_dropped": int(len(keep) - n_keep),
    }
    if plot:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 3.0))
        names = [f"accuracy net 1 ({view_1})", f"accuracy net 2 ({view_2})", "stitched accuracy",
                 "CKA", f"mutual {k_eff}-NN", r"$\tilde A_2 / E\|f_2\|^2$"]
        vals = [out["accuracy_1"], out["accuracy_2"], out["accuracy_stitched"], out["cka"],
                out["mutual_knn"], out["misalignment_relative"]]
        ax.barh(names, vals, color=["0.6", "0.6", "C0", "C2", "C2", "C1"])
        ax.axvline(out["mutual_knn_chance"], color="C2", ls=":", lw=1)
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:.3f}", va="center", fontsize=8)
        ax.set_xlim(0, 1.15)
        ax.invert_yaxis()
        ax.set_title(f"width {width}: {view_1} (seed {seed_1}) vs {view_2} (seed {seed_2})")
        plt.show()
    return out


# --------------------------------------------------------------------------- lesson 09
def scaling_memory(n=50_000, *, d=64, tile=256, threads=2, plot=False):
    """Lesson 09 widget: memory of a materialised vs a streamed kernel measure.

    For two representations with ``d`` features each, compares the float64
    Gram matrices K and L that a textbook RBF CKA holds (2 n^2 * 8 bytes) with
    the working memory of the streaming backend
    (:func:`repalign_edu.scaling.streaming_bytes`: O(n (d_X + d_Y) + threads * tile)).

    Parameters
    ----------
    n : int >= 2
        Number of samples.
    d : int >= 1
        Features of each representation.
    tile : int >= 1
        Columns per tile of the streaming kernel.
    threads : int >= 1
    plot : bool
        Draw both memories against n (log-log) and mark ``n`` when True.

    Returns
    -------
    dict of float
        ``gram_gb`` (one n x n float64 matrix, GB = 1e9 bytes),
        ``materialised_gb`` (K and L), ``streaming_mb`` (MB = 1e6 bytes) and
        ``ratio`` (materialised / streaming).

    Raises
    ------
    ValueError
        n, d, tile or threads out of range (named in the message).
    """
    import numpy as np

    from .scaling import gram_bytes, streaming_bytes

    for v, name, lo in ((n, "n", 2), (d, "d", 1), (tile, "tile", 1), (threads, "threads", 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}; got {v!r}.")
    gram = gram_bytes(int(n))
    stream = streaming_bytes(int(n), int(d), int(d), tile=int(tile), threads=int(threads))
    out = {"gram_gb": gram / 1e9, "materialised_gb": 2 * gram / 1e9, "streaming_mb": stream / 1e6,
           "ratio": 2 * gram / stream}
    if plot:
        import matplotlib.pyplot as plt

        ns = np.logspace(2, 6, 60)
        fig, ax = plt.subplots(figsize=(6.4, 3.4))
        ax.loglog(ns, 2 * 8.0 * ns**2 / 1e6, label="materialised K and L")
        ax.loglog(ns, [streaming_bytes(int(m), int(d), int(d), tile=int(tile),
                                       threads=int(threads)) / 1e6 for m in ns],
                  label=f"streaming (tile {tile}, {threads} threads)")
        ax.axhline(500, color="0.5", ls=":", lw=1, label="500 MB")
        ax.plot([n, n], [out["streaming_mb"], out["materialised_gb"] * 1e3], "k.-")
        ax.set_xlabel("n")
        ax.set_ylabel("MB")
        ax.set_title(f"n = {n:,}: {out['materialised_gb']:.3g} GB vs {out['streaming_mb']:.3g} MB")
        ax.legend(fontsize=8)
        plt.show()
    return out


# --------------------------------------------------------------------------- lesson 06
def layer_matrix(measure="linear CKA", seed_a=0, seed_b=1, *, plot=False):
    """Lesson 06 widget: one measure's layer x layer matrix between two deep-zoo networks.

    Reads the cached similarity matrices of
    :func:`repalign_edu.sanity.layer_identification` (the ten networks of
    :func:`repalign_edu.data.deep_zoo` on the 540 held-out digits) and marks,
    in every row (a layer of network ``seed_a``), the most similar layer of
    network ``seed_b``.  The test of Kornblith et al. (2019) asks that the
    mark sits on the diagonal.

    Parameters
    ----------
    measure : str
        One of :data:`repalign_edu.sanity.ALL_MEASURES`.
    seed_a, seed_b : int
        Two different seeds of the deep zoo (0..9).
    plot : bool
        Draw the matrix when True.

    Returns
    -------
    dict
        ``matrix`` (L, L) ndarray; ``best`` (L,) the 1-based best-matching
        layer of each row (the first one on a tie); ``accuracy`` the pair's
        identification accuracy (tie rule of :mod:`repalign_edu.sanity`).

    Raises
    ------
    ValueError
        Unknown measure, a seed outside the zoo, or seed_a == seed_b.
    """
    import numpy as np

    from . import sanity
    from .data import DEEP_SEEDS

    if measure not in sanity.ALL_MEASURES:
        raise ValueError(f"unknown measure {measure!r}; choose one of {list(sanity.ALL_MEASURES)}.")
    for s, name in ((seed_a, "seed_a"), (seed_b, "seed_b")):
        if isinstance(s, bool) or s not in DEEP_SEEDS:
            raise ValueError(f"{name} must be a seed of the deep zoo {DEEP_SEEDS}; got {s!r}.")
    if seed_a == seed_b:
        raise ValueError("seed_a and seed_b must differ: the test compares two networks.")
    res = sanity.layer_identification()
    i, j = DEEP_SEEDS.index(seed_a), DEEP_SEEDS.index(seed_b)
    S = res.matrices[measure][i, j]
    out = {"matrix": S, "best": np.argmax(S, axis=1) + 1,
           "accuracy": float(sanity.identification_accuracy(res.matrices[measure])[i, j])}
    if plot:
        import matplotlib.pyplot as plt

        L = S.shape[0]
        fig, ax = plt.subplots(figsize=(4.2, 3.6))
        im = ax.imshow(S, cmap="viridis")
        ax.plot(out["best"] - 1, np.arange(L), "wx", ms=9, mew=2, label="most similar")
        ax.set_xticks(range(L), range(1, L + 1))
        ax.set_yticks(range(L), range(1, L + 1))
        ax.set_xlabel(f"layer of network {seed_b}")
        ax.set_ylabel(f"layer of network {seed_a}")
        ax.set_title(f"{measure}: accuracy {out['accuracy']:.2f}")
        fig.colorbar(im, ax=ax)
        plt.show()
    return out
