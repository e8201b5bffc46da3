"""The one place that relies on myst-nb's internals (PITFALLS 28).

Two needs, both checked against myst-nb ``MYST_NB_VERSION``, the version pinned in
pyproject.toml:

- **which pages failed to execute**: myst-nb keeps that only in an internal record,
  ``myst_nb.sphinx_.NbMetadataCollector.get_exec_data(env, docname)``, a dict
  (myst-nb's ``ExecutionResult``) with ``succeeded``, ``error`` and ``runtime``;
- **running the pages without a kernel each** (``execution``): myst-nb's parser asks
  ``myst_nb.sphinx_.create_client`` (imported there from ``myst_nb.core.execute``) for
  the client that executes a notebook. :func:`install_client` wraps it so that where
  myst-nb would start a kernel (its ``NotebookClientDirect``, modes ``force`` and
  ``auto``) a :class:`ForkedClient` fills in the same outputs, execution record and
  warnings from a page process. :func:`read_notebook` reads a page's cells as the parser
  will, so that the pages can be started before Sphinx reads them.

- **the build's settings and outputs**: :func:`execution_mode` reads the execution mode
  from myst-nb's ``env.mystnb_config``; :func:`executed_notebook` is where myst-nb writes
  a page's executed notebook (its ``output_folder``, ``<outdir>/../jupyter_execute``),
  which the download menu offers;

- **glue without a kernel**: ``myst_nb.glue`` shows its value with the
  ``ipy_display`` it imported from IPython, which prints instead of publishing outside a
  kernel; :func:`glue_emits_to` points that name at the page process's display.

If any of this moves or changes shape, the functions here raise ``MystNbInternalsMoved``
naming that version (the extension checks when it is set up, so the build stops at once)
instead of answering "no page failed" or running pages some other way;
tests/test_extension.py and tests/test_execution.py break first. Nothing else imports
myst-nb's internals.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from importlib import metadata
from pathlib import Path

#: The myst-nb release whose internals this module was checked against (pyproject.toml).
MYST_NB_VERSION = "1.4.0"


class MystNbInternalsMoved(RuntimeError):
    """myst-nb no longer has the internal record of execution the guarantee relies on."""


def _moved(what: str) -> MystNbInternalsMoved:
    try:
        installed = metadata.version("myst-nb")
    except metadata.PackageNotFoundError:
        installed = "none"
    return MystNbInternalsMoved(
        f"{what}: the verification extension cannot tell which pages failed to execute. "
        f"It was written for myst-nb {MYST_NB_VERSION}, the version pinned in "
        f"pyproject.toml (installed: {installed}); install that version or port "
        "docs/_ext/verified_book/mystnb_internals.py."
    )


def collector():
    """myst-nb's ``NbMetadataCollector``, after checking the method this module calls."""
    try:
        from myst_nb.sphinx_ import NbMetadataCollector
    except ImportError as err:
        raise _moved("myst_nb.sphinx_.NbMetadataCollector cannot be imported") from err
    get = getattr(NbMetadataCollector, "get_exec_data", None)
    if not callable(get) or list(inspect.signature(get).parameters)[:2] != [
        "env",
        "docname",
    ]:
        raise _moved(
            "myst-nb's NbMetadataCollector.get_exec_data(env, docname) is gone"
        )
    return NbMetadataCollector


def exec_data(env, docname: str) -> dict | None:
    """myst-nb's record of the page's last execution, or None for a page without code."""
    data = collector().get_exec_data(env, docname)
    if data is not None and "succeeded" not in data:
        raise _moved(
            f"myst-nb's execution record of {docname!r} has no 'succeeded' "
            f"(keys: {sorted(data)})"
        )
    return data


def failed_pages(env) -> dict[str, dict]:
    """Docname -> execution record, for every page whose last execution failed."""
    failed = {}
    for docname in env.found_docs:
        data = exec_data(env, docname)
        if data is not None and not data["succeeded"]:
            failed[docname] = data
    return failed


# --- the execution client ---------------------------------------------------------------

#: What the client reads of myst-nb's configuration of a page (NbParserConfig fields).
CONFIG_FIELDS = (
    "execution_mode",
    "execution_timeout",
    "execution_allow_errors",
    "execution_raise_on_error",
    "execution_show_tb",
    "execution_in_temp",
)


def _execute_module():
    try:
        import myst_nb.sphinx_ as parser_module
        from myst_nb.core import execute
        from myst_nb.core.config import NbParserConfig
    except ImportError as err:
        raise _moved(
            "myst_nb.sphinx_ or myst_nb.core.execute cannot be imported"
        ) from err
    for owner, name in (
        (parser_module, "create_client"),
        (execute, "create_client"),
        (execute, "NotebookClientBase"),
        (execute, "NotebookClientDirect"),
        (execute, "ExecutionError"),
    ):
        if not hasattr(owner, name):
            raise _moved(f"{owner.__name__}.{name} is gone")
    params = list(inspect.signature(execute.create_client).parameters)
    if params[:4] != ["notebook", "source", "nb_config", "logger"]:
        raise _moved(f"myst_nb.core.execute.create_client takes {params}")
    base = inspect.signature(execute.NotebookClientBase.__init__).parameters
    if list(base)[1:5] != ["notebook", "path", "nb_config", "logger"]:
        raise _moved(f"NotebookClientBase.__init__ takes {list(base)}")
    fields = set(getattr(NbParserConfig, "__dataclass_fields__", {}))
    missing = [f for f in CONFIG_FIELDS if f not in fields]
    if missing:
        raise _moved(f"myst-nb's NbParserConfig has no {missing}")
    for name in ("start_client", "exec_metadata", "notebook", "path", "logger"):
        if not hasattr(execute.NotebookClientBase, name):
            raise _moved(f"NotebookClientBase.{name} is gone")
    return parser_module, execute


