"""Reports for one's own data: compare two representations, all their layers, or stitch them.

The Python API behind the ``repalign`` command line (:mod:`repalign_edu.cli`
only parses arguments and calls these functions):

* :func:`compare` -- several alignment measures between two representations
  of the same objects, optionally with permutation p-values and calibrated
  scores (:func:`repalign_edu.inference.permutation_test`) and bootstrap
  intervals (:func:`repalign_edu.inference.bootstrap_ci`);
* :func:`layers` -- every layer of one network against every layer of
  another (a rectangular heat map), the best match of each layer, and the
  maximum calibrated for the layer search
  (:func:`repalign_edu.inference.calibrate_layers`);
* :func:`stitch` -- the paper's practical question, "can B's model use A's
  data?": a linear stitcher S from A to B and a linear head on B, fitted on a
  training split and evaluated on the held-out split with the stitching
  misalignment A~_2, the risks, the Theorem 1 bound, KA and CKA.

Inputs are files (any format of :mod:`repalign_edu.io`) or arrays.  Each
function returns a frozen result object with a readable ``__str__``,
``_repr_html_`` for notebooks, ``to_dict()`` for JSON, ``to_html()`` for a
self-contained page and ``save_html(path)``.

Measure names
-------------
A measure is a registered name of :data:`repalign_edu.MEASURES` (``-`` may
stand for ``_``), one of the shortcuts in :data:`ALIASES` (``cka-rbf``,
``cka-debiased``, ``mutual-knn``, ``ka`` ...), optionally followed by
``:key=value`` keyword arguments, e.g. ``mutual-knn:k=20`` or
``cka:kernel=rbf:sigma=2.5``.
"""
from __future__ import annotations

import inspect
import math
import os
import sys
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

from . import _report_html as H
from .io import InputError, load_labels, load_layer_pair, load_pair
from .registry import MEASURES, resolve_measure

__all__ = ["ALIASES", "CompareResult", "LayersResult", "MeasureRow", "StitchReport", "compare",
           "layers", "parse_measure", "stitch"]

#: shortcuts: name -> (registry name, keyword arguments)
ALIASES = {
    "cka": ("cka", {}),
    "cka-linear": ("cka", {}),
    "cka-rbf": ("cka", {"kernel": "rbf"}),
    "cka-debiased": ("cka", {"estimator": "unbiased"}),
    "cka-rbf-debiased": ("cka", {"kernel": "rbf", "debiased": True}),
    "ka": ("kernel_alignment", {}),
    "ka-centered": ("kernel_alignment", {"centered": True}),
    "ka-rbf": ("kernel_alignment", {"kernel": "rbf"}),
    "hsic": ("hsic", {}),
    "hsic-rbf": ("hsic", {"kernel": "rbf"}),
    "mutual-knn": ("mutual_knn", {}),
    "knn": ("mutual_knn", {}),
    "rsa": ("rsa", {}),
    "procrustes": ("procrustes_distance", {}),
    "distance-alignment": ("distance_alignment", {}),
}

DEFAULT_MEASURES = ("cka", "cka-rbf", "mutual-knn")


# --------------------------------------------------------------------------
# measure specifications
# --------------------------------------------------------------------------
def _parse_value(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def parse_measure(spec):
    """Turn a measure specification into ``(label, registry name, kwargs)``.

    Parameters
    ----------
    spec : str or (str, dict)
        ``"name"`` or ``"name:key=value:key=value"`` where name is an alias
        (:data:`ALIASES`) or a registered measure (``-`` for ``_`` allowed).

    Returns
    -------
    label : str
        The specification as given (used as the key in tables and JSON).
    name : str
        Registry name.
    kwargs : dict
        Keyword arguments for the measure.

    Raises
    ------
    ValueError
        An unknown measure (the message lists the names) or a keyword the
        measure does not take (the message lists those it takes).
    """
    if isinstance(spec, tuple):
        name, kwargs = spec
        label = name + "".join(f":{k}={v}" for k, v in kwargs.items())
        return _check_kwargs(label, name, dict(kwargs))
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"a measure must be a name such as 'cka' or 'mutual-knn:k=20'; got {spec!r}.")
    label = spec.strip()
    head, *params = label.split(":")
    head = head.strip().lower()
    if head in ALIASES:
        name, kwargs = ALIASES[head][0], dict(ALIASES[head][1])
    elif head.replace("-", "_") in MEASURES:
        name, kwargs = head.replace("-", "_"), {}
    else:
        raise ValueError(
            f"unknown measure {head!r}; choose from the shortcuts {', '.join(ALIASES)} or the "
            f"registered measures {', '.join(sorted(MEASURES))} (add options as name:key=value)."
        )
    for p in params:
        if "=" not in p:
            raise ValueError(f"measure option {p!r} in {label!r} must look like key=value, e.g. "
                             "mutual-knn:k=20.")
        k, v = p.split("=", 1)
        kwargs[k.strip()] = _parse_value(v.strip())
    return _check_kwargs(label, name, kwargs)


def _accepted(func):
    try:
        return inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return {}


def _check_kwargs(label, name, kwargs):
    params = _accepted(MEASURES[name])
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return label, name, kwargs
    allowed = [p for p in list(params)[2:] if p not in ("backend", "return_rotation")]
    bad = [k for k in kwargs if k not in allowed]
    if bad:
        raise ValueError(f"measure {label!r}: {name} takes no option {bad[0]!r}; its options are: "
                         f"{', '.join(allowed) or 'none'}.")
    return label, name, kwargs


class _About:
    """Prefix a measure's ValueError with the measure and the files (X = A, Y = B)."""

    def __init__(self, label, src_A, src_B):
        self.prefix = f"{label} of {src_A} (X) and {src_B} (Y): "

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        if typ is not None and issubclass(typ, ValueError) and not isinstance(exc, InputError):
            raise ValueError(self.prefix + str(exc)) from None
        return False


