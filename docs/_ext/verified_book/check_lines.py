"""The checks' lines under a cell: short, linked to their equation, the record on demand.

``check()`` prints one compact line per check (``CheckResult.short_line``: label,
method, entries, max rel and max abs error, tolerance) and ``erratum()`` two, the
formula as written and corrected. On every HTML page, and in the PDF, this transform
reads those lines back (``parse_short_line``) from the cells' printed output and shows
instead, per run of consecutive check lines:

- one short line per equation: a check mark, the equation's printed number linked to it,
  how many comparisons ("4 checks"), what the analytic side was compared against (the
  method in words, or the words the check was given) and the largest relative error, e.g.
  "✓ (2.2.4) 2 checks against the complex step: max rel. error 2e-15"; an erratum reads
  "✗ (4.1.3) as written fails by 14, ✓ corrected passes at 2e-15, against ...";
- after the last line, a ``<details>`` "full record" with every figure of every line
  (keyboard and screen reader accessible, closed by default); the PDF leaves it out (its
  appendix, the verification report, holds every record), and prints the equation's
  number unlinked.

Any other printed line stays as printed, in order; a failing check raises before it
prints, so its message (the cell's traceback) is never touched. The verification report
reads the JSON records, not these lines.
"""

from __future__ import annotations

from docutils import nodes

from lstm_notes.checking.check import parse_short_line
from lstm_notes.checking.numdiff import METHOD_NAMES

from .records import equation_of
from .report import FIGURES, _table

#: What a check was compared against, as the short line says it.
AGAINST = {
    "central": "central differences",
    "central-single": "a single central difference at its best step",
    "complex-step": "the complex step",
    "directional": "central differences along random directions",
    "directional-complex": "the complex step along random directions",
    "exact": "a second exact form",
    "fit": "the slopes the analysis predicts",
}


class check_lines(nodes.General, nodes.Element):
    """The short lines of a run of checks: ``<div class="check-lines">``."""


class check_line(nodes.General, nodes.TextElement):
    """One short line: ``<div class="check-line">``."""


class check_record(nodes.General, nodes.Element):
    """The full record, closed: ``<details class="check-record">``."""


def short_number(x: float) -> str:
    """A figure of the short line: one significant digit below 0.01, two above."""
    if x == 0:
        return "0"
    return f"{x:.0e}" if x < 1e-2 else f"{x:.2g}"


def against(rec: dict) -> str:
    """What the analytic side was compared against, in words."""
    if rec["against"]:
        if rec["method"] == "exact":
            return rec["against"]
        return f"{rec['against']} ({METHOD_NAMES[rec['method']]})"
    return AGAINST[rec["method"]]


def record_row(rec: dict) -> list[str]:
    """Every figure of one printed line, as a row of the full record."""
    head = rec["label"] + (f" ({rec['role']})" if rec["role"] else "")
    how = METHOD_NAMES[rec["method"]]
    if rec["against"]:
        how += f" against {rec['against']}"
    if "reason" in rec:
        return [head, how, "", "", "", "", f"fails: {rec['reason']}"]
    return [
        head,
        how,
        str(rec["entries"]),
        f"{rec['max_abs']:.1e}",
        f"{rec['max_rel']:.1e}",
        f"{rec['atol']:.0e} + {rec['rtol']:.0e}·|n|",
        "passes" if rec["passed"] else "fails",
    ]


def group(records: list[dict]) -> list[list[dict]]:
    """Consecutive checks of one label with the same words: one short line; an erratum's
    "as written" with its "corrected": one short line."""
    groups: list[list[dict]] = []
    for rec in records:
        last = groups[-1] if groups else None
        if last and rec["label"] == last[0]["label"]:
            if rec["role"] == "" and last[0]["role"] == "" and rec["passed"]:
                if rec["against"] == last[0]["against"] and last[0]["passed"]:
                    last.append(rec)
                    continue
            if rec["role"] == "corrected" and [r["role"] for r in last] == [
                "as written"
            ]:
                last.append(rec)
                continue
        groups.append([rec])
    return groups


def _num(x: float, words: str = "") -> nodes.inline:
    """A figure of the short line, with the words before it, never broken."""
    return nodes.inline(text=words + short_number(x), classes=["check-num"])


def _equation(app, fromdoc: str, label: str) -> nodes.Node:
    """The equation's printed number linked to it, or the label when it is none."""
    where = equation_of(app.env, label)
    if where is None:
        return nodes.literal(text=label)
    docname, number = where
    if app.builder.format != "html":  # the PDF: the number, which the page prints
        return nodes.inline(text=f"({number})", classes=["check-eq"])
    anchor = "#" + nodes.make_id(f"equation-{label}")
    uri = "" if docname == fromdoc else app.builder.get_relative_uri(fromdoc, docname)
    ref = nodes.reference("", "", internal=True, refuri=uri + anchor)
    ref += nodes.inline(text=f"({number})", classes=["check-eq"])
    return ref


def _mark(passed: bool) -> nodes.inline:
    return nodes.inline(
        text="✓" if passed else "✗", classes=["check-mark", "ok" if passed else "no"]
    )