def install_client(runner) -> None:
    """Make myst-nb run pages through ``runner`` where it would start a kernel.

    ``runner(notebook, path, nb_config)`` returns an ``execution.Result`` (or None to
    keep myst-nb's kernel for this page)."""
    parser_module, execute = _execute_module()
    forked = _client_class()
    current = parser_module.create_client
    original = getattr(current, "__wrapped__", current)
    if original is not execute.create_client:
        raise _moved("myst_nb.sphinx_.create_client is not myst_nb.core.execute's")

    def create_client(notebook, source, nb_config, logger, *args, **kwargs):
        client = original(notebook, source, nb_config, logger, *args, **kwargs)
        if type(client) is not execute.NotebookClientDirect:
            return client
        return forked(notebook, client.path, nb_config, logger, runner=runner)

    create_client.__wrapped__ = original
    parser_module.create_client = create_client


def _client_class():
    """myst-nb's client base class, subclassed once: :class:`ForkedClient`."""
    _, execute = _execute_module()

    class ForkedClient(execute.NotebookClientBase):
        """Fills the notebook's outputs from a page process (``execution``), with the
        execution record, warning and error myst-nb's kernel client would give."""

        def start_client(self):
            config = self.nb_config
            result = self._kwargs["runner"](self.notebook, self.path, config)
            if result is None:  # not run here: myst-nb's own kernel client
                direct = execute.NotebookClientDirect(
                    self.notebook, self.path, config, self.logger
                )
                direct.start_client()
                self.exec_metadata = direct.exec_metadata
                return
            apply_result(self.notebook, result)
            error = result.error
            if error is not None:
                if config.execution_raise_on_error:
                    raise execute.ExecutionError(str(self.path))
                msg = f"Executing notebook failed: {error['ename']}"
                if config.execution_show_tb:
                    msg += f"\n{error['text']}"
                self.logger.warning(msg, subtype="exec")
            else:
                self.logger.info(
                    f"Executed notebook in a page process in {result.runtime:.2f} s"
                )
            self.exec_metadata = {
                "mtime": datetime.now().timestamp(),
                "runtime": result.runtime,
                "method": config.execution_mode,
                "succeeded": error is None,
                "error": error["ename"] if error else None,
                "traceback": error["text"] if error else None,
            }

    return ForkedClient


def apply_result(notebook, result) -> None:
    """Put a page process's outputs into the notebook, as a kernel run would."""
    import nbformat

    from .execution import LANGUAGE_INFO

    cells = [c for c in notebook.cells if c.cell_type == "code"]
    for n, cell in enumerate(cells):
        outputs = result.outputs[n] if n < len(result.outputs) else []
        count = result.counts[n] if n < len(result.counts) else None
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        cell.execution_count = count
    notebook.metadata["language_info"] = nbformat.from_dict(LANGUAGE_INFO)


def read_notebook(env, docname: str):
    """The page's notebook as myst-nb's parser will read it, or None for a page myst-nb
    does not read as a notebook."""
    try:
        from myst_nb.core.read import create_nb_reader
    except ImportError as err:
        raise _moved("myst_nb.core.read.create_nb_reader cannot be imported") from err
    md_config = getattr(env, "myst_config", None)
    nb_config = getattr(env, "mystnb_config", None)
    if md_config is None or nb_config is None:
        raise _moved("myst-nb no longer sets env.myst_config and env.mystnb_config")
    path = str(env.doc2path(docname))
    text = Path(path).read_text(encoding="utf-8")
    reader = create_nb_reader(path, md_config, nb_config, text)
    if reader is None:
        return None
    return reader.read(text)


def glue_emits_to(display) -> None:
    """Make ``myst_nb.glue`` publish through ``display(*objs, raw=, metadata=)`` (the
    page process's), as it publishes through IPython's in a kernel."""
    import myst_nb.ext.glue as glue_module

    if not callable(getattr(glue_module, "ipy_display", None)):
        raise _moved("myst_nb.ext.glue.ipy_display (what glue displays with)")
    glue_module.ipy_display = display


def mystnb_config(env):
    """myst-nb's parsed configuration of this build (``env.mystnb_config``)."""
    config = getattr(env, "mystnb_config", None)
    if config is None:
        raise _moved("Sphinx's env has no mystnb_config")
    return config


def execution_mode(env) -> str:
    """myst-nb's ``nb_execution_mode`` for this build, from ``env.mystnb_config``."""
    mode = getattr(mystnb_config(env), "execution_mode", None)
    if mode is None:
        raise _moved("myst-nb's config has no execution_mode")
    return mode


def executed_notebook(env, docname: str) -> Path:
    """The executed notebook myst-nb wrote for page ``docname`` (its ``output_folder``);
    it must exist for a page that declares a kernel once the page has been written."""
    folder = getattr(mystnb_config(env), "output_folder", None)
    if folder is None:
        raise _moved("myst-nb's config has no output_folder")
    return Path(folder) / f"{docname}.ipynb"
