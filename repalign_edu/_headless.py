"""Headless execution of the lessons: ``interact`` runs once, with its defaults.

With no browser, a widget cell has no front end to talk to, and nbclient can wait
for a widget reply until its cell timeout (jupyter/nbclient#312). Neuromatch
Academy's CI solves this with an IPython start-up file; so do we:

    python -m repalign_edu._headless DIR      # writes DIR/profile_default/startup/...
    IPYTHONDIR=DIR jupyter nbconvert --execute ...

In a kernel started that way, ``ipywidgets.interact(f, **abbrevs)`` builds the
controls exactly as ipywidgets does (so a bad abbreviation still fails), reads
their initial values, calls ``f`` once with them, and displays nothing else: the
figure appears inline as in any other cell. ``make lessons`` and the lesson tests
use it.
"""
from __future__ import annotations

import sys
from pathlib import Path

STARTUP_NAME = "00-repalign-headless-widgets.py"
STARTUP_CODE = ("# written by repalign_edu._headless: ipywidgets.interact runs once with its defaults\n"
                "import repalign_edu._headless as _h\n_h.install()\ndel _h\n")


def default_values(f, kwargs) -> dict:
    """The values ``ipywidgets.interact(f, **kwargs)`` would first call ``f`` with.

    Parameters
    ----------
    f : callable
        The interacted function.
    kwargs : dict
        Widget abbreviations, as given to ``interact``.

    Returns
    -------
    dict
        ``{argument name: initial value}``.

    Raises
    ------
    ValueError, TypeError
        An abbreviation that ipywidgets cannot turn into a widget.
    """
    from ipywidgets.widgets.interaction import interactive

    probe = interactive.__new__(interactive)   # only its abbreviation logic, no widget box
    probe.f = f
    values = {}
    for name, abbrev, default in interactive.find_abbreviations(probe, kwargs):
        widget = interactive.widget_from_abbrev(abbrev, default)
        if widget is None:
            raise ValueError(f"{abbrev!r} cannot be transformed to a widget")
        values[name] = widget.value
        close = getattr(widget, "close", None)
        if close is not None and widget is not abbrev:
            close()
    return values


def interact(__interact_f=None, **kwargs):
    """Headless stand-in for ``ipywidgets.interact``: call ``f`` once with the widgets' defaults."""
    if __interact_f is None:
        return lambda f: interact(f, **kwargs)
    f = __interact_f
    f(**default_values(f, kwargs))
    try:
        import matplotlib.pyplot as plt
        if plt.get_fignums():
            plt.show()
    except ImportError:  # pragma: no cover - matplotlib is a core dependency
        pass
    return f


def install() -> None:
    """Replace ``ipywidgets.interact`` (all import paths) by :func:`interact`."""
    import ipywidgets
    import ipywidgets.widgets
    import ipywidgets.widgets.interaction as interaction

    for module in (ipywidgets, ipywidgets.widgets, interaction):
        module.interact = interact
        module.interact_manual = interact


def write_startup(ipython_dir) -> Path:
    """Write the start-up file into ``ipython_dir/profile_default/startup``; return its path."""
    startup = Path(ipython_dir) / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    path = startup / STARTUP_NAME
    path.write_text(STARTUP_CODE)
    return path


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m repalign_edu._headless IPYTHONDIR", file=sys.stderr)
        return 2
    print(write_startup(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
