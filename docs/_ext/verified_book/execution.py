"""Pages' code cells run in processes forked from one warm process, not in a kernel each.

A Jupyter kernel costs 0.6 to 1.7 s to start for every page (Python, numpy, the package,
matplotlib); the cells themselves often take less. Here, when Sphinx is about to read
the pages (``env-before-read-docs``), the main process forks one **warm process**
(:class:`Pool`) that imports numpy, every module of ``lstm_notes`` (armed to record what
each page runs, ``deps``) and, if a page plots, matplotlib, once. It then forks one
**page process** per page, ``nproc`` at a time, longest page first (the runtimes of the
previous build, else the length of the code), and each writes its page's outputs to a
file. Sphinx's readers (``mystnb_internals.ForkedClient``) wait for that file instead of
starting a kernel.

A page process runs the cells as a kernel would, and nothing else shares its state:

- one fresh ``__main__`` namespace; cells in order, each an execution count; the value of
  a cell's last expression is shown unless the cell ends with ``;`` (``text/plain`` from
  its ``repr``, IPython's pretty printer for containers, rich ``_repr_*_`` through
  IPython's formatter, ``_ipython_display_`` honoured);
- ``print`` and writes to stderr become ``stream`` outputs, one per run of writes to the
  same stream between other outputs (so a line printed in pieces is never split);
- figures: ``plt.show()`` and the end of a cell show the open figures as PNG
  (``inline_figures``) and close them;
- an exception ends the page (unless the cell is tagged ``raises-exception`` or errors
  are allowed): an ``error`` output with the traceback through the cell's lines, and the
  message myst-nb would print, the cell's source and the traceback (the CheckFailed
  message names the equation); a cell that runs longer than ``nb_execution_timeout`` is
  stopped the same way;
- the working directory is the page's folder, stdin is empty; numpy's print options and
  error handling, and the warning filters, are the defaults of a fresh interpreter.

Nothing here imports Sphinx or myst-nb.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import importlib
import io
import linecache
import os
import pickle
import select
import shutil
import signal
import sys
import tempfile
import textwrap
import time
import traceback
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import deps

HERE = Path(__file__).resolve().parent
#: Put first on the page processes' subprocesses' PYTHONPATH: their sitecustomize.py.
SITECUSTOMIZE = HERE / "_subprocesses"
BACKEND = "module://verified_book.inline_figures"
NUMPY_PRINT = np.get_printoptions()
NUMPY_ERRORS = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}
#: The language_info a Python 3 kernel reports (myst-nb highlights the cells with it).
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": ".".join(map(str, sys.version_info[:3])),
}


@dataclass
class Job:
    """One page to run: its source file, and the code cells as myst-nb read them."""

    path: str
    cells: list[tuple[str, list[str]]]  # (source, tags) of each code cell
    timeout: float | None = None
    allow_errors: bool = False
    in_temp: bool = False

    @property
    def key(self) -> str:
        digest = hashlib.sha256(
            repr((self.path, self.timeout, self.allow_errors, self.in_temp)).encode()
        )
        for source, tags in self.cells:
            digest.update(b"\0" + source.encode() + b"\0" + ",".join(tags).encode())
        return digest.hexdigest()[:24]

    @property
    def plots(self) -> bool:
        return any("matplotlib" in source for source, _ in self.cells)


@dataclass
class Result:
    """What a page's cells produced, as nbformat dicts."""

    outputs: list[list[dict]]  # per code cell
    counts: list[int | None]  # execution count per code cell (None: not run)
    error: dict | None = None  # ename, evalue, cell (index), text (myst-nb's message)
    runtime: float = 0.0
    ran: dict[str, str] = field(default_factory=dict)  # deps: unit -> digest


class CellTimeout(BaseException):
    """A cell ran longer than the execution timeout (a BaseException, so that a page's
    ``except Exception`` cannot swallow it)."""


# --- running one page, in the process it owns ----------------------------------------

_CURRENT: list[list[dict]] = [[]]  # the outputs of the cell running now


def emit(output: dict) -> None:
    """Add an output (a display, a figure) to the cell running now."""
    _CURRENT[0].append(output)


class _Stream(io.TextIOBase):
    def __init__(self, name: str):
        self.name = name

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if text:
            outs = _CURRENT[0]
            last = outs[-1] if outs else None
            if last and last["output_type"] == "stream" and last["name"] == self.name:
                last["text"] += text
            else:
                outs.append({"output_type": "stream", "name": self.name, "text": text})
        return len(text)

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:
        return "utf-8"


_PLAIN = (bool, int, float, complex, str, bytes, np.generic, np.ndarray)


