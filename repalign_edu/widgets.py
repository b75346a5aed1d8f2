"""Pure functions behind the lessons' interactive widgets.

Each widget cell in a lesson is a thin ``ipywidgets.interact`` wrapper around
one function here.  The functions take plain numbers, return plain data
(dicts of floats and arrays) and draw nothing unless asked, so every widget has
a headless test in ``tests/test_widgets.py``.
"""
from __future__ import annotations
