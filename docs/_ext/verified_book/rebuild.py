"""When pages run again, and against which sources.

- **What a page ran** (``deps``): each run of a page records the functions of
  ``lstm_notes`` it ran and the modules whose own code it depends on, with the digest of
  each one's source text; ``run_pages`` keeps the record in the environment
  (:data:`RAN_KEY`). The next build re-reads, hence re-runs, a page when one of those
  texts has changed (or the page itself, as Sphinx sees): an edit to one function re-runs
  the pages that ran it and no other (PITFALLS 2). A page executed without a record
  runs again.
- **The build's own sources**: ``verified_book_digest`` is an ``env`` config value set
  to a digest of conf.py, this extension, pyproject.toml (the pins) and the versions of
  Python and of the packages the pages and the build use; any change re-reads every page.
- A page whose execution failed is re-read by the next build even if nothing changed
  (myst-nb's record, through ``mystnb_internals``), so a failed build never turns green
  by being run again.
- Pages that show the results of other pages (the report, the cite entries) call
  ``reread_every_build`` and are re-read by every build.
- ``sources_digest`` (the package, the pages and the mutation tester): ``make mutants``
  stamps ``mutants.json`` with it, and the report shows mutation counts only when it equals
  the digest of the sources being built.
"""

from __future__ import annotations

import hashlib
import os
import platform
from importlib import metadata
from pathlib import Path

from sphinx.util import logging

from . import deps, mystnb_internals

logger = logging.getLogger(__name__)

REREAD_KEY = "verification_pages"  # the env attribute holding the always re-read pages
RAN_KEY = "verified_book_ran"  # docname -> {unit: digest} of what the page ran
#: Distributions whose versions are part of ``verified_book_digest``.
DISTRIBUTIONS = ("numpy", "matplotlib", "myst-nb", "sphinx", "ipython", "ipykernel")
EXTENSION = Path(__file__).resolve().parent


def _digest(root: Path, patterns: list[str]) -> str:
    digest = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            if "_build" in path.parts or "__pycache__" in path.parts:
                continue
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def build_digest(confdir: Path) -> str:
    """conf.py, this extension, pyproject.toml, and the versions the build runs with."""
    digest = hashlib.sha256()
    files = [confdir / "conf.py", confdir / "pyproject.toml"]
    files += sorted(p for p in EXTENSION.rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        if path.exists():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    versions = [f"python {platform.python_version()}"]
    for name in DISTRIBUTIONS:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} none")
    digest.update("\n".join(versions).encode())
    return digest.hexdigest()


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


def record_ran(env, docname: str, ran: dict[str, str]) -> None:
    records = getattr(env, RAN_KEY, None)
    if records is None:
        records = {}
        setattr(env, RAN_KEY, records)
    records[docname] = ran


def stale_pages(env, root: Path) -> dict[str, list[str]]:
    """Docname -> what changed, for every executed page whose record no longer matches
    the sources (or that has no record)."""
    now = deps.Snapshot.read(root).units()
    records = getattr(env, RAN_KEY, {})
    stale = {}
    for docname in sorted(env.found_docs):
        if mystnb_internals.exec_data(env, docname) is None:
            continue  # never executed: no code, or not read yet
        if docname not in records:
            stale[docname] = ["(no record of what it ran)"]
            continue
        changed = deps.changed(records[docname], now)
        if changed:
            stale[docname] = changed
    return stale


def _set_digest(app, config):
    config.verified_book_digest = build_digest(Path(app.confdir))


def _outdated(app, env, added, changed, removed):
    # Pages that failed last time run again; report pages are rebuilt from fresh records;
    # pages that ran something that has changed since run again.
    again = set(mystnb_internals.failed_pages(env)) | getattr(env, REREAD_KEY, set())
    stale = stale_pages(env, deps.package_root())
    for docname, why in sorted(stale.items()):
        if docname not in added | changed:
            shown = ", ".join(why[:3]) + (
                f" and {len(why) - 3} more" if len(why) > 3 else ""
            )
            logger.info(f"{docname} runs again: changed since its last run: {shown}")
    again |= set(stale)
    return sorted(again & set(env.found_docs) - added - changed)


def _purge(app, env, docname):
    getattr(env, REREAD_KEY, set()).discard(docname)
    getattr(env, RAN_KEY, {}).pop(docname, None)


def _merge(app, env, docnames, other):
    # A parallel build (sphinx-build -j) reads pages in subprocesses: keep their report
    # and cite pages, so that the next build re-reads them too, and what each page ran.
    setattr(
        env,
        REREAD_KEY,
        getattr(env, REREAD_KEY, set()) | getattr(other, REREAD_KEY, set()),
    )
    theirs = getattr(other, RAN_KEY, {})
    for docname in docnames:
        if docname in theirs:
            record_ran(env, docname, theirs[docname])


def setup(app):
    mystnb_internals.collector()  # stop now, not after executing every page, if it moved
    # Set before any kernel or page process starts; they inherit it.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(app.confdir)]
        + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    app.add_config_value("verified_book_digest", "", "env")
    app.connect("config-inited", _set_digest)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {
        "version": "1",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
        "env_version": 2,
    }