def _display(value, count: int) -> None:
    """Show a cell's last value as IPython's display hook would."""
    if value is None:
        return
    if callable(getattr(type(value), "_ipython_display_", None)):
        value._ipython_display_()
        return
    if "matplotlib.figure" in sys.modules:
        from matplotlib.figure import Figure

        if isinstance(value, Figure):
            from . import inline_figures

            out = inline_figures.figure_output(value)
            if out is not None:
                emit({**out, "output_type": "execute_result", "execution_count": count})
            return
    rich = [n for n in dir(type(value)) if n.startswith("_repr_") and n.endswith("_")]
    if isinstance(value, _PLAIN) and not rich:
        data, metadata = {"text/plain": repr(value)}, {}
    else:  # containers, rich objects: IPython's own formatters (imported when needed)
        from IPython.core.formatters import DisplayFormatter

        data, metadata = DisplayFormatter().format(value)
    emit(
        {
            "output_type": "execute_result",
            "execution_count": count,
            "data": data,
            "metadata": metadata,
        }
    )


def display_data(*objs, raw: bool = False, metadata: dict | None = None, **_) -> None:
    """IPython's ``display`` as a kernel publishes it: one ``display_data`` output per
    object (a mime bundle when ``raw``, else formatted as IPython would)."""
    for obj in objs:
        if raw:
            data = obj
        else:
            from IPython.core.formatters import DisplayFormatter

            data, metadata = DisplayFormatter().format(obj)
        emit({"output_type": "display_data", "data": data, "metadata": metadata or {}})


def _flush_figures() -> None:
    if "matplotlib.pyplot" in sys.modules:
        from . import inline_figures

        inline_figures.flush()


def _on_alarm(signum, frame):
    raise CellTimeout("the cell ran longer than the execution timeout")


def _run_cell(source: str, filename: str, namespace: dict, count: int, timeout):
    """Run one cell; return the exception that ended it, or None."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    if timeout:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, float(timeout))
    try:
        tree = ast.parse(source, filename=filename)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            if not source.rstrip().endswith(";"):
                last = ast.Expression(tree.body.pop().value)
        if tree.body:
            exec(compile(tree, filename, "exec", dont_inherit=True), namespace)
        if last is not None:
            value = eval(compile(last, filename, "eval", dont_inherit=True), namespace)
            _display(value, count)
        return None
    except BaseException as err:  # noqa: BLE001 - a page may fail in any way
        return err
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)


_CELLS: dict[str, int] = {}  # a cell's file name -> its execution count


def _traceback_lines(err: BaseException, tb) -> list[str]:
    """The traceback as an IPython kernel shows it (without colours): ``Cell In[n], line
    l`` or ``File path:l, in function(arguments)``, each with two lines of context
    around an arrow, then ``Name: message``; the lexer myst-nb shows errors with
    (``ipythontb``) reads this form."""
    name = type(err).__name__
    lines = ["-" * 75, f"{name:<42}Traceback (most recent call last)"]
    if isinstance(err, SyntaxError) and err.filename in _CELLS:
        tb = None
        lines.append(f"  Cell In[{_CELLS[err.filename]}], line {err.lineno}")
        lines.append(f"    {(err.text or '').rstrip()}")
        if err.offset:
            lines.append("    " + " " * (err.offset - 1) + "^")
    frames = traceback.extract_tb(tb) if tb is not None else []
    codes = []
    while tb is not None:
        codes.append(tb.tb_frame.f_code)
        tb = tb.tb_next
    for frame, code in zip(frames, codes, strict=True):
        if frame.filename in _CELLS:
            head = f"Cell In[{_CELLS[frame.filename]}], line {frame.lineno}"
        else:
            args = ", ".join(
                code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
            )
            head = f"File {frame.filename}:{frame.lineno}, in {frame.name}({args})"
        lines.append(head)
        source = linecache.getlines(frame.filename)
        numbers = range(
            max(1, frame.lineno - 2), min(len(source), frame.lineno + 2) + 1
        )
        context = textwrap.dedent("".join(source[n - 1] for n in numbers)).splitlines()
        for n, text in zip(numbers, context, strict=False):
            mark = (
                f"{'-' * (7 - len(str(n)) - 2)}> {n}"
                if n == frame.lineno
                else f"{n:>7}"
            )
            lines.append(f"{mark} {text}")
        lines.append("")
    lines.append(f"{name}: {err}")
    return lines


def _error(err: BaseException, source: str, filename: str) -> tuple[dict, str]:
    """The error output of a cell, and the message myst-nb prints for a failed page."""
    tb = err.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    lines = _traceback_lines(err, tb)
    output = {
        "output_type": "error",
        "ename": type(err).__name__,
        "evalue": str(err),
        "traceback": lines,
    }
    text = (
        "An error occurred while executing the following cell:\n------------------\n"
        f"{source}\n------------------\n\n" + "\n".join(lines) + "\n"
    )
    return output, text


def _fresh_interpreter_state(cwd: str) -> None:
    os.chdir(cwd)
    np.set_printoptions(**NUMPY_PRINT)
    np.seterr(**NUMPY_ERRORS)
    warnings.resetwarnings()
    warnings.showwarning = warnings._showwarning_orig  # noqa: SLF001
    # Python's default filters, as in a fresh interpreter (and an IPython kernel)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
    for category in (
        DeprecationWarning,
        PendingDeprecationWarning,
        ImportWarning,
        ResourceWarning,
    ):
        warnings.filterwarnings("ignore", category=category)
    sys.stdout, sys.stderr = _Stream("stdout"), _Stream("stderr")
    sys.stdin = io.StringIO()  # input() ends at once, as a kernel without stdin
    from . import mystnb_internals

    mystnb_internals.glue_emits_to(display_data)  # glued values, as a kernel shows them
    _ipython_display_emits_to(display_data)  # display(...), as a kernel shows it


def _ipython_display_emits_to(display) -> None:
    """Make IPython's ``display`` (``from IPython.display import display``, as the
    package's plots use it) publish through the page process's ``display``: outside a
    kernel IPython would print the object's repr instead."""
    import IPython.core.display_functions as functions
    import IPython.display

    for module in (functions, IPython.display):
        if not callable(getattr(module, "display", None)):
            raise RuntimeError(f"{module.__name__}.display has moved: update execution")
        module.display = display


