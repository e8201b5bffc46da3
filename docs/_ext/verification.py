"""The build's guarantee, as a Sphinx extension.

1. Kernels executing the pages write one JSON record per check into
   ``<doctreedir>/checks`` (the variable ``LSTM_NOTES_RECORD_DIR``, set here before any
   page is executed, is inherited by every kernel).
2. ``lstm_notes_digest`` (set in ``conf.py`` to a digest of the package's sources) is an
   ``env`` config value: any change to ``lstm_notes`` re-reads, so re-executes, every page.
3. A page whose execution failed is re-read by the next build even if it did not change,
   so a failed build never turns green by being run again.
4. At the end of the build every failed check is listed in the terminal with its page,
   equation number and label, method, tolerance and measured error, and the exit status is
   made non-zero.
5. ``{verification-report}`` (and ``:kind: summary``) placeholders are filled with the
   recorded results once every page has run. A labelled equation of the book with no
   recorded check is listed as such and is a warning (an error under ``-W``).

6. The sensitivity of each check (``make mutants``, ``tools/mutants.py``): when
   ``<builddir>/mutants.json`` was written for the same sources (its digest equals
   ``digest.sources_digest`` now), the report shows per equation how many of its
   non-equivalent mutants its own check killed, and the summary the totals; otherwise
   it says plainly that the sensitivity run is missing or stale, never old numbers.

The same resolution (label -> page and printed number) serves ``{cite-bibtex}``, the
BibTeX entries of the cite page: for the book, for one page, or for one equation with its
permalink (``<html_baseurl><page>.html#equation-<label>``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from pathlib import Path

from digest import sources_digest
from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from lstm_notes.checking.check import RECORD_ENV, TOLERANCES, load_records
from lstm_notes.checking.numdiff import METHOD_NAMES

logger = logging.getLogger(__name__)

REPORT_PAGES_KEY = "verification_pages"


class report_placeholder(nodes.General, nodes.Element):
    """Replaced by a table once every page has been executed."""


class ReportDirective(SphinxDirective):
    """``{verification-report}``: every check of the book; ``:kind: summary`` for the
    front page, ``:kind: errata`` for the table of the sources' formulas as written."""

    option_spec = {"kind": lambda arg: arg.strip()}

    def run(self):
        kind = self.options.get("kind", "report")
        pages = getattr(self.env, REPORT_PAGES_KEY, set())
        pages.add(self.env.docname)
        setattr(self.env, REPORT_PAGES_KEY, pages)
        return [report_placeholder(kind=kind)]


def record_dir(app) -> Path:
    return Path(app.doctreedir) / "checks"


def on_builder_inited(app):
    os.environ[RECORD_ENV] = str(record_dir(app))


def on_env_before_read_docs(app, env, docnames):
    # A full read re-executes every page: start from an empty record folder so that no
    # result of an earlier build survives.
    if set(docnames) >= set(env.found_docs) and record_dir(app).exists():
        shutil.rmtree(record_dir(app))


def _nb_metadata_collector():
    """myst-nb's record of each page's execution, the one internal of myst-nb the
    guarantee relies on (PITFALLS 28). If it moves, the build must stop, not go on
    without knowing which pages failed; tests/test_extension.py breaks first."""
    try:
        from myst_nb.sphinx_ import NbMetadataCollector
    except ImportError as err:
        raise RuntimeError(
            "myst_nb.sphinx_.NbMetadataCollector is gone: the verification extension "
            "cannot tell which pages failed to execute; pin the myst-nb version of "
            "pyproject.toml or port docs/_ext/verification.py"
        ) from err
    if not callable(getattr(NbMetadataCollector, "get_exec_data", None)):
        raise RuntimeError(
            "myst-nb's NbMetadataCollector has no get_exec_data any more; "
            "port docs/_ext/verification.py"
        )
    return NbMetadataCollector


def _failed_docs(env) -> dict[str, dict]:
    NbMetadataCollector = _nb_metadata_collector()
    failed = {}
    for docname in env.found_docs:
        data = NbMetadataCollector.get_exec_data(env, docname)
        if data and not data.get("succeeded", True):
            failed[docname] = data
    return failed


