"""Figure helpers and the shipped matplotlib style.

Every lesson starts with ``use_style()`` so figures look the same everywhere
(fixed sizes, a colour-blind-safe cycle).  Helpers return the matplotlib
objects they draw on, so lessons (and tests) can inspect them.
"""
from __future__ import annotations

from importlib import resources

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

STYLE = "repalign.mplstyle"


def style_path() -> str:
    """Path of the style file shipped as package data."""
    return str(resources.files("repalign_edu").joinpath(STYLE))


def use_style() -> None:
    """Apply the repalign-edu matplotlib style (``plt.style.use``)."""
    plt.style.use(style_path())


def _box(ax, xy, text, color):
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - 0.11, y - 0.07), 0.22, 0.14,
                                boxstyle="round,pad=0.01", fc=color, ec="0.3", lw=1.0))
    ax.text(x, y, text, ha="center", va="center", fontsize=9)


def _arrow(ax, a, b, label, *, rad=0.0, color="0.2", offset=(0.0, 0.03)):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, lw=1.2,
                                 color=color, connectionstyle=f"arc3,rad={rad}"))
    mx, my = (a[0] + b[0]) / 2 + offset[0], (a[1] + b[1]) / 2 + offset[1]
    ax.text(mx, my, label, ha="center", va="bottom", fontsize=9, color=color)


