"""The measure registry: ``MEASURES`` maps a name to a measure function.

Every entry is a function ``f(X, Y, **kwargs) -> float`` on paired rows, with
what inference and reports need to know about it (:class:`MeasureInfo`):
whether it is a similarity (larger = more aligned) or a distance (smaller =
more aligned), its documented range, and whether it is symmetric in X and Y.

``MEASURES`` behaves as a read-only ``dict`` of name -> function;
``MEASURES.info(name)`` returns the :class:`MeasureInfo`.  Later modules add
their measures with :func:`register`; :func:`resolve_measure` turns a name or
any callable ``f(X, Y) -> float`` into a :class:`MeasureInfo` (a callable that
is not registered is taken to be an unbounded similarity unless told otherwise).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable

KINDS = ("similarity", "distance")


@dataclass(frozen=True)
class MeasureInfo:
    """What the registry knows about one measure.

    Attributes
    ----------
    name : str
        Registry key (the function's name for registered measures).
    func : callable
        ``func(X, Y, **kwargs) -> float``.
    kind : {"similarity", "distance"}
        A similarity grows with alignment; a distance shrinks.
    bounds : (float, float)
        Documented range ``(low, high)``; ``-inf`` / ``inf`` where unbounded.
        For a similarity ``high`` is its maximum s_max (perfect alignment); for
        a distance ``low`` is its minimum (perfect alignment).
    symmetric : bool
        ``f(X, Y) == f(Y, X)``.
    summary : str
        One line for tables and reports.
    """

    name: str
    func: Callable = field(repr=False)
    kind: str = "similarity"
    bounds: tuple = (-math.inf, math.inf)
    symmetric: bool = True
    summary: str = ""

    @property
    def best(self) -> float:
        """The value of perfect alignment: ``high`` for a similarity, ``low`` for a distance."""
        return self.bounds[1] if self.kind == "similarity" else self.bounds[0]

    @property
    def bounded(self) -> bool:
        """True when the perfect-alignment value is finite (a calibrated score exists)."""
        return math.isfinite(self.best)


class _Registry(Mapping):
    """Read-only mapping name -> function, with :meth:`info` for the metadata."""

    def __init__(self):
        self._infos: dict[str, MeasureInfo] = {}

    def __getitem__(self, name):
        return self._infos[name].func

    def __iter__(self):
        return iter(self._infos)

    def __len__(self):
        return len(self._infos)

    def __repr__(self):
        return f"MEASURES({', '.join(self._infos)})"

    def info(self, name: str) -> MeasureInfo:
        """The :class:`MeasureInfo` of a registered name.

        Raises
        ------
        ValueError
            Unknown name; the message lists the registered ones.
        """
        if not isinstance(name, str) or name not in self._infos:
            raise ValueError(
                f"measure={name!r} is not a registered measure; registered: "
                f"{', '.join(sorted(self._infos))}. Pass one of these names or a callable "
                "f(X, Y) -> float."
            )
        return self._infos[name]

    def _add(self, info: MeasureInfo) -> None:
        self._infos[info.name] = info


MEASURES = _Registry()


def register(func: Callable | None = None, *, name: str | None = None, kind: str = "similarity",
             bounds=(-math.inf, math.inf), symmetric: bool = True, summary: str = ""):
    """Add a measure to :data:`MEASURES` (usable as a decorator).

    Parameters
    ----------
    func : callable ``f(X, Y, **kwargs) -> float``
    name : str, optional
        Registry key; default ``func.__name__``.
    kind : {"similarity", "distance"}
    bounds : (float, float)
        Documented range; use ``math.inf`` for an open end.
    symmetric : bool
    summary : str
        One line for reports; default the first line of the docstring.

    Returns
    -------
    The function, unchanged.

    Raises
    ------
    ValueError
        Unknown ``kind`` or ``bounds`` with low > high.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")
    lo, hi = float(bounds[0]), float(bounds[1])
    if not lo <= hi:
        raise ValueError(f"bounds must satisfy low <= high; got {bounds!r}.")

    def deco(f):
        doc = (f.__doc__ or "").strip().splitlines()
        MEASURES._add(MeasureInfo(name or f.__name__, f, kind, (lo, hi), bool(symmetric),
                                  summary or (doc[0] if doc else "")))
        return f

    return deco(func) if func is not None else deco


def resolve_measure(measure, *, kind: str | None = None, bounds=None) -> MeasureInfo:
    """A :class:`MeasureInfo` for a registered name or any callable.

    Parameters
    ----------
    measure : str or callable
        A key of :data:`MEASURES`, or ``f(X, Y) -> float``.  A registered
        function passed as a callable gets its registered metadata.
    kind, bounds : optional
        Override the metadata of an unregistered callable (default: an
        unbounded similarity).

    Raises
    ------
    ValueError
        An unknown name (the message lists the registered ones), or neither a
        string nor a callable.
    """
    if isinstance(measure, str):
        return MEASURES.info(measure)
    if not callable(measure):
        raise ValueError(
            f"measure must be a registered name or a callable f(X, Y) -> float; got "
            f"{type(measure).__name__}. Registered: {', '.join(sorted(MEASURES))}."
        )
    for info in MEASURES._infos.values():
        if info.func is measure and kind is None and bounds is None:
            return info
    kind = kind or "similarity"
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")
    return MeasureInfo(getattr(measure, "__name__", "custom"), measure, kind,
                       tuple(bounds) if bounds is not None else (-math.inf, math.inf),
                       symmetric=False, summary="user-supplied measure")


def _register_builtin() -> None:
    """Register the measures of :mod:`measures` and :mod:`metrics`."""
    from . import measures, metrics

    register(measures.cka, kind="similarity", bounds=(-1.0, 1.0),
             summary="centred kernel alignment (Kornblith et al. 2019); 1 = same up to the kernel's invariances")
    register(measures.kernel_alignment, kind="similarity", bounds=(0.0, 1.0),
             summary="kernel alignment A-hat (paper section 3.1.1), uncentred unless centered=True")
    register(measures.hsic, kind="similarity", bounds=(-math.inf, math.inf),
             summary="Hilbert-Schmidt independence criterion (squared kernel units)")
    register(measures.distance_alignment, kind="distance", bounds=(0.0, math.inf),
             summary="the paper's distance alignment D (section 3.2); 0 = isometric")
    register(measures.mutual_knn, kind="similarity", bounds=(0.0, 1.0),
             summary="mutual k-NN overlap (Huh et al. 2024); chance is about k/(n-1)")
    register(metrics.rsa, kind="similarity", bounds=(-1.0, 1.0),
             summary="representational similarity analysis: rank correlation of the two RDMs")
    register(metrics.procrustes_distance, kind="distance", bounds=(0.0, math.sqrt(2.0)),
             summary="orthogonal Procrustes shape distance (Williams et al. 2021); 0 = same shape")
