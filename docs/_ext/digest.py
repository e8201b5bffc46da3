"""Digests of the book's sources: what a build's results depend on.

``package_digest``: the files of ``lstm_notes``. ``conf.py`` sets it as an ``env`` config
value, so a change to the package re-executes every page (PITFALLS 2).

``sources_digest``: the package, the pages and the mutation tester. ``make mutants``
writes it into ``_build/mutants.json``; the verification report shows the mutation counts
only when the digest of the build it belongs to is the same.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


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
