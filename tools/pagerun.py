"""Run a page's code cells in this process, one top-level statement at a time.

The cells are read with myst-nb's own reader (``read_myst_markdown_notebook``), so the
code is exactly what the build executes. Each run gets a fresh namespace; what a run
needs from a page is recorded in a :class:`RunLog`:

- every comparison made by ``check`` or ``erratum`` (through ``lstm_notes.checking.check.compare``):
  the label, the kind (check, corrected, as-written), a copy of the analytic value, the
  tolerance and whether it passed;
- every check or erratum call that raised, by label (that equation's check failed);
- every other exception, by statement (the page crashed there).

A failing statement does not stop the run: the next statement runs, so that one run tells
which checks a change breaks. ``tools/mutants.py`` is built on this module.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import lstm_notes  # noqa: E402
import lstm_notes.checking.check  # noqa: E402,F401  (the module; the package's `check` is the function)

_check_module = sys.modules["lstm_notes.checking.check"]

CHECK_CALLS = ("check", "erratum")


@dataclass
class Statement:
    """One top-level statement of a code cell."""

    page: str  # docname, e.g. "lstm/bptt"
    cell: int  # index among the page's code cells
    index: int  # index among the page's statements
    node: ast.stmt  # line numbers are those of the cell's source
    source: str  # the cell's source
    _code: object = field(default=None, repr=False, compare=False)

    def code(self):
        """The statement compiled, once: every run of the page reuses it."""
        if self._code is None:
            self._code = _compile(self, self.node)
        return self._code


@dataclass
class Comparison:
    label: str
    kind: str
    value: np.ndarray | None
    numeric: np.ndarray | None
    rtol: float
    atol: float
    passed: bool


@dataclass
class RunLog:
    comparisons: list[Comparison] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # label -> message
    crashed: list[tuple[int, str]] = field(default_factory=list)  # (statement, message)
    output: list[str] = field(default_factory=list)  # what each statement printed
    seconds: float = 0.0

    def values(self, label: str) -> list[Comparison]:
        return [c for c in self.comparisons if c.label == label]


def page_path(page: str) -> Path:
    return DOCS / f"{page}.md"


def all_pages() -> list[str]:
    """Every page with code cells, as docnames, in a stable order."""
    pages = []
    for path in sorted(DOCS.rglob("*.md")):
        if "_build" in path.parts or "_ext" in path.parts:
            continue
        if "```{code-cell}" in path.read_text():
            pages.append(path.relative_to(DOCS).with_suffix("").as_posix())
    return pages


_MATH_LABEL = re.compile(r"^:label:\s*(\S+)\s*$", re.M)
_DOLLAR_LABEL = re.compile(r"\$\$\s*\(([^)\s]+)\)\s*$", re.M)


def labels(page: str) -> list[str]:
    """The labels of the page's labelled equations (``:label:`` options and
    ``$$ ... $$ (label)``), in page order."""
    text = page_path(page).read_text()
    found = [(m.start(), m.group(1)) for m in _MATH_LABEL.finditer(text)]
    found += [(m.start(), m.group(1)) for m in _DOLLAR_LABEL.finditer(text)]
    return [label for _, label in sorted(found)]


def read_cells(page: str) -> list[str]:
    """The page's code cells, as myst-nb reads them."""
    from myst_nb.core.read import read_myst_markdown_notebook

    nb = read_myst_markdown_notebook(page_path(page).read_text())
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def read_statements(page: str) -> list[Statement]:
    out: list[Statement] = []
    for n, source in enumerate(read_cells(page)):
        tree = ast.parse(source, filename=f"{page}.md")
        for node in tree.body:
            out.append(Statement(page, n, len(out), node, source))
    return out