def _call_measure(name, X, Y, kwargs, backend):
    func = MEASURES[name]
    kw = dict(kwargs)
    if backend != "auto" and "backend" in _accepted(func):
        kw["backend"] = backend
    try:
        value = float(func(X, Y, **kw))
    except TypeError as exc:  # an option of the wrong type reaching the measure
        raise ValueError(f"measure {name}: bad option ({exc}).") from None
    if not math.isfinite(value):
        raise ValueError(f"measure {name} returned {value} on these inputs; check them for constant "
                         "columns or too few rows.")
    return value


# --------------------------------------------------------------------------
# small checks and progress
# --------------------------------------------------------------------------
def _check_count(value, name, minimum=0):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _check_level(level, name):
    if level is None:
        return None
    if isinstance(level, bool) or not isinstance(level, Real) or not 0 < float(level) < 1:
        raise ValueError(f"{name} must be a confidence level strictly between 0 and 1 (e.g. 0.95); "
                         f"got {level!r}.")
    return float(level)


def _check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None; got {seed!r}.")
    return int(seed)


def progress_enabled(progress) -> bool:
    """``True``/``False`` as given; ``None`` means on when stderr is a terminal."""
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


def _bar(iterable, *, total, desc, progress):
    """tqdm over ``iterable`` on stderr when ``progress`` (tqdm.auto: a widget in notebooks)."""
    if not progress:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is a core dependency; stay silent if someone removed it
        return iterable
    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False)


def _inference():
    try:
        from . import inference
    except ImportError as exc:
        raise ValueError(f"permutations and intervals need repalign_edu.inference, which this build "
                         f"lacks ({exc}); update repalign-edu.") from None
    return inference


def _with_progress(func, kwargs, progress):
    if "progress" in _accepted(func):
        kwargs["progress"] = progress
    return kwargs


# --------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class MeasureRow:
    """One measure's results in a :class:`CompareResult`.

    ``pvalue``, ``calibrated``, ``threshold`` come from a permutation test
    (None without one); ``ci_low``, ``ci_high`` from a bootstrap (None
    without one).
    """

    label: str
    measure: str
    kwargs: dict
    kind: str
    bounds: tuple
    value: float
    n_permutations: int = 0
    alpha: float | None = None
    pvalue: float | None = None
    threshold: float | None = None
    calibrated: float | None = None
    ci_level: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str | None = None
    n_resamples: int = 0
    #: values the interval was formed from: the resamples, or the n leave-one-out values
    n_replicates: int = 0

    def to_dict(self) -> dict:
        d = {"measure": self.measure, "kwargs": dict(self.kwargs), "kind": self.kind,
             "bounds": [_json_num(b) for b in self.bounds], "value": self.value}
        if self.n_permutations:
            d.update(n_permutations=self.n_permutations, alpha=self.alpha, pvalue=self.pvalue,
                     threshold=self.threshold, calibrated=self.calibrated)
        if self.ci_level is not None:
            d["ci"] = {"level": self.ci_level, "low": self.ci_low, "high": self.ci_high,
                       "method": self.ci_method, "n_resamples": self.n_resamples,
                       "n_replicates": self.n_replicates}
        return d


def _json_num(x):
    x = float(x)
    return x if math.isfinite(x) else (None if math.isnan(x) else ("inf" if x > 0 else "-inf"))


def _interpret_measure(r: MeasureRow, n: int) -> str:
    better = "higher" if r.kind == "similarity" else "lower"
    text = (f"<b>{H.esc(r.label)} = {H.fmt(r.value)}</b>: {H.esc(H.MEANINGS.get(r.measure, MEASURES.info(r.measure).summary))}"
            f" ({better} is more aligned). ")
    if r.ci_level is not None:
        text += (f"A {r.ci_level:.0%} bootstrap interval over the {n} rows is "
                 f"[{H.fmt(r.ci_low)}, {H.fmt(r.ci_high)}]: another sample of the same kind would "
                 "likely give a value in this range. ")
    if r.n_permutations:
        way = "up to" if r.kind == "similarity" else "down to"
        text += (f"Shuffling the pairing {r.n_permutations} times gives values {way} "
                 f"{H.fmt(r.threshold)} (the {1 - r.alpha:.0%} level of chance); the p-value "
                 f"{H.fmt_p(r.pvalue)} is the share of shuffles at least as aligned as the real pairing, ")
        text += ("so the alignment is unlikely to be chance. " if r.pvalue <= r.alpha
                 else "so chance can explain the value. ")
        if r.calibrated is not None:
            text += (f"The calibrated score {H.fmt(r.calibrated)} rescales the value between that chance "
                     "level (0) and perfect alignment (1). ")
    text += f"See {H.lesson_link(r.measure)}"
    if r.n_permutations or r.ci_level is not None:
        text += f" and {H.lesson_link('_inference')}"
    return text + "."