def run(job: Job, snapshot: deps.Snapshot | None) -> Result:
    """Run the page's cells in this process, which then belongs to the page."""
    temp = tempfile.mkdtemp(prefix="verified-book-page-")
    ran_dir = Path(temp) / "ran"
    cwd = temp if job.in_temp else str(Path(job.path).parent)
    _fresh_interpreter_state(cwd)
    deps.watch_subprocesses(ran_dir, SITECUSTOMIZE)
    deps.reset()
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    namespace = main.__dict__
    namespace["__builtins__"] = builtins
    result = Result([], [])
    name = Path(job.path).name
    count = 0
    start = time.perf_counter()
    for index, (source, tags) in enumerate(job.cells):
        cell: list[dict] = []
        _CURRENT[0] = cell
        result.outputs.append(cell)
        if result.error or not source.strip() or "skip-execution" in tags:
            result.counts.append(None)
            continue
        count += 1
        result.counts.append(count)
        filename = f"<{name}, cell {count}>"
        _CELLS[filename] = count
        err = _run_cell(source, filename, namespace, count, job.timeout)
        if err is not None:
            output, text = _error(err, source, filename)
            cell.append(output)
            if not (job.allow_errors or "raises-exception" in tags):
                result.error = {
                    "ename": output["ename"],
                    "evalue": output["evalue"],
                    "cell": index,
                    "text": text,
                }
        # then the figures still open, as a kernel's inline backend does after a cell
        try:
            _flush_figures()
        except Exception as err:  # noqa: BLE001 - a figure that cannot be drawn
            output, text = _error(err, source, filename)
            cell.append(output)
            result.error = result.error or {
                "ename": output["ename"],
                "evalue": output["evalue"],
                "cell": index,
                "text": text,
            }
    result.runtime = time.perf_counter() - start
    result.ran = _what_ran(job, snapshot, ran_dir)
    shutil.rmtree(temp, ignore_errors=True)
    return result


def _what_ran(job: Job, snapshot: deps.Snapshot | None, ran_dir: Path) -> dict:
    if snapshot is None:  # the package could not be armed
        return {deps.EVERYTHING: "unknown"}
    imported = deps.imported_by([s for s, _ in job.cells], snapshot)
    sub, complete = deps.subprocess_records(ran_dir)
    if imported is None or not complete:
        return {deps.EVERYTHING: deps.everything_digest(snapshot.units())}
    ran = deps.ran_here(imported)
    ran.update(sub)
    return ran


# --- the warm process and the page processes -------------------------------------------


def prepare(root: Path, plots: bool, workdir: Path) -> deps.Snapshot | None:
    """Import once what the pages share, and arm the package (``deps``), leaving the
    armed code in ``workdir`` for the pages' subprocesses."""
    try:
        import matplotlib

        matplotlib.use(BACKEND)
        if plots:
            import matplotlib.pyplot  # noqa: F401

            from . import inline_figures  # noqa: F401
    except ImportError:
        pass
    try:
        snapshot = deps.Snapshot.read(root)
    except (OSError, SyntaxError, ValueError):
        return None
    for name in snapshot.modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the page that imports it will show why
            pass
    deps.arm(root, snapshot)
    deps.save_armed_code(workdir / f"armed-{os.getpid()}.marshal")
    return snapshot


