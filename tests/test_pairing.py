"""Every labelled equation in docs/ is followed by a code cell that names its label.

A labelled equation is a ```{math} block with a ``:label:`` option, or a ``$$ ... $$ (label)``
block. Its check is the next ```{code-cell}; that cell must contain the label in quotes,
before the next labelled equation begins.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").rglob("*.md"))

MATH_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{math\}\s*$")
LABEL_OPT = re.compile(r"^:label:\s*(?P<label>\S+)\s*$")
DOLLAR_LABEL = re.compile(r"\$\$\s*\((?P<label>[^)\s]+)\)\s*$")
CELL_OPEN = re.compile(r"^(?P<fence>`{3,})\{code-cell\}")


def labelled_equations(text: str):
    """Yield (label, line number of the equation's end, lines) for one page."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        opened = MATH_OPEN.match(line)
        if opened:
            fence = opened["fence"]
            label = None
            j = i + 1
            while j < len(lines) and lines[j].strip() != fence:
                m = LABEL_OPT.match(lines[j].strip())
                if m:
                    label = m["label"]
                j += 1
            if label:
                yield label, j
            i = j + 1
            continue
        m = DOLLAR_LABEL.search(line)
        if m:
            yield m["label"], i
        i += 1


def cells_after(lines, start):
    """The body of the first code cell after line ``start`` and where it opens."""
    for k in range(start + 1, len(lines)):
        opened = CELL_OPEN.match(lines[k])
        if opened:
            fence = opened["fence"]
            body = []
            for m in range(k + 1, len(lines)):
                if lines[m].startswith(fence) and lines[m].strip() == fence:
                    return k, "\n".join(body)
                body.append(lines[m])
            return k, "\n".join(body)
    return None, ""


def unpaired_labels(text: str) -> list[str]:
    lines = text.splitlines()
    eqs = list(labelled_equations(text))
    missing = []
    for n, (label, end) in enumerate(eqs):
        opens, body = cells_after(lines, end)
        next_eq = eqs[n + 1][1] if n + 1 < len(eqs) else len(lines)
        quoted = re.search(r"""["']""" + re.escape(label) + r"""["']""", body)
        if opens is None or opens > next_eq or not quoted:
            missing.append(label)
    return missing


def test_the_parser_finds_both_label_syntaxes_and_missing_cells():
    page = "\n".join(
        [
            "```{math}",
            ":label: eq-a",
            "x = 1",
            "```",
            "```{code-cell} python",
            'check("eq-a", 1.0, 1.0)',
            "```",
            "$$ y = 2 $$ (eq-b)",
            "Some prose.",
            "```{math}",
            ":label: eq-c",
            "z = 3",
            "```",
            "```{code-cell} python",
            'check("eq-c", 1.0, 1.0)',
            "```",
        ]
    )
    assert [label for label, _ in labelled_equations(page)] == ["eq-a", "eq-b", "eq-c"]
    assert unpaired_labels(page) == ["eq-b"]


def test_labels_are_unique_across_the_book():
    seen = {}
    for page in PAGES:
        for label, _ in labelled_equations(page.read_text()):
            assert label not in seen, (
                f"{label} is defined in {seen.get(label)} and {page}"
            )
            seen[label] = page


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_labelled_equation_has_a_check_cell(page):
    missing = unpaired_labels(page.read_text())
    assert not missing, (
        f"{page.relative_to(ROOT)}: labelled equations without a following code cell that "
        f"names them: {missing}"
    )
