"""The exercise machinery: ``Exercise.check``, ``hint`` and ``solution``.

In the style of Kaggle's learntools: a lesson imports its exercise module,
the student fills a stub, and ``check()`` prints a pass or a fail. ``check``
never raises on a wrong or unfinished answer (the notebook keeps running); it
returns True or False so that tests can assert on it.

Teaching rules that the class enforces:

* **Progressive hints.** A failed check prints the first hint (a nudge); each
  later failure, and each call of ``hint()``, shows the next, more concrete
  one. No hint contains the answer; only ``solution()`` prints it.
* **One source of truth.** The printed solution of a function exercise is the
  source code of its ``reference`` (``inspect.getsource``), so it cannot
  drift from what the checker accepts.
* **The student's own error.** When the student's code raises, the message
  names that exception and the line of the student's code it came from.
* **Common mistakes by name.** :func:`compare_function` compares a function
  with the reference on given inputs and, when they differ, says which of the
  given common mistakes the answer matches.
"""
from __future__ import annotations

import importlib
import inspect
import textwrap
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

REGISTRY: dict[str, "Exercise"] = {}

_NO_ANSWER = object()


class StudentError(Exception):
    """The student's code raised; ``str(self)`` is the message to show."""


def call_student(fn, *args, **kwargs):
    """Call the student's ``fn``; turn any exception of theirs into a :class:`StudentError`.

    The message names the exception type, its text and the last line of the
    student's code that ran (notebook cells included), so the student sees their
    own bug, never the checker's. ``NotImplementedError`` (an unfinished stub)
    passes through unchanged.
    """
    if not callable(fn):
        raise StudentError(f"expected a function, got {type(fn).__name__}: pass the function "
                           "itself (its name, without parentheses).")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as exc:
        raise StudentError(_students_error(exc, skip=1)) from None


_PACKAGE_DIR = __file__.replace("\\", "/").rsplit("/exercises/", 1)[0]


def _student_frames(exc, skip=0):
    """The traceback frames of ``exc`` that lie in the student's code (not this package or a library)."""
    frames = traceback.extract_tb(exc.__traceback__)[skip:]
    return [f for f in frames if not f.filename.replace("\\", "/").startswith(_PACKAGE_DIR)
            and "site-packages" not in f.filename and "/lib/python" not in f.filename.replace("\\", "/")]


def _students_error(exc, skip=0) -> str:
    ours = _student_frames(exc, skip)
    where = ""
    if ours:
        f = ours[-1]
        code = (f.line or "").strip()
        where = f" (in your code: line {f.lineno}" + (f": {code}" if code else "") + ")"
    return f"your code raised {type(exc).__name__}: {exc}{where}"


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    if isinstance(value, (float, int, np.floating, np.integer)):
        return f"{float(value):.6g}"
    return f"a {type(value).__name__}"