def figure1(ax=None):
    """Draw the paper's Figure 1: reality -> data -> representation -> output.

    Nodes: reality (Xi, xi); data (X_q, mu_q); representations (Z_q, lambda_q);
    outputs (Y_q, nu_q) for the two modalities q = 1, 2.  Arrows m_q, f_q, g_q,
    the end-to-end models h_q = g_q o f_q, and the stitchers s_12, s_21
    between the representation spaces.

    Parameters
    ----------
    ax : matplotlib Axes, optional
        Drawn into a new 8.5 x 4 inch figure when omitted.

    Returns
    -------
    matplotlib.axes.Axes

    References
    ----------
    Insulla, Huang & Rosasco (2025), Figure 1 and section 2.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8.5, 4.0))
    ax.set_xlim(-0.04, 1.2)
    ax.set_ylim(-0.1, 1.1)
    ax.axis("off")
    colors = {"reality": "#f2e6ff", "data": "#e6f2ff", "rep": "#e6ffe6", "out": "#fff2e6"}
    R = (0.1, 0.5)
    X = {1: (0.38, 0.78), 2: (0.38, 0.22)}
    Z = {1: (0.70, 0.78), 2: (0.70, 0.22)}
    Y = {1: (1.04, 0.78), 2: (1.04, 0.22)}
    _box(ax, R, "reality\n$(\\Xi, \\xi)$", colors["reality"])
    for q in (1, 2):
        _box(ax, X[q], f"data\n$(X_{q}, \\mu_{q})$", colors["data"])
        _box(ax, Z[q], f"representation\n$(Z_{q}, \\lambda_{q})$", colors["rep"])
        _box(ax, Y[q], f"output\n$(Y_{q}, \\nu_{q})$", colors["out"])
        # m_q runs diagonally: put its label beside the arrow (above-left for q = 1, below-left for
        # q = 2), not on it
        _arrow(ax, (R[0] + 0.11, R[1]), (X[q][0] - 0.11, X[q][1]), f"$m_{q}$",
               offset=(-0.05, 0.04) if q == 1 else (-0.05, -0.1))
        _arrow(ax, (X[q][0] + 0.11, X[q][1]), (Z[q][0] - 0.11, Z[q][1]), f"$f_{q}$")
        _arrow(ax, (Z[q][0] + 0.11, Z[q][1]), (Y[q][0] - 0.11, Y[q][1]), f"$g_{q}$")
        sign = 1 if q == 1 else -1
        _arrow(ax, (X[q][0], X[q][1] + sign * 0.07), (Y[q][0], Y[q][1] + sign * 0.07),
               f"$h_{q} = g_{q} \\circ f_{q}$", rad=-0.25 * sign, color="0.5",
               offset=(0.0, 0.09 * sign - (0.03 if q == 2 else 0.0)))
    _arrow(ax, (Z[1][0] - 0.03, Z[1][1] - 0.07), (Z[2][0] - 0.03, Z[2][1] + 0.07),
           "$s_{1,2}$", color="#D55E00", offset=(-0.06, 0.0))
    _arrow(ax, (Z[2][0] + 0.03, Z[2][1] + 0.07), (Z[1][0] + 0.03, Z[1][1] - 0.07),
           "$s_{2,1}$", color="#0072B2", offset=(0.06, 0.0))
    ax.set_title("Figure 1 of the paper: two modalities of one reality, and the stitchers")
    return ax


def show_images(images, titles=None, *, shape=(8, 8), ncols=10, axes=None):
    """Show flattened images (e.g. digits, halves of digits) in a grid.

    Parameters
    ----------
    images : array_like, shape (m, prod(shape))
    titles : sequence of str, optional
    shape : (int, int)
        Image shape used to un-flatten each row.
    ncols : int

    Returns
    -------
    ndarray of Axes
    """
    images = np.asarray(images)
    m = len(images)
    if axes is None:
        nrows = int(np.ceil(m / ncols))
        _, axes = plt.subplots(nrows, ncols, figsize=(0.8 * ncols, 0.95 * nrows))
    axes = np.atleast_1d(axes).ravel()
    for k, ax in enumerate(axes):
        ax.axis("off")
        if k < m:
            ax.imshow(images[k].reshape(shape), cmap="gray_r", vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(str(titles[k]), fontsize=8)
    return axes


def scatter_2d(Z2, labels, *, ax=None, title=None):
    """Scatter a 2-D embedding coloured by integer labels (e.g. digit classes).

    Parameters
    ----------
    Z2 : array_like, shape (n, 2)
    labels : array_like of int, shape (n,)

    Returns
    -------
    matplotlib.axes.Axes
    """
    Z2 = np.asarray(Z2)
    if Z2.ndim != 2 or Z2.shape[1] != 2:
        raise ValueError(f"Z2 must have shape (n, 2); got {Z2.shape}. Project first (e.g. PCA).")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 4.2))
    sc = ax.scatter(Z2[:, 0], Z2[:, 1], c=labels, cmap="tab10", s=8, alpha=0.8)
    ax.legend(*sc.legend_elements(), title="class", fontsize=7, loc="best", ncols=2)
    if title:
        ax.set_title(title)
    return ax


def alignment_matrix(M, row_labels=None, col_labels=None, *, ax=None, title=None, fmt="{:.2f}",
                     vmin=0.0, vmax=1.0, xlabel=None, ylabel=None, annotate=True):
    """Heat map of a matrix of alignments M[i, j] between row i and column j, annotated.

    The matrix may be rectangular: e.g. the layer x layer scores of two networks
    (rows: the layers of A, columns: the layers of B).

    Parameters
    ----------
    M : array_like, shape (m, p)
        Finite values (NaN cells are drawn blank and annotated "nan" only if
        you pass them; inf is refused).
    row_labels : sequence of str, length m, optional
        Labels of the rows (y axis).  Default: 0..m-1.
    col_labels : sequence of str, length p, optional
        Labels of the columns (x axis).  Default: ``row_labels`` when M is
        square (a matrix of a set against itself), else 0..p-1.
    ax : matplotlib Axes, optional
        Drawn into a new figure sized to the matrix when omitted.
    title, xlabel, ylabel : str, optional
    fmt : str
        Format of the cell annotations.
    vmin, vmax : float
        Colour range, vmin < vmax.
    annotate : bool
        Write each value in its cell.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        M not 2-D or empty, M with inf, labels whose length does not match
        the rows or the columns (the message says which), vmin >= vmax.
    """
    M = np.asarray(M, dtype=float)
    if M.ndim != 2 or M.size == 0:
        raise ValueError(f"M must be a non-empty 2-D matrix; got shape {M.shape}.")
    if np.isinf(M).any():
        raise ValueError("M contains inf; pass finite alignment values.")
    m, p = M.shape
    if col_labels is None and row_labels is not None and m == p:
        col_labels = row_labels
    row_labels = [str(v) for v in (range(m) if row_labels is None else row_labels)]
    col_labels = [str(v) for v in (range(p) if col_labels is None else col_labels)]
    if len(row_labels) != m:
        raise ValueError(f"row_labels has {len(row_labels)} entries but M has {m} rows "
                         f"(shape {M.shape}); pass one label per row.")
    if len(col_labels) != p:
        raise ValueError(f"col_labels has {len(col_labels)} entries but M has {p} columns "
                         f"(shape {M.shape}); pass one label per column"
                         + (" (a rectangular matrix needs col_labels)." if m != p else "."))
    if not float(vmin) < float(vmax):
        raise ValueError(f"vmin must be < vmax; got vmin={vmin}, vmax={vmax}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.55 * p + 2.2, 0.5 * m + 1.6))
    im = ax.imshow(M, vmin=vmin, vmax=vmax, cmap="viridis")
    ax.set_xticks(range(p), col_labels, rotation=45, ha="right")
    ax.set_yticks(range(m), row_labels)
    ax.grid(False)
    if annotate:
        for i in range(m):
            for j in range(p):
                ax.text(j, i, fmt.format(M[i, j]), ha="center", va="center", fontsize=7,
                        color="w" if M[i, j] < (vmin + vmax) / 2 else "k")
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    return ax