def _write(workdir: Path, key: str, result: Result) -> None:
    target = workdir / f"{key}.pickle"
    tmp = workdir / f"{key}.{os.getpid()}.tmp"
    tmp.write_bytes(pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
    tmp.replace(target)


def _failed(why: str, text: str) -> Result:
    return Result([], [], {"ename": why, "evalue": text, "cell": None, "text": text})


def _page_process(job: Job, workdir: Path, snapshot) -> int:
    """Fork a process that runs ``job`` and writes its result; return its pid.
    ``snapshot`` is what ``prepare`` returned, or a function that prepares (called in
    the new process)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    try:
        try:
            result = run(job, snapshot() if callable(snapshot) else snapshot)
        except BaseException:  # noqa: BLE001 - reported as the page's failure
            result = _failed("ExecutionFailed", traceback.format_exc())
        _write(workdir, job.key, result)
    finally:
        os._exit(0)


def _reaped(workdir: Path, job: Job, status: int) -> None:
    if not (workdir / f"{job.key}.pickle").exists():
        _write(
            workdir,
            job.key,
            _failed(
                "ProcessDied",
                f"the process running {job.path} ended without a result "
                f"(wait status {status})",
            ),
        )


def run_here(job: Job, root: Path, workdir: Path) -> Result:
    """Run one page in a process forked from this one (prepared there): the way when
    no warm process has the page."""
    workdir.mkdir(parents=True, exist_ok=True)
    pid = _page_process(job, workdir, lambda: prepare(root, job.plots, workdir))
    _, status = os.waitpid(pid, 0)
    _reaped(workdir, job, status)
    return _load(workdir / f"{job.key}.pickle")


def _load(path: Path) -> Result:
    return pickle.loads(path.read_bytes())


class Pool:
    """The warm process, forked from Sphinx's main process, and its page processes."""

    def __init__(self, root: Path, workdir: Path, nproc: int):
        self.root, self.workdir, self.nproc = root, workdir, max(1, nproc)
        self.pid: int | None = None
        self.alive: int | None = None  # read end of a pipe the warm process holds open
        self.keys: set[str] = set()

    def start(self, jobs: list[Job], at_once: int = 0) -> None:
        """Start running ``jobs``: the first ``at_once`` together, sharing the cores
        (for long pages whose runtimes are unknown: none of them can then start last),
        the others in order as fewer than ``nproc`` run."""
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        self.keys = {job.key for job in jobs}
        if not jobs:
            return
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                self._serve(jobs, parent, at_once)
            finally:
                os._exit(0)
        os.close(write)
        self.pid, self.alive = pid, read

    def _serve(self, jobs: list[Job], parent: int, at_once: int) -> None:
        running: dict[int, Job] = {}

        def stop(signum, frame):
            for pid in running:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            os._exit(1)

        signal.signal(signal.SIGTERM, stop)
        try:
            snapshot = prepare(self.root, any(job.plots for job in jobs), self.workdir)
        except BaseException:  # noqa: BLE001 - every page will say so
            text = traceback.format_exc()
            for job in jobs:
                _write(self.workdir, job.key, _failed("PreparationFailed", text))
            return
        queue = list(jobs)
        while queue or running:
            while queue and (len(running) < self.nproc or at_once > 0):
                at_once -= 1
                job = queue.pop(0)
                running[_page_process(job, self.workdir, snapshot)] = job
            pid, status = os.wait()
            job = running.pop(pid, None)
            if job is not None:
                _reaped(self.workdir, job, status)
            if os.getppid() != parent:  # Sphinx is gone
                stop(None, None)

    def result(self, job: Job) -> Result:
        """The page's result: from the warm process, or run here if it does not have
        the page (or has died)."""
        path = self.workdir / f"{job.key}.pickle"
        if self.alive is not None and job.key in self.keys:
            gone = False
            while not path.exists():
                if gone:
                    return run_here(job, self.root, self.workdir)
                ready, _, _ = select.select([self.alive], [], [], 0.05)
                if ready and os.read(self.alive, 1) == b"":
                    gone = True  # look for the file once more, then run it here
            return _load(path)
        return run_here(job, self.root, self.workdir)

    def stop(self) -> None:
        """End the warm process (in the process that started it)."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.alive)
        self.pid = self.alive = None