@dataclass(frozen=True)
class CompareResult:
    """Result of :func:`compare`.

    Attributes
    ----------
    source_A, source_B : str
        Files (or "A"/"B" for arrays).
    n, d_A, d_B : int
        Paired rows used and the two dimensions.
    pairing : repalign_edu.io.Pairing
    dropped_nan : int
    rows : tuple of MeasureRow
    seed : int or None
    backend : str
    notes : tuple of str
    """

    source_A: str
    source_B: str
    n: int
    d_A: int
    d_B: int
    pairing: object
    dropped_nan: int
    rows: tuple
    seed: int | None = None
    backend: str = "auto"
    notes: tuple = field(default=())

    def __getitem__(self, label) -> MeasureRow:
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(f"{label!r}; measures here: {', '.join(r.label for r in self.rows)}")

    def to_dict(self) -> dict:
        """JSON-ready dict: files, n, d_A, d_B, pairing, and per measure its value (+ inference)."""
        return {"command": "compare", "files": {"A": self.source_A, "B": self.source_B},
                "n": self.n, "d_A": self.d_A, "d_B": self.d_B, "pairing": self.pairing.to_dict(),
                "dropped_nan": self.dropped_nan, "seed": self.seed, "backend": self.backend,
                "measures": {r.label: r.to_dict() for r in self.rows}, "notes": list(self.notes)}

    def _table_rows(self):
        out = []
        for r in self.rows:
            ci = (f"[{H.fmt(r.ci_low)}, {H.fmt(r.ci_high)}]" if r.ci_level is not None else "-")
            out.append([r.label, H.fmt(r.value), ci, H.fmt_p(r.pvalue), H.fmt(r.calibrated),
                        "higher" if r.kind == "similarity" else "lower"])
        return out

    def _header(self):
        level = next((r.ci_level for r in self.rows if r.ci_level is not None), None)
        return ["measure", "value", f"{level:.0%} CI" if level else "CI", "p-value", "calibrated",
                "aligned if"]

    def __str__(self) -> str:
        lines = [f"compare {self.source_A} (d={self.d_A}) with {self.source_B} (d={self.d_B}) on "
                 f"n={self.n} paired rows", str(self.pairing)]
        if self.dropped_nan:
            lines.append(f"dropped {self.dropped_nan} rows with NaN or inf")
        lines += ["", H.text_table(self._header(), self._table_rows())]
        return "\n".join(lines)

    def _summary_html(self) -> str:
        p = self.pairing
        pair = H.esc(str(p)) + (f"; {self.dropped_nan} rows with NaN or inf dropped" if self.dropped_nan else "")
        return (f"<p>Compared <code>{H.esc(self.source_A)}</code> (A, {self.d_A} features) with "
                f"<code>{H.esc(self.source_B)}</code> (B, {self.d_B} features) on {self.n} objects seen by "
                f"both ({pair}). Each measure below asks whether the two representations arrange the "
                "same objects in the same way.</p>")

    def _repr_html_(self) -> str:
        rows = [[H.esc(c) for c in r] for r in self._table_rows()]
        interp = "".join(f"<li>{_interpret_measure(r, self.n)}</li>" for r in self.rows)
        notes = "".join(f"<li>{H.esc(n)}</li>" for n in self.notes)
        return (self._summary_html() + H.table(self._header(), rows)
                + f'<ul class="ra-interp">{interp}</ul>'
                + (f'<ul class="ra-note">{notes}</ul>' if notes else ""))

    def figure(self):
        """Bar chart of the values with their intervals and chance levels."""
        fig = H.new_figure((max(3.5, 1.3 * len(self.rows) + 1.5), 3.2))
        ax = fig.subplots()
        x = np.arange(len(self.rows))
        vals = [r.value for r in self.rows]
        ax.bar(x, vals, color="#0072B2", alpha=0.8, label="value")
        for i, r in enumerate(self.rows):
            if r.ci_level is not None:
                # a percentile interval need not contain the estimate: draw [low, high] as it is
                ax.vlines(i, r.ci_low, r.ci_high, colors="k", label=f"{r.ci_level:.0%} CI" if i == 0 else None)
                ax.hlines([r.ci_low, r.ci_high], i - 0.08, i + 0.08, colors="k")
            if r.threshold is not None:
                ax.hlines(r.threshold, i - 0.4, i + 0.4, colors="#D55E00", linestyles="--",
                          label=f"chance ({1 - r.alpha:.0%} level of shuffles)" if i == 0 else None)
        ax.set_xticks(x, [r.label for r in self.rows], rotation=20, ha="right")
        ax.set_ylabel("value")
        ax.set_title("alignment of A and B")
        if any(r.ci_level is not None or r.threshold is not None for r in self.rows):
            ax.legend(fontsize=7, loc="best")
        return fig

    def to_html(self) -> str:
        """A self-contained HTML page (figure embedded)."""
        body = (self._repr_html_() + "<h2>Figure</h2>" + H.img(H.figure_png(self.figure()), "values")
                + f"<p class=\"ra-note\">How to use this on your own data: {H.lesson_link('_own')}.</p>")
        return H.document(f"repalign compare: {os.path.basename(self.source_A)} vs "
                          f"{os.path.basename(self.source_B)}", body)

    def save_html(self, path) -> None:
        _write(path, self.to_html())


def _write(path, text):
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the report ({exc.strerror or exc}).") from None


def compare(A, B, *, measures=DEFAULT_MEASURES, permutations=0, ci=None, n_resamples=1000,
            ci_method="auto", alpha=0.05, seed=None, backend="auto", key_A=None, key_B=None,
            id_column=None, columns_A=None, columns_B=None, drop_nan=False,
            progress=False) -> CompareResult:
    """Measure how aligned two representations of the same objects are.

    Parameters
    ----------
    A, B : str, os.PathLike or array_like, shapes (n, d_A) and (n, d_B)
        Files (see :mod:`repalign_edu.io`) or arrays with paired rows.
    measures : sequence of str
        Measure specifications (:func:`parse_measure`), e.g.
        ``("cka", "cka-rbf", "mutual-knn:k=20")``.
    permutations : int >= 0
        Permutations of a :func:`repalign_edu.inference.permutation_test` per
        measure (0: none).  Adds ``pvalue``, ``threshold`` and ``calibrated``.
    ci : float in (0, 1), optional
        Level of a pairs-bootstrap interval
        (:func:`repalign_edu.inference.bootstrap_ci`) with ``n_resamples``
        resamples and ``ci_method`` ("auto": the jackknife for the k-NN measures, the
        bias-correcting "basic" interval otherwise; or "percentile", "basic", "bca", "jackknife").
    alpha : float
        Level of the permutation test's threshold.
    seed : int, optional
        Seed of the permutations and resamples (reproducible results).
    backend : {"auto", "numpy", "cpu", "cuda"}
    key_A, key_B, id_column, columns_A, columns_B, drop_nan
        Passed to :func:`repalign_edu.io.load_pair`.
    progress : bool or None
        Progress bars on stderr (None: when stderr is a terminal).

    Returns
    -------
    CompareResult

    Raises
    ------
    ValueError
        Bad files or options (:class:`repalign_edu.io.InputError`), unknown
        measures or options, and whatever the measures reject (zero
        variance, too few rows).
    """
    specs = [parse_measure(m) for m in ([measures] if isinstance(measures, str) else measures)]
    if not specs:
        raise ValueError("measures is empty; pass at least one measure, e.g. 'cka'.")
    permutations = _check_count(permutations, "permutations")
    ci = _check_level(ci, "ci")
    n_resamples = _check_count(n_resamples, "n_resamples", 1)
    seed = _check_seed(seed)
    progress = progress_enabled(progress)
    data = load_pair(A, B, key_A=key_A, key_B=key_B, id_column=id_column, columns_A=columns_A,
                     columns_B=columns_B, drop_nan=drop_nan)
    X, Y = data.X, data.Y
    inf = _inference() if (permutations or ci is not None) else None
    rows = []
    for label, name, kwargs in _bar(specs, total=len(specs), desc="measures",
                                    progress=progress and len(specs) > 1):
        info = resolve_measure(name)
        with _About(label, data.source_A, data.source_B):
            value = _call_measure(name, X, Y, kwargs, backend)
            extra = _compare_inference(inf, name, X, Y, kwargs, permutations=permutations, alpha=alpha,
                                       seed=seed, backend=backend, ci=ci, n_resamples=n_resamples,
                                       ci_method=ci_method, progress=progress)
        rows.append(MeasureRow(label, name, kwargs, info.kind, info.bounds, value, **extra))
    return CompareResult(data.source_A, data.source_B, X.shape[0], X.shape[1], Y.shape[1],
                         data.pairing, data.dropped_nan, tuple(rows), seed, backend, data.notes)


