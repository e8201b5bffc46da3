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

Each labelled equation is followed by a cell that computes it with the package
`lstm_notes` and checks it against an independent computation. To run the cells,
install the package from the book's repository first, in a terminal:

```sh
pip install "git+{repository}"
```

or in a cell: `%pip install "git+{repository}"`. Then *Run All*: every check prints
one line, and a formula that disagrees with its check raises `CheckFailed`."""

MATH_BLOCK = re.compile(r"```\{math\}\n((?::[\w-]+:.*\n)*)(.*?)\n```", re.S)
EQ_ROLE = re.compile(r"\{eq\}`([^`]+)`")
TARGET = re.compile(r"^\([\w-]+\)=\n", re.M)  # a MyST label before a title


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


def _myst_to_jupyter(source: str, env) -> str:
    """Numbered {math} blocks as $$ ... \\tag{n} $$, {eq} references as (n), and no
    ``(label)=`` lines."""

    def number(label: str) -> str:
        where = equation_of(env, label.strip())
        return where[1] if where else label

    def block(match: re.Match) -> str:
        label = re.search(r"^:label:\s*(\S+)", match.group(1), re.M)
        tag = f" \\tag{{{number(label.group(1))}}}" if label else ""
        return f"$$\n{match.group(2).strip()}{tag}\n$$"

    source = TARGET.sub("", MATH_BLOCK.sub(block, source))
    return EQ_ROLE.sub(lambda m: f"({number(m.group(1))})", source)


def notebook_of(app, pagename: str, executed: Path) -> nbformat.NotebookNode:
    """The executed notebook of a page, as readers download it."""
    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _myst_to_jupyter(cell.source, app.env)
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
