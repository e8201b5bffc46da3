"""When pages run again, and against which sources.

- The kernels that execute the pages import this checkout's ``lstm_notes``: its folder
  goes first on their ``PYTHONPATH``.
- ``lstm_notes_digest`` is an ``env`` config value set to ``package_digest`` of the
  sources: any change to ``lstm_notes`` re-reads, hence re-executes, every page
  (PITFALLS 2).
- A page whose execution failed is re-read by the next build even if it did not change
  (myst-nb's record, through ``mystnb_internals``), so a failed build never turns green by
  being run again.
- Pages that show the results of other pages (the report, the cite entries) call
  ``reread_every_build`` and are re-read by every build.
- ``sources_digest`` (the package, the pages and the mutation tester): ``make mutants``
  stamps ``mutants.json`` with it, and the report shows mutation counts only when it equals
  the digest of the sources being built.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from . import mystnb_internals

REREAD_KEY = "verification_pages"  # the env attribute holding the always re-read pages


def _digest(root: Path, patterns: list[str]) -> str:
    digest = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            if "_build" in path.parts or "__pycache__" in path.parts:
                continue
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def package_digest(root: Path) -> str:
    return _digest(root, ["lstm_notes/**/*.py"])


def sources_digest(root: Path) -> str:
    return _digest(
        root,
        ["lstm_notes/**/*.py", "docs/**/*.md", "tools/pagerun.py", "tools/mutants.py"],
    )


def reread_every_build(env, docname: str) -> None:
    """Mark a page to be re-read (re-resolved from fresh records) by every build."""
    pages = getattr(env, REREAD_KEY, set())
    pages.add(docname)
    setattr(env, REREAD_KEY, pages)


def _set_digest(app, config):
    config.lstm_notes_digest = package_digest(Path(app.confdir))


def _outdated(app, env, added, changed, removed):
    # Pages that failed last time run again; report pages are rebuilt from fresh records.
    again = set(mystnb_internals.failed_pages(env)) | getattr(env, REREAD_KEY, set())
    return sorted(again & set(env.found_docs) - added - changed)


def _purge(app, env, docname):
    getattr(env, REREAD_KEY, set()).discard(docname)


def _merge(app, env, docnames, other):
    # A parallel build (sphinx-build -j) reads pages in subprocesses: keep their report
    # and cite pages, so that the next build re-reads them too.
    setattr(
        env,
        REREAD_KEY,
        getattr(env, REREAD_KEY, set()) | getattr(other, REREAD_KEY, set()),
    )


def setup(app):
    mystnb_internals.collector()  # stop now, not after executing every page, if it moved
    # Set before any kernel starts; the kernels inherit it.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(app.confdir)]
        + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    app.add_config_value("lstm_notes_digest", "", "env")
    app.connect("config-inited", _set_digest)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {
        "version": "1",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
        "env_version": 1,
    }
