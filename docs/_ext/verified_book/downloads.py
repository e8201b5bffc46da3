"""What a reader takes away from the site: the book as a PDF, each page as a notebook.

- The PDF (`make pdf`, tools/build_pdf.py) is linked only when it belongs to the sources
  being built: its stamp (``latex.stamp_path``) holds the digest of the sources it was
  made from, and ``book_pdf`` is set at ``config-inited`` only when that digest is the
  current one. Then the html build copies it into the site, the header shows a "PDF"
  button and ``{downloads}`` (the front page) links it; a site built without the PDF
  never links it, so the link cannot 404.
- Every page with code is offered as a notebook with the outputs of this build: myst-nb
  writes the executed notebook of each page to ``<builddir>/jupyter_execute``; it is
  copied to ``_sources/<page>.ipynb``, which the theme's download menu offers, with a
  first cell that says how to install ``lstm_notes`` and with the MyST that Jupyter
  cannot render (numbered ``{math}`` blocks, ``{eq}`` references) turned into the
  Markdown math it can, with the site's equation numbers. `make notebooks` collects them.
"""

from __future__ import annotations

import json
import posixpath
import re
import shutil
from pathlib import Path

import nbformat
from docutils import nodes
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

from . import mystnb_internals
from .latex import PDF_NAME, stamp_path
from .rebuild import sources_digest
from .records import equation_of

INSTALL = """\
**{project}**, version {release} (built {date}): the page
[{title}]({url}) as a notebook, with the outputs of that build.

Its code cells compute the page's formulas with the package `lstm_notes` and check
them against independent computations. To run them, install the package from the
book's repository first (Python 3.11 or later), with what the notebooks use beside it
(matplotlib for the plots, myst-nb for the values shown in the text), in a terminal:

```sh
pip install "lstm_notes[notebook] @ git+{repository}"
```

or in a cell: `%pip install "lstm_notes[notebook] @ git+{repository}"`. Then *Run All*:
every check prints one line, and a formula that disagrees with its check raises
`CheckFailed`."""

#: A {math} block: its option lines (``:label: ...``, one line each), then its TeX.
MATH_BLOCK = re.compile(r"```\{math\}\n((?::[\w-]+:[^\n]*\n)*)(.*?)\n```", re.S)
EQ_ROLE = re.compile(r"\{eq\}`([^`]+)`")
TARGET = re.compile(r"^\([\w-]+\)=\n", re.M)  # a MyST label before a title
#: {doc}`target` or {doc}`text <target>`; {ref}`label` or {ref}`text <label>`.
LINK_ROLE = re.compile(r"\{(doc|ref)\}`(?:([^`<]*?)\s*<([^`>]+)>|([^`]+))`")
CITE_ROLE = re.compile(r"\{cite(?::([tp]))?\}`([^`]+)`")
#: A fenced directive that Jupyter would print raw: an admonition, or a diagram.
DIRECTIVE = re.compile(
    r"```\{(warning|note|tip|important|diagram)\}[ ]*([^\n]*)\n(.*?)```", re.S
)
#: A colon-fenced admonition or dropdown: its title, its option lines, its body.
COLON_FENCE = re.compile(
    r"^:::\{(admonition|dropdown)\}[ ]*([^\n]*)\n((?::[\w-]+:[^\n]*\n)*)(.*?)^:::[ ]*$",
    re.S | re.M,
)
#: {glue:text}`name`, {glue:math}`name`, {glue}`name`, and the ```{glue:math} name``` block.
GLUE = re.compile(
    r"\{glue(?::\w+)?\}`([^`:]+)[^`]*`|```\{glue(?::\w+)?\} ([\w-]+)\n```"
)


class downloads_placeholder(nodes.General, nodes.Element):
    """Replaced, when the page is written, by the links the build can offer."""


class DownloadsDirective(SphinxDirective):
    """``{downloads}``: the PDF (when built) and the notebooks, in a paragraph."""

    def run(self):
        return [downloads_placeholder()]