def _ci_method_for(name: str, ci_method: str) -> str:
    """The interval method: ``"auto"`` is the jackknife for the k-NN measures (a bootstrap
    resample's duplicated rows are their own neighbours, which biases them upward) and the
    bias-correcting "basic" interval otherwise (biased CKA is inflated by about d/n); see
    :func:`repalign_edu.inference.bootstrap_ci` and lesson 05."""
    if ci_method != "auto":
        return ci_method
    return "jackknife" if "knn" in name else "basic"


def _compare_inference(inf, name, X, Y, kwargs, *, permutations, alpha, seed, backend, ci, n_resamples,
                       ci_method, progress):
    """The permutation-test and bootstrap fields of one :class:`MeasureRow`."""
    extra = {}
    if permutations:
        kw = _with_progress(inf.permutation_test, dict(n_permutations=permutations, alpha=alpha,
                                                        seed=seed, backend=backend), progress)
        res = inf.permutation_test(X, Y, name, **kw, **kwargs)
        extra.update(n_permutations=permutations, alpha=alpha, pvalue=float(res.pvalue),
                     threshold=float(res.threshold),
                     calibrated=None if res.calibrated is None else float(res.calibrated))
    if ci is not None:
        kw = _with_progress(inf.bootstrap_ci, dict(n_resamples=n_resamples, level=ci,
                                                    method=_ci_method_for(name, ci_method),
                                                    seed=seed, backend=backend),
                            progress)
        res = inf.bootstrap_ci(X, Y, name, **kw, **kwargs)
        extra.update(ci_level=ci, ci_low=float(res.low), ci_high=float(res.high),
                     ci_method=str(res.method), n_resamples=int(res.n_resamples),
                     n_replicates=int(len(res.replicates)))
    return extra