def check_label(call: ast.AST) -> str | None:
    """The literal label of a ``check(...)`` or ``erratum(...)`` call, else None."""
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    name = (
        func.id
        if isinstance(func, ast.Name)
        else (func.attr if isinstance(func, ast.Attribute) else None)
    )
    if name not in CHECK_CALLS or not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def _copy(value) -> np.ndarray | None:
    value = getattr(value, "value", value)  # an Estimate holds its array in .value
    try:
        return np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        return None


class _Hooks:
    """Wraps check, erratum and compare for the length of a run."""

    def __init__(self, log: RunLog):
        self.log = log
        self.saved: list[tuple[object, str, object]] = []

    def _set(self, owner, name, value):
        self.saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def __enter__(self):
        log = self.log
        real_compare = _check_module.compare

        def compare(label, analytic, numeric, rtol=None, atol=None, kind="check"):
            result = real_compare(
                label, analytic, numeric, rtol=rtol, atol=atol, kind=kind
            )
            log.comparisons.append(
                Comparison(
                    label,
                    kind,
                    _copy(analytic),
                    _copy(numeric),
                    result.rtol,
                    result.atol,
                    result.passed,
                )
            )
            return result

        def guard(real):
            def wrapper(label, *args, **kwargs):
                try:
                    return real(label, *args, **kwargs)
                except Exception as err:  # the check itself failed (or could not run)
                    log.failed.setdefault(str(label), f"{type(err).__name__}: {err}")
                    raise

            wrapper.__name__ = real.__name__
            wrapper.__doc__ = real.__doc__
            return wrapper

        self._set(_check_module, "compare", compare)
        for name in CHECK_CALLS:
            wrapped = guard(getattr(_check_module, name))
            self._set(_check_module, name, wrapped)
            self._set(lstm_notes, name, wrapped)
        return self

    def __exit__(self, *exc):
        for owner, name, value in reversed(self.saved):
            setattr(owner, name, value)
        self.saved.clear()
        return False


def run(
    statements: list[Statement],
    *,
    replace: dict[int, ast.stmt] | None = None,
    until=None,
) -> RunLog:
    """Execute ``statements`` in a fresh namespace and return what happened.

    ``replace`` maps a statement index to another statement (a mutant) to run instead.
    ``until(log, index)`` is called after each statement; when it returns True the run
    stops there.
    """
    _headless_plots()
    replace = replace or {}
    log = RunLog()
    namespace: dict = {"__name__": "__main__"}
    start = time.perf_counter()
    sink = io.StringIO()
    with (
        _Hooks(log),
        _main_module_kept(),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
    ):
        warnings.simplefilter("ignore")
        for stmt in statements:
            node = replace.get(stmt.index, stmt.node)
            try:
                code = stmt.code() if node is stmt.node else _compile(stmt, node)
                exec(code, namespace)
            except Exception as err:  # noqa: BLE001 - a page may fail in any way
                if not _is_check_failure(node, log):
                    log.crashed.append((stmt.index, f"{type(err).__name__}: {err}"))
            log.output.append(sink.getvalue())
            sink.seek(0)
            sink.truncate()
            if until is not None and until(log, stmt.index):
                break
    _close_figures()
    log.seconds = time.perf_counter() - start
    return log


def _compile(stmt: Statement, node: ast.stmt):
    module = ast.fix_missing_locations(ast.Module(body=[node], type_ignores=[]))
    return compile(module, f"<{stmt.page}.md cell {stmt.cell + 1}>", "exec")


def _is_check_failure(node: ast.stmt, log: RunLog) -> bool:
    labels = {check_label(n) for n in ast.walk(node)} - {None}
    return bool(labels & set(log.failed))


@contextlib.contextmanager
def _main_module_kept():
    """A page may replace ``sys.modules["__main__"]`` (myst-nb's ``glue`` starts IPython,
    which installs a module of its own there); the runner's is put back afterwards, or a
    process forked from this one could not find its own functions."""
    main = sys.modules.get("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _headless_plots():
    """Pages that plot draw into memory here (in this process only: the environment of
    any build started later is left alone)."""
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg", force=True)


def _close_figures():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")
