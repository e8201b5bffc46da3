"""One notation for the whole book (docs/calculus/notation.md is the table): the symbols
the book retired may appear only where it quotes a source word for word, in a
blockquote ("> " lines). Code cells and inline code are not notation and are skipped.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

PAGES = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts)

#: pattern -> what the book writes instead (notation.md).
RETIRED = {
    r"\\odot|\\bigodot": "the Hadamard product is \\circ",
    r"\\sigma_\{?\\?max\}?": "the largest singular value is \\|W\\|_2 (sigma is the logistic)",
    r"\\mathbf\s*J_": "the step Jacobian is \\mathbf F_t (J is the loss)",
    r"\\delta_\{[a-z]{2}\}": "Kronecker's delta is written [i = j] (delta is a loss gradient)",
    r"(?<![A-Za-z\\{])L_t\b|\\partial\s*L\b|\\partial\s*L_": "the loss is J (L only in quotes)",
}
FENCE = re.compile(r"^(`{3,}|:{3,})")


def prose_lines(text: str):
    """(line number, text) of the lines a reader sees as prose or math, not quotes."""
    fence = None
    for n, line in enumerate(text.splitlines(), 1):
        opened = FENCE.match(line)
        if fence is None and opened and "code-cell" in line:
            fence = opened.group(1)
            continue
        if fence is not None:
            if line.strip() == fence:
                fence = None
            continue
        if line.lstrip().startswith(">"):
            continue
        yield n, re.sub(r"`[^`]*`", "", line)


def retired_uses(text: str) -> list[str]:
    found = []
    for n, line in prose_lines(text):
        for pattern, instead in RETIRED.items():
            if re.search(pattern, line):
                found.append(f"line {n}: {line.strip()[:80]} ({instead})")
    return found


def test_the_checker_finds_retired_symbols_but_not_in_quotes_or_code():
    page = "\n".join(
        [
            r"The update is $\mathbf c = \Gamma_f \odot \mathbf c$.",
            r"> As written: $C_t = f_t \odot C_{t-1}$",
            "```{code-cell} python",
            r"s = r'\odot'",
            "```",
            r"with $\delta_{ij}$ and `L_t` in code, and $\partial L/\partial W$.",
        ]
    )
    found = retired_uses(page)
    assert [f.split(":")[0] for f in found] == ["line 1", "line 6", "line 6"], found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_pages_use_the_notation_table(page):
    found = retired_uses(page.read_text())
    assert not found, f"{page.relative_to(ROOT)}:\n" + "\n".join(found)
