"""The one place that relies on myst-nb's internals (PITFALLS 28).

The guarantee needs to know which pages failed to execute, and myst-nb keeps that only in
an internal record: ``myst_nb.sphinx_.NbMetadataCollector.get_exec_data(env, docname)``,
a dict (myst-nb's ``ExecutionResult``) with ``succeeded``, ``error`` and ``runtime``.
This module was written against myst-nb ``MYST_NB_VERSION``, the version pinned in
pyproject.toml. If that record moves or changes shape, every function here raises
``MystNbInternalsMoved`` naming that version (the extension calls ``collector()`` when it
is set up, so the build stops at once) instead of answering "no page failed";
tests/test_extension.py breaks first. Nothing else imports myst-nb's internals.
"""

from __future__ import annotations

import inspect
from importlib import metadata

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
