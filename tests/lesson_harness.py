"""Run a lesson three ways: as shipped, with every exercise solved, with every answer wrong.

The convention (CONTRIBUTING.md, "Answer cells"): the code cell in which the student
answers exercise ``NN.name`` carries the cell tag ``exercise:NN.name``. It defines the
answer (``def my_f(...)`` or ``my_answer = None``) and calls ``ex.<exercise>.check(my_f)``.

The harness needs nothing else:

* **as shipped**: every cell runs in order in one kernel (as nbval does); each answer
  cell must print its ``FAIL [NN.name]`` line (or PASS, in a student's solved copy);
* **wrong**: each answer cell's definition of the answer is replaced by
  ``Exercise.wrong_answer()`` (a common mistake), and the cell must print a FAIL line;
* **solved**: it is replaced by ``Exercise.reference``, and the cell must print
  ``PASS [NN.name]``.

The wrong and solved variants do not re-run the whole lesson. After the as-shipped
run, the same kernel re-runs only the answer cells and the cells that (transitively)
read a name they define, found by static analysis of the cells. That is exact as long
as no replayed cell reads a name that a later cell redefines; when one does, the
harness says so and runs that variant in a fresh kernel from the top instead.

Any error in any variant fails, with the cell and the variant named. Widget cells run
headlessly (``repalign_edu._headless``: ``interact`` calls its function once).

Command line, for lesson authors::

    python tests/lesson_harness.py lessons/07_stitching.ipynb [more.ipynb ...]
"""
from __future__ import annotations

import ast
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

TAG = "exercise:"
MODES = ("shipped", "wrong", "solved")
CELL_TIMEOUT = 300


class HarnessError(AssertionError):
    """A lesson breaks the convention or fails one of the three runs."""


# --------------------------------------------------------------------------- static analysis
def _python(src: str) -> str:
    """Cell source as plain Python (IPython magics and shell escapes transformed)."""
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(src)


def _names(src: str) -> tuple[set[str], set[str]]:
    """(names loaded, names bound) anywhere in a cell; attribute/subscript targets count as bound."""
    try:
        tree = ast.parse(_python(src))
    except SyntaxError:
        return set(), set()
    loads, stores = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (stores if isinstance(node.ctx, (ast.Store, ast.Del)) else loads).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                stores.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Store):
            base = node
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if isinstance(base, ast.Name):
                stores.add(base.id)
    return loads, stores


def _check_calls(tree) -> list[ast.Call]:
    """Top-level-statement ``<x>.check(NAME, ...)`` calls without ``quiet=True``."""
    calls = []
    for stmt in tree.body:
        for node in ast.walk(stmt):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "check" and node.args and isinstance(node.args[0], ast.Name)
                    and not any(k.arg == "quiet" for k in node.keywords)):
                calls.append(node)
    return calls


def _binding_statements(tree, name: str) -> list[ast.stmt]:
    out = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
            out.append(stmt)
        elif isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            out.append(stmt)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name:
            out.append(stmt)
    return out


@dataclass
class AnswerCell:
    index: int
    exercise_id: str
    name: str            # the student's answer variable


def exercise_tags(cell) -> list[str]:
    return [t[len(TAG):].strip() for t in cell.get("metadata", {}).get("tags", []) if t.startswith(TAG)]


def find_answer_cells(nb) -> list[AnswerCell]:
    """The tagged answer cells; raises HarnessError on a convention violation."""
    out, problems = [], []
    for i, cell in enumerate(nb.cells):
        tags = exercise_tags(cell)
        if cell.cell_type != "code":
            if tags:
                problems.append(f"cell {i}: the tag {TAG}{tags[0]} is on a {cell.cell_type} cell")
            continue
        try:
            tree = ast.parse(_python(cell.source))
        except SyntaxError as exc:
            problems.append(f"cell {i}: cannot parse ({exc})")
            continue
        calls = _check_calls(tree)
        bound_here = [c for c in calls if _binding_statements(tree, c.args[0].id)]
        if not tags:
            if bound_here:
                problems.append(f"cell {i}: it defines {bound_here[0].args[0].id!r} and checks it, but has no "
                                f"'{TAG}NN.name' tag (see CONTRIBUTING.md, 'Answer cells')")
            continue
        if len(tags) != 1:
            problems.append(f"cell {i}: one exercise per answer cell (tags {tags})")
            continue
        if len(bound_here) != 1:
            problems.append(f"cell {i} ({tags[0]}): an answer cell defines its answer and calls "
                            f".check(answer) once; found {len(bound_here)} such call(s)")
            continue
        out.append(AnswerCell(i, tags[0], bound_here[0].args[0].id))
    if problems:
        raise HarnessError("lesson convention: " + "; ".join(problems))
    return out