def short_line(app, fromdoc: str, recs: list[dict]) -> check_line:
    """The line a reader sees for one group (see ``group``)."""
    line = check_line()
    first = recs[0]
    if first["role"]:
        wrong = first if first["role"] == "as written" else None
        fixed = recs[-1] if recs[-1]["role"] == "corrected" else None
        if wrong is not None:
            line += [_mark(False), nodes.Text(" ")]
            line += _equation(app, fromdoc, first["label"])
            if "reason" in wrong:
                shape = "shape" in wrong["reason"]
                line += nodes.Text(
                    " as written has the wrong shape"
                    if shape
                    else " as written cannot be evaluated"
                )
            else:
                line += [nodes.Text(" as written fails by "), _num(wrong["max_rel"])]
        if fixed is not None:
            line += nodes.Text(", " if wrong is not None else "")
            line += [_mark(True), nodes.Text(" ")]
            if wrong is None:
                line += _equation(app, fromdoc, first["label"])
                line += nodes.Text(" ")
            line += [nodes.Text("corrected passes at "), _num(fixed["max_rel"])]
        line += nodes.Text(f", against {against(fixed or wrong)}")
        return line
    line += [_mark(True), nodes.Text(" "), _equation(app, fromdoc, first["label"])]
    if len(recs) > 1:
        line += nodes.Text(f" {len(recs)} checks")
    # The words -> the largest max rel, in order of appearance.
    worst: dict[str, float] = {}
    for rec in recs:
        words = against(rec)
        worst[words] = max(worst.get(words, 0.0), rec["max_rel"])
    if len(worst) == 1:
        ((words, rel),) = worst.items()
        line += [nodes.Text(f" against {words}: "), _num(rel, "max rel. error ")]
        return line
    for i, (words, rel) in enumerate(worst.items()):
        sep = " against " if i == 0 else (" and " if i == len(worst) - 1 else ", ")
        line += nodes.Text(f"{sep}{words} (")
        line += [_num(rel, "max rel. error " if i == 0 else ""), nodes.Text(")")]
    return line


def check_nodes(app, fromdoc: str, records: list[dict]) -> check_lines:
    """A run of parsed lines: its short lines, the last followed by the full record."""
    out = check_lines()
    for recs in group(records):
        out += short_line(app, fromdoc, recs)
    table = _table(
        ["label", *FIGURES], [record_row(r) for r in records], [24, 20, 6, 8, 8, 14, 8]
    )
    table["classes"].append("check-record-table")
    record = check_record()
    record += table
    out[-1] += record  # not printed in the PDF, whose appendix holds every record
    return out


def _split(text: str) -> list[tuple[bool, list]]:
    """Runs of a printed output: (True, parsed check lines) or (False, other lines)."""
    runs: list[tuple[bool, list]] = []
    for line in text.split("\n"):
        parsed = parse_short_line(line)
        is_check = parsed is not None
        if not runs or runs[-1][0] != is_check:
            runs.append((is_check, []))
        runs[-1][1].append(parsed if is_check else line)
    return runs


def _is_stream(node) -> bool:
    return isinstance(node, nodes.literal_block) and {"output", "stream"} <= set(
        node["classes"]
    )


def rewrite_outputs(app, doctree, docname) -> None:
    """Every printed cell output with check lines: short lines and the full record.
    Consecutive printed blocks of one cell (the kernel may flush its output in several)
    are read as one."""
    if app.builder.format not in ("html", "latex"):
        return
    for cell in list(doctree.findall(nodes.container)):
        if "cell_output" not in cell["classes"]:
            continue
        at = 0
        while at < len(cell):
            if not _is_stream(cell[at]):
                at += 1
                continue
            end = at
            while end < len(cell) and _is_stream(cell[end]):
                end += 1
            blocks = cell[at:end]
            new = _rewrite(app, docname, blocks)
            cell[at:end] = new
            at += len(new)


def _rewrite(app, docname: str, blocks: list) -> list:
    """The nodes for consecutive printed blocks: as they were if no line is a check's."""
    runs = _split("\n".join(b.astext().rstrip("\n") for b in blocks))
    if not any(is_check for is_check, _ in runs):
        return blocks
    new: list[nodes.Node] = []
    for is_check, lines in runs:
        if is_check:
            new.append(check_nodes(app, docname, lines))
            continue
        text = "\n".join(lines).strip("\n")
        if text:
            kept = blocks[0].deepcopy()
            kept.children = []
            kept += nodes.Text(text)
            kept.rawsource = text
            new.append(kept)
    return new


def _visit_div(self, node):
    cls = "check-lines" if isinstance(node, check_lines) else "check-line"
    self.body.append(self.starttag(node, "div", CLASS=cls))


def _depart_div(self, node):
    self.body.append("</div>\n")


def _visit_details(self, node):
    self.body.append(self.starttag(node, "details", CLASS="check-record"))
    self.body.append("<summary>full record</summary>\n")


def _depart_details(self, node):
    self.body.append("</details>\n")


def _pass(self, node):
    pass


def _skip(self, node):
    raise nodes.SkipNode


def _visit_line_latex(self, node):
    self.body.append("\n\n\\noindent{}")


def _depart_line_latex(self, node):
    self.body.append("\n\n")


def setup(app):
    other = {b: (_pass, _pass) for b in ("text", "man", "texinfo")}
    app.add_node(
        check_lines, html=(_visit_div, _depart_div), latex=(_pass, _pass), **other
    )
    app.add_node(
        check_line,
        html=(_visit_div, _depart_div),
        latex=(_visit_line_latex, _depart_line_latex),
        **other,
    )
    # The PDF prints the short lines; its appendix (the verification report) holds
    # every record.
    app.add_node(
        check_record,
        html=(_visit_details, _depart_details),
        latex=(_skip, None),
        **other,
    )
    app.add_css_file("check_lines.css")
    app.connect("doctree-resolved", rewrite_outputs)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
