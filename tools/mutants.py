"""`make mutants`: prove that every check of the book can fail.

Per equation. For every labelled equation, the code that computes the *analytic* side of
its check is mutated, one change at a time:

- the statements of the page that feed the analytic argument of ``check(label, ...)`` (or
  ``as_written``/``corrected`` of ``erratum``) and not its numerical argument, found by a
  backward slice over the page's cells (statements shared by both sides, such as the
  seeded example, are the point of evaluation, not the formula, and are left alone);
- the functions of ``lstm_notes`` that those statements execute (measured by tracing the
  page once), on the lines they execute; the checking layer (``check``, ``numdiff``,
  ``validate``) and the seeded examples are not the formula and are left alone.

Mutations: an operator swapped (+/-, *//), a term or factor dropped, a minus sign or a
transpose dropped, the operands of ``@``/``outer``/``dot`` swapped, off by one in a range,
an index or a comparison. Each mutant re-runs the page in this process (``pagerun``) and is
classed:

killed      the equation's own check failed;
survived    the analytic value moved beyond the check's tolerance and every check passed
            (the two sides share the mutated code: the check is weak);
equivalent  the analytic value did not move;
elsewhere   only other equations' checks failed (named), on this page or, for a mutant
            of ``lstm_notes``, on another page that runs the mutated line;
crashed     the mutant raised an error that is not a check's (the build fails too, but
            no check can claim it); not counted as non-equivalent.

Package mode samples ``--package N`` mutants of all formula code of ``lstm_notes`` and
runs every page that executes the mutated line (kill: any check fails or the page
raises; a line no page executes survives).

Writes ``<out>/mutants.json`` (the shape of DESIGN.md 4b) and prints a summary against
the targets: every labelled equation has a non-equivalent mutant, no survivor, every
sampled package mutant killed, the per-equation run within 15 minutes.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib
import json
import multiprocessing
import random
import re
import sys
import time
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pagerun  # noqa: E402
from pagerun import ROOT, Statement, check_label  # noqa: E402

sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import numpy as np  # noqa: E402
from verified_book.rebuild import sources_digest  # noqa: E402

PACKAGE = ROOT / "lstm_notes"
#: Modules that check or measure, not compute a formula: the checker and the input guard
#: are the test suite's business (tests/test_check.py proves they fail), the timing
#: module's results are seconds that no check can hold, and the plotting module draws
#: and describes figures, which tests/test_plotting.py and the browser tests hold.
NOT_FORMULA = {"check", "validate", "__init__", "timing", "plotting"}
#: Modules on the numerical side of the checks: left alone per equation, sampled in
#: package mode (a wrong estimator must fail the build too).
NUMERIC_SIDE = {"checking.numdiff"}
#: Functions that make a check's point of evaluation or an experiment's data (seeded
#: parameters, inputs, test matrices), not a formula: another seeded point is as good.
POINT_MAKERS = {
    "example",
    "init_params",
    "scaled_to_spectral_norm",
    "real_block_diagonal",
    "delayed_copy",
    "long_lag_batch",
}
TARGETS = {"survivors": 0, "package_killed": 1.0, "seconds": 15 * 60}


# --- mutation operators ------------------------------------------------------------


def _name_of(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_guard(node: ast.AST) -> bool:
    """Validation and error reporting: not formula code."""
    if isinstance(node, (ast.Raise, ast.Assert, ast.JoinedStr)):
        return True
    if isinstance(node, ast.If) and all(isinstance(s, ast.Raise) for s in node.body):
        return True
    if isinstance(node, ast.Call):
        name = _name_of(node.func)
        owner = node.func.value if isinstance(node.func, ast.Attribute) else None
        if (
            "valid" in name
            or name.startswith("_check")
            or name == "finite_float64"
            or (isinstance(owner, ast.Name) and "valid" in owner.id)
        ):
            return True
        if name in ("warn", "print", "isinstance", "len"):
            return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True  # a docstring
    return False


def _plus(node: ast.expr, k: int) -> ast.expr:
    op = ast.Add() if k > 0 else ast.Sub()
    return ast.BinOp(left=copy.deepcopy(node), op=op, right=ast.Constant(1))


def _variants(node: ast.AST) -> list[tuple[str, ast.AST]]:
    """The mutants of one node: (description, replacement)."""
    out: list[tuple[str, ast.AST]] = []
    c = copy.deepcopy
    if isinstance(node, ast.BinOp):
        left, right, op = node.left, node.right, type(node.op)
        swap = {
            ast.Add: ast.Sub,
            ast.Sub: ast.Add,
            ast.Mult: ast.Div,
            ast.Div: ast.Mult,
        }
        if op in swap:
            out.append(
                (
                    f"{op.__name__} -> {swap[op].__name__}",
                    ast.BinOp(c(left), swap[op](), c(right)),
                )
            )
        if op in (ast.Add, ast.Sub):
            out.append(("drop the right term", c(left)))
            out.append(("drop the left term", c(right)))
        if op is ast.Mult:
            out.append(("drop the right factor", c(left)))
            out.append(("drop the left factor", c(right)))
        if op is ast.MatMult:
            out.append(
                ("swap the operands of @", ast.BinOp(c(right), ast.MatMult(), c(left)))
            )
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        out.append(("drop the minus sign", c(node.operand)))
    elif (
        isinstance(node, ast.Return)
        and node.value is not None
        and not isinstance(node.value, (ast.Tuple, ast.Dict, ast.Constant))
    ):
        out.append(
            (
                "negate the returned value",
                ast.Return(ast.UnaryOp(ast.USub(), c(node.value))),
            )
        )
    elif (
        isinstance(node, ast.Attribute)
        and node.attr == "T"
        and isinstance(node.ctx, ast.Load)
    ):
        out.append(("drop the transpose", c(node.value)))
    elif isinstance(node, ast.Call):
        name = _name_of(node.func)
        if (
            name in ("outer", "dot", "matmul", "kron", "cross")
            and len(node.args) == 2
            and not node.keywords
        ):
            new = c(node)
            new.args = [c(node.args[1]), c(node.args[0])]
            out.append((f"swap the arguments of {name}", new))
        if name == "transpose" and len(node.args) == 1 and not node.keywords:
            out.append(("drop the transpose", c(node.args[0])))
        if name == "range" and node.args and not node.keywords:
            new = c(node)
            if len(node.args) == 1:
                new.args = [_plus(node.args[0], -1)]
                out.append(("range one shorter", new))
            else:
                new.args[0] = _plus(node.args[0], +1)
                out.append(("range starts one later", new))
    elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        index = node.slice
        if isinstance(index, ast.Slice):
            for part, desc in ((index.upper, "upper"), (index.lower, "lower")):
                if part is not None and not isinstance(part, ast.Constant):
                    new = c(node)
                    setattr(new.slice, desc, _plus(part, +1 if desc == "upper" else -1))
                    out.append((f"slice {desc} bound off by one", new))
        elif _is_index(index):
            new = c(node)
            new.slice = _plus(index, -1)
            out.append(("index off by one", new))
        elif isinstance(index, ast.Tuple):
            for i, elt in enumerate(index.elts):
                if _is_index(elt):
                    new = c(node)
                    new.slice.elts[i] = _plus(elt, -1)
                    out.append((f"index {i} off by one", new))
                    break
    elif isinstance(node, ast.Compare) and len(node.ops) == 1:
        flip = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
        op = type(node.ops[0])
        if op in flip:
            out.append(
                (
                    f"{op.__name__} -> {flip[op].__name__}",
                    ast.Compare(c(node.left), [flip[op]()], c(node.comparators)),
                )
            )
    return out


def _is_index(node: ast.AST) -> bool:
    """An integer-like index: a name, an arithmetic of names and ints (not a string)."""
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        return all(
            _is_index(n) or (isinstance(n, ast.Constant) and type(n.value) is int)
            for n in (node.left, node.right)
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return (
            isinstance(node.operand, ast.Constant) and type(node.operand.value) is int
        )
    return False


def mutation_points(
    root: ast.AST, lines: set[int] | None = None, within: list[ast.AST] | None = None
) -> list[tuple[int, int, str, int]]:
    """(node number in ``ast.walk(root)`` order, variant, description, line) for every
    mutant of ``root``; only nodes on ``lines`` (when given) and inside ``within`` (when
    given), never inside validation or error reporting."""
    skip: set[int] = set()
    allowed: set[int] | None = None
    if within is not None:
        allowed = {id(n) for sub in within for n in ast.walk(sub)}
    for node in ast.walk(root):
        if _is_guard(node):
            skip.update(id(n) for n in ast.walk(node))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            skip.update(id(n) for d in node.decorator_list for n in ast.walk(d))
            skip.update(
                id(n)
                for a in ast.walk(node.args)
                for n in ast.walk(a)
                if isinstance(a, ast.arg) and a.annotation is not None
                for n in ast.walk(a.annotation)
            )
            if node.returns is not None:
                skip.update(id(n) for n in ast.walk(node.returns))
    points = []
    for k, node in enumerate(ast.walk(root)):
        if id(node) in skip or (allowed is not None and id(node) not in allowed):
            continue
        line = getattr(node, "lineno", None)
        if lines is not None and line not in lines:
            continue
        for v, (desc, _) in enumerate(_variants(node)):
            points.append((k, v, desc, line or 0))
    return points


def apply_point(root: ast.AST, k: int, v: int) -> ast.AST:
    """A copy of ``root`` with the ``v``-th mutant of its ``k``-th node."""
    new_root = copy.deepcopy(root)
    target = list(ast.walk(new_root))[k]
    _, replacement = _variants(target)[v]
    ast.copy_location(replacement, target)
    if target is new_root:
        return replacement
    for parent in ast.walk(new_root):
        for field, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, field, replacement)
                return ast.fix_missing_locations(new_root)
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is target:
                        value[i] = replacement
                        return ast.fix_missing_locations(new_root)
    raise LookupError("mutation target not found")


# --- slicing a page ----------------------------------------------------------------


def _names(node: ast.AST, ctx) -> set[str]:
    return {
        n.id
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)
    }


def defines(node: ast.stmt) -> tuple[set[str], bool]:
    """Names a statement binds, and whether it rebinds them whole (an assignment) rather
    than changing them in place (``x[i] = ...``, ``x += ...``, a loop body)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return set(), True
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return {node.name}, True
    if isinstance(node, ast.Assign) and all(
        isinstance(t, (ast.Name, ast.Tuple)) for t in node.targets
    ):
        return set().union(*(_names(t, ast.Store) for t in node.targets)), True
    stored = _names(node, ast.Store)
    for sub in ast.walk(node):  # x[i] = ..., x.attr = ...: x is changed in place
        if isinstance(sub, (ast.Subscript, ast.Attribute)) and isinstance(
            sub.ctx, ast.Store
        ):
            stored |= _names(sub.value, ast.Load)
        if isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name):
            stored.add(sub.target.id)
    return stored, False


