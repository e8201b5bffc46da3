"""What a page ran of ``lstm_notes``, and whether any of it has changed since.

The package's sources are cut into units, each compared by its text:

- a **function**: every ``def`` at the top of a module or in a class body (methods,
  nested classes' methods too), keyed ``"lstm_notes.models.lstm:forward"``; its text runs
  from its first decorator to its end, so the functions and lambdas defined inside it
  belong to it;
- a module's **own code**, keyed by the module's name: its source with the body of each
  such function replaced by ``...``. Imports, constants, class bodies, lambdas at module
  level and the functions' headers (decorators, names, signatures, defaults) are in it.

While a page runs, each function of the package records its key the first time it is
called: its code is swapped (:func:`arm`) for a copy whose first statement records the
key and puts the original code back, so a function costs one extra call per page, not
one per call. Python processes the page starts (``subprocess`` with this interpreter)
record the same way through ``_subprocesses/sitecustomize.py``; a page that starts any
other kind of process, or whose Python subprocess leaves no record, depends on all of
the package.

A page depends on the functions it ran, on the own code of the modules it imports
(its cells' ``import`` statements) and of the modules whose functions it ran, and on
everything those modules import in turn (:meth:`Snapshot.closure`). The build re-runs
the page when any of these texts differs from the one recorded (:func:`changed`).

This module imports neither Sphinx nor myst-nb: the page processes and their
subprocesses use it.
"""

from __future__ import annotations

import ast
import atexit
import hashlib
import importlib.abc
import json
import marshal
import os
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "lstm_notes"
#: The variable naming the folder where the page's Python subprocesses write what they ran.
RAN_DIR_ENV = "VERIFIED_BOOK_RAN_DIR"
#: The variable naming the armed code the warm process compiled (``save_armed_code``).
ARMED_ENV = "VERIFIED_BOOK_ARMED"
#: The name the instrumented functions call (a global of each instrumented module).
MARKER = "__verified_book_ran__"
#: A page that depends on the whole package (it started a process that left no record).
EVERYTHING = "*"


def package_root() -> Path:
    """The folder holding the ``lstm_notes`` this process imports."""
    from importlib.util import find_spec

    spec = find_spec(PACKAGE)
    if spec is None or not spec.origin:
        raise ImportError(f"{PACKAGE} cannot be found on sys.path")
    return Path(spec.origin).resolve().parents[1]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


# --- the package's sources, cut into units ------------------------------------------


@dataclass
class Module:
    name: str
    path: Path
    source: str
    own: str  # digest of the module's own code
    functions: dict[str, tuple[str, int]]  # qualname -> (digest, first line)
    imports: set[str]  # lstm_notes modules this one imports (anywhere in it)
    tree: ast.Module | None = field(repr=False, default=None)
    calls_on_import: bool = False  # its import runs functions of the package


def _offsets(source: str) -> list[int]:
    starts, total = [0], 0
    for line in source.splitlines(keepends=True):
        total += len(line)
        starts.append(total)
    return starts