def on_env_get_outdated(app, env, added, changed, removed):
    # Pages that failed last time run again; report pages are rebuilt from fresh records.
    again = set(_failed_docs(env)) | getattr(env, REPORT_PAGES_KEY, set())
    return sorted(again & set(env.found_docs) - added - changed)


def on_env_purge_doc(app, env, docname):
    getattr(env, REPORT_PAGES_KEY, set()).discard(docname)


def on_env_merge_info(app, env, docnames, other):
    # A parallel build (sphinx-build -j) reads pages in subprocesses: keep their report
    # and cite pages, so that the next build re-reads them too.
    pages = getattr(env, REPORT_PAGES_KEY, set())
    pages |= getattr(other, REPORT_PAGES_KEY, set())
    setattr(env, REPORT_PAGES_KEY, pages)


def equation_of(env, label: str) -> tuple[str, str] | None:
    """(docname, printed number) of a labelled equation, or None."""
    found = env.get_domain("math").equations.get(label)
    if not found:
        return None
    docname, number = found
    node_id = nodes.make_id(f"equation-{label}")
    numbers = env.toc_fignumbers.get(docname, {}).get("displaymath", {}).get(node_id)
    text = ".".join(map(str, numbers)) if numbers else str(number)
    return docname, text


def current_records(app) -> list[dict]:
    folder = record_dir(app)
    if not folder.exists():
        return []
    env = app.env
    records = []
    for rec in load_records(folder):
        where = equation_of(env, rec["label"])
        rec["docname"], rec["eqno"] = where if where else (None, "")
        records.append(rec)
    return records


MUTANTS_FILE = "mutants.json"


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


def all_equations(env) -> list[tuple[str, str, str]]:
    """(label, docname, printed number) of every labelled equation read, in book order."""
    found = []
    for label in env.get_domain("math").equations:
        where = equation_of(env, label)
        if where:
            found.append((label, *where))
    order = _doc_order(env)
    found.sort(key=lambda e: (order.get(e[1], 10**6), _eq_key(e[2]), e[0]))
    return found