def uses(node: ast.stmt) -> set[str]:
    return _names(node, ast.Load)


def backward_slice(
    statements: list[Statement], before: int, need: set[str]
) -> set[int]:
    """Indices of the statements before ``before`` that feed the names ``need``."""
    need = set(need)
    chosen: set[int] = set()
    for stmt in reversed(statements[:before]):
        bound, whole = defines(stmt.node)
        if bound & need:
            chosen.add(stmt.index)
            if whole:
                need -= bound
            need |= uses(stmt.node)
    return chosen


def _inputs(node: ast.stmt, names: set[str]) -> set[str]:
    """The names to look for before a check statement: a name the statement itself
    assigns (``num = ...`` inside a loop) is replaced by the names its value reads, and
    its own loop variables are dropped, so that an earlier, unrelated use of the same
    name is not taken for it."""
    local: dict[str, set[str]] = {}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Assign):
            for target in sub.targets:
                for name in _names(target, ast.Store):
                    local.setdefault(name, set()).update(_names(sub.value, ast.Load))
        elif isinstance(sub, (ast.For, ast.comprehension)):
            # A loop variable indexes the loop (a method, a parameter's name): it says
            # which value, not what the value is, so it ties neither side to the other.
            for name in _names(sub.target, ast.Store):
                local.setdefault(name, set())
    out, seen, todo = set(), set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in local:
            todo.extend(local[name])
        else:
            out.add(name)
    return out


