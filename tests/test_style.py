"""The code and the pages' cells are formatted and linted by ruff (pyproject.toml).

``ruff check`` and ``ruff format --check`` on the repository, and every code cell of the
pages formatted as ``tools/format_cells.py`` writes it. Each test names the command that
fixes what it finds.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

RUFF = Path(sys.executable).parent / "ruff"
STATIC = ROOT / "docs" / "_static"


def _run(*args: str) -> subprocess.CompletedProcess:
    if not RUFF.exists():
        pytest.fail(f"ruff is not installed next to {sys.executable}: run `make test`")
    return subprocess.run([str(RUFF), *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_is_clean():
    done = _run("check", "--no-cache", ".")
    assert done.returncode == 0, f"`ruff check .` found:\n{done.stdout}{done.stderr}"


def test_ruff_format_is_clean():
    done = _run("format", "--check", "--no-cache", ".")
    assert done.returncode == 0, (
        f"`ruff format .` would change these files:\n{done.stdout}{done.stderr}"
    )


def test_page_cells_are_formatted():
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "format_cells.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, (
        f"`python tools/format_cells.py` would reformat:\n{done.stdout}{done.stderr}"
    )


def test_format_cells_keeps_options_and_reformats_code(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import format_cells
    finally:
        sys.path.remove(str(ROOT / "tools"))
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n```{code-cell} python\n:tags: [hide-input]\nx=[1,2 ,3]\n```\n\ntext\n",
        encoding="utf-8",
    )
    (cell,) = format_cells.cells(page)
    assert cell.code == "x=[1,2 ,3]\n"
    assert format_cells.main(["--check", str(page)]) == 1
    assert format_cells.main([str(page)]) == 0
    assert ":tags: [hide-input]\nx = [1, 2, 3]\n```" in page.read_text(encoding="utf-8")
    assert format_cells.main(["--check", str(page)]) == 0


def css_depths(text: str):
    """(line, depth) after each line of a stylesheet: braces outside comments."""
    text = re.sub(
        r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S
    )
    depth = 0
    for number, line in enumerate(text.split("\n"), 1):
        depth += line.count("{") - line.count("}")
        yield number, depth


@pytest.mark.parametrize("sheet", sorted(p.name for p in STATIC.glob("*.css")))
def test_stylesheets_close_every_block(sheet):
    """A block left open swallows every rule after it: book.css once lost its scroll
    cues and the summaries' print rules inside an unclosed @supports, and no test saw it
    since a browser drops such rules without a word."""
    depths = list(css_depths((STATIC / sheet).read_text()))
    below = [n for n, d in depths if d < 0]
    assert not below, f"{sheet}: a '}}' closes nothing on line {below[0]}"
    assert depths[-1][1] == 0, f"{sheet}: {depths[-1][1]} block(s) never closed"


def test_the_brace_count_sees_an_unclosed_block():
    assert (
        list(css_depths("a { b: c; }\n@media print {\n/* } */ d { e: f; }"))[-1][1] == 1
    )
