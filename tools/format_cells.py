"""Format the code cells of the book's pages with ruff, as the package's code is.

    python tools/format_cells.py            # rewrite the cells that need it
    python tools/format_cells.py --check    # list them and exit 1 (make test does this)

A cell is the body of a ```{code-cell}``` fence in a page of docs/; its option lines
(``:tags: [...]`` or a ``---`` block) are kept as they are. Every cell is written to a
scratch folder as a file of its own and formatted by one ``ruff format`` run, with the
settings of pyproject.toml (88 columns).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^(`{3,})\{code-cell\}[^\n]*\n", re.M)


@dataclass
class Cell:
    page: Path
    start: int  # offset of the code in the page's text
    end: int
    code: str
    line: int  # the page line where the code starts


def _options_end(body: str) -> int:
    """Length of the cell's option lines (``:key: value`` lines or a ``---`` block)."""
    if body.startswith("---\n"):
        close = body.find("\n---\n", 3)
        return close + 5 if close >= 0 else 0
    n = 0
    for line in body.splitlines(keepends=True):
        if not line.startswith(":"):
            break
        n += len(line)
    return n


def cells(page: Path) -> list[Cell]:
    """The code cells of a page, in order."""
    text = page.read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        fence = m.group(1)
        close = re.compile(rf"^{fence}\s*$", re.M).search(text, m.end())
        if close is None:
            raise ValueError(f"{page}: code cell at offset {m.start()} is not closed")
        start = m.end() + _options_end(text[m.end() : close.start()])
        code = text[start : close.start()]
        found.append(
            Cell(page, start, close.start(), code, text.count("\n", 0, start) + 1)
        )
    return found


def formatted(all_cells: list[Cell], ruff: str) -> list[str]:
    """Each cell's code as ``ruff format`` writes it (one run over a scratch folder)."""
    scratch = Path(tempfile.mkdtemp(prefix="cells-"))
    try:
        for i, cell in enumerate(all_cells):
            (scratch / f"cell_{i:04d}.py").write_text(cell.code, encoding="utf-8")
        done = subprocess.run(
            [ruff, "format", "--config", str(ROOT / "pyproject.toml"), "--quiet", "."],
            cwd=scratch,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"ruff format failed on a page's cell:\n{done.stderr}")
        return [
            (scratch / f"cell_{i:04d}.py").read_text(encoding="utf-8")
            for i in range(len(all_cells))
        ]
    finally:
        shutil.rmtree(scratch)


def ruff_command() -> str:
    """The ruff next to this Python (the project's .venv), else the one on PATH."""
    here = Path(sys.executable).parent / "ruff"
    found = str(here) if here.exists() else shutil.which("ruff")
    if found is None:
        raise SystemExit("ruff is not installed: `make test` installs it into .venv")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report, do not rewrite")
    parser.add_argument("pages", nargs="*", type=Path, help="default: every page")
    args = parser.parse_args(argv)
    pages = args.pages or sorted(DOCS.rglob("*.md"))
    pages = [p for p in pages if "_build" not in p.parts]
    all_cells = [c for p in pages for c in cells(p)]
    new = formatted(all_cells, ruff_command())
    changed = [(c, n) for c, n in zip(all_cells, new, strict=True) if c.code != n]
    if args.check:
        for cell, _ in changed:
            print(
                f"{os.path.relpath(cell.page, ROOT)}:{cell.line}: cell needs formatting"
            )
        print(
            f"{len(changed)} of {len(all_cells)} cells need formatting "
            "(python tools/format_cells.py rewrites them)"
        )
        return 1 if changed else 0
    for page in pages:
        mine = [(c, n) for c, n in changed if c.page == page]
        if not mine:
            continue
        text = page.read_text(encoding="utf-8")
        for cell, code in sorted(mine, key=lambda cn: -cn[0].start):
            text = text[: cell.start] + code + text[cell.end :]
        page.write_text(text, encoding="utf-8")
    print(f"formatted {len(changed)} of {len(all_cells)} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