@dataclass
class CheckSite:
    """The calls that check one label on a page."""

    label: str
    statements: list[int]  # the statements calling check/erratum
    analytic: dict[int, list[ast.expr]]  # statement -> its analytic argument nodes
    analytic_only: set[int]  # statements feeding the analytic side only
    shared: set[int]  # statements feeding both sides
    numeric_only: set[int]  # statements feeding the numerical side only


def check_sites(statements: list[Statement]) -> dict[str, CheckSite]:
    sites: dict[str, CheckSite] = {}
    for stmt in statements:
        for call in ast.walk(stmt.node):
            label = check_label(call)
            if label is None:
                continue
            name = _name_of(call.func)
            kw = {k.arg: k.value for k in call.keywords}
            if name == "check":
                analytic = (
                    [call.args[1]] if len(call.args) > 1 else [kw.get("analytic")]
                )
                numeric = [call.args[2]] if len(call.args) > 2 else [kw.get("numeric")]
            else:  # the formula as written is meant to fail: what must hold is corrected
                analytic = [kw.get("corrected"), kw.get("formula")]
                numeric = [kw.get("numeric")]
            analytic = [a for a in analytic if a is not None]
            numeric = [n for n in numeric if n is not None]
            site = sites.setdefault(
                label, CheckSite(label, [], {}, set(), set(), set())
            )
            site.statements.append(stmt.index)
            site.analytic.setdefault(stmt.index, []).extend(analytic)
            a_need = (
                set().union(*(_names(a, ast.Load) for a in analytic))
                if analytic
                else set()
            )
            n_need = (
                set().union(*(_names(n, ast.Load) for n in numeric))
                if numeric
                else set()
            )
            a_need, n_need = _inputs(stmt.node, a_need), _inputs(stmt.node, n_need)
            a_slice = backward_slice(statements, stmt.index, a_need)
            n_slice = backward_slice(statements, stmt.index, n_need)
            site.analytic_only |= a_slice - n_slice
            site.shared |= a_slice & n_slice
            site.numeric_only |= n_slice - a_slice
    for site in sites.values():
        site.analytic_only -= site.shared | set(site.statements)
        site.numeric_only -= site.shared | site.analytic_only | set(site.statements)
    return sites


