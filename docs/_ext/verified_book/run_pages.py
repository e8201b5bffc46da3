"""The pages run in page processes (``execution``), not in a Jupyter kernel each.

- ``env-before-read-docs``: the pages Sphinx is about to read that myst-nb reads as
  Python notebooks are handed to a warm process (``execution.Pool``, ``-j`` processes at a
  time), longest first by their previous runtime; without one (a cold build), the pages
  that plot (they show the book's experiments, its longest runs) start at once,
  sharing the cores, then the others, longest code first. They run while Sphinx's
  readers parse the prose;
- myst-nb, where it would start a kernel, gets their outputs from there
  (``mystnb_internals.install_client``); a page the warm process does not have (its
  cells changed meanwhile) runs in a process forked on the spot;
- ``doctree-read``: what each page ran (``deps``) goes into the environment
  (``rebuild.record_ran``);
- ``env-updated``: the warm process ends.

``nb_execution_mode`` keeps its meaning: ``off`` runs nothing, ``force`` and ``auto`` run
here; pages whose kernel is not Python keep myst-nb's kernel, and so does every page with
``-D verified_book_execution=kernel`` (to compare the two; what the pages ran is then not
recorded, so they run again in the next build).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from . import deps, execution, mystnb_internals
from .rebuild import record_ran

#: The state of this process: the warm process (in Sphinx's main process and, inherited,
#: in its readers) and what the pages read here ran, until doctree-read files it.
_STATE: dict = {"pool": None, "kernel": False}
_RAN: dict[str, dict[str, str]] = {}


def python_kernel(notebook) -> bool:
    spec = notebook.metadata.get("kernelspec", {}) or {}
    language = spec.get("language") or spec.get("name") or "python"
    return str(language).lower().startswith("python")


def job_for(notebook, path, nb_config) -> execution.Job:
    """The page's run, with jupyter-cache's per-notebook overrides (metadata.execution)."""
    timeout, allow = nb_config.execution_timeout, nb_config.execution_allow_errors
    overrides = notebook.metadata.get("execution", {}) or {}
    timeout = overrides.get("timeout", timeout)
    allow = overrides.get("allow_errors", allow)
    cells = [
        (c.source, list(c.get("metadata", {}).get("tags", [])))
        for c in notebook.cells
        if c.cell_type == "code"
    ]
    return execution.Job(
        str(path),
        cells,
        timeout=timeout if timeout and timeout > 0 else None,
        allow_errors=bool(allow),
        in_temp=bool(nb_config.execution_in_temp),
    )


def _workdir(app) -> Path:
    return Path(app.doctreedir) / "page-runs"


def _configure(app, config):
    if config.verified_book_execution not in ("processes", "kernel"):
        raise ValueError(
            "verified_book_execution must be 'processes' or 'kernel', not "
            f"{config.verified_book_execution!r}"
        )
    # page processes are forked: without fork (Windows), myst-nb's kernels run the pages
    _STATE["kernel"] = config.verified_book_execution == "kernel" or not hasattr(
        os, "fork"
    )


def _start(app, env, docnames):
    if (
        mystnb_internals.execution_mode(env) not in ("force", "auto")
        or _STATE["kernel"]
    ):
        return
    config = mystnb_internals.mystnb_config(env)
    jobs = []
    for docname in docnames:
        notebook = mystnb_internals.read_notebook(env, docname)
        if notebook is None or not python_kernel(notebook):
            continue
        job = job_for(notebook, env.doc2path(docname), config)
        if not any(source.strip() for source, _ in job.cells):
            continue
        last = mystnb_internals.exec_data(env, docname) or {}
        runtime = last.get("runtime")
        size = sum(len(source) for source, _ in job.cells)
        # unknown runtimes last; among them pages that plot (they show an experiment,
        # the book's longest runs) first, then the longest code
        jobs.append(((runtime is None, -(runtime or 0.0), not job.plots, -size), job))
    jobs.sort(key=lambda j: j[0])
    # Pages that plot and have never run here start together, sharing the cores: the
    # longest of them, unknown, cannot start last.
    at_once = sum(1 for (unknown, _, quiet, _), _ in jobs if unknown and not quiet)
    pool = execution.Pool(deps.package_root(), _workdir(app), app.parallel or 1)
    pool.start([job for _, job in jobs], at_once=at_once)
    _STATE["pool"] = pool


def run(notebook, path, nb_config):
    """myst-nb's runner (``install_client``): the page's result, or None for a page
    that is not Python (myst-nb starts its kernel)."""
    if _STATE["kernel"] or not python_kernel(notebook):
        return None
    job = job_for(notebook, path, nb_config)
    if not any(source.strip() for source, _ in job.cells):  # nothing to run
        result = execution.Result([[] for _ in job.cells], [None for _ in job.cells])
        _RAN[str(path)] = result.ran
        return result
    pool = _STATE["pool"]
    if pool is not None:
        result = pool.result(job)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="verified-book-page-"))
        result = execution.run_here(job, deps.package_root(), workdir)
    _RAN[str(path)] = result.ran
    return result


def _file_record(app, doctree):
    ran = _RAN.pop(str(app.env.doc2path(app.env.docname)), None)
    if ran is not None:
        record_ran(app.env, app.env.docname, ran)


def _stop(app, env):
    pool = _STATE["pool"]
    if pool is not None:
        pool.stop()
        _STATE["pool"] = None
    return []


def setup(app):
    mystnb_internals.install_client(run)
    app.add_config_value("verified_book_execution", "processes", "env")
    app.connect("config-inited", _configure)
    # after records.py has emptied the records' folder for a full read
    app.connect("env-before-read-docs", _start, priority=900)
    app.connect("doctree-read", _file_record)
    app.connect("env-updated", _stop)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
