"""Exercise checks, one module per lesson (``lesson00``, ``lesson01``, ...).

Usage in a notebook::

    from repalign_edu.exercises import lesson00 as ex
    ex.center.check(my_center)      # prints PASS or FAIL with a hint
    ex.center.hint(); ex.center.solution()

or by id: ``from repalign_edu.exercises import check; check("00.center", my_center)``.
"""
from ._core import REGISTRY, Exercise, check, close, unfinished

__all__ = ["REGISTRY", "Exercise", "check", "close", "unfinished"]