# --------------------------------------------------------------------------
# layers
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class LayersResult:
    """Result of :func:`layers`.

    Attributes
    ----------
    source_A, source_B : str
    names_A, names_B : tuple of str
        Layer names (rows and columns of ``matrix``).
    matrix : ndarray, shape (len(names_A), len(names_B))
        ``matrix[i, j]`` = measure(layer i of A, layer j of B).
    label, measure : str
        The specification and its registry name; ``kwargs`` its options.
    kind : {"similarity", "distance"}
    n : int
    best_for_A : tuple of (str, str, float)
        For each layer of A: its best-matching layer of B and the value.
    best_for_B : tuple of (str, str, float)
        For each layer of B: its best-matching layer of A and the value.
    calibration : dict or None
        With permutations: ``agg``, ``statistic``, ``pvalue``, ``threshold``,
        ``calibrated``, ``n_permutations`` of
        :func:`repalign_edu.inference.calibrate_layers`.
    """

    source_A: str
    source_B: str
    names_A: tuple
    names_B: tuple
    matrix: np.ndarray
    label: str
    measure: str
    kwargs: dict
    kind: str
    bounds: tuple
    n: int
    best_for_A: tuple
    best_for_B: tuple
    calibration: dict | None = None
    dropped_nan: int = 0
    notes: tuple = field(default=())

    def to_dict(self) -> dict:
        return {"command": "layers", "files": {"A": self.source_A, "B": self.source_B},
                "n": self.n, "measure": self.label, "registry_name": self.measure,
                "kwargs": dict(self.kwargs), "kind": self.kind,
                "layers_A": list(self.names_A), "layers_B": list(self.names_B),
                "matrix": self.matrix.tolist(),
                "best_for_A": [{"layer": a, "best": b, "value": v} for a, b, v in self.best_for_A],
                "best_for_B": [{"layer": a, "best": b, "value": v} for a, b, v in self.best_for_B],
                "calibration": self.calibration, "dropped_nan": self.dropped_nan,
                "notes": list(self.notes)}

    def __str__(self) -> str:
        head = [f"layers: {self.label} between the {len(self.names_A)} layers of {self.source_A} "
                f"(rows) and the {len(self.names_B)} of {self.source_B} (columns), n={self.n}", ""]
        mat = H.text_table(["A \\ B", *self.names_B],
                           [[a, *(H.fmt(v, 3) for v in row)] for a, row in zip(self.names_A, self.matrix)])
        best = H.text_table(["layer of A", "best layer of B", self.label],
                            [[a, b, H.fmt(v)] for a, b, v in self.best_for_A])
        out = head + [mat, "", best]
        if self.calibration:
            c = self.calibration
            out += ["", f"{c['agg']} over all layer pairs = {H.fmt(c['statistic'])}; calibrated for the "
                    f"layer search with {c['n_permutations']} permutations: p = {H.fmt_p(c['pvalue'])}, "
                    f"threshold = {H.fmt(c['threshold'])}, calibrated = {H.fmt(c['calibrated'])}"]
        return "\n".join(out)

    def figure(self):
        """The layer x layer heat map (rows: A's layers, columns: B's)."""
        from .plotting import alignment_matrix

        m, p = self.matrix.shape
        fig = H.new_figure((0.6 * p + 2.8, 0.5 * m + 1.9))
        ax = fig.subplots()
        lo, hi = self.bounds
        vmin = min(0.0, float(self.matrix.min())) if math.isfinite(lo) else float(self.matrix.min())
        vmax = max(1.0, float(self.matrix.max())) if math.isfinite(hi) else float(self.matrix.max())
        if vmax <= vmin:
            vmax = vmin + 1.0
        if math.isfinite(lo) and math.isfinite(hi) and self.kind == "similarity":
            vmin, vmax = max(lo, min(0.0, float(self.matrix.min()))), min(hi, max(1.0, float(self.matrix.max())))
        alignment_matrix(self.matrix, list(self.names_A), list(self.names_B), ax=ax, vmin=vmin, vmax=vmax,
                         title=f"{self.label}: layers of A vs layers of B",
                         xlabel=f"B: {os.path.basename(self.source_B)}",
                         ylabel=f"A: {os.path.basename(self.source_A)}",
                         annotate=m * p <= 400)
        return fig

    def save_png(self, path) -> None:
        try:
            self.figure().savefig(path, dpi=120, bbox_inches="tight")
        except OSError as exc:
            raise InputError(f"{path}: cannot write the figure ({exc.strerror or exc}).") from None

    def _repr_html_(self, with_figure=True) -> str:
        best = [[H.esc(a), H.esc(b), H.fmt(v)] for a, b, v in self.best_for_A]
        better = "highest" if self.kind == "similarity" else "lowest"
        out = (f"<p>Compared every layer of <code>{H.esc(self.source_A)}</code> ({len(self.names_A)} layers) "
               f"with every layer of <code>{H.esc(self.source_B)}</code> ({len(self.names_B)} layers) on "
               f"{self.n} inputs, with {H.esc(self.label)}: "
               f"{H.esc(H.MEANINGS.get(self.measure, MEASURES.info(self.measure).summary))}. "
               f"See {H.lesson_link(self.measure)}.</p>")
        if with_figure:
            out += H.img(H.figure_png(self.figure()), "layer x layer heat map")
        out += (f"<p>Best match ({better} value) of each layer of A:</p>"
                + H.table(["layer of A", "best layer of B", self.label], best))
        if self.calibration:
            c = self.calibration
            sig = ("unlikely to be chance" if c["pvalue"] <= 0.05 else "explained by chance")
            out += (f"<p>The {c['agg']} over all {self.matrix.size} layer pairs is {H.fmt(c['statistic'])}. "
                    "Searching many pairs inflates a maximum, so it is compared with the maximum over the "
                    f"same search after shuffling the pairing of the inputs ({c['n_permutations']} shuffles, "
                    "one shuffle applied to every layer): "
                    f"p = {H.fmt_p(c['pvalue'])} ({sig}), chance threshold {H.fmt(c['threshold'])}, "
                    f"calibrated score {H.fmt(c['calibrated'])}. See {H.lesson_link('_inference')}.</p>")
        notes = "".join(f"<li>{H.esc(n)}</li>" for n in self.notes)
        return out + (f'<ul class="ra-note">{notes}</ul>' if notes else "")

    def to_html(self) -> str:
        return H.document(f"repalign layers: {os.path.basename(self.source_A)} vs "
                          f"{os.path.basename(self.source_B)}", self._repr_html_())

    def save_html(self, path) -> None:
        _write(path, self.to_html())


def _best(matrix, names_rows, names_cols, kind):
    pick = np.argmax if kind == "similarity" else np.argmin
    j = pick(matrix, axis=1)
    return tuple((str(a), str(names_cols[k]), float(matrix[i, k])) for i, (a, k) in enumerate(zip(names_rows, j)))


