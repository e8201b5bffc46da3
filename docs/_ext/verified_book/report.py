"""The verification report: on its pages, and in the terminal.

- ``{verification-report}`` placeholders are filled with the recorded results once every
  page has run: every check by page (the default), the front page's ``:kind: summary``,
  or ``:kind: errata``, the sources' formulas as written. A labelled equation with no
  recorded check is listed as such and is a warning (an error under ``-W``).
- The sensitivity of each check (``make mutants``, ``tools/mutants.py``): when
  ``<builddir>/mutants.json`` was written for the same sources (its digest equals
  ``rebuild.sources_digest`` now), the report shows per equation how many of its
  non-equivalent mutants its own check killed, and the summary the totals; otherwise it
  says plainly that the sensitivity run is missing or stale, never old numbers.
- At the end of the build every failed check is listed in the terminal with its page,
  equation number and label, method, tolerance and measured error, and the exit status
  is made non-zero.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from lstm_notes.checking.check import TOLERANCES
from lstm_notes.checking.numdiff import METHOD_NAMES

from . import mystnb_internals
from .rebuild import reread_every_build, sources_digest
from .records import all_equations, current_records, doc_order, eq_key

logger = logging.getLogger(__name__)

MUTANTS_FILE = "mutants.json"
#: The columns of one check's figures, here and in the full record under a cell.
FIGURES = ["method", "entries", "max abs", "max rel", "tolerance", "status"]


class report_placeholder(nodes.General, nodes.Element):
    """Replaced by a table once every page has been executed."""


class ReportDirective(SphinxDirective):
    """``{verification-report}``: every check of the book; ``:kind: summary`` for the
    front page, ``:kind: errata`` for the table of the sources' formulas as written."""

    option_spec = {"kind": lambda arg: arg.strip()}

    def run(self):
        reread_every_build(self.env, self.env.docname)
        return [report_placeholder(kind=self.options.get("kind", "report"))]


