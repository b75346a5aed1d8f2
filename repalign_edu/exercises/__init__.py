"""Exercise checks, one module per lesson (``lesson00``, ``lesson01``, ...).

Usage in a notebook::

    from repalign_edu.exercises import lesson00 as ex
    ex.center.check(my_center)      # prints PASS or FAIL with the next hint
    ex.center.hint()                # the next, more concrete hint
    ex.center.solution()            # the worked solution (the reference's source)

or by id: ``from repalign_edu.exercises import check; check("00.center", my_center)``.
``get(id)`` returns the :class:`Exercise`; ``load_all()`` imports every lesson's module.
"""
from ._core import (REGISTRY, Exercise, StudentError, call_student, check, close,
                    compare_function, get, load_all, same, unfinished)

__all__ = ["REGISTRY", "Exercise", "StudentError", "call_student", "check", "close",
           "compare_function", "get", "load_all", "same", "unfinished"]
