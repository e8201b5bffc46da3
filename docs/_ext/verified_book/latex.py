"""The book as a PDF: Sphinx's LaTeX builder, configured here so that conf.py stays short.

`make pdf` (tools/build_pdf.py) runs the same verified build with ``-b latex`` and then
latexmk. What this module sets, at ``config-inited`` (after ``computed_config``, whose
build date the title page shows):

- XeLaTeX, for the Unicode of the pages' text and code (ŷ, ⁽ᵗ⁾, ∘, δ): FreeSerif for the
  text, DejaVu Sans for headings and DejaVu Sans Mono for code, which have every
  character the book uses; the few Unicode characters that quoted source formulas put
  inside math are mapped to Computer Modern's glyphs;
- one document whose chapters are the parts (``toctree_only``: the front page's text is
  the site's), so that sections are the pages and equations read part.page.n as on the
  site (Sphinx's ``mathnumfig`` with ``numfig_secnum_depth = 2``);
- the pages of the unnumbered toctree (the verification report, the bibliography, the
  cite page) as appendices; the bibliography is where Sphinx gathers every citation;
- a title page with the version and the date that the site's footer shows;
- code and outputs wrapped at the margin, never cut (``verbatimforcewraps``); the
  verification tables laid out with their column widths so that they fit the page;
- plots: SVG when a page's output has it (the latex builder prefers it to PNG), drawn
  as PDF, i.e. as vector graphics, by ``rsvg-convert``; PNG otherwise.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms.images import ImageConverter
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The PDF's file name, without .pdf, in <builddir>/latex and in the html output.
PDF_NAME = "verified-lstm-gradients"


def stamp_path(latexdir) -> Path:
    """Written by `make pdf` next to the PDF once it built cleanly: the digest of the
    sources it was made from (tools/build_pdf.py); the site links the PDF only while
    that digest is the one of the sources being built (``downloads``)."""
    return Path(latexdir) / f"{PDF_NAME}.json"


FONTS = r"""
\setmainfont{FreeSerif}[Extension=.otf, UprightFont=*, ItalicFont=*Italic,
  BoldFont=*Bold, BoldItalicFont=*BoldItalic]
\setsansfont{DejaVu Sans}
\setmonofont{DejaVu Sans Mono}[Scale=0.8, HyphenChar=None] % no break after "-"
"""

PREAMBLE = r"""
% Unicode that quoted source formulas put inside math: mapped (in math only) to the
% glyphs of Computer Modern's math fonts, family 1 (letters) and 2 (symbols).
\AtBeginDocument{%
  \Umathcode"03BB="0 "1 "15 % lambda
  \Umathcode"2018="0 "2 "30 % a quote used as a prime
  \Umathcode"2019="0 "2 "30 %
}
\setcounter{tocdepth}{1}
% Code and outputs break at spaces, and inside a word only when it is longer than the
% line: not after ".", "-" (nor before "e-06" in "1e-06"), which the defaults allow.
\renewcommand*\sphinxbreaksafteractivelist{\do\,\do\;\do\?\do\!}
\makeatletter
\renewcommand*\sphinxbreaksafterlist{%
  \do\PYGZus\_\do\PYGZcb\}\do\PYGZca\^\do\PYGZam\&\do\PYGZgt\>\do\PYGZti\~\do\PYGZbs\\}