# --- tracing which lstm_notes lines each statement runs ----------------------------


def module_path(module: str) -> Path:
    """The file of ``lstm_notes.<module>`` (``module`` dotted, as "models.lstm")."""
    return PACKAGE / f"{module.replace('.', '/')}.py"


def _module_of(filename: str) -> str | None:
    path = Path(filename)
    try:
        rel = path.resolve().relative_to(PACKAGE)
    except ValueError:
        return None
    return rel.with_suffix("").as_posix().replace("/", ".")


_MARK = "_lstm_notes_numeric_side"


class _MarkNumeric(ast.NodeTransformer):
    """Wraps the numerical argument of every check call in ``_MARK(lambda: ...)``, so that
    the lines it runs are told apart from those of the analytic argument."""

    def visit_Call(self, node):
        self.generic_visit(node)
        if check_label(node) is None:
            return node

        def wrap(e):
            return ast.Call(ast.Name(_MARK, ast.Load()), [ast.Lambda(_NO_ARGS, e)], [])

        if _name_of(node.func) == "check" and len(node.args) > 2:
            node.args[2] = wrap(node.args[2])
        for kw in node.keywords:
            if kw.arg == "numeric":
                kw.value = wrap(kw.value)
        return node


_NO_ARGS = ast.arguments(
    posonlyargs=[],
    args=[],
    vararg=None,
    kwonlyargs=[],
    kw_defaults=[],
    kwarg=None,
    defaults=[],
)


def traced_baseline(statements: list[Statement]):
    """Run the page once, recording the lines of ``lstm_notes`` each statement runs, as
    {statement index: (lines run outside a check's numerical argument, lines run by the
    numerical argument of a check, lines run inside numerical differentiation)}, each a
    set of (module, line); and the run's log."""
    lines: dict[int, tuple[set, set, set]] = {}
    current: list[tuple[set, set, set]] = [(set(), set(), set())]
    modules: dict[str, str | None] = {}

    def module_of(frame):
        name = frame.f_code.co_filename
        if name not in modules:
            modules[name] = _module_of(name)
        return modules[name]

    marked = [0]

    def mark(evaluate):
        marked[0] += 1
        try:
            return evaluate()
        finally:
            marked[0] -= 1

    def side(frame) -> int:
        while frame is not None:
            if module_of(frame) in NUMERIC_SIDE:
                return 2
            frame = frame.f_back
        return 1 if marked[0] else 0

    def global_trace(frame, event, arg):
        module = module_of(frame)
        if module is None:
            return None
        bucket = current[0][side(frame)]
        bucket.add((module, frame.f_code.co_firstlineno))

        def local(frame, event, arg):
            if event == "line":
                bucket.add((module, frame.f_lineno))
            return local

        return local

    def until(log, index):
        lines[index] = current[0]
        current[0] = (set(), set(), set())
        return False

    replace = {}
    for stmt in statements:
        if any(check_label(n) for n in ast.walk(stmt.node)):
            replace[stmt.index] = _MarkNumeric().visit(copy.deepcopy(stmt.node))
    import builtins

    setattr(builtins, _MARK, mark)
    sys.settrace(global_trace)
    try:
        log = pagerun.run(statements, until=until, replace=replace)
    finally:
        sys.settrace(None)
        delattr(builtins, _MARK)
    return lines, log


# --- the package's functions, as mutation units ------------------------------------