def _functions(tree: ast.Module):
    """(qualname, node) of every def at the top of the module or in a class body."""
    out = []

    def visit(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((prefix + node.name, node))
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    names = [q for q, _ in out]
    # A name defined twice (a property and its setter, say) stays in the module's own
    # code: no key could tell the two apart.
    return [(q, n) for q, n in out if names.count(q) == 1]


def _resolve(module: str, is_package: bool, node: ast.AST, known: set[str]) -> set[str]:
    """The lstm_notes modules an import statement loads."""
    found = set()
    if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            parts = module.split(".")
            if not is_package:
                parts = parts[:-1]
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join(parts + ([base] if base else []))
        targets = [base] + [f"{base}.{a.name}" for a in node.names]
    for target in targets:
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if name in known:
                found.add(name)
    return found


def module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _calls_package_on_import(tree, name, is_package, known, functions) -> bool:
    """Whether code that runs when the module is imported (outside function and lambda
    bodies: decorators, defaults, class bodies, statements) calls a function of the
    module or one imported from the package."""
    ours = {q for q in functions if "." not in q}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if _resolve(name, is_package, node, known):
                ours |= {(a.asname or a.name).split(".")[0] for a in node.names}

    def ours_called(func) -> bool:
        while isinstance(func, ast.Attribute):
            func = func.value
        return isinstance(func, ast.Name) and func.id in ours

    def calls(node) -> bool:
        if isinstance(node, ast.Call) and ours_called(node.func):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if any(
                ours_called(d) for d in node.decorator_list
            ):  # decorators are called
                return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parts = [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]
            return any(calls(p) for p in parts if p is not None)
        if isinstance(node, ast.Lambda):
            return any(calls(d) for d in node.args.defaults)
        return any(calls(child) for child in ast.iter_child_nodes(node))

    return calls(tree)


def read_module(name: str, path: Path, source: str, known: set[str]) -> Module:
    """The module's units; a module that does not parse is one unit, its text."""
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError:
        return Module(name, path, source, _digest(source), {}, set(), None)
    starts = _offsets(source)

    def at(line, col):
        return starts[line - 1] + col

    functions, cuts = {}, []
    for qual, node in _functions(tree):
        first = min([d.lineno for d in node.decorator_list] + [node.lineno])
        text = source[starts[first - 1] : at(node.end_lineno, node.end_col_offset)]
        functions[qual] = (_digest(text), first)
        body = node.body[0]
        cuts.append(
            (at(body.lineno, body.col_offset), at(node.end_lineno, node.end_col_offset))
        )
    own, pos = [], 0
    for start, end in sorted(cuts):
        own.append(source[pos:start])
        own.append("...")
        pos = end
    own.append(source[pos:])
    is_package = path.name == "__init__.py"
    imports = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports |= _resolve(name, is_package, node, known)
    module = Module(name, path, source, _digest("".join(own)), functions, imports, tree)
    module.calls_on_import = _calls_package_on_import(
        tree, name, is_package, known, functions
    )
    return module


@dataclass
class Snapshot:
    """The package's units as the sources on disk read now."""

    modules: dict[str, Module]

    @classmethod
    def read(cls, root: Path) -> Snapshot:
        paths = sorted(
            p for p in (root / PACKAGE).rglob("*.py") if "__pycache__" not in p.parts
        )
        known = {module_name(root, p) for p in paths}
        modules = {}
        for path in paths:
            name = module_name(root, path)
            modules[name] = read_module(name, path, path.read_text(), known)
        # A module whose import runs functions of the package depends on them: on all
        # of them, as they may call any other (no such module today).
        every = _digest(
            "".join(d for m in modules.values() for d, _ in m.functions.values())
        )
        for mod in modules.values():
            if mod.calls_on_import:
                mod.own = _digest(mod.own + every)
        return cls(modules)

    def units(self) -> dict[str, str]:
        """Every unit's key -> digest: module names for their own code, and
        ``module:qualname`` for functions."""
        out = {}
        for name, mod in self.modules.items():
            out[name] = mod.own
            for qual, (digest, _) in mod.functions.items():
                out[f"{name}:{qual}"] = digest
        return out

    def closure(self, names) -> set[str]:
        """The modules ``names`` load: themselves, their parent packages and, in turn,
        everything they import."""
        todo = [n for n in names if n in self.modules]
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            parts = name.split(".")
            todo += [".".join(parts[:i]) for i in range(1, len(parts))]
            todo += sorted(self.modules[name].imports)
        return seen


def imported_by(sources, snapshot: Snapshot) -> set[str] | None:
    """The lstm_notes modules that code cells import by name, or None when a cell
    cannot be parsed as Python (then the page depends on the whole package)."""
    known = set(snapshot.modules)
    found = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return None
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) or (
                isinstance(node, ast.ImportFrom) and not node.level
            ):
                found |= _resolve("__main__", False, node, known)
    return found


# --- recording what runs --------------------------------------------------------------

_SEEN: set[str] = set()  # keys of the functions run since the last reset
_ARMED: dict[str, list] = {}  # key -> [(function, original code, instrumented code)]
_UNREACHED: dict[str, dict[str, str]] = {}  # module -> {key: digest} not instrumented
_MODULES: dict[str, Module] = {}  # the modules instrumented, as their sources read
_SNAPSHOT: list[Snapshot] = []  # the sources the armed code was made from
_CODES: dict[str, tuple[str, dict]] = {}  # module -> (digest of its text, armed code)


def _ran(key: str) -> None:
    _SEEN.add(key)
    for fn, original, _ in _ARMED.get(key, ()):
        fn.__code__ = original


def _code_objects(code: types.CodeType, out: dict) -> dict:
    out[(code.co_qualname, code.co_firstlineno)] = code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_objects(const, out)
    return out