% The bibliography carries the labels of the page it replaces (see _shape_the_book).
\renewenvironment{sphinxthebibliography}[1]{%
  \if@openright\cleardoublepage\else\clearpage\fi
  \begin{thebibliography}{#1}%
  \addcontentsline{toc}{chapter}{\bibname}%
  \ifdefined\bookbibliographylabels\bookbibliographylabels\fi}%
  {\end{thebibliography}}
\makeatother
"""

SPHINXSETUP = ", ".join(
    [
        "hmargin={2cm,2cm}",
        "vmargin={2.4cm,2.6cm}",
        # Long lines of code and output wrap, at spaces first, anywhere if needed.
        "verbatimwrapslines=true",
        "verbatimforcewraps=true",
        # (a line broken at a space may end short: never break inside "1e-06" for it)
        "verbatimmaxunderfull=100",
    ]
)


def _tex(text: str) -> str:
    """Plain text for the title page (the author is "The lstm_notes authors")."""
    return re.sub(r"([_&%#$])", r"\\\1", text)


def _configure(app, config):
    """The LaTeX settings (conf.py has none; ``latex_elements`` it sets would win)."""
    if not config.latex_engine or config.latex_engine == "pdflatex":
        config.latex_engine = "xelatex"
    config.latex_documents = [
        (
            config.root_doc,
            f"{PDF_NAME}.tex",
            _tex(config.project),
            _tex(config.author),
            "manual",
            True,  # toctree_only: the parts are the chapters, as on the site
        )
    ]
    config.latex_elements = {
        "papersize": "a4paper",
        "pointsize": "10pt",
        "extraclassoptions": "openany,oneside",  # read on screen: no blank pages
        "fontpkg": FONTS,
        "preamble": PREAMBLE,
        "sphinxsetup": SPHINXSETUP,
        "releasename": "Version",
        "printindex": "",
        "makeindex": "",
        **config.latex_elements,
    }
    # The title page's date: the one the footer shows (the last commit's).
    config.today = config.today or config.build_date
    config.latex_use_xindy = False
    config.latex_domain_indices = False
    config.latex_show_urls = "footnote"
    # SVG plots, when the pages produce them, before PNG (PDF first, as by default).
    config.nb_mime_priority_overrides = [
        *config.nb_mime_priority_overrides,
        ("latex", "image/svg+xml", 15),
    ]


class SvgToPdf(ImageConverter):
    """SVG plots drawn as PDF, vector graphics that LaTeX includes, by rsvg-convert."""

    conversion_rules = [("image/svg+xml", "application/pdf")]

    def is_available(self) -> bool:
        if shutil.which("rsvg-convert"):
            return True
        logger.warning(
            "rsvg-convert is missing: SVG plots cannot go into the PDF; install "
            "Debian's librsvg2-bin (tools/check_tex.py lists what `make pdf` needs)",
            type="latex",
            subtype="svg",
        )
        return False

    def convert(self, _from, _to) -> bool:
        done = subprocess.run(
            ["rsvg-convert", "--format=pdf", "--output", str(_to), str(_from)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            logger.warning(
                f"rsvg-convert failed on {_from}: {done.stderr.strip()}",
                type="latex",
                subtype="svg",
            )
        return done.returncode == 0


TAG = re.compile(r"\\tag\*?\{[^{}]*\}")


def _tags_outside_split(doctree) -> None:
    """A source's formula quoted with its own number, ``\\tag{7}``: Sphinx sets display
    math in a ``split``, where amsmath forbids ``\\tag``; the tag goes after it."""
    for node in list(doctree.findall(nodes.math_block)):
        text = node.astext()
        tags = TAG.findall(text)
        if not tags or node.get("nowrap") or node.get("label"):
            continue
        body = TAG.sub("", text).strip()
        wrapped = (
            "\\begin{equation*}\\begin{split}"
            + body
            + "\\end{split}"
            + "".join(tags)
            + "\\end{equation*}"
        )
        node.replace_self(nodes.math_block(wrapped, wrapped, nowrap=True))


def _equation_anchors(doctree) -> None:
    """The report links an equation as the site does, ``<page>#equation-<label>``, which
    the LaTeX writer reads as the label ``<page>:equation-<label>``; LaTeX's own label of
    the equation is another, so that one is set too, just before the equation."""
    for node in list(doctree.findall(nodes.math_block)):
        if node.get("label") and node.get("docname"):
            anchor = f"{node['docname']}:{nodes.make_id('equation-' + node['label'])}"
            node.parent.insert(
                node.parent.index(node),
                nodes.raw(
                    "",
                    f"\\phantomsection\\label{{\\detokenize{{{anchor}}}}}%\n",
                    format="latex",
                ),
            )


def _unnumbered_docs(app) -> list[str]:
    """The root's entries in toctrees without numbers (the checks and references)."""
    root = app.env.get_doctree(app.config.root_doc)
    out = []
    for toctree in root.findall(addnodes.toctree):
        if not toctree.get("numbered"):
            out.extend(doc for _title, doc in toctree["entries"])
    return out


def _shape_the_book(app, doctree, docname):
    """On the assembled book (the LaTeX builder resolves it as the root document): the
    unnumbered pages become appendices, the bibliography page gives way to the one
    Sphinx gathers at the end, and the report's tables keep their column widths."""
    if app.builder.name != "latex" or docname != app.config.root_doc:
        return
    _tags_outside_split(doctree)
    _equation_anchors(doctree)
    for table in doctree.findall(nodes.table):
        if "verification-table" in table["classes"]:
            # Its widths, and free to break across pages (no gap before a long one).
            table["classes"] += ["colwidths-given", "longtable"]
    appendices = _unnumbered_docs(app)
    starts = [
        node
        for node in doctree.findall(addnodes.start_of_file)
        if node["docname"] in appendices
    ]
    if not starts:
        return
    first = starts[0]
    first.parent.insert(
        first.parent.index(first), nodes.raw("", "\n\\appendix\n", format="latex")
    )
    for start in starts:
        # The bibliography page, left with its title only: the LaTeX builder gathers
        # every citation at the end of the book under its own heading. The title goes
        # and the page's labels move there, so that links to the page land there.
        sections = [n for n in start.children if isinstance(n, nodes.section)]
        if (
            len(sections) != 1
            or sections[0].astext().strip() != sections[0][0].astext()
        ):
            continue
        doc = start["docname"]
        labels = dict.fromkeys(
            [*(f"{doc}:{i}" for i in sections[0]["ids"]), f"{doc}::doc"]
        )
        marks = "".join(f"\\label{{\\detokenize{{{label}}}}}" for label in labels)
        sections[0].replace_self(
            nodes.raw("", f"\\def\\bookbibliographylabels{{{marks}}}\n", format="latex")
        )


def setup(app):
    app.connect("config-inited", _configure, priority=600)  # after computed_config
    app.add_post_transform(SvgToPdf)
    app.connect("doctree-resolved", _shape_the_book)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