def layers(A, B, *, measure="cka", permutations=0, agg="max", alpha=0.05, seed=None, backend="auto",
           drop_nan=False, progress=False) -> LayersResult:
    """Compare every layer of A with every layer of B.

    Parameters
    ----------
    A, B : str, os.PathLike or dict {name: array (n, d)}
        Files of named arrays (``.npz`` as written by
        :func:`repalign_edu.extract.save_npz`, ``.h5``, ``.pt``,
        ``.safetensors``; a ``.npy`` file or a table is one layer named after
        the file) or dicts; rows are the same inputs in the same order.
    measure : str
        A measure specification (:func:`parse_measure`).
    permutations : int >= 0
        With > 0, :func:`repalign_edu.inference.calibrate_layers` calibrates
        the aggregate ``agg`` over all layer pairs against a permutation null
        that applies one row permutation to every layer of B.
    agg : str
        Aggregate over layer pairs for the calibration (default "max").
    alpha, seed, backend, drop_nan, progress
        As in :func:`compare`.

    Returns
    -------
    LayersResult

    Raises
    ------
    ValueError
        As :func:`compare`.
    """
    label, name, kwargs = parse_measure(measure)
    permutations = _check_count(permutations, "permutations")
    seed = _check_seed(seed)
    progress = progress_enabled(progress)
    la, lb, info = load_layer_pair(A, B, drop_nan=drop_nan)
    mi = resolve_measure(name)
    names_A, names_B = tuple(la), tuple(lb)
    calibration = None
    if permutations:
        inf = _inference()
        kw = dict(kwargs)
        opts = _with_progress(inf.calibrate_layers, dict(agg=agg, n_permutations=permutations,
                                                          alpha=alpha, seed=seed, backend=backend),
                              progress)
        with _About(label, info["source_A"], info["source_B"]):
            res = inf.calibrate_layers(list(la.values()), list(lb.values()), name, **opts, **kw)
        matrix = np.asarray(res.matrix, dtype=float)
        calibration = {"agg": agg, "statistic": float(res.statistic), "pvalue": float(res.pvalue),
                       "threshold": float(res.threshold),
                       "calibrated": None if res.calibrated is None else float(res.calibrated),
                       "n_permutations": permutations, "alpha": alpha}
    else:
        pairs = [(i, j) for i in range(len(names_A)) for j in range(len(names_B))]
        matrix = np.empty((len(names_A), len(names_B)))
        for i, j in _bar(pairs, total=len(pairs), desc="layer pairs", progress=progress):
            with _About(label, f"{info['source_A']}[{names_A[i]}]", f"{info['source_B']}[{names_B[j]}]"):
                matrix[i, j] = _call_measure(name, la[names_A[i]], lb[names_B[j]], kwargs, backend)
    return LayersResult(info["source_A"], info["source_B"], names_A, names_B, matrix, label, name,
                        kwargs, mi.kind, mi.bounds, info["n"], _best(matrix, names_A, names_B, mi.kind),
                        _best(matrix.T, names_B, names_A, mi.kind), calibration, info["dropped_nan"],
                        info["notes"])


# --------------------------------------------------------------------------
# stitch
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class StitchReport:
    """Result of :func:`stitch` (all numbers on the held-out split unless named ``_train``).

    Attributes
    ----------
    n_train, n_test, d_A, d_B : int
    task : {"classification", "regression"}
    classes : tuple of str or None
    misalignment : float
        A~_2 on the test split: mean ||S a + b - f_B||^2 with the stitcher fitted on the
        training split (squared units of B).
    misalignment_train : float
        A~_2 = min_S mean ||S a + b - f_B||^2 on the training split.
    unexplained : float
        misalignment / mean ||f_B - mean f_B||^2: the share of B's variance the stitcher misses.
    risk_B, risk_stitched, risk_A : float
        Square-loss risks of B's head on B, of B's head on stitched A, of A's own head on A.
    accuracy_B, accuracy_stitched, accuracy_A : float or None
        Accuracies (classification only).
    kappa : float
        Lipschitz constant of B's head (spectral norm of its weights).
    bound : float
        Theorem 1: (sqrt(risk_B) + kappa sqrt(misalignment))^2 >= risk_stitched.
    ka, cka : float
        Kernel alignment A-hat and linear CKA of A and B on the test split.
    """

    source_A: str
    source_B: str
    source_labels: str
    n_train: int
    n_test: int
    d_A: int
    d_B: int
    task: str
    classes: tuple | None
    misalignment: float
    misalignment_train: float
    unexplained: float
    risk_B: float
    risk_stitched: float
    risk_A: float
    accuracy_B: float | None
    accuracy_stitched: float | None
    accuracy_A: float | None
    kappa: float
    bound: float
    ka: float
    cka: float
    seed: int | None
    test_fraction: float
    pairing: object = None
    dropped_nan: int = 0
    notes: tuple = field(default=())

    _FIELDS = ("misalignment", "misalignment_train", "unexplained", "risk_B", "risk_stitched", "risk_A",
               "accuracy_B", "accuracy_stitched", "accuracy_A", "kappa", "bound", "ka", "cka")

    def to_dict(self) -> dict:
        d = {"command": "stitch",
             "files": {"A": self.source_A, "B": self.source_B, "labels": self.source_labels},
             "n_train": self.n_train, "n_test": self.n_test, "d_A": self.d_A, "d_B": self.d_B,
             "task": self.task, "classes": list(self.classes) if self.classes else None,
             "seed": self.seed, "test_fraction": self.test_fraction,
             "pairing": self.pairing.to_dict() if self.pairing is not None else None,
             "dropped_nan": self.dropped_nan, "notes": list(self.notes)}
        d.update({k: getattr(self, k) for k in self._FIELDS})
        return d

    def _rows(self):
        acc = lambda a: "-" if a is None else f"{a:.3f}"  # noqa: E731
        return [["B's head on B (own model)", H.fmt(self.risk_B), acc(self.accuracy_B)],
                ["B's head on A stitched into B", H.fmt(self.risk_stitched), acc(self.accuracy_stitched)],
                ["Theorem 1 bound on the stitched risk", H.fmt(self.bound), "-"],
                ["A's own head on A (for reference)", H.fmt(self.risk_A), acc(self.accuracy_A)]]

    def __str__(self) -> str:
        return "\n".join([
            f"stitch {self.source_A} (d={self.d_A}) into {self.source_B} (d={self.d_B}); labels "
            f"{self.source_labels}; {self.task}; train n={self.n_train}, held-out n={self.n_test}",
            f"stitching misalignment A~_2 (held out) = {H.fmt(self.misalignment)} "
            f"({self.unexplained:.1%} of B's variance; training A~_2 = {H.fmt(self.misalignment_train)})",
            f"KA = {H.fmt(self.ka)}, linear CKA = {H.fmt(self.cka)}, kappa(B's head) = {H.fmt(self.kappa)}",
            "", H.text_table(["model", "square-loss risk", "accuracy"], self._rows())])

    def figure(self):
        """Risks (bars) with the Theorem 1 bound, and accuracies."""
        fig = H.new_figure((8.0, 3.2))
        ax1, ax2 = fig.subplots(1, 2)
        names = ["B on B", "B on stitched A", "Thm 1 bound", "A on A"]
        vals = [self.risk_B, self.risk_stitched, self.bound, self.risk_A]
        colors = ["#0072B2", "#D55E00", "0.6", "#009E73"]
        ax1.bar(names, vals, color=colors)
        if self.bound > 20 * max(self.risk_B, self.risk_stitched, self.risk_A, 1e-300):
            ax1.set_yscale("log")  # a loose bound would flatten the risks
        ax1.set_ylabel("square-loss risk (held out)")
        ax1.set_title("risk: lower is better")
        ax1.tick_params(axis="x", rotation=20)
        if self.accuracy_B is not None:
            ax2.bar(["B on B", "B on stitched A", "A on A"],
                    [self.accuracy_B, self.accuracy_stitched, self.accuracy_A],
                    color=[colors[0], colors[1], colors[3]])
            ax2.set_ylim(0, 1)
            ax2.set_ylabel("accuracy (held out)")
            ax2.set_title("accuracy: higher is better")
            ax2.tick_params(axis="x", rotation=20)
        else:
            ax2.axis("off")
            ax2.text(0.5, 0.5, "regression targets:\nno accuracy", ha="center", va="center")
        fig.tight_layout()
        return fig

    def _repr_html_(self, with_figure=True) -> str:
        rows = [[H.esc(c) for c in r] for r in self._rows()]
        verdict = ("B's model works almost as well on A's data as on its own"
                   if self.risk_stitched <= 1.25 * self.risk_B + 1e-12
                   else "B's model loses accuracy on A's data: the representations are not linearly aligned enough")
        out = (f"<p>Can B's model use A's data? A linear stitcher S maps A's representation "
               f"(<code>{H.esc(self.source_A)}</code>, {self.d_A} features) into B's "
               f"(<code>{H.esc(self.source_B)}</code>, {self.d_B} features); a linear head predicts the labels "
               f"(<code>{H.esc(self.source_labels)}</code>) from B. Both are fitted on {self.n_train} training rows "
               f"and evaluated on {self.n_test} held-out rows.</p>"
               + H.table(["model", "square-loss risk", "accuracy"], rows)
               + '<ul class="ra-interp">'
               f"<li><b>Stitching misalignment A~_2 = {H.fmt(self.misalignment)}</b>: the mean squared error of "
               f"the stitcher on held-out rows, {self.unexplained:.1%} of B's variance (0 would be a perfect "
               f"linear map; on the training rows it is {H.fmt(self.misalignment_train)}).</li>"
               f"<li><b>Theorem 1 bound = {H.fmt(self.bound)}</b> = (sqrt(risk of B) + kappa sqrt(A~_2))^2 with "
               f"kappa = {H.fmt(self.kappa)}, the Lipschitz constant of B's head: the stitched risk "
               f"{H.fmt(self.risk_stitched)} can never exceed it. A small A~_2 guarantees a small stitched "
               "risk.</li>"
               f"<li><b>KA = {H.fmt(self.ka)}, CKA = {H.fmt(self.cka)}</b>: the kernel alignment measures of the "
               "same pair; high values go with easy stitching, but only A~_2 enters the bound.</li>"
               f"<li>Verdict: {verdict}. See {H.lesson_link('_stitching')}.</li></ul>")
        if with_figure:
            out += H.img(H.figure_png(self.figure()), "risks and accuracies")
        notes = "".join(f"<li>{H.esc(n)}</li>" for n in self.notes)
        return out + (f'<ul class="ra-note">{notes}</ul>' if notes else "")

    def to_html(self) -> str:
        return H.document(f"repalign stitch: {os.path.basename(self.source_A)} into "
                          f"{os.path.basename(self.source_B)}", self._repr_html_())

    def save_html(self, path) -> None:
        _write(path, self.to_html())


