"""The cite page's BibTeX entries (``{cite-bibtex}``), made from the build itself.

Version, date, addresses and equation numbers are this build's, so a page with the
directive is re-read by every build (equation numbers of other pages may have moved).
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .rebuild import reread_every_build
from .records import all_equations, equation_of

logger = logging.getLogger(__name__)


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
        reread_every_build(self.env, self.env.docname)
        node = citation_placeholder()
        if "equation" in self.options:
            node["equation"] = self.options["equation"]
        if "page" in self.options:
            node["page"] = self.options["page"]
        return [node]


def _bib(text: str) -> str:
    """Text for a BibTeX field: special characters escaped, acronyms kept upper case."""
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


def _fill_placeholders(app, doctree, docname):
    for node in list(doctree.findall(citation_placeholder)):
        node.replace_self(citation_nodes(app, docname, node))


def setup(app):
    app.add_node(citation_placeholder)
    app.add_directive("cite-bibtex", CiteBibtexDirective)
    app.connect("doctree-resolved", _fill_placeholders)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
