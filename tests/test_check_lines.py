"""The checks' lines: check() prints a compact line that carries every figure, and the
book's extension (docs/_ext/verified_book/check_lines.py) shows it as a short line linked
to its equation with the full record on demand; a failing check keeps its whole message."""

import html
import re
import sys
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT, build_html
from docutils import nodes

from lstm_notes import CheckFailed, check, complex_step_grad, erratum, holds
from lstm_notes.checking.check import compare, parse_short_line

sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from verified_book.check_lines import (  # noqa: E402
    check_line,
    check_record,
    group,
    rewrite_outputs,
    short_number,
)


def _printed(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_the_printed_line_gives_back_every_figure(rng, capsys):
    x = rng.standard_normal((3, 4))
    result = check("t-sin", np.cos(x), complex_step_grad(lambda v: np.sin(v).sum(), x))
    (line,) = _printed(capsys)
    assert line.startswith("✓ t-sin · complex step · 12 entries · max rel ")
    parsed = parse_short_line(line)
    assert parsed["label"] == "t-sin" and parsed["method"] == "complex-step"
    assert parsed["passed"] and parsed["role"] == "" and parsed["against"] == ""
    assert parsed["entries"] == result.entries
    for key in ("max_rel", "max_abs"):  # as printed: two significant digits
        assert parsed[key] == pytest.approx(getattr(result, key), rel=0.06, abs=1e-300)
    assert (parsed["rtol"], parsed["atol"]) == (result.rtol, result.atol)


def test_the_words_against_are_shown_and_recorded(rng, capsys):
    a = rng.standard_normal(5)
    result = check("t-sum", a, a.copy(), against="the sum over paths")
    assert result.against == "the sum over paths"
    parsed = parse_short_line(_printed(capsys)[0])
    assert parsed["against"] == "the sum over paths" and parsed["method"] == "exact"
    with pytest.raises(ValueError, match="against"):
        check("t-sum", a, a, against="two · fields")


def test_erratum_lines_parse_as_written_and_corrected(rng, capsys):
    a = rng.standard_normal(4)
    erratum("t-err", numeric=a, as_written=-a, corrected=a)
    wrong, fixed = (parse_short_line(line) for line in _printed(capsys))
    assert (wrong["role"], wrong["passed"]) == ("as written", False)
    assert (fixed["role"], fixed["passed"]) == ("corrected", True)
    assert wrong["max_rel"] == pytest.approx(2.0, rel=0.05)
    erratum("t-err", numeric=a, as_written=lambda: np.linalg.inv(a), corrected=a)
    wrong = parse_short_line(_printed(capsys)[0])
    assert wrong["role"] == "as written" and "cannot be evaluated" in wrong["reason"]


def test_other_lines_are_not_read_as_checks(rng, capsys):
    a = rng.standard_normal(4)
    holds("t: a <= a + 1", a, a + 1)
    (line,) = _printed(capsys)
    lines = [
        line,
        compare("t-long", a, a).line(),  # the long form pages print for failures
        "✓ t-x · a made-up method · 3 entries",
        "✓ t-x · complex step · 3 entries · max rel x · max abs 1 · rtol 1 atol 1",
        "",
    ]
    assert [parse_short_line(s) for s in lines] == [None] * len(lines)


def test_a_failing_check_prints_nothing_and_raises_its_whole_message(rng, capsys):
    a = rng.standard_normal(4)
    with pytest.raises(CheckFailed) as info:
        check("t-bad", -a, a)
    assert _printed(capsys) == []
    for part in ("'t-bad' FAILED", "max rel error", "worst entry", "tolerance"):
        assert part in str(info.value)


def _rec(label, method="complex-step", role="", passed=True, max_rel=1e-15, against=""):
    return {
        "label": label,
        "method": method,
        "role": role,
        "passed": passed,
        "max_rel": max_rel,
        "against": against,
    }


def test_consecutive_checks_of_one_label_share_a_line():
    recs = [
        _rec("a"),
        _rec("a", "central"),
        _rec("a", against="the sum over paths"),
        _rec("b"),
        _rec("e", role="as written", passed=False),
        _rec("e", role="corrected"),
        _rec("e"),
    ]
    sizes = [[r["label"] + r["role"][:1] for r in g] for g in group(recs)]
    assert sizes == [["a", "a"], ["a"], ["b"], ["ea", "ec"], ["e"]]


def test_short_numbers():
    assert [short_number(x) for x in (0.0, 1.8e-15, 8.4e-9, 0.042, 2.0, 14.2)] == [
        "0",
        "2e-15",
        "8e-09",
        "0.042",
        "2",
        "14",
    ]


def _stream(text: str) -> nodes.literal_block:
    return nodes.literal_block(text, text, classes=["output", "stream"])


def test_blocks_a_cell_printed_in_several_flushes_are_read_as_one(capsys):
    """A kernel may flush one cell's output in several blocks: checks of one equation
    across them still share a line, and lines of other kinds stay, in order."""
    a = np.arange(1.0, 5.0)
    check("t-a", a, a)
    check("t-a", a, a)
    first, second = _printed(capsys)
    cell = nodes.container(classes=["cell_output"])
    cell += [_stream("before\n" + first + "\n"), _stream(second + "\nafter\n")]
    tree = nodes.document(None, None)
    tree += cell
    math = SimpleNamespace(equations={})  # no labelled equation: labels shown as code
    app = SimpleNamespace(
        builder=SimpleNamespace(format="html"),
        env=SimpleNamespace(get_domain=lambda name: math, toc_fignumbers={}),
    )
    rewrite_outputs(app, tree, "page")
    kinds = [type(n).__name__ for n in cell.children]
    assert kinds == ["literal_block", "check_lines", "literal_block"]
    assert [cell[0].astext(), cell[2].astext()] == ["before", "after"]
    (line,) = cell[1].findall(check_line)
    assert line.astext().startswith("✓ t-a 2 checks against a second exact form")
    assert len(list(cell[1].findall(nodes.row))) == 3  # the headers and two checks
    assert len(list(cell[1].findall(check_record))) == 1


# A book of one part: a page with two numbered equations whose cells check the second,
# run an erratum and print a line of their own, and a page whose check fails.
CONF = f"""
import os, sys
sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "docs" / "_ext")!r}]
os.environ["PYTHONPATH"] = os.pathsep.join([{str(ROOT)!r}, os.environ.get("PYTHONPATH", "")])
extensions = ["myst_nb", "verified_book.records", "verified_book.check_lines"]
nb_execution_mode = "force"
nb_execution_raise_on_error = False
nb_execution_show_tb = True
nb_merge_streams = True
numfig = True
math_numfig = True
numfig_secnum_depth = 2
math_numsep = "."
myst_enable_extensions = ["dollarmath", "amsmath"]
"""
INDEX = """
# A book

```{toctree}
:numbered:
part
```
"""
PAGE = """
---
file_format: mystnb
kernelspec: {name: python3, display_name: Python 3}
---
# A part

```{math}
:label: t-first
a = 1
```

```{math}
:label: t-second
\\frac{d}{dx} \\sin x = \\cos x
```

```{code-cell} python
import numpy as np
from lstm_notes import check, central_grad, complex_step_grad, erratum
x = np.linspace(0.1, 1, 6)
f = lambda v: np.sin(v).sum()
print("a line of its own")
check("t-second", np.cos(x), central_grad(f, x))
check("t-second", np.cos(x), complex_step_grad(f, x))
erratum("t-first", numeric=np.cos(x), as_written=np.sin(x), corrected=np.cos(x))
```

```{code-cell} python
check("t-second", -np.cos(x), complex_step_grad(f, x))
```
"""


@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory):
    project = tmp_path_factory.mktemp("tiny")
    (project / "docs").mkdir()
    (project / "conf.py").write_text(CONF)
    (project / "docs" / "index.md").write_text(INDEX)
    (project / "docs" / "part.md").write_text(textwrap.dedent(PAGE).lstrip())
    done = build_html.build(project, "_build", strict=False, timeout=300)
    page = project / "_build" / "html" / "part.html"
    assert page.exists(), done.stdout[-2000:] + done.stderr[-3000:]
    return page.read_text(encoding="utf-8")


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