@dataclass
class Unit:
    """A function of lstm_notes: its module, its def node and the live function object."""

    module: str
    qualname: str
    node: ast.FunctionDef
    func: object
    first: int
    last: int


_UNITS: dict[str, list[Unit]] = {}


def units(module: str) -> list[Unit]:
    if module in _UNITS:
        return _UNITS[module]
    mod = importlib.import_module(f"lstm_notes.{module}")
    tree = ast.parse(module_path(module).read_text())
    found = []

    def add(node, owner, qual):
        func = owner.get(node.name) if isinstance(owner, dict) else None
        if isinstance(func, (staticmethod, classmethod)):
            func = func.__func__
        if isinstance(func, property):
            func = func.fget
        if func is None or not hasattr(func, "__code__") or func.__code__.co_freevars:
            return
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        found.append(Unit(module, qual, node, func, first, node.end_lineno))

    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            add(node, mod.__dict__, node.name)
        elif isinstance(node, ast.ClassDef) and isinstance(
            mod.__dict__.get(node.name), type
        ):
            cls = mod.__dict__[node.name]
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef):
                    add(sub, cls.__dict__, f"{node.name}.{sub.name}")
    _UNITS[module] = found
    return found


def unit_at(module: str, line: int) -> Unit | None:
    for u in units(module):
        if u.first <= line <= u.last:
            return u
    return None


class Installed:
    """A mutant of one package function, swapped in by its code object and restored."""

    def __init__(self, unit: Unit, k: int, v: int):
        self.unit, self.k, self.v = unit, k, v

    def __enter__(self):
        node = apply_point(
            self.unit.node, self.k, self.v
        )  # a copy: the unit stays intact
        node.decorator_list = []
        module = ast.Module(body=[node], type_ignores=[])
        with (
            warnings.catch_warnings()
        ):  # a mutant may index a float, say: it will raise
            warnings.simplefilter("ignore")
            code = compile(
                ast.fix_missing_locations(module),
                str(module_path(self.unit.module)),
                "exec",
            )
        scratch = dict(sys.modules[f"lstm_notes.{self.unit.module}"].__dict__)
        exec(code, scratch)
        self.saved = self.unit.func.__code__
        self.unit.func.__code__ = scratch[node.name].__code__
        return self

    def __exit__(self, *exc):
        self.unit.func.__code__ = self.saved
        return False


# --- classification ----------------------------------------------------------------


def _moved(base: list[pagerun.Comparison], new: list[pagerun.Comparison]) -> bool:
    """Whether a label's analytic values (its checks', its errata's corrected ones) moved
    beyond their checks' tolerance."""
    base = [b for b in base if b.kind in ("check", "corrected")]
    new = [n for n in new if n.kind in ("check", "corrected")]
    if len(base) != len(new):
        return True
    for b, n in zip(base, new, strict=True):
        if b.value is None or n.value is None:
            if (b.value is None) != (n.value is None):
                return True
            continue
        if b.value.shape != n.value.shape:
            return True
        if not np.all(np.abs(n.value - b.value) <= b.atol + b.rtol * np.abs(b.value)):
            return True
    return False


def classify(label: str, base: pagerun.RunLog, new: pagerun.RunLog) -> tuple[str, str]:
    """The verdict on one mutant, for a run that stopped, as the build does, at the first
    statement that raised."""
    if label in new.failed:
        return "killed", ""
    if new.failed:
        return "elsewhere", ", ".join(sorted(new.failed))
    if new.crashed:
        return "crashed", new.crashed[0][1][:120]
    if not _moved(base.values(label), new.values(label)):
        return "equivalent", ""
    return "survived", ""


def _stops(label: str, last: int):
    """When a mutant's run can stop: at the first failure (the build stops there too), or
    once the label's last check has run (what comes after cannot save a weak check)."""

    def until(log, index):
        return bool(log.failed or log.crashed) or index >= last

    return until


# --- per page ----------------------------------------------------------------------


@dataclass
class Mutant:
    where: str  # "page cell n line m" or "module.function line m"
    what: str
    unit: Unit | None
    stmt: int | None
    k: int
    v: int
    line: int  # the mutated line (of the cell, or of the module's file)

    def describe(self) -> str:
        return f"{self.where}: {self.what}"


_NO_LINES = (frozenset(), frozenset(), frozenset())