def rewrite(src: str, answer: AnswerCell, mode: str) -> str:
    """The answer cell with its answer replaced by the reference (solved) or a wrong answer."""
    if mode == "shipped":
        return src
    py = _python(src)
    tree = ast.parse(py)
    lines = py.splitlines()
    expr = {"solved": "reference", "wrong": "wrong_answer()"}[mode]
    new = (f"{answer.name} = __import__('repalign_edu.exercises', fromlist=['get'])"
           f".get({answer.exercise_id!r}).{expr}")
    spans = sorted(((min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", [])]) - 1, s.end_lineno)
                    for s in _binding_statements(tree, answer.name)), reverse=True)
    for k, (a, b) in enumerate(spans):
        lines[a:b] = [new] if k == len(spans) - 1 else []
    return "\n".join(lines) + "\n"


@dataclass
class Plan:
    replay: list[int]                  # cell indices re-run for the wrong and solved variants
    unsafe: list[str] = field(default_factory=list)


def replay_plan(nb, answers: list[AnswerCell]) -> Plan:
    """Answer cells plus every later code cell that reads what they (transitively) define."""
    if not answers:
        return Plan([])
    code = {i: _names(c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    answer_idx = {a.index for a in answers}
    tainted, replay = set(), []
    for i in sorted(code):
        if i < min(answer_idx):
            continue
        loads, stores = code[i]
        if i in answer_idx or loads & tainted:
            replay.append(i)
            tainted |= stores
    plan = Plan(replay)
    for j in replay:
        loads, stores = code[j]
        later = set().union(*[code[k][1] for k in code if k > j]) if any(k > j for k in code) else set()
        clash = (loads - stores) & later
        if clash:
            plan.unsafe.append(f"cell {j} reads {sorted(clash)}, which a later cell redefines")
    return plan


# --------------------------------------------------------------------------- execution
def _stdout(cell) -> str:
    text = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            text.append(out.get("text", ""))
    return "".join(text)


def _expect(mode: str, answer: AnswerCell, out: str, where: str):
    pas, fail = f"PASS [{answer.exercise_id}]", f"FAIL [{answer.exercise_id}]"
    if mode == "solved" and pas not in out:
        raise HarnessError(f"{where}: solved with its Exercise.reference, the answer cell did not print "
                           f"'{pas}'. Its output:\n{out}")
    if mode == "wrong" and (fail not in out or pas in out):
        raise HarnessError(f"{where}: with a wrong answer, the answer cell should print '{fail}' and no PASS. "
                           f"Its output:\n{out}")
    if mode == "shipped" and pas not in out and fail not in out:
        # as shipped the stub fails; a student's solved copy passes: either way the check must have run
        raise HarnessError(f"{where}: the answer cell printed neither '{pas}' nor '{fail}'. Its output:\n{out}")


class _Runner:
    def __init__(self, path: Path, ipython_dir: str):
        from nbclient import NotebookClient
        self.path = path
        self.nb = nbformat.read(path, as_version=4)
        self.client = NotebookClient(self.nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
        self.env = dict(os.environ, IPYTHONDIR=ipython_dir)
        self.env.pop("MPLBACKEND", None)

    def run(self, cells: list[tuple[int, object]], mode: str, answers: dict[int, AnswerCell]):
        from nbclient.exceptions import CellExecutionError
        for i, cell in cells:
            if "nbval-skip" in cell.get("metadata", {}).get("tags", []):
                continue
            where = f"{self.path.name} [{mode}] cell {i}"
            try:
                self.client.execute_cell(cell, i)
            except CellExecutionError as exc:
                raise HarnessError(f"{where} raised:\n{str(exc)[-3000:]}") from None
            if i in answers:
                _expect(mode, answers[i], _stdout(cell), where)


def run_lesson(path, *, log=print, strict: bool = True) -> dict:
    """Run one lesson three ways; raise HarnessError on the first failure. Returns the timings.

    With ``strict=False`` a lesson that breaks the answer-cell convention still gets its
    as-shipped run (which must pass); the convention problem is returned under
    ``timings["convention"]`` instead of raised, and the wrong and solved runs are skipped.
    """
    from repalign_edu._headless import write_startup

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    convention = None
    try:
        answers = find_answer_cells(nb)
    except HarnessError as exc:
        if strict:
            raise
        convention, answers = str(exc), []
    by_index = {a.index: a for a in answers}
    plan = replay_plan(nb, answers)
    timings = {}
    with tempfile.TemporaryDirectory() as ipdir:
        write_startup(ipdir)

        def variant(mode: str, replay_only: bool, runner: _Runner):
            if replay_only:
                idx = plan.replay
            else:
                idx = [i for i, c in enumerate(runner.nb.cells) if c.cell_type == "code"]
            cells = []
            for i in idx:
                cell = runner.nb.cells[i]
                if i in by_index and mode != "shipped":
                    cell = nbformat.v4.new_code_cell(rewrite(cell.source, by_index[i], mode))
                cells.append((i, cell))
            t0 = time.perf_counter()
            runner.run(cells, mode, by_index)
            timings[mode] = round(time.perf_counter() - t0, 1)
            log(f"  {path.name}: {mode:7s} {len(cells):3d} cells in {timings[mode]:6.1f} s")

        runner = _Runner(path, ipdir)
        with runner.client.setup_kernel(env=runner.env):
            variant("shipped", False, runner)
            if not plan.unsafe:
                for mode in ("wrong", "solved"):
                    variant(mode, True, runner)
        if plan.unsafe and answers:
            log(f"  {path.name}: replay would be inexact ({'; '.join(plan.unsafe)}): "
                "running the wrong and solved variants from the top")
            for mode in ("wrong", "solved"):
                fresh = _Runner(path, ipdir)
                with fresh.client.setup_kernel(env=fresh.env):
                    variant(mode, False, fresh)
    timings["convention"] = convention
    timings["answer_cells"] = len(answers)
    timings["replayed_cells"] = len(plan.replay) if not plan.unsafe else None
    return timings


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python tests/lesson_harness.py LESSON.ipynb [...]", file=sys.stderr)
        return 2
    status = 0
    for p in argv:
        print(p)
        try:
            run_lesson(p)
        except HarnessError as exc:
            print(f"FAILED: {exc}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
