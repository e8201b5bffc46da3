"""The book's sphinx-build command, written once.

`make html` runs ``python tools/build_html.py <builddir> [sphinx option ...]``; the tests
(tests/conftest.py) and `make bench` (tools/bench.py) call ``build`` on copies of the
project. The command:

- ``-W --keep-going``: every warning is an error (a failed cell, a broken {eq} reference,
  a citation), and all of them are reported before the build fails;
- ``-q``: only warnings, errors and the extension's summary are printed;
- ``-j auto``: pages are read, hence executed, in parallel, one process per core;
- ``-c .``: conf.py is at the root, the pages in ``docs/``;
- ``-d <builddir>/doctrees`` next to ``<builddir>/html``: Sphinx's environment (what an
  incremental build reuses) and the checks' records (``doctrees/checks``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STRICT = ["-W", "--keep-going"]
OPTIONS = ["-q", "-j", "auto"]
#: What a copy of the project leaves out: environments, builds, caches, git data.
IGNORE = shutil.ignore_patterns(
    ".venv",
    "_build*",
    ".git",
    "__pycache__",
    "*.egg-info",
    ".pytest_cache",
    "test-artifacts",
    ".jupyter_cache",
    "node_modules",
)


def command(
    builddir: str, *extra: str, strict: bool = True, builder: str = "html"
) -> list[str]:
    """The sphinx-build command line, run from the project's root; ``extra`` options go
    before the folders, ``strict=False`` drops ``-W --keep-going``; ``builder="latex"``
    writes ``<builddir>/latex`` for `make pdf` from the same environment (doctrees)."""
    return [
        sys.executable,
        "-m",
        "sphinx",
        *(STRICT if strict else []),
        *OPTIONS,
        "-b",
        builder,
        "-c",
        ".",
        *extra,
        "-d",
        f"{builddir}/doctrees",
        "docs",
        f"{builddir}/{builder}",
    ]


def build(
    project: Path,
    builddir: str = "_build",
    *extra: str,
    strict: bool = True,
    environ: dict | None = None,
    timeout: float = 1800,
) -> subprocess.CompletedProcess:
    """Build the book of ``project`` (with its own lstm_notes), output captured."""
    env = {**(os.environ if environ is None else environ), "PYTHONPATH": str(project)}
    return subprocess.run(
        command(builddir, *extra, strict=strict),
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def copy_project(dest: Path) -> Path:
    """A copy of the working tree without environments, builds, caches or git data."""
    shutil.copytree(ROOT, dest, ignore=IGNORE)
    return dest


def main(argv: list[str], builder: str = "html") -> int:
    """`make html`: build this checkout into ``argv[0]`` (default ``_build``), printing
    the command and then Sphinx's output as it comes."""
    builddir, extra = (argv[0], argv[1:]) if argv else ("_build", [])
    cmd = command(builddir, *extra, builder=builder)
    shown = Path(cmd[0])  # .venv/bin/python rather than its absolute path
    shown = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown
    print(shlex.join([str(shown), *cmd[1:]]), flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