def page_mutants(statements, site: CheckSite, lines, rng, per_label: int):
    """The mutants of one label: of its analytic statements, then of the package lines
    they run; at most ``per_label`` of each, drawn with ``rng``."""
    local: list[Mutant] = []
    for index in sorted(site.analytic_only | set(site.statements)):
        stmt = statements[index]
        within = site.analytic.get(index)
        for k, v, desc, line in mutation_points(stmt.node, within=within):
            local.append(
                Mutant(
                    f"{stmt.page}.md cell {stmt.cell + 1} line {line}",
                    desc,
                    None,
                    index,
                    k,
                    v,
                    line,
                )
            )
    # The package lines behind the analytic side: those run by its own statements and by
    # the check call outside its numerical argument, less those run inside numerical
    # differentiation (the model being differentiated) and those run by statements that
    # feed both sides (the point of evaluation): a change there is not a change of the
    # formula under check. Lines that the numerical argument runs too stay: when the two
    # sides share them, a change moves both and the check is weak.
    excluded = set()
    for index in (
        site.numeric_only | site.analytic_only | site.shared | set(site.statements)
    ):
        plain, _, differentiated = lines.get(index, _NO_LINES)
        excluded |= differentiated | (plain if index in site.shared else set())
    ran: dict[str, set[int]] = {}
    for index in site.analytic_only | set(site.statements):
        for module, line in lines.get(index, _NO_LINES)[0] - excluded:
            if module in NUMERIC_SIDE or module.split(".")[-1] in NOT_FORMULA:
                continue
            ran.setdefault(module, set()).add(line)
    remote: list[Mutant] = []
    for module, got in sorted(ran.items()):
        for unit in units(module):
            if unit.node.name in POINT_MAKERS or not got & set(
                range(unit.first, unit.last + 1)
            ):
                continue
            for k, v, desc, line in mutation_points(unit.node, lines=got):
                remote.append(
                    Mutant(
                        f"{module_path(module).relative_to(ROOT)}:{line} {unit.qualname}",
                        desc,
                        unit,
                        None,
                        k,
                        v,
                        line,
                    )
                )
    pick = lambda xs: xs if len(xs) <= per_label else rng.sample(xs, per_label)  # noqa: E731
    return pick(local) + pick(remote)


class Book:
    """Pages' statements, baselines and traced lines, computed once per process."""

    def __init__(self):
        self.statements: dict[str, list[Statement]] = {}
        self.baseline: dict[str, pagerun.RunLog] = {}
        self.lines: dict[str, dict[int, set]] = {}

    def page(self, page: str):
        if page not in self.statements:
            stmts = pagerun.read_statements(page)
            lines, log = traced_baseline(stmts)
            self.statements[page], self.lines[page], self.baseline[page] = (
                stmts,
                lines,
                log,
            )
        return self.statements[page], self.lines[page], self.baseline[page]

    def pages_running(self, module: str, line: int) -> list[str]:
        return [
            p
            for p, by_stmt in self.lines.items()
            if any(
                (module, line) in bucket
                for buckets in by_stmt.values()
                for bucket in buckets
            )
        ]


_BOOK = Book()


def run_mutant(stmts, mutant: Mutant, **kwargs) -> pagerun.RunLog:
    if mutant.unit is None:
        node = apply_point(stmts[mutant.stmt].node, mutant.k, mutant.v)
        return pagerun.run(stmts, replace={mutant.stmt: node}, **kwargs)
    with Installed(mutant.unit, mutant.k, mutant.v):
        return pagerun.run(stmts, **kwargs)


def mutate_page(args) -> dict:
    page, per_label, only = args
    stmts, lines, base = _BOOK.page(page)
    if base.failed or base.crashed:
        return {
            "page": page,
            "error": f"the page fails unmutated: {base.failed or base.crashed}",
        }
    labels = {}
    for label, site in check_sites(stmts).items():
        if only and label not in only:
            continue
        rng = random.Random(zlib.crc32(label.encode()))
        counts = {
            "page": page,
            "killed": 0,
            "survived": 0,
            "equivalent": 0,
            "elsewhere": 0,
            "crashed": 0,
            "survivors": [],
            "elsewhere_by": [],
            "crashes": [],
        }
        until = _stops(label, max(site.statements))
        for mutant in page_mutants(stmts, site, lines, rng, per_label):
            log = run_mutant(stmts, mutant, until=until)
            verdict, detail = classify(label, base, log)
            counts[verdict] += 1
            if verdict == "survived":
                where = _caught_elsewhere(mutant, page)
                counts["survivors"].append(
                    mutant.describe() + (f" (caught on {where})" if where else "")
                )
            elif verdict == "elsewhere":
                counts["elsewhere_by"].append(f"{mutant.describe()} -> {detail}")
            elif verdict == "crashed":
                counts["crashes"].append(f"{mutant.describe()} -> {detail}")
        labels[label] = counts
    for label in pagerun.labels(page):  # an equation no check call names by its label
        if label not in labels and (not only or label in only):
            labels[label] = {
                "page": page,
                "killed": 0,
                "survived": 0,
                "equivalent": 0,
                "elsewhere": 0,
                "crashed": 0,
                "survivors": [],
                "elsewhere_by": [],
                "crashes": [],
                "note": "no check call names this label on its page",
            }
    return {"page": page, "labels": labels}