def _instrumented(mod: Module) -> dict:
    """(qualname, first line) -> code of each function with the recording call first."""
    tree = ast.parse(mod.source, filename=str(mod.path))
    wanted = dict(_functions(tree))
    for qual, node in wanted.items():
        body = node.body
        at = 1 if ast.get_docstring(node, clean=False) is not None else 0
        anchor = body[at] if at < len(body) else body[-1]
        call = ast.Expr(
            ast.Call(
                ast.Name(MARKER, ast.Load()),
                [ast.Constant(f"{mod.name}:{qual}")],
                [],
            )
        )
        ast.copy_location(call, anchor)
        ast.copy_location(call.value, anchor)
        ast.copy_location(call.value.func, anchor)
        ast.copy_location(call.value.args[0], anchor)
        call.end_lineno = call.value.end_lineno = anchor.lineno
        body.insert(at, call)
    ast.fix_missing_locations(tree)
    code = compile(tree, str(mod.path), "exec", dont_inherit=True)
    return _code_objects(code, {})


def _reachable_functions(module: types.ModuleType):
    """The function objects defined in ``module`` that its namespace reaches: its
    functions, its classes' methods (static, class, properties), unwrapped decorators."""
    seen: set[int] = set()

    def functions(obj, depth=0):
        if depth > 5 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, (staticmethod, classmethod)):
            yield from functions(obj.__func__, depth + 1)
        elif isinstance(obj, property):
            for part in (obj.fget, obj.fset, obj.fdel):
                if part is not None:
                    yield from functions(part, depth + 1)
        elif isinstance(obj, types.FunctionType):
            yield obj
            wrapped = getattr(obj, "__wrapped__", None)
            if wrapped is not None:
                yield from functions(wrapped, depth + 1)
        elif isinstance(obj, type) and obj.__module__ == module.__name__:
            for value in vars(obj).values():
                yield from functions(value, depth + 1)
        else:
            wrapped = getattr(obj, "__wrapped__", None)
            if isinstance(wrapped, types.FunctionType):
                yield from functions(wrapped, depth + 1)

    for value in list(vars(module).values()):
        yield from functions(value)


def instrument(module: types.ModuleType, mod: Module) -> None:
    """Arm every function of ``module`` (already executed from ``mod``'s source) to
    record its first call. A function whose loaded code differs from ``mod``'s source
    (the file changed since it was imported), or that the namespace does not reach,
    counts as run by every page that loads the module."""
    if mod.tree is None:
        return
    text = _digest(mod.source)
    cached = _CODES.get(mod.name)
    if cached is not None and cached[0] == text:  # made by the warm process
        plain, armed_code = None, cached[1]
    else:
        tree = compile(mod.tree, str(mod.path), "exec", dont_inherit=True)
        plain, armed_code = _code_objects(tree, {}), _instrumented(mod)
    _CODES[mod.name] = (text, armed_code)
    module.__dict__[MARKER] = _ran
    found = set()
    for fn in _reachable_functions(module):
        code = fn.__code__
        if fn.__module__ != mod.name:  # imported from elsewhere
            continue
        where = (code.co_qualname, code.co_firstlineno)
        qual = code.co_qualname
        if qual not in mod.functions or mod.functions[qual][1] != code.co_firstlineno:
            continue
        if where not in armed_code or (plain is not None and plain.get(where) != code):
            continue
        key = f"{mod.name}:{qual}"
        _ARMED.setdefault(key, []).append((fn, code, armed_code[where]))
        fn.__code__ = armed_code[where]
        found.add(qual)
    _UNREACHED[mod.name] = {
        f"{mod.name}:{q}": d for q, (d, _) in mod.functions.items() if q not in found
    }
    _MODULES[mod.name] = mod


class _Instrumenter(importlib.abc.MetaPathFinder):
    """Arms the functions of every lstm_notes module imported after it is installed."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot

    def find_spec(self, fullname, path, target=None):
        if fullname != PACKAGE and not fullname.startswith(PACKAGE + "."):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = getattr(loader, "exec_module", None)
        mod = self.snapshot.modules.get(fullname)
        if exec_module is None or mod is None or Path(spec.origin or "") != mod.path:
            return spec

        def exec_and_arm(module, _exec=exec_module, _mod=mod):
            _exec(module)
            instrument(module, _mod)

        loader.exec_module = exec_and_arm  # this spec's loader only
        return spec


def arm(root: Path, snapshot: Snapshot | None = None) -> Snapshot:
    """Record, from now on in this process (and in the processes forked from it), which
    functions of the package run: arms the modules already imported and every one
    imported later. Returns the snapshot of the sources the armed code was made from."""
    snapshot = snapshot or Snapshot.read(root)
    _SNAPSHOT[:] = [snapshot]
    for name, mod in snapshot.modules.items():
        module = sys.modules.get(name)
        if module is not None and name not in _MODULES:
            instrument(module, mod)
    if not any(isinstance(f, _Instrumenter) for f in sys.meta_path):
        sys.meta_path.insert(0, _Instrumenter(snapshot))
    return snapshot


def save_armed_code(path: Path) -> None:
    """Write the armed code of every module (``marshal``), and name the file for the
    page's subprocesses (``ARMED_ENV``): they arm the package without compiling it."""
    path.write_bytes(marshal.dumps(_CODES))
    os.environ[ARMED_ENV] = str(path)


