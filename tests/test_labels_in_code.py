"""Every function of the package that computes a checked equation names its label.

Issue 12: searching a label must find both the page and the code. The pages are parsed,
not run (no build). For every ``check("label", analytic, numeric)`` and
``compare("label", analytic, ...)`` in a page's cells, and every ``erratum("label", ...)``
(its ``corrected=`` and ``formula=`` are the analytic side; ``numeric=`` is not), the
analytic side is sliced backwards through the page: the names its value is made of, the
earlier statements of the page that assign them (assignments, ``for`` loops, ``def``s
and lambdas, in this cell or any before it), the names *their* values are made of, and so
on. Each function of ``lstm_notes`` outside ``lstm_notes.checking`` whose result the
slice reaches, found through the page's imports (``lstm.bptt`` after ``from
lstm_notes.models import lstm``), must name the label in its docstring.

The slice follows values, not inputs. A value is followed through names, attributes,
the container of an index (``grads["W"]``, ``bw.dz_y``), tuples, lists, dicts,
comprehensions, the calls that only collect values (``np.stack``, ``sum``, ``zip``, ...,
:data:`COLLECTING`), the methods of a value (``terms.values()``) and the page's own
functions and lambdas (their return values). It is not followed into

- the arguments of a call: the parameters, data and forward pass a function is given
  are its inputs, not what it computes;
- the page's arithmetic (``+ - * / @``, ``np.tanh``, ``np.outer``, ...): a value the page
  computes from a function's result by a formula is that formula, evaluated on the page,
  and the function only supplied an input of it;
- indices.

So ``check("lstm-bptt-dzy", bw.dz_y, num)`` after ``bw = lstm.bptt(P, cache, x, y)``
requires :func:`lstm_notes.models.lstm.bptt` to name ``lstm-bptt-dzy``, and neither
``lstm.forward`` nor ``lstm.example``, which made its inputs; while
``check("lstm-bptt-dzy", cache.y_hat[t - 1] - e_y, num)`` is computed on the page and
requires nothing. ``python tests/test_labels_in_code.py`` prints what is required, and
the labels that no check takes from the package (computed on the page only).

The second test holds the other direction: a docstring that names a label of the book's
form (``calc-``, ``lstm-``, ``att-``, ``van-``, ``err-``) names one the book has.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGE = ROOT / "lstm_notes"
# this checkout's package and tools, whatever the environment's install points to
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]
from format_cells import cells  # noqa: E402

# The book's labels: ``:label: X`` in a math directive, ``(X)=`` before a heading.
LABEL_LINE = re.compile(r"^:label:\s*(\S+)\s*$|^\(([^)\s]+)\)=\s*$", re.M)
# A docstring's word that has the form of one of the book's equation labels.
LABEL_LIKE = re.compile(
    r"(?<![\w-])(?:calc|lstm|att|van|err)-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
)
# Calls that collect values without computing with them: the slice goes through them
# (numpy as the pages import it, ``np``).
COLLECTING = {
    "dict",
    "enumerate",
    "float",
    "getattr",
    "list",
    "reversed",
    "sorted",
    "sum",
    "tuple",
    "zip",
    "np.append",
    "np.array",
    "np.asarray",
    "np.block",
    "np.concatenate",
    "np.float64",
    "np.hstack",
    "np.split",
    "np.stack",
    "np.sum",
    "np.vstack",
}
# A method call on a name that changes what the name holds.
MUTATING = {"append", "extend", "insert", "update", "setdefault", "add"}


def pages() -> list[Path]:
    return [p for p in sorted(DOCS.rglob("*.md")) if "_build" not in p.parts]


def book_labels() -> dict[str, str]:
    """Each label of the book -> the page that defines it (``lstm/bptt``)."""
    found = {}
    for page in pages():
        for m in LABEL_LINE.finditer(page.read_text(encoding="utf-8")):
            found[m.group(1) or m.group(2)] = (
                page.relative_to(DOCS).with_suffix("").as_posix()
            )
    return found


# -- names through the page's imports -------------------------------------------------


def _imports(trees: list[ast.Module]) -> dict[str, str]:
    """Each name a page imports -> the dotted path it stands for."""
    names = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:  # import a.b as c: c is a.b; import a.b: a is a
                    top = a.name.split(".")[0]
                    names[a.asname or top] = a.name if a.asname else top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def _dotted(node: ast.expr) -> list[str] | None:
    """``van.bptt_terms`` -> ["van", "bptt_terms"]; None for anything but a name path."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