def _caught_elsewhere(mutant: Mutant, page: str) -> str:
    """Where the book catches a surviving mutant after all: a later check of its page or,
    for a mutant of lstm_notes, another page that runs the mutated line."""
    stop = lambda log, i: bool(log.failed or log.crashed)  # noqa: E731
    pages = [page]
    if mutant.unit is not None:
        for other in pagerun.all_pages():
            _BOOK.page(other)  # traced once per process, then cached
        pages += [
            p for p in _BOOK.pages_running(mutant.unit.module, mutant.line) if p != page
        ]
    for other in pages:
        log = run_mutant(_BOOK.page(other)[0], mutant, until=stop)
        if log.failed:
            return f"{other}: {', '.join(sorted(log.failed))}"
        if log.crashed:
            return f"{other}: raises ({log.crashed[0][1][:80]})"
    return ""


# --- package mode ------------------------------------------------------------------


def formula_modules() -> list[str]:
    names = (
        p.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", ".")
        for p in PACKAGE.rglob("*.py")
    )
    return sorted(n for n in names if n.split(".")[-1] not in NOT_FORMULA)


def package_mode(n: int, seed: int) -> dict:
    """Draw mutants of the formula code of lstm_notes until ``n`` of them change what the
    book shows. A mutant is killed when a page that runs the mutated line fails a check or
    raises; equivalent (not counted in ``n``, listed) when every such page shows exactly
    what it showed before (every value compared, every printed line); it survives
    otherwise, or when no page runs the line."""
    pages = pagerun.all_pages()
    for page in pages:
        _BOOK.page(page)
    cost = {p: _BOOK.baseline[p].seconds for p in pages}
    candidates: list[Mutant] = []
    for module in formula_modules():
        for unit in units(module):
            if unit.node.name in POINT_MAKERS:
                continue
            for k, v, desc, line in mutation_points(unit.node):
                candidates.append(
                    Mutant(
                        f"{module_path(module).relative_to(ROOT)}:{line} {unit.qualname}",
                        desc,
                        unit,
                        None,
                        k,
                        v,
                        line,
                    )
                )
    order = random.Random(seed).sample(candidates, len(candidates))
    killed, survivors, equivalent = 0, [], []
    for mutant in order:
        if killed + len(survivors) >= n:
            break
        running = sorted(
            _BOOK.pages_running(mutant.unit.module, mutant.line), key=cost.get
        )
        verdict = "equivalent" if running else "survived"
        for page in running:
            stmts = _BOOK.statements[page]
            log = run_mutant(
                stmts, mutant, until=lambda log, i: bool(log.failed or log.crashed)
            )
            if log.failed or log.crashed:
                verdict = "killed"
                break
            if _observable_change(_BOOK.baseline[page], log):
                verdict = "survived"
        if verdict == "killed":
            killed += 1
        elif verdict == "equivalent":
            equivalent.append(mutant.describe())
        else:
            why = (
                "every page that runs it passes"
                if running
                else "no page runs this line"
            )
            survivors.append(f"{mutant.describe()} ({why})")
    return {
        "sampled": killed + len(survivors),
        "candidates": len(candidates),
        "seed": seed,
        "killed": killed,
        "survivors": survivors,
        "equivalent": equivalent,
    }


def _observable_change(base: pagerun.RunLog, new: pagerun.RunLog) -> bool:
    """Whether a run shows the reader anything else, beyond rounding: a value on either
    side of a check (moved by more than 1e-12 relative), or a printed number (compared to
    three significant digits; numbers below 1e-9, rounding-level errors, only by being
    there). A sum taken in another order, say, changes nothing a reader can see."""
    if [_rounded(o) for o in base.output] != [_rounded(o) for o in new.output]:
        return True
    if len(base.comparisons) != len(new.comparisons):
        return True
    for b, n in zip(base.comparisons, new.comparisons, strict=True):
        for x, y in ((b.value, n.value), (b.numeric, n.numeric)):
            if (x is None) != (y is None):
                return True
            if x is not None and (
                x.shape != y.shape
                or not np.allclose(
                    y,
                    x,
                    rtol=1e-12,
                    atol=1e-12 * max(1.0, float(np.max(np.abs(x), initial=0.0))),
                )
            ):
                return True
    return False


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _rounded(text: str) -> str:
    def shown(match):
        value = float(match.group())
        return "~0" if abs(value) < 1e-9 else f"{value:.3g}"

    return _NUMBER.sub(shown, text)