def _load_armed_code() -> None:
    path = os.environ.get(ARMED_ENV)
    if path:
        try:
            _CODES.update(marshal.loads(Path(path).read_bytes()))
        except (OSError, ValueError, EOFError, TypeError):
            pass  # compiled here instead


def reset() -> None:
    """Forget what ran, and re-arm the functions that ran (a new page begins)."""
    for key in _SEEN:
        for fn, _, instrumented in _ARMED.get(key, ()):
            fn.__code__ = instrumented
    _SEEN.clear()


def loaded_modules() -> set[str]:
    return {n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")}


def ran_here(extra_modules=()) -> dict[str, str]:
    """What this process ran since the last reset: key -> digest of the functions, and
    of the own code of every module they and ``extra_modules`` load (with the functions
    those modules' namespaces did not reach)."""
    snapshot = _SNAPSHOT[0]
    out = {}
    modules = {key.split(":")[0] for key in _SEEN} | set(extra_modules)
    for name in snapshot.closure(modules):
        out[name] = snapshot.modules[name].own
        out.update(_UNREACHED.get(name, {}))
    for key in _SEEN:
        name, qual = key.split(":", 1)
        out[key] = _MODULES[name].functions[qual][0]
    return out


# --- subprocesses ----------------------------------------------------------------------

_PYTHON = re.compile(r"python[\d.]*$")
_SPAWNED = {"python": 0, "other": 0}


def _audit(event: str, args) -> None:
    if event == "subprocess.Popen":
        executable, argv = args[0], args[1]
        first = executable or (argv if isinstance(argv, (str, bytes)) else argv[0])
        name = os.path.basename(os.fsdecode(first)).split()[0] if first else ""
        _SPAWNED["python" if _PYTHON.match(name) else "other"] += 1
    elif event in ("os.system", "os.posix_spawn", "os.spawn", "os.exec", "os.fork"):
        _SPAWNED["other"] += 1


def watch_subprocesses(ran_dir: Path, sitecustomize_dir: Path) -> None:
    """Make the Python processes started from now on record what they run into
    ``ran_dir``, and count every process started (``sys.addaudithook``)."""
    ran_dir.mkdir(parents=True, exist_ok=True)
    os.environ[RAN_DIR_ENV] = str(ran_dir)
    path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(sitecustomize_dir), *path])
    sys.addaudithook(_audit)


def subprocess_records(ran_dir: Path) -> tuple[dict[str, str], bool]:
    """What the page's Python subprocesses ran, and whether every process it started is
    accounted for (a Python process that left a record, or no other kind)."""
    out: dict[str, str] = {}
    records = []
    for path in sorted(ran_dir.glob("*.json")):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            return out, False
    for rec in records:
        out.update(rec["ran"])
    expected = _SPAWNED["python"] + sum(r["spawned_python"] for r in records)
    others = _SPAWNED["other"] + sum(r["spawned_other"] for r in records)
    return out, others == 0 and len(records) >= expected


def record_this_process(ran_dir: str, root: Path) -> None:
    """In a subprocess of a page: arm the package as it is imported, and write what
    ran to ``ran_dir`` when the process exits."""
    _load_armed_code()
    arm(root)
    sys.addaudithook(_audit)

    def write():
        data = {
            "ran": ran_here(loaded_modules()),
            "spawned_python": _SPAWNED["python"],
            "spawned_other": _SPAWNED["other"],
        }
        target = Path(ran_dir) / f"{os.getpid()}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(target)

    atexit.register(write)


# --- comparing with the sources now ---------------------------------------------------


def changed(recorded: dict[str, str], now: dict[str, str]) -> list[str]:
    """The recorded units whose text differs now (or that are gone), in key order;
    ``[EVERYTHING]`` for a page recorded as depending on all of the package when any
    unit changed."""
    if EVERYTHING in recorded:
        return [EVERYTHING] if recorded[EVERYTHING] != everything_digest(now) else []
    return sorted(k for k, d in recorded.items() if now.get(k) != d)


def everything_digest(units: dict[str, str]) -> str:
    return _digest(json.dumps(units, sort_keys=True))
