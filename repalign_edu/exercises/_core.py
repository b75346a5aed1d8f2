"""The exercise machinery: ``Exercise.check``, ``hint`` and ``solution``.

In the style of Kaggle's learntools: a lesson imports its exercise module,
the student fills a stub, and ``check()`` prints a pass or a fail with a hint.
``check`` never raises on a wrong or unfinished answer (the notebook keeps
running); it returns True or False so that tests can assert on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

REGISTRY: dict[str, "Exercise"] = {}


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
    hint_text, solution_text : str
    reference : Any
        A correct answer (used by the package tests and the notebooks'
        self-tests to check the checker itself).
    """

    id: str
    prompt: str
    checker: Callable[[Any], tuple[bool, str]]
    hint_text: str
    solution_text: str
    reference: Any = None

    def __post_init__(self):
        REGISTRY[self.id] = self

    def check(self, answer, *, quiet: bool = False) -> bool:
        """Print PASS or FAIL (with a hint) for ``answer``; return True on pass.

        ``None`` (an answer not given yet) fails without running the checker,
        so the message cannot give the answer away.
        """
        if answer is None:
            if not quiet:
                print(f"FAIL [{self.id}] no answer yet: replace None with your answer.\n"
                      f"  Hint: {self.hint_text}")
            return False
        try:
            ok, msg = self.checker(answer)
        except NotImplementedError:
            ok, msg = False, "the stub still raises NotImplementedError: fill it in."
        except Exception as exc:  # a student's bug: report it, do not crash the notebook
            ok, msg = False, f"your answer raised {type(exc).__name__}: {exc}"
        if not quiet:
            if ok:
                print(f"PASS [{self.id}] {msg}".rstrip())
            else:
                print(f"FAIL [{self.id}] {msg}\n  Hint: {self.hint_text}")
        return bool(ok)

    def hint(self) -> None:
        """Print the hint."""
        print(f"Hint [{self.id}]: {self.hint_text}")

    def solution(self) -> None:
        """Print the worked solution."""
        print(f"Solution [{self.id}]:\n{self.solution_text}")


def unfinished(*args, **kwargs):
    """A stub that is not filled in yet: every checker rejects it.

    The notebooks' self-test cells use it to show that a checker rejects an
    unfinished answer, whatever the student has already typed.
    """
    raise NotImplementedError("unfinished stub")


def check(exercise_id: str, answer, *, quiet: bool = False) -> bool:
    """Check ``answer`` against the exercise registered as ``exercise_id``.

    Raises
    ------
    ValueError
        Unknown exercise id (the message lists the known ones).
    """
    if exercise_id not in REGISTRY:
        raise ValueError(
            f"unknown exercise_id {exercise_id!r}; known: {', '.join(sorted(REGISTRY))}. "
            "Import the lesson's exercise module first (e.g. repalign_edu.exercises.lesson00)."
        )
    return REGISTRY[exercise_id].check(answer, quiet=quiet)


def close(value, expected, rtol=1e-6, atol=1e-9) -> tuple[bool, str]:
    """Checker helper: compare a number to the expected one."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False, f"expected a number, got {type(value).__name__}."
    if abs(v - expected) <= atol + rtol * abs(expected):
        return True, f"{v:.6g} is right."
    return False, f"got {v:.6g}, expected about {expected:.6g}."