def mutation_report(path: Path, digest: str) -> tuple[dict | None, str]:
    """The mutation run of ``make mutants`` if it belongs to these sources, else None and
    the reason, in words a reader can act on."""
    if not path.exists():
        return None, (
            "No sensitivity run belongs to this build: `make mutants` has not "
            "been run on these sources."
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return (
            None,
            "The sensitivity run's file cannot be read; run `make mutants` again.",
        )
    if data.get("digest") != digest:
        return None, (
            "The sensitivity run on file was made for other sources (the pages "
            "or lstm_notes have changed since): its numbers are not shown; run "
            "`make mutants` again."
        )
    return data, ""


def _mutations(app) -> tuple[dict | None, str]:
    cached = getattr(app, "_lstm_notes_mutations", None)
    if cached is None:
        root = Path(app.confdir)
        path = Path(app.outdir).parent / MUTANTS_FILE
        cached = mutation_report(path, sources_digest(root))
        app._lstm_notes_mutations = cached
    return cached


def non_equivalent(counts: dict) -> int:
    return counts["killed"] + counts["survived"] + counts["elsewhere"]


def mutation_nodes(app) -> list[nodes.Node]:
    """One paragraph: the totals of the sensitivity run, or why there are none."""
    data, why = _mutations(app)
    if data is None:
        return [nodes.paragraph(text=why)]
    labels = data["labels"]
    total = {
        k: sum(v[k] for v in labels.values())
        for k in ("killed", "survived", "equivalent", "elsewhere")
    }
    moved = sum(non_equivalent(v) for v in labels.values())
    without = sum(1 for v in labels.values() if non_equivalent(v) == 0)
    text = (
        f"Sensitivity (make mutants, on these sources, {data['seconds']:.0f} s): of "
        f"{moved} mutants of the formulas behind {len(labels)} labelled equations that "
        f"changed a computed value, {total['killed']} were caught by the equation's own "
        f"check, {total['elsewhere']} by an earlier check of the same page, and "
        f"{total['survived']} by none; {total['equivalent']} changed nothing. "
        f"{without} equations have no mutant that changes their value."
    )
    pkg = data.get("package")
    if pkg:
        text += (
            f" Of {pkg['sampled']} mutants drawn at random from the package's formula "
            f"code, {pkg['killed']} fail the build."
        )
    return [nodes.paragraph(text=text)]


def _link(app, fromdoc: str, rec: dict) -> nodes.Node:
    if rec["docname"] is None:
        return nodes.paragraph("", "", nodes.literal(text=rec["label"]))
    uri = app.builder.get_relative_uri(fromdoc, rec["docname"])
    ref = nodes.reference(
        "",
        "",
        internal=True,
        refuri=f"{uri}#{nodes.make_id('equation-' + rec['label'])}",
    )
    ref += nodes.Text(f"({rec['eqno']}) ")
    ref += nodes.literal(text=rec["label"])
    return nodes.paragraph("", "", ref)


def _table(headers: list[str], rows: list[list], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["verification-table"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for w in widths:
        group += nodes.colspec(colwidth=w)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for h in headers:
        row += nodes.entry("", nodes.paragraph(text=h))
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += (
                cell
                if isinstance(cell, nodes.Node)
                else nodes.paragraph(text=str(cell))
            )
            row += entry
        body += row
    return table


def _worst_by_method(records) -> dict[str, dict]:
    worst: dict[str, dict] = {}
    for rec in records:
        if rec.get("kind") in ("check", "corrected") and "max_rel" in rec:
            best = worst.get(rec["method"])
            if best is None or rec["max_rel"] > best["max_rel"]:
                worst[rec["method"]] = rec
    return worst


def summary_nodes(app, fromdoc: str, records) -> list[nodes.Node]:
    checks = [r for r in records if r.get("kind") in ("check", "corrected")]
    labels = {r["label"] for r in checks}
    failed = [r for r in checks if not r["passed"]]
    errata = {r["label"] for r in records if r.get("kind") == "as-written"}
    by_method = defaultdict(int)
    for r in checks:
        by_method[r["method"]] += 1
    kinds = ", ".join(
        f"{n} against {METHOD_NAMES[m]}"
        for m, n in sorted(by_method.items(), key=lambda item: -item[1])
    )
    para = nodes.paragraph(
        text=(
            f"This build checked {len(labels)} labelled equations with {len(checks)} "
            f"comparisons ({kinds}; {len(failed)} failed) and showed {len(errata)} "
            f'formulas of the sources failing their checks. "Two exact forms" compares the '
            f"formula with a literal, term-by-term evaluation of it or with a second "
            f"algorithm; the others with numerical differentiation."
        )
    )
    rows = []
    for method, rec in sorted(_worst_by_method(records).items()):
        # The tolerance this check used: a page may set its own (and says why there).
        rtol, atol = (
            rec.get("rtol", TOLERANCES[method][0]),
            rec.get("atol", TOLERANCES[method][1]),
        )
        own = "" if (rtol, atol) == TOLERANCES[method] else " (set on its page)"
        rows.append(
            [
                METHOD_NAMES[method],
                f"{rec['max_rel']:.1e}",
                f"{rec['max_abs']:.1e}",
                f"rtol {rtol:.0e}, atol {atol:.0e}{own}",
                _link(app, fromdoc, rec),
            ]
        )
    table = _table(
        ["method", "worst max rel", "its max abs", "tolerance", "where"],
        rows,
        [22, 12, 12, 20, 34],
    )
    return [para, table, *mutation_nodes(app)]


def unchecked_equations(app, records) -> list[tuple[str, str, str]]:
    recorded = {r["label"] for r in records if r.get("kind") in ("check", "corrected")}
    return [e for e in all_equations(app.env) if e[0] not in recorded]


def _errata_table(app, fromdoc: str, records) -> list[nodes.Node]:
    wrong = [r for r in records if r.get("kind") == "as-written"]
    if not wrong:
        return []
    fixed = {
        (r["label"], r["method"]): r for r in records if r.get("kind") == "corrected"
    }
    order = doc_order(app.env)
    wrong.sort(key=lambda r: (order.get(r["docname"], 10**6), eq_key(r["eqno"])))
    rows = []
    for r in wrong:
        good = fixed.get((r["label"], r["method"]))
        rows.append(
            [
                _link(app, fromdoc, r),
                METHOD_NAMES[r["method"]],
                f"{r['max_rel']:.1e}"
                if "max_rel" in r
                else (
                    "wrong shape"
                    if "shape" in r.get("note", "")
                    else "cannot be evaluated"
                ),
                f"{good['max_rel']:.1e}" if good else "",
                f"{r['atol']:.0e} + {r['rtol']:.0e}·|n|"
                if "rtol" in r
                else (f"{good['atol']:.0e} + {good['rtol']:.0e}·|n|" if good else ""),
            ]
        )
    intro = nodes.paragraph(
        text=(
            "Each formula of a source that the errata pages show failing: its max rel error "
            "as written, and that of the corrected formula (which must pass)."
        )
    )
    return [
        nodes.rubric(text="The sources' formulas as written"),
        intro,
        _table(
            [
                "equation",
                "method",
                "max rel as written",
                "max rel corrected",
                "tolerance",
            ],
            rows,
            [30, 22, 16, 16, 16],
        ),
    ]


def report_nodes(app, fromdoc: str, records) -> list[nodes.Node]:
    order = doc_order(app.env)
    checks = [r for r in records if r.get("kind") in ("check", "corrected")]
    checks.sort(
        key=lambda r: (order.get(r["docname"], 10**6), eq_key(r["eqno"]), r["method"])
    )
    by_page: dict[str, list] = defaultdict(list)
    for rec in checks:
        by_page[rec["docname"] or "(label not found)"].append(rec)
    mutations = _mutations(app)[0]
    out: list[nodes.Node] = [*mutation_nodes(app)]
    for docname, recs in by_page.items():
        title = app.env.titles.get(docname)
        # The page's title as nodes, so that math in it is typeset, not shown as TeX.
        heading = (
            nodes.rubric("", "", *[c.deepcopy() for c in title.children])
            if title is not None
            else nodes.rubric(text=docname)
        )
        rows = [
            [
                _link(app, fromdoc, r),
                METHOD_NAMES[r["method"]]
                + (f" against {r['against']}" if r.get("against") else ""),
                r["entries"],
                f"{r['max_abs']:.1e}",
                f"{r['max_rel']:.1e}",
                f"{r['atol']:.0e} + {r['rtol']:.0e}·|n|",
                "pass" if r["passed"] else "FAIL",
                _killed(mutations, r["label"]),
            ]
            for r in recs
        ]
        out.append(heading)
        out.append(
            _table(
                ["equation", *FIGURES, "mutants killed"],
                rows,
                [28, 20, 8, 10, 10, 16, 8, 10],
            )
        )
    missing = unchecked_equations(app, records)
    if missing:
        out.append(nodes.rubric(text="Labelled equations without a recorded check"))
        rows = [
            [
                _link(app, fromdoc, {"label": label, "docname": doc, "eqno": eqno}),
                "no check recorded",
            ]
            for label, doc, eqno in missing
        ]
        out.append(_table(["equation", "status"], rows, [40, 30]))
    out.extend(_errata_table(app, fromdoc, records))
    if checks or missing:
        build = nodes.paragraph(
            text=(
                f"Recorded by the build of version {app.config.release} "
                f"({getattr(app.config, 'build_date', '') or 'date unknown'})."
            )
        )
        out.insert(0, build)
    return out


def _killed(mutations: dict | None, label: str) -> str:
    """ "killed / non-equivalent" of the label's mutants, or a dash without a current run."""
    if mutations is None:
        return "–"
    counts = mutations["labels"].get(label)
    if counts is None:
        return "not mutated"
    return f"{counts['killed']} / {non_equivalent(counts)}"


def _fill_placeholders(app, doctree, docname):
    placeholders = list(doctree.findall(report_placeholder))
    if not placeholders:
        return
    records = current_records(app)
    for node in placeholders:
        if node["kind"] == "summary":
            node.replace_self(summary_nodes(app, docname, records))
        elif node["kind"] == "errata":
            node.replace_self(
                _errata_table(app, docname, records)
                or [nodes.paragraph(text="No erratum has been recorded.")]
            )
        else:
            node.replace_self(
                report_nodes(app, docname, records)
                or [nodes.paragraph(text="No check has been recorded.")]
            )
            failed = mystnb_internals.failed_pages(app.env)  # reported at the end
            for label, doc, eqno in unchecked_equations(app, records):
                if doc in failed:
                    continue
                logger.warning(
                    f"equation ({eqno}) {label!r} of {doc} has no recorded check: its cell "
                    "must call check() or erratum() with this label",
                    type="verification",
                    subtype="unchecked",
                    location=docname,
                )


def _summary_in_terminal(app, exception):
    if exception is not None:
        return
    failed_docs = mystnb_internals.failed_pages(app.env)
    if not failed_docs:
        return
    records = [
        r
        for r in current_records(app)
        if r.get("kind") in ("check", "corrected", "refused") and not r["passed"]
    ]
    lines = [f"VERIFICATION FAILED on {len(failed_docs)} page(s):"]
    for docname, data in sorted(failed_docs.items()):
        page = "docs/" + str(app.env.doc2path(docname, False))
        mine = [r for r in records if r["docname"] == docname]
        if not mine:
            lines.append(
                f"  page {page}: execution failed with {data.get('error')} "
                "(traceback above)"
            )
        for r in mine:
            if "max_abs" not in r:  # a value the check refused to compare
                lines.append(
                    f"  page {page}, equation ({r['eqno']}) {r['label']!r}: {r['note']}"
                )
                continue
            lines.append(
                f"  page {page}, equation ({r['eqno']}) {r['label']!r}: "
                f"{METHOD_NAMES[r['method']]}, tolerance |a - n| <= {r['atol']:.0e} + "
                f"{r['rtol']:.0e}·|n|, max abs error {r['max_abs']:.3e}, "
                f"max rel error {r['max_rel']:.3e}, worst entry {r['worst_index']}"
            )
    logger.error("\n".join(lines))
    app.statuscode = 1


def setup(app):
    app.add_node(report_placeholder)
    app.add_directive("verification-report", ReportDirective)
    app.connect("doctree-resolved", _fill_placeholders)
    app.connect("build-finished", _summary_in_terminal)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