def _encode_labels(values, source):
    """(targets for the head: codes (n,) int or (n, t) float, classes or None, task)."""
    v = np.asarray(values)
    if v.dtype.kind in "US":
        classes, codes = np.unique(v, return_inverse=True)
        return codes.astype(np.int64), tuple(str(c) for c in classes), "classification"
    v = v.astype(np.float64)
    if not np.isfinite(v).all():
        i = int(np.flatnonzero(~np.isfinite(v).reshape(len(v), -1).all(axis=1))[0])
        raise InputError(f"{source}: labels hold NaN or inf (first at row {i}); every row needs a label.")
    if v.ndim == 1 and np.all(v == np.round(v)):
        classes, codes = np.unique(v.astype(np.int64), return_inverse=True)
        if len(classes) < 2:
            raise InputError(f"{source}: all labels are {classes[0]}; a head needs at least two classes.")
        return codes.astype(np.int64), tuple(str(c) for c in classes), "classification"
    return (v.reshape(-1, 1) if v.ndim == 1 else v), None, "regression"


def _align_labels(labels, data, source, *, key, column, id_column):
    if isinstance(labels, (str, os.PathLike)):
        values, ids = load_labels(labels, key=key, column=column, id_column=id_column)
    else:
        values, ids = np.asarray(labels), None
    if ids is not None and data.ids is not None:
        pos = {}
        for i, k in enumerate(ids.tolist()):
            pos.setdefault(k, []).append(i)
        missing = [k for k in data.ids.tolist() if k not in pos]
        dup = [k for k in data.ids.tolist() if len(pos.get(k, ())) > 1]
        if missing or dup:
            what = (f"{len(missing)} paired ID(s) have no label (e.g. {missing[0]!r})" if missing
                    else f"{len(dup)} ID(s) have several labels (e.g. {dup[0]!r})")
            raise InputError(f"{source}: {what}; give one label per ID.")
        return values[[pos[k][0] for k in data.ids.tolist()]]
    n_A = data.pairing.n_A
    if len(values) != n_A:
        raise InputError(f"{source}: has {len(values)} labels but {data.source_A} has {n_A} rows; give one "
                         "label per row of A (or a table with the ID column when pairing by --id-column).")
    return values[data.rows_A]