# --- the command -------------------------------------------------------------------


def _merge(results: list[dict]) -> tuple[dict, list[str]]:
    labels, errors = {}, []
    for res in results:
        if "error" in res:
            errors.append(f"{res['page']}: {res['error']}")
            continue
        labels.update(res["labels"])
    return labels, errors


def summary(report: dict) -> str:
    labels = report["labels"]
    totals = {
        k: sum(v[k] for v in labels.values())
        for k in ("killed", "survived", "equivalent", "elsewhere", "crashed")
    }
    no_mutant = sorted(
        lab
        for lab, v in labels.items()
        if v["killed"] + v["survived"] + v["elsewhere"] == 0
    )
    survivors = [(lab, s) for lab, v in labels.items() for s in v["survivors"]]
    lines = [
        f"Per equation: {len(labels)} labels, "
        + ", ".join(f"{v} {k}" for k, v in totals.items())
        + f" ({report['seconds_labels']:.0f} s)",
    ]
    ok = lambda cond: "met" if cond else "MISSED"  # noqa: E731
    lines.append(
        f"  labels with a non-equivalent mutant: {len(labels) - len(no_mutant)} of "
        f"{len(labels)} (target: all): {ok(not no_mutant)}"
    )
    for lab in no_mutant:
        lines.append(f"    no non-equivalent mutant: {lab} ({labels[lab]['page']})")
    lines.append(f"  survivors: {len(survivors)} (target: 0): {ok(not survivors)}")
    for lab, s in survivors:
        lines.append(f"    {lab}: {s}")
    lines.append(
        f"  time: {report['seconds_labels']:.0f} s (target: <= "
        f"{TARGETS['seconds']} s): {ok(report['seconds_labels'] <= TARGETS['seconds'])}"
    )
    pkg = report.get("package")
    if pkg:
        lines.append(
            f"Package: {pkg['killed']} of {pkg['sampled']} sampled mutants killed "
            f"(target: all; {len(pkg['equivalent'])} more drawn changed nothing a "
            f"page shows), drawn from {pkg['candidates']} (seed {pkg['seed']}): "
            f"{ok(not pkg['survivors'])}"
        )
        for s in pkg["survivors"]:
            lines.append(f"    survived: {s}")
    for err in report.get("errors", []):
        lines.append(f"ERROR: {err}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", default=str(ROOT / "_build"), help="folder for mutants.json"
    )
    parser.add_argument("--pages", nargs="*", help="docnames (default: every page)")
    parser.add_argument("--labels", nargs="*", help="only these labels")
    parser.add_argument(
        "--per-label",
        type=int,
        default=12,
        help="mutants drawn per label, of the page and of the package each",
    )
    parser.add_argument(
        "--package",
        type=int,
        default=40,
        metavar="N",
        help="package mutants to sample (0: skip package mode)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=min(2, multiprocessing.cpu_count()))
    args = parser.parse_args(argv)

    digest = sources_digest(ROOT)
    pages = args.pages or pagerun.all_pages()
    only = set(args.labels or ())
    start = time.perf_counter()
    jobs = [(p, args.per_label, only) for p in pages]
    # The slowest pages first, so that the workers finish together.
    if args.jobs > 1:
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            results = pool.map(mutate_page, jobs, chunksize=1)
    else:
        results = [mutate_page(job) for job in jobs]
    labels, errors = _merge(results)
    seconds_labels = time.perf_counter() - start
    report = {
        "digest": digest,
        "seconds": 0.0,
        "seconds_labels": round(seconds_labels, 1),
        "labels": labels,
        "errors": errors,
    }
    if args.package:
        report["package"] = package_mode(args.package, args.seed)
    report["seconds"] = round(time.perf_counter() - start, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mutants.json").write_text(
        json.dumps(report, indent=1, sort_keys=True) + "\n"
    )
    print(summary(report))
    print(f"Written {out / 'mutants.json'} in {report['seconds']:.0f} s.")
    survivors = sum(len(v["survivors"]) for v in labels.values())
    pkg_survivors = (report.get("package") or {}).get("survivors", [])
    return 1 if errors or survivors or pkg_survivors else 0


if __name__ == "__main__":
    sys.exit(main())