@cache
def _resolve(path: str):
    """The object a dotted path names: its longest importable module, then attributes."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
        return obj
    return None


def package_function(node: ast.expr, imports: dict[str, str]):
    """The function of lstm_notes outside lstm_notes.checking that ``node`` names
    through the page's imports, else None."""
    dotted = _dotted(node)
    if dotted is None or dotted[0] not in imports:
        return None
    obj = _resolve(".".join([imports[dotted[0]], *dotted[1:]]))
    if not inspect.isfunction(obj):
        return None
    module = obj.__module__ or ""
    if module.split(".")[0] != "lstm_notes" or module.startswith("lstm_notes.checking"):
        return None
    return obj


# -- the backward slice ----------------------------------------------------------------


def _targets(target: ast.expr) -> tuple[set[str], set[str]]:
    """(names bound whole, names changed in part) by an assignment target:
    ``a, b = ...`` binds a and b; ``a[i] = ...`` and ``a.x = ...`` change a."""
    if isinstance(target, ast.Name):
        return {target.id}, set()
    if isinstance(target, (ast.Tuple, ast.List)):
        whole, part = set(), set()
        for t in target.elts:
            w, p = _targets(t)
            whole, part = whole | w, part | p
        return whole, part
    if isinstance(target, ast.Starred):
        return _targets(target.value)
    while isinstance(target, (ast.Subscript, ast.Attribute)):
        target = target.value
    return set(), {target.id} if isinstance(target, ast.Name) else set()


def _arg_names(args: ast.arguments) -> set[str]:
    every = args.posonlyargs + args.args + args.kwonlyargs
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    return {a.arg for a in every}


