"""HTML and figure helpers of :mod:`repalign_edu.report`: self-contained pages.

Every figure is a PNG embedded as a base64 ``data:`` URI and the style sheet is
inline, so a report opens without internet.  Matplotlib figures are built on
:class:`matplotlib.figure.Figure` directly (no pyplot state, no GUI backend).
"""
from __future__ import annotations

import base64
import html
import io as _io
import math

LESSON_URL = "https://github.com/repalign-edu/repalign-edu/blob/main/lessons/"

#: lesson that explains each measure (registry name -> (file, title))
LESSONS = {
    "cka": ("04_kernel_alignment.ipynb", "lesson 04 · kernel alignment"),
    "kernel_alignment": ("04_kernel_alignment.ipynb", "lesson 04 · kernel alignment"),
    "hsic": ("02_probabilistic_alignment.ipynb", "lesson 02 · probabilistic alignment"),
    "distance_alignment": ("01_metric_alignment.ipynb", "lesson 01 · metric alignment"),
    "rsa": ("01_metric_alignment.ipynb", "lesson 01 · metric alignment"),
    "procrustes_distance": ("01_metric_alignment.ipynb", "lesson 01 · metric alignment"),
    "mutual_knn": ("08_capstone_platonic.ipynb", "lesson 08 · the Platonic representation hypothesis"),
    "_inference": ("05_inference.ipynb", "lesson 05 · is this alignment real?"),
    "_stitching": ("07_stitching.ipynb", "lesson 07 · stitching"),
    "_other": ("06_which_measure.ipynb", "lesson 06 · which measure to trust"),
    "_own": ("10_own_data.ipynb", "lesson 10 · your own data"),
}

#: what a value of each measure means, in one sentence for a newcomer
MEANINGS = {
    "cka": "compares the two similarity structures of the samples: 1 means the same up to a rotation "
           "and a global scale (for the linear kernel), 0 means no relation",
    "kernel_alignment": "the cosine between the two Gram matrices (the paper's kernel alignment A-hat); "
                        "uncentred, so shared offsets inflate it; 1 means proportional Gram matrices",
    "hsic": "the Hilbert-Schmidt independence criterion, in squared kernel units: 0 under independence, "
            "larger means more dependence (not comparable across scalings; CKA is its normalised form)",
    "distance_alignment": "the paper's distance alignment D between the two distance structures: 0 means "
                          "isometric (smaller is more aligned)",
    "rsa": "rank correlation between the two matrices of pairwise distances (RSA): 1 means the same ordering "
           "of distances",
    "procrustes_distance": "the shape distance after the best rotation: 0 means the same shape up to "
                           "rotation, translation and scale (smaller is more aligned)",
    "mutual_knn": "the fraction of each sample's k nearest neighbours shared by the two representations; "
                  "chance level is about k/(n-1)",
}


def lesson_link(measure: str) -> str:
    """``<a>`` to the lesson that explains ``measure`` (a registry name or a ``_topic``)."""
    file, title = LESSONS.get(measure, LESSONS["_other"])
    return f'<a href="{LESSON_URL}{file}">{html.escape(title)}</a>'


def esc(x) -> str:
    return html.escape(str(x))


def fmt(x, digits=4) -> str:
    """A number for tables: None -> '-', floats to ``digits`` significant digits."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    x = float(x)
    if math.isnan(x):
        return "nan"
    return f"{x:.{digits}g}"


def fmt_p(p) -> str:
    if p is None:
        return "-"
    return f"{p:.3g}"


def figure_png(fig, dpi=110) -> str:
    """The figure as a ``data:image/png;base64,...`` URI."""
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def new_figure(figsize):
    """A style-applied Figure not registered with pyplot (no display, no GUI)."""
    import matplotlib.style
    from matplotlib.figure import Figure

    from .plotting import style_path

    with matplotlib.style.context(style_path()):
        fig = Figure(figsize=figsize)
    return fig


def img(uri: str, alt: str) -> str:
    return f'<img alt="{esc(alt)}" src="{uri}" style="max-width:100%">'


def table(header, rows, cls="ra-table") -> str:
    """An HTML table; ``rows`` hold already-escaped cell strings."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def text_table(header, rows) -> str:
    """A plain-text table with aligned columns (for ``__str__``)."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[j]) for r in rows)) if rows else len(str(h))
              for j, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line([str(h) for h in header]), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
.ra-table{border-collapse:collapse;margin:.5rem 0}
.ra-table th,.ra-table td{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
.ra-table th{background:#f3f3f3}
.ra-note{color:#555;font-size:.9rem}
.ra-interp li{margin:.3rem 0}
"""


def document(title: str, body: str) -> str:
    """A complete, self-contained HTML5 page."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n"
            f"<h1>{esc(title)}</h1>\n{body}\n"
            "<p class=\"ra-note\">Made by repalign-edu (Insulla, Huang &amp; Rosasco, ICLR 2025, "
            "arXiv 2502.14047). This page needs no internet; the links lead to the lessons.</p>\n"
            "</body></html>\n")