def _current_pdf(app, config):
    """``book_pdf``: the PDF's file name if `make pdf` made it from these sources."""
    latexdir = Path(app.outdir).parent / "latex"
    pdf = latexdir / f"{PDF_NAME}.pdf"
    try:
        stamp = json.loads(stamp_path(latexdir).read_text())
    except (OSError, ValueError):
        stamp = {}
    current = pdf.exists() and stamp.get("digest") == sources_digest(Path(app.confdir))
    config.book_pdf = pdf.name if current else ""


def _fill_placeholders(app, doctree, docname):
    for node in list(doctree.findall(downloads_placeholder)):
        para = nodes.paragraph()
        pdf = app.config.book_pdf if app.builder.format == "html" else ""
        if pdf:
            uri = relative_uri(app.builder.get_target_uri(docname), pdf)
            para += nodes.Text("Take it away: ")
            para += nodes.reference(
                "", "the whole book as a PDF", refuri=uri, classes=["book-pdf-link"]
            )
            para += nodes.Text(
                f" (version {app.config.release}, {app.config.build_date}, the same "
                "build and checks as these pages), and "
            )
        else:
            para += nodes.Text("Take it away: ")
        para += nodes.Text(
            "every page with code as a Jupyter notebook with this build's outputs "
            "(the download button at the top of the page, .ipynb)."
        )
        node.replace_self(para)


def _cited(app) -> dict[str, tuple[str, str]]:
    """Bibliography key -> (authors as cited, year), from the book's .bib files."""
    cached = getattr(app, "_lstm_notes_cited", None)
    if cached is None:
        from pybtex.database import parse_file  # sphinxcontrib-bibtex's parser

        cached = {}
        for bib in app.config.bibtex_bibfiles:
            for key, entry in parse_file(Path(app.confdir) / bib).entries.items():
                names = [
                    "".join(person.last_names).replace("{", "").replace("}", "")
                    for person in entry.persons.get("author", [])
                ] or [entry.fields.get("organization", key)]
                if len(names) == 2:
                    who = f"{names[0]} and {names[1]}"
                else:
                    who = names[0] + (" et al." if len(names) > 2 else "")
                cached[key] = (who, entry.fields.get("year", ""))
        app._lstm_notes_cited = cached
    return cached