class Slice:
    """A backward slice of values through a page's statements: ``functions`` are the
    package functions whose results it reaches."""

    def __init__(self, imports: dict[str, str]):
        self.imports = imports
        self.functions: set = set()

    # expressions

    def value(self, node: ast.AST | None, bound: frozenset = frozenset()) -> set[str]:
        """The names the value of ``node`` is made of (``bound`` ones are local to it);
        the package functions it calls or names go to ``functions``."""
        if node is None:
            return set()
        if isinstance(node, (ast.Name, ast.Attribute)):
            fn = package_function(node, self.imports)
            if fn is not None:
                self.functions.add(fn)
                return set()
            if isinstance(node, ast.Attribute):
                return self.value(node.value, bound)
            loaded = isinstance(node.ctx, ast.Load) and node.id not in bound
            return {node.id} if loaded else set()
        if isinstance(node, ast.Call):
            return self._call(node, bound)
        if isinstance(node, (ast.Subscript, ast.Starred, ast.NamedExpr, ast.Await)):
            return self.value(node.value, bound)
        if isinstance(node, ast.IfExp):
            return self.value(node.body, bound) | self.value(node.orelse, bound)
        if isinstance(node, ast.Lambda):
            return self.value(node.body, bound | _arg_names(node.args))
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return set().union(*(self.value(e, bound) for e in node.elts))
        if isinstance(node, ast.Dict):
            return set().union(*(self.value(v, bound) for v in node.values))
        if isinstance(
            node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
        ):
            return self._comprehension(node, bound)
        return set()  # arithmetic, comparisons, constants, f-strings

    def _call(self, node: ast.Call, bound: frozenset) -> set[str]:
        fn = package_function(node.func, self.imports)
        if fn is not None:  # its result; its arguments are its inputs
            self.functions.add(fn)
            return set()
        dotted = _dotted(node.func)
        name = ".".join(dotted) if dotted else None
        if name in COLLECTING:
            args = [*node.args, *(k.value for k in node.keywords)]
            return set().union(*(self.value(a, bound) for a in args))
        if isinstance(node.func, ast.Name):  # the page's function: its return value
            return set() if node.func.id in bound else {node.func.id}
        if (
            isinstance(node.func, ast.Attribute)
            and dotted
            and dotted[0] in self.imports
        ):
            return set()  # np.tanh(...), np.outer(...): arithmetic
        if isinstance(node.func, ast.Attribute):  # a value's method: run.loss_at(l)
            return self.value(node.func.value, bound)
        return self.value(node.func, bound)

    def _comprehension(self, node, bound: frozenset) -> set[str]:
        elt = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        local = [_targets(g.target)[0] for g in node.generators]
        used = set().union(*(self.value(e, bound) for e in elt))
        out = used - set().union(*local)
        for gen, names in zip(node.generators, local, strict=True):
            if names & used:  # [run.deltas[l] for run in runs]: the values of runs
                out |= self.value(gen.iter, bound)
        return out

    # statements

    def statement(self, stmt: ast.stmt, needed: set[str]) -> set[str]:
        """The names needed before ``stmt``, given those needed after it."""
        if isinstance(stmt, ast.Assign):
            return self._assign(stmt.targets, stmt.value, needed)
        if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            return self._assign([stmt.target], stmt.value, needed)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if stmt.name not in needed:
                return needed
            return (needed - {stmt.name}) | self._function(stmt)
        if isinstance(stmt, ast.Expr):
            call = stmt.value
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in MUTATING
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id in needed
            ):  # xs.append(value)
                args = [*call.args, *(k.value for k in call.keywords)]
                return needed.union(*(self.value(a) for a in args))
            return needed
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            return self._loop(stmt, needed)
        if isinstance(stmt, ast.If):
            return self.block(stmt.body, needed) | self.block(stmt.orelse, needed)
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            needed = self.block(stmt.body, needed)
            for item in reversed(stmt.items):
                if item.optional_vars is not None:
                    whole, part = _targets(item.optional_vars)
                    if (whole | part) & needed:
                        needed = (needed - whole) | self.value(item.context_expr)
            return needed
        if isinstance(stmt, ast.Try):
            after = self.block(stmt.finalbody, needed)
            tried = self.block(stmt.body + stmt.orelse, after)
            for handler in stmt.handlers:
                tried |= self.block(handler.body, after)
            return tried | after
        return needed  # augmented assignments are arithmetic; imports, asserts, ...

    def _assign(self, targets, value, needed: set[str]) -> set[str]:
        if (
            len(targets) == 1
            and isinstance(targets[0], ast.Tuple)
            and isinstance(value, ast.Tuple)
            and len(targets[0].elts) == len(value.elts)
        ):  # a, b = x, y: pair by pair
            pairs = zip(targets[0].elts, value.elts, strict=True)
            for target, v in reversed(list(pairs)):
                needed = self._assign([target], v, needed)
            return needed
        whole, part = set(), set()
        for t in targets:
            w, p = _targets(t)
            whole, part = whole | w, part | p
        if not (whole | part) & needed:
            return needed
        return (needed - whole) | part | self.value(value)

    def _function(self, node: ast.FunctionDef) -> set[str]:
        """The names outside a ``def`` that its return values are made of."""
        returns = [r.value for r in ast.walk(node) if isinstance(r, ast.Return)]
        inside = set().union(*(self.value(r) for r in returns))
        return self.block(node.body, inside) - _arg_names(node.args)

    def _loop(self, stmt, needed: set[str]) -> set[str]:
        """A loop body runs any number of times: what it needs, to a fixed point."""
        inside = set(needed)
        while True:
            before = self.block(stmt.body, inside)
            if isinstance(stmt, (ast.For, ast.AsyncFor)):
                whole, _ = _targets(stmt.target)
                if whole & before:
                    before = (before - whole) | self.value(stmt.iter)
            if before <= inside:
                break
            inside |= before
        return inside | self.block(stmt.orelse, needed)

    def block(self, stmts: list[ast.stmt], needed: set[str]) -> set[str]:
        for stmt in reversed(stmts):
            needed = self.statement(stmt, needed)
        return needed

    def back_from(self, page: list[ast.stmt], call: ast.Call, analytic: list[ast.expr]):
        """Slice ``analytic``, arguments of ``call``, back through the page."""
        needed = set().union(*(self.value(a) for a in analytic))
        for depth, (block, i) in enumerate(reversed(_enclosing(page, call))):
            stmt = block[i]
            if depth and isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
                needed = self._loop(stmt, needed)  # the check is in this loop
            elif depth and isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                needed -= _arg_names(stmt.args)  # ... or in this function
            needed = self.block(block[:i], needed)


def _enclosing(stmts: list[ast.stmt], call: ast.Call) -> list[tuple[list, int]]:
    """The statements that hold ``call``, outermost first, each as (its block, index)."""
    for i, stmt in enumerate(stmts):
        if not any(node is call for node in ast.walk(stmt)):
            continue
        blocks = [getattr(stmt, n, None) for n in ("body", "orelse", "finalbody")]
        blocks += [h.body for h in getattr(stmt, "handlers", [])]
        for block in blocks:
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                inner = _enclosing(block, call)
                if inner:
                    return [(stmts, i), *inner]
        return [(stmts, i)]
    return []


# -- the checks of the book, and what they require --------------------------------------


def _label_and_analytic(call: ast.Call) -> tuple[str, list[ast.expr]] | None:
    """The label and the analytic side of a check, compare or erratum call."""
    if not isinstance(call.func, ast.Name) or not call.args:
        return None
    first = call.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    keywords = {k.arg: k.value for k in call.keywords}
    if call.func.id == "erratum":
        sides = [keywords[k] for k in ("corrected", "formula") if k in keywords]
    elif call.func.id in ("check", "compare"):
        sides = call.args[1:2] or [keywords[k] for k in ["analytic"] if k in keywords]
    else:
        return None
    return first.value, sides