def stitch(A, B, labels, *, test_fraction=0.3, seed=0, ridge=0.0, key_A=None, key_B=None,
           key_labels=None, labels_column=None, id_column=None, columns_A=None, columns_B=None,
           drop_nan=False, progress=False) -> StitchReport:
    """Can B's model use A's data?  Linear stitching with the paper's Theorem 1.

    On a training split (``1 - test_fraction`` of the rows, stratified by class
    when possible) fit

    * the affine stitcher s(a) = S a + b minimising mean ||s(a) - f_B||^2
      (:func:`repalign_edu.stitching.fit_linear_stitch`, ``ridge``),
    * a least-squares linear head g_B on B
      (:func:`repalign_edu.stitching.fit_linear_head`; one-hot targets for
      class labels) and, for reference, one on A.

    On the held-out split report the stitching misalignment A~_2 = mean
    ||s(a) - f_B||^2, the square-loss risks and accuracies of g_B on B and
    of g_B o s on A, the Theorem 1 bound (sqrt(R_B) + kappa sqrt(A~_2))^2
    (:func:`repalign_edu.stitching.theorem1_bound`; it holds exactly on the
    held-out rows for these fixed maps, by Minkowski's inequality and the
    kappa-Lipschitz head), and KA (:func:`repalign_edu.kernel_alignment`)
    and linear CKA (:func:`repalign_edu.cka`).

    Parameters
    ----------
    A, B : str, os.PathLike or array_like
        The two representations (rows paired; see :func:`compare`).
    labels : str, os.PathLike or array_like, shape (n,) or (n, t)
        Class labels (integers or text) or real-valued targets, one per row
        of A (or a table with the ID column when pairing by ``id_column``).
    test_fraction : float in (0, 1)
    seed : int
        Seed of the split.
    ridge : float >= 0
        Ridge parameter of the stitcher.
    key_A, key_B, key_labels, labels_column, id_column, columns_A, columns_B, drop_nan
        Input options (:func:`repalign_edu.io.load_pair`, :func:`repalign_edu.io.load_labels`).
    progress : bool or None
        Unused (the fit is a few least-squares solves); kept for a uniform API.

    Returns
    -------
    StitchReport

    Raises
    ------
    ValueError
        Bad inputs or options; labels that do not match the rows; a split
        too small to fit (the message says which).

    References
    ----------
    Insulla, Huang & Rosasco (2025), section 4.2, Theorem 1 (Eq. 2).
    """
    from sklearn.model_selection import train_test_split

    from .measures import cka, kernel_alignment
    from .stitching import (fit_linear_head, fit_linear_stitch, square_risk, stitching_misalignment,
                            theorem1_bound)

    if isinstance(test_fraction, bool) or not isinstance(test_fraction, Real) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1 (e.g. 0.3); got {test_fraction!r}.")
    seed = _check_seed(seed)
    if isinstance(ridge, bool) or not isinstance(ridge, Real) or not (math.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge must be a finite number >= 0 (0 for least squares); got {ridge!r}.")
    data = load_pair(A, B, key_A=key_A, key_B=key_B, id_column=id_column, columns_A=columns_A,
                     columns_B=columns_B, drop_nan=drop_nan)
    src_labels = os.fspath(labels) if isinstance(labels, (str, os.PathLike)) else "labels"
    y_raw = _align_labels(labels, data, src_labels, key=key_labels, column=labels_column, id_column=id_column)
    y, classes, task = _encode_labels(y_raw, src_labels)
    X, Y = data.X.astype(np.float64), data.Y.astype(np.float64)
    n = X.shape[0]
    n_test = int(math.ceil(test_fraction * n))
    if n_test < 2 or n - n_test < 2:
        raise ValueError(f"test_fraction={test_fraction} leaves {n - n_test} training and {n_test} held-out "
                         f"rows of n={n}; both need at least 2 (use more rows or another fraction).")
    strat = None
    if classes is not None:
        counts = np.bincount(y)
        if counts.min() >= 2 and n_test >= len(classes) and n - n_test >= len(classes):
            strat = y
    tr, te = train_test_split(np.arange(n), test_size=n_test, random_state=seed, stratify=strat)
    C = len(classes) if classes is not None else None
    head_B = fit_linear_head(Y[tr], y[tr], bias=True, n_classes=C)
    head_A = fit_linear_head(X[tr], y[tr], bias=True, n_classes=C)
    S = fit_linear_stitch(X[tr], Y[tr], ridge=ridge, bias=True)
    A2_train = stitching_misalignment(X[tr], Y[tr], ridge=ridge, bias=True)
    R = Y[te] - S(X[te])
    A2 = float(np.einsum("ij,ij->", R, R) / len(te))
    Yc = Y[te] - Y[te].mean(axis=0)
    var_B = float(np.einsum("ij,ij->", Yc, Yc) / len(te))
    if var_B <= 0:
        raise ValueError(f"{data.source_B}: the held-out rows of B are all equal; B carries no information.")
    out_B, out_S, out_A = head_B(Y[te]), head_B(S(X[te])), head_A(X[te])
    risk_B, risk_S, risk_A = (square_risk(o, y[te]) for o in (out_B, out_S, out_A))
    if classes is not None:
        acc = [float(np.mean(np.argmax(o, axis=1) == y[te])) for o in (out_B, out_S, out_A)]
    else:
        acc = [None, None, None]
    bound = theorem1_bound(risk_B, A2, head_B.kappa)
    ka = float(kernel_alignment(X[te], Y[te]))
    ck = float(cka(X[te], Y[te]))
    notes = list(data.notes)
    if strat is None and classes is not None:
        notes.append("the split is not stratified: some class has fewer than 2 rows.")
    return StitchReport(data.source_A, data.source_B, src_labels, len(tr), len(te), X.shape[1], Y.shape[1],
                        task, classes, A2, float(A2_train), A2 / var_B, risk_B, risk_S, risk_A, acc[0], acc[1],
                        acc[2], float(head_B.kappa), bound, ka, ck, seed, float(test_fraction),
                        data.pairing, data.dropped_nan, tuple(notes))