@pytest.mark.build
def test_a_check_line_becomes_the_short_line_linked_to_its_number(tiny_site):
    eqno = re.search(
        r'id="equation-t-second">\s*<span class="eqno">\(([\d.]+)\)', tiny_site
    )
    assert eqno, "the equation has no number"
    number = eqno.group(1)
    assert "." in number, "the numbered toctree should give a number like 1.2"
    line = re.search(
        r'<div class="check-line">(.*?)(?:<details|</div>)', tiny_site, re.S
    )
    assert line, "no short line on the page"
    assert (
        f'href="#equation-t-second"><span class="check-eq">({number})</span></a>'
        in (line.group(1))
    )
    shown = _text(line.group(1)).strip()
    assert re.fullmatch(
        rf"✓ \({re.escape(number)}\) 2 checks against central differences "
        r"\(max rel\. error \S+\) and the complex step \(\S+\)",
        shown,
    ), shown
    assert "· complex step ·" not in _text(tiny_site), (
        "a compact line was left as printed"
    )


@pytest.mark.build
def test_the_full_record_is_there_closed(tiny_site):
    record = re.search(
        r'<details class="check-record">\s*<summary>full record</summary>(.*?)</details>',
        tiny_site,
        re.S,
    )
    assert record, "no full record"
    body = re.search(r"<tbody>(.*?)</tbody>", record.group(1), re.S)
    assert body, "the full record has no table"
    rows = [
        [_text(td).strip() for td in re.findall(r"<td>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    ]
    assert len(rows) == 4  # two checks, as written and corrected
    label, method, entries, max_abs, max_rel, tolerance, status = rows[0]
    assert (label, method, entries, status) == (
        "t-second",
        "central differences",
        "6",
        "passes",
    )
    assert re.fullmatch(r"\d\.\de-\d\d", max_abs) and re.fullmatch(
        r"\d\.\de-\d\d", max_rel
    )
    assert tolerance == "1e-08 + 1e-06·|n|"
    assert rows[2][0] == "t-first (as written)" and rows[2][-1] == "fails"
    assert rows[3][0] == "t-first (corrected)" and rows[3][-1] == "passes"


@pytest.mark.build
def test_an_erratum_reads_fails_then_passes_and_other_lines_stay(tiny_site):
    lines = [
        _text(m)
        for m in re.findall(
            r'<div class="check-line">(.*?)(?:<details|</div>)', tiny_site, re.S
        )
    ]
    assert re.fullmatch(
        r"✗ \([\d.]+\) as written fails by \S+, ✓ corrected passes at \S+, "
        r"against a second exact form",
        lines[1].strip(),
    ), lines
    assert "a line of its own" in tiny_site


@pytest.mark.build
def test_a_failing_check_still_shows_its_whole_message(tiny_site):
    text = _text(tiny_site)
    assert "CheckFailed" in text
    message = re.search(r"check 't-second' FAILED \(complex step\).*", text)
    assert message, "the failure message is missing"
    for part in ("max abs error", "max rel error", "worst entry", "tolerance"):
        assert part in message.group(0)


def test_a_cell_ending_with_holds_shows_no_bare_number():
    """holds() returns its largest ratio; a page whose cell ends with it showed the
    ratio as a bare figure under the statement (0.0143 beside "off by 7.0e-02")."""
    from IPython.core.formatters import DisplayFormatter

    ratio = holds("t: 1 <= 2", 1.0, 2.0)
    assert ratio == 0.5 and callable(type(ratio)._ipython_display_)
    assert ratio._ipython_display_() is None
    assert DisplayFormatter().format(ratio)[0] == {}