def page_checks(codes: list[str], labels) -> list[tuple[str, set]]:
    """Each check of a page whose cells are ``codes``, with a label in ``labels``: the
    label and the package functions its analytic side takes its value from."""
    trees = [ast.parse(code) for code in codes]
    imports = _imports(trees)
    statements = [s for t in trees for s in t.body]
    found = []
    for tree in trees:
        for call in ast.walk(tree):
            check = isinstance(call, ast.Call) and _label_and_analytic(call)
            if check and check[0] in labels:  # not compare("sign", ...), a demo
                s = Slice(imports)
                s.back_from(statements, call, check[1])
                found.append((check[0], s.functions))
    return found


def survey() -> tuple[dict, dict]:
    """(each package function -> the labels it must name, each label of the book that
    some page checks -> the functions its checks take from the package)."""
    labels = book_labels()
    required, by_label = defaultdict(set), {}
    for page in pages():
        for label, functions in page_checks([c.code for c in cells(page)], labels):
            by_label.setdefault(label, set()).update(functions)
            for fn in functions:
                required[fn].add(label)
    return required, by_label


def _name(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _named(label: str, doc: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", doc) is not None


def test_every_function_names_the_labels_it_computes():
    required, _ = survey()
    assert required, "no check of the book reaches a function of the package"
    missing = []
    for fn, labels in required.items():
        doc = inspect.getdoc(fn) or ""
        absent = sorted(label for label in labels if not _named(label, doc))
        if absent:
            missing.append(f"{_name(fn)}: missing labels {absent}")
    assert not missing, "docstrings that do not name what they compute:\n" + "\n".join(
        sorted(missing)
    )


def test_the_slice_follows_values_not_inputs():
    """The rules of the module's docstring, on a page written for them."""
    from lstm_notes.blocks import softmax
    from lstm_notes.models import lstm

    page = [
        "from lstm_notes import check, erratum\n"
        "from lstm_notes.models import lstm\n"
        "from lstm_notes.blocks import softmax as sm\n"
        "P, x, y, state = lstm.example()\n"
        "cache = lstm.forward(P, x, **state)\n"
        "bw = lstm.bptt(P, cache, x, y)\n",
        "check('by-model', bw.dz_y, num)\n"
        "check('on-page', cache.y_hat - y, num)\n"
        "rows = []\n"
        "for t in range(3):\n"
        "    rows.append(sm(cache.z_y[t]))\n"
        "check('collected', np.stack(rows), lstm.forward(P, x).y_hat)\n"
        "f = lambda flag=False: {'a': sm(P['b_y'])}['a']\n"
        "erratum('by-formula', formula=f, defects=['flag'], numeric=lstm.loss(P, x, y))\n",
    ]
    labels = {"by-model", "on-page", "collected", "by-formula"}
    found = dict(page_checks(page, labels))
    assert found == {
        "by-model": {lstm.bptt},  # not lstm.forward nor lstm.example: its inputs
        "on-page": set(),  # the page's arithmetic on the forward pass
        "collected": {softmax},  # not the numeric side's lstm.forward
        "by-formula": {softmax},  # not numeric=
    }


def _documented():
    """Every module, function, class, method and property of the package, by name."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = importlib.import_module(".".join(p for p in parts if p != "__init__"))
        yield module.__name__, module
        for _, obj in inspect.getmembers(module):
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                yield _name(obj), obj
            elif inspect.isclass(obj):
                yield _name(obj), obj
                for attr, member in vars(obj).items():
                    if inspect.isfunction(member) or isinstance(member, property):
                        yield f"{_name(obj)}.{attr}", member


def test_no_docstring_names_a_label_the_book_does_not_have():
    labels = book_labels()
    stale = {
        f"{name}: {m.group(0)}"
        for name, obj in _documented()
        for m in LABEL_LIKE.finditer(inspect.getdoc(obj) or "")
        if m.group(0) not in labels
    }
    assert not stale, "labels that are not in the book:\n" + "\n".join(sorted(stale))


if __name__ == "__main__":
    required, by_label = survey()
    for fn, labels in sorted(required.items(), key=lambda kv: _name(kv[0])):
        print(f"{_name(fn)}: {', '.join(sorted(labels))}")
    inline = sorted(label for label, fns in by_label.items() if not fns)
    print(
        f"\n{sum(map(len, required.values()))} (function, label) pairs, {len(required)} functions"
    )
    print(f"{len(inline)} labels computed on the page only: {', '.join(inline)}")