def _doc_order(env) -> dict[str, int]:
    """Docnames in reading order (the toctree's), then any others alphabetically."""
    seq = [env.config.root_doc]
    seen = set(seq)

    def walk(doc):
        for child in env.toctree_includes.get(doc, []):
            if child not in seen:
                seen.add(child)
                seq.append(child)
                walk(child)

    walk(env.config.root_doc)
    rest = sorted(set(env.found_docs) - set(seq))
    return {name: i for i, name in enumerate(seq + rest)}


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
    order = _doc_order(app.env)
    wrong.sort(key=lambda r: (order.get(r["docname"], 10**6), _eq_key(r["eqno"])))
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
    order = _doc_order(app.env)
    checks = [r for r in records if r.get("kind") in ("check", "corrected")]
    checks.sort(
        key=lambda r: (order.get(r["docname"], 10**6), _eq_key(r["eqno"]), r["method"])
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
                METHOD_NAMES[r["method"]],
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
                [
                    "equation",
                    "method",
                    "entries",
                    "max abs",
                    "max rel",
                    "tolerance",
                    "status",
                    "mutants killed",
                ],
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


def _eq_key(eqno: str):
    try:
        return tuple(int(p) for p in eqno.split("."))
    except ValueError:
        return (10**6,)


def on_doctree_resolved(app, doctree, docname):
    for node in list(doctree.findall(citation_placeholder)):
        node.replace_self(citation_nodes(app, docname, node))
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
            failed = _failed_docs(app.env)  # their failure is reported at the end
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


# --- citing ------------------------------------------------------------------------


class citation_placeholder(nodes.General, nodes.Element):
    """Replaced by a BibTeX block once equation numbers are known."""


class CiteBibtexDirective(SphinxDirective):
    """``{cite-bibtex}``: the BibTeX entry for the book (no option), for one page
    (``:page: docname``) or for one equation (``:equation: label``; with an empty value,
    the book's first labelled equation). Version, date and addresses come from the build."""

    option_spec = {
        "page": lambda a: (a or "").strip(),
        "equation": lambda a: (a or "").strip(),
    }

    def run(self):
        # Re-read at every build: equation numbers of other pages may have moved.
        pages = getattr(self.env, REPORT_PAGES_KEY, set())
        pages.add(self.env.docname)
        setattr(self.env, REPORT_PAGES_KEY, pages)
        node = citation_placeholder()
        if "equation" in self.options:
            node["equation"] = self.options["equation"]
        if "page" in self.options:
            node["page"] = self.options["page"]
        return [node]


def _bib(text: str) -> str:
    """Text for a BibTeX field: special characters escaped, acronyms kept upper case."""
    import re

    text = (
        text.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("&", r"\&")
    )
    return re.sub(r"\b([A-Z]{2,}s?)\b", r"{\1}", text)


def _title_tex(env, docname: str) -> str:
    """A page's title for BibTeX: text escaped, math kept as $TeX$."""
    parts = []
    for child in env.titles[docname].children:
        if isinstance(child, nodes.math):
            parts.append(f"${child.astext()}$")
        else:
            parts.append(_bib(child.astext()))
    return "".join(parts)


def citation_nodes(app, fromdoc: str, node) -> list[nodes.Node]:
    cfg, env = app.config, app.env
    base = (cfg.html_baseurl or "").rstrip("/") + "/"
    date = getattr(cfg, "build_date", "") or ""
    book = _bib(cfg.project)
    key = f"lstmnotes{date[:4]}"
    note = f"Version {cfg.release}, built {date}"
    if "equation" in node:
        label = node["equation"]
        if not label:  # the book's first labelled equation, as an example
            eqs = all_equations(env)
            if not eqs:
                return [nodes.paragraph(text="(No labelled equation in this build.)")]
            label = eqs[0][0]
        where = equation_of(env, label)
        if where is None:
            logger.warning(
                f"cite-bibtex: no equation labelled {label!r}", location=node
            )
            return []
        doc, eqno = where
        page = _title_tex(env, doc)
        url = f"{base}{doc}.html#{nodes.make_id('equation-' + label)}"
        key += "-" + label
        title = f"Equation ({eqno}), ``{page}'', in \\emph{{{book}}}"
        note += f"; equation label \\texttt{{{_bib(label)}}}"
    elif "page" in node:
        doc = node["page"] or fromdoc
        if doc not in env.found_docs:
            logger.warning(f"cite-bibtex: no page {doc!r}", location=node)
            return []
        url = f"{base}{doc}.html"
        key += "-" + doc.replace("/", "-")
        title = f"``{_title_tex(env, doc)}'', in \\emph{{{book}}}"
    else:
        url, title = base, book
    fields = {
        "author": r"{The lstm\_notes authors}",
        "title": title,
        "year": date[:4],
        "version": cfg.release,
        "howpublished": f"\\url{{{url}}}",
        "url": url,
        "urldate": date,
        "note": note,
    }
    width = max(map(len, fields))
    body = ",\n".join(f"  {k.ljust(width)} = {{{v}}}" for k, v in fields.items())
    text = f"@misc{{{key},\n{body}\n}}"
    return [nodes.literal_block(text, text, language="bibtex")]


def on_build_finished(app, exception):
    if exception is not None:
        return
    failed_docs = _failed_docs(app.env)
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
    app.add_config_value("lstm_notes_digest", "", "env")
    app.add_node(report_placeholder)
    app.add_directive("verification-report", ReportDirective)
    app.add_node(citation_placeholder)
    app.add_directive("cite-bibtex", CiteBibtexDirective)
    app.connect("builder-inited", on_builder_inited)
    app.connect("env-before-read-docs", on_env_before_read_docs)
    app.connect("env-get-outdated", on_env_get_outdated)
    app.connect("env-purge-doc", on_env_purge_doc)
    app.connect("env-merge-info", on_env_merge_info)
    app.connect("doctree-resolved", on_doctree_resolved)
    app.connect("build-finished", on_build_finished)
    return {
        "version": "1",
        "parallel_read_safe": True,
        "parallel_write_safe": True,
        "env_version": 1,
    }