def _myst_to_jupyter(source: str, app, docname: str) -> str:
    """MyST that Jupyter does not read, as Markdown it does: numbered {math} blocks as
    $$ ... \\tag{n} $$, {eq} references as (n), {doc} and {ref} links and {cite}
    citations as links to the site's pages, glued values as a pointer to the cell that
    displays them, and no ``(label)=`` lines."""
    env = app.env
    site = app.config.html_baseurl.rstrip("/") + "/"

    def number(label: str) -> str:
        where = equation_of(env, label.strip())
        return where[1] if where else label

    def block(match: re.Match) -> str:
        label = re.search(r"^:label:\s*(\S+)", match.group(1), re.M)
        tag = f" \\tag{{{number(label.group(1))}}}" if label else ""
        return f"$$\n{match.group(2).strip()}{tag}\n$$"

    def link(match: re.Match) -> str:
        role, text, target = match.group(1), match.group(2), match.group(3)
        target = (target or match.group(4)).strip()
        if role == "doc":
            base = "" if target.startswith("/") else posixpath.dirname(docname)
            doc = posixpath.normpath(posixpath.join(base, target.lstrip("/")))
            title = env.titles.get(doc)
            text = text or (title.astext() if title is not None else doc)
            return f"[{text}]({site}{doc}.html)"
        doc, anchor, title = env.get_domain("std").labels.get(target, (None, "", ""))
        if doc is None:
            return text or target
        return f"[{text or title}]({site}{doc}.html#{anchor})"

    def cite(match: re.Match) -> str:
        found = [
            _cited(app).get(k.strip(), (k.strip(), ""))
            for k in match.group(2).split(",")
        ]
        if match.group(1) == "t":
            return "; ".join(f"{who} ({year})" for who, year in found)
        return "(" + "; ".join(f"{who} {year}" for who, year in found) + ")"

    def glue(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        return f"*(the value `{name}`, which the code cells above display when run)*"

    def quoted(lines: list[str]) -> str:  # an admonition, as a Markdown quote
        return "\n".join(f"> {line}".rstrip() for line in lines)

    def directive(match: re.Match) -> str:
        kind, argument, body = match.groups()
        if kind == "diagram":
            return (
                f"*(The diagram `{argument}` is drawn on "
                f"[this page on the site]({site}{docname}.html).)*"
            )
        return quoted(
            [f"**{kind.capitalize()}.** {argument}".rstrip(), *body.splitlines()]
        )

    def fenced(match: re.Match) -> str:
        kind, title, _, body = match.groups()
        if kind == "dropdown":  # folded, as on the site
            return (
                f"<details><summary>{title}</summary>\n\n{body.strip()}\n\n</details>"
            )
        return quoted([f"**{title}**", "", *body.strip().splitlines()])

    source = TARGET.sub("", MATH_BLOCK.sub(block, source))
    source = COLON_FENCE.sub(fenced, DIRECTIVE.sub(directive, source))
    source = GLUE.sub(glue, CITE_ROLE.sub(cite, LINK_ROLE.sub(link, source)))
    return EQ_ROLE.sub(lambda m: f"({number(m.group(1))})", source)


def notebook_of(app, pagename: str, executed: Path) -> nbformat.NotebookNode:
    """The executed notebook of a page, as readers download it."""
    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _myst_to_jupyter(cell.source, app, pagename)
    title = app.env.titles.get(pagename)
    first = INSTALL.format(
        project=app.config.project,
        release=app.config.release,
        date=app.config.build_date,
        title=title.astext() if title is not None else pagename,
        url=app.config.html_baseurl.rstrip("/") + f"/{pagename}.html",
        repository=app.config.html_theme_options.get("repository_url", ""),
    )
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(first))
    nb.nbformat_minor = max(nb.nbformat_minor, 5)
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"  # the same in every build of the same page
    return nb


def _page_context(app, pagename, templatename, context, doctree):
    """Before the theme's header buttons (priority 501): the page's notebook, which the
    download menu then offers as .ipynb."""
    if doctree is None or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return  # not a page of the book, or a page without code
    executed = mystnb_internals.executed_notebook(app.env, pagename)
    if not executed.exists():  # myst-nb writes it for every page with a kernel
        raise mystnb_internals.MystNbInternalsMoved(
            f"myst-nb wrote no executed notebook for {pagename} at {executed}: the "
            "download menu cannot offer it (see verified_book/mystnb_internals.py)"
        )
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook_of(app, pagename, executed), target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def _pdf_button(app, pagename, templatename, context, doctree):
    """After the theme's (priority 501): the PDF of the book, first in the header."""
    if app.config.book_pdf and "header_buttons" in context:
        context["header_buttons"].insert(
            0,
            {
                "type": "link",
                "url": context["pathto"](app.config.book_pdf, 1),
                "text": "PDF",
                "tooltip": "The whole book as a PDF",
                "icon": "fas fa-file-pdf",
                "label": "book-pdf-button",
            },
        )


def _copy_pdf(app, exception):
    if exception is None and app.builder.format == "html" and app.config.book_pdf:
        shutil.copy2(
            Path(app.outdir).parent / "latex" / app.config.book_pdf,
            Path(app.outdir) / app.config.book_pdf,
        )


def setup(app):
    # A change (a PDF built, or gone stale) rewrites every page: the header changes.
    app.add_config_value("book_pdf", "", "html")
    app.connect("config-inited", _current_pdf)
    app.add_node(downloads_placeholder)
    app.add_directive("downloads", DownloadsDirective)
    app.connect("doctree-resolved", _fill_placeholders)
    app.connect("html-page-context", _page_context, priority=499)
    app.connect("html-page-context", _pdf_button, priority=502)
    app.connect("build-finished", _copy_pdf)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