def same(value, expected, *, rtol=1e-8, atol=1e-10) -> tuple[bool, str]:
    """Compare an answer with the expected value (number, array, or tuple of them).

    Returns ``(equal, why_not)``; ``why_not`` explains a type or shape
    mismatch in the student's terms. Never raises.
    """
    if isinstance(expected, tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(expected):
            return False, f"return a tuple of {len(expected)} values; got {_describe(value)}."
        for k, (v, e) in enumerate(zip(value, expected)):
            ok, why = same(v, e, rtol=rtol, atol=atol)
            if not ok:
                return False, f"item {k} of your tuple: {why}"
        return True, ""
    exp = np.asarray(expected, dtype=float)
    if value is None:
        return False, "your function returned None: did you forget `return`?"
    try:
        val = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False, f"expected {'a number' if exp.ndim == 0 else 'an array'}, got {_describe(value)}."
    if exp.ndim == 0 and val.ndim != 0:
        if val.size == 1:
            val = val.reshape(())
        else:
            return False, f"return a single number, not {_describe(val)}."
    if val.shape != exp.shape:
        return False, f"the result has shape {val.shape}, expected {exp.shape}."
    if not np.all(np.isfinite(val)) and np.all(np.isfinite(exp)):
        return False, "the result contains NaN or inf."
    if np.allclose(val, exp, rtol=rtol, atol=atol):
        return True, ""
    if exp.ndim == 0:
        return False, f"got {float(val):.6g}, expected about {float(exp):.6g}."
    return False, "some entries differ from the expected values."


def compare_function(fn, reference: Callable, inputs: Sequence[tuple], *,
                     mistakes: Sequence[tuple[Callable, str]] = (),
                     rtol: float = 1e-8, atol: float = 1e-10,
                     passed: str = "matches the reference on every test input.") -> tuple[bool, str]:
    """The one checker for function exercises.

    Parameters
    ----------
    fn : callable
        The student's function.
    reference : callable
        The exercise's reference solution.
    inputs : sequence of tuple
        Argument tuples; ``fn(*args)`` is compared with ``reference(*args)``.
    mistakes : sequence of (callable, str)
        Common mistakes: a function that makes the mistake, and the message that
        names it. When the student's output differs from the reference but
        equals a mistake's output, that mistake's message is returned.
    rtol, atol : float
        Tolerances of :func:`same`.
    passed : str
        The message on success.

    Returns
    -------
    (bool, str)
        Whether every input matched, and the message.

    Raises
    ------
    StudentError
        The student's function raised (the exception is named in the message).
    NotImplementedError
        The stub is unfinished.
    """
    for k, args in enumerate(inputs):
        out = call_student(fn, *[np.copy(a) if isinstance(a, np.ndarray) else a for a in args])
        expected = reference(*args)
        ok, why = same(out, expected, rtol=rtol, atol=atol)
        if ok:
            continue
        for wrong, message in mistakes:
            try:
                w = wrong(*args)
            except Exception:                       # a mistake that cannot run here says nothing
                continue
            if same(w, expected, rtol=rtol, atol=atol)[0]:
                continue                            # indistinguishable on this input
            if same(out, w, rtol=max(rtol, 1e-6), atol=max(atol, 1e-9))[0]:
                return False, message
        where = f"on test input {k + 1} of {len(inputs)}" + _shapes(args)
        return False, f"{where}: {why}"
    return True, passed


def _shapes(args) -> str:
    shapes = [f"{a.shape}" for a in args if isinstance(a, np.ndarray)]
    return f" (array shapes {', '.join(shapes)})" if shapes else ""


def close(value, expected, rtol=1e-6, atol=1e-9) -> tuple[bool, str]:
    """Checker helper: compare a number to the expected one (never raises)."""
    if isinstance(value, (bool, np.bool_)):
        return False, "expected a number, got a bool."
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False, f"expected a number, got {_describe(value)}."
    if not np.isfinite(v):
        return False, f"expected a finite number, got {v}."
    if abs(v - expected) <= atol + rtol * abs(expected):
        return True, f"{v:.6g} is right."
    return False, f"{v:.6g} is not right."


@dataclass
class Exercise:
    """One exercise.

    Parameters
    ----------
    id : str
        Registry key, "<lesson>.<name>", e.g. "00.center".
    prompt : str
        One-sentence task.
    checker : callable(answer) -> (bool, str)
        Returns whether the answer is right and a message explaining why not.
        It may raise :class:`StudentError` (via :func:`call_student` or
        :func:`compare_function`).
    reference : Any
        A correct answer; the checker accepts it (the tests check that). For a
        function exercise, ``solution()`` prints its source.
    hints : sequence of str
        Progressive hints, a nudge first. None contains the full answer.
    explanation : str
        Shown by ``solution()`` after the reference (for a prediction: why).
    mistakes : sequence
        Realistic wrong answers (the common mistakes); each is rejected by the
        checker. The tests and the lesson harness ("every answer wrong") use them.
    answer_name : str
        The name of the stub in the notebook; ``solution()`` prints the
        reference under this name.
    hint_text, solution_text : str
        Older single-hint form (still accepted): ``hint_text`` becomes the only
        hint, ``solution_text`` the explanation.
    """

    id: str
    prompt: str
    checker: Callable[[Any], tuple[bool, str]]
    reference: Any = None
    hints: Sequence[str] = ()
    explanation: str = ""
    mistakes: Sequence[Any] = ()
    answer_name: str = ""
    hint_text: str = ""
    solution_text: str = ""
    _level: int = field(default=0, repr=False)

    def __post_init__(self):
        if not self.hints:
            self.hints = (self.hint_text,) if self.hint_text else ("Re-read the task and the cell above it.",)
        self.hints = tuple(self.hints)
        if self.solution_text and not self.explanation:
            self.explanation = self.solution_text
        REGISTRY[self.id] = self

    # ------------------------------------------------------------------ checking
    def _run(self, answer) -> tuple[bool, str]:
        if answer is None:
            return False, "no answer yet: replace None with your answer."
        try:
            ok, msg = self.checker(answer)
        except NotImplementedError:
            return False, "the stub still raises NotImplementedError: fill it in."
        except StudentError as exc:
            return False, str(exc)
        except Exception as exc:  # do not crash the notebook; say whose error it is
            frames = traceback.extract_tb(exc.__traceback__)
            if frames and _student_frames(exc) and _student_frames(exc)[-1] == frames[-1]:
                return False, _students_error(exc)          # raised in the student's own code
            return False, (f"this answer could not be checked ({type(exc).__name__}: {exc}); "
                           "check the type and shape the task asks for.")
        return bool(ok), msg

    def check(self, answer, *, quiet: bool = False) -> bool:
        """Print PASS or FAIL for ``answer``; return True on pass. Never raises.

        A failure prints the next hint (a nudge first, more concrete ones on
        later failures). ``quiet=True`` prints nothing and changes no state.
        """
        ok, msg = self._run(answer)
        if quiet:
            return ok
        if ok:
            print(f"PASS [{self.id}] {msg}".rstrip())
        else:
            print(f"FAIL [{self.id}] {msg}")
            # an answer not given yet (None, an unfinished stub) is not an attempt: it shows the
            # current hint without moving on to the next one
            self._print_hint(advance=not _unanswered(answer, msg))
        return ok

    def use(self, answer, *, quiet: bool = False):
        """The student's answer if it passes, else the reference (so a lesson can go on).

        Later cells that build on an exercise call ``ex.q.use(my_answer)``: a
        wrong or unfinished answer never stops Run All.
        """
        if self._run(answer)[0]:
            return answer
        if not quiet:
            print(f"[{self.id}] your answer does not pass yet: the cells below use the reference.")
        return self.reference

    def wrong_answer(self):
        """A realistic wrong answer (the first common mistake): the checker rejects it."""
        if self.mistakes:
            m = self.mistakes[0]
            return m[0] if isinstance(m, tuple) else m
        if callable(self.reference):
            def wrong(*args, **kwargs):
                raise ValueError("a bug in the student's code")
            return wrong
        return None

    # ------------------------------------------------------------------ help
    def _print_hint(self, advance: bool = True):
        level = min(self._level, len(self.hints) - 1)
        last = level == len(self.hints) - 1
        tag = f"Hint {level + 1}/{len(self.hints)}"
        more = ("" if last else "  (a failed check or .hint() shows the next hint)")
        print(f"  {tag}: {self.hints[level]}{more}")
        if last:
            print(f"  That was the last hint; .solution() shows a worked solution.")
        if advance:
            self._level = min(self._level + 1, len(self.hints) - 1)

    def hint(self) -> None:
        """Print the next hint (a nudge first, then more concrete ones)."""
        print(f"[{self.id}]", end="")
        self._print_hint()

    def solution_source(self) -> str:
        """The worked solution: the reference's source (functions) or value, plus the explanation."""
        parts = []
        if inspect.isfunction(self.reference):
            src = textwrap.dedent(inspect.getsource(self.reference))
            if self.answer_name and self.reference.__name__ != self.answer_name:
                src = src.replace(f"def {self.reference.__name__}(", f"def {self.answer_name}(", 1)
            parts.append(src.rstrip())
        elif self.reference is not None:
            value = self.reference
            if isinstance(value, (set, frozenset)):
                value = sorted(value)
            parts.append(f"{self.answer_name or 'answer'} = {value!r}")
        if self.explanation:
            parts.append(self.explanation)
        return "\n".join(parts)

    def solution(self) -> None:
        """Print the worked solution."""
        print(f"Solution [{self.id}]:\n{self.solution_source()}")


def _unanswered(answer, msg: str) -> bool:
    return answer is None or msg.startswith("the stub still raises NotImplementedError")


def unfinished(*args, **kwargs):
    """A stub that is not filled in yet: every checker rejects it.

    The notebooks' self-test cells use it to show that a checker rejects an
    unfinished answer, whatever the student has already typed.
    """
    raise NotImplementedError("unfinished stub")


def get(exercise_id: str) -> Exercise:
    """The exercise registered as ``exercise_id``, importing its lesson module if needed.

    Raises
    ------
    ValueError
        Unknown exercise id (the message lists the known ones).
    """
    if exercise_id not in REGISTRY and isinstance(exercise_id, str) and "." in exercise_id:
        module = f"{__package__}.lesson{exercise_id.split('.', 1)[0]}"
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    if exercise_id not in REGISTRY:
        raise ValueError(
            f"unknown exercise_id {exercise_id!r}; known: {', '.join(sorted(REGISTRY))}. "
            "Ids look like '00.center' (lesson 00's module repalign_edu.exercises.lesson00)."
        )
    return REGISTRY[exercise_id]


def check(exercise_id: str, answer, *, quiet: bool = False) -> bool:
    """Check ``answer`` against the exercise registered as ``exercise_id``.

    Raises
    ------
    ValueError
        Unknown exercise id (the message lists the known ones).
    """
    return get(exercise_id).check(answer, quiet=quiet)


def load_all() -> dict[str, Exercise]:
    """Import every ``lessonNN`` exercise module and return the registry."""
    import pkgutil
    from . import __path__ as pkg_path
    for info in pkgutil.iter_modules(pkg_path):
        if info.name.startswith("lesson"):
            importlib.import_module(f"{__package__}.{info.name}")
    return REGISTRY
