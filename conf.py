"""Sphinx configuration of the book. The pages live in docs/; build with `make html`."""

from __future__ import annotations

import datetime
import fnmatch
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# The book always uses the lstm_notes of its own checkout, in this process and in the
# kernels that execute the pages (they inherit PYTHONPATH).
sys.path[:0] = [str(ROOT), str(ROOT / "docs" / "_ext")]
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])

import lstm_notes  # noqa: E402

project = "Verified LSTM and RNN gradients"
author = "The lstm_notes authors"
release = version = lstm_notes.__version__


def _build_date() -> str:
    """The date of the last commit (so a rebuild of the same commit shows the same date)."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%cs"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except OSError:
        pass
    return datetime.date.today().isoformat()


build_date = _build_date()
copyright = f"{build_date[:4]}, {author}"

extensions = [
    "myst_nb",
    "sphinx_copybutton",
    "sphinx_design",
    "sphinxcontrib.bibtex",
    "verification",
]

# --- the guarantee -----------------------------------------------------------------
# Every page is executed whenever Sphinx reads it; a failed cell is a warning that shows
# the traceback (the CheckFailed message), and `make html` runs with -W so that warning,
# and the summary the verification extension prints, fail the build.
nb_execution_mode = "force"
nb_execution_raise_on_error = False
nb_execution_show_tb = True
nb_execution_timeout = 300
nb_merge_streams = True

# A digest of the package's sources: when any file of lstm_notes changes, this config
# value changes and Sphinx re-reads, hence re-executes, every page.
from digest import package_digest  # noqa: E402  (docs/_ext/digest.py)

lstm_notes_digest = package_digest(ROOT)

# --- sources -----------------------------------------------------------------------
root_doc = "index"
exclude_patterns = ["_build", "_ext", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
# BOOK_ONLY="lstm/*,errata*" builds the front page and the matching pages only: a quick
# loop while writing one part. The toctree then points at missing pages, so those
# warnings are silenced in that mode only; `make html` always builds the whole book.
if os.environ.get("BOOK_ONLY"):
    _keep = ["index"] + [p.strip() for p in os.environ["BOOK_ONLY"].split(",") if p.strip()]
    for _page in (ROOT / "docs").rglob("*.md"):
        _name = _page.relative_to(ROOT / "docs").with_suffix("").as_posix()
        if not any(fnmatch.fnmatch(_name, pat) for pat in _keep):
            exclude_patterns.append(_name + ".md")
    suppress_warnings = ["toc.excluded", "toc.not_readable", "toc.not_included", "ref.eq",
                         "ref.ref", "ref.doc", "bibtex"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_dmath_double_inline = True
myst_heading_anchors = 3

# --- math: numbered across pages, rendered by a MathJax shipped with the site ------
numfig = True
math_numfig = True
numfig_secnum_depth = 2  # equations numbered part.page.n, e.g. (1.3.2)
math_numsep = "."
math_eqref_format = "({number})"

import mathjax as _mathjax_pkg  # noqa: E402  (django-static-mathjax: MathJax 3.2.2 files)

MATHJAX_SRC = Path(_mathjax_pkg.__file__).parent / "static" / "mathjax" / "es5"
html_static_path = ["docs/_static"]
mathjax_path = "mathjax/tex-mml-chtml.js"
# MathJax finds its fonts and extensions next to the script it was loaded from.
mathjax3_config = {"tex": {"tags": "none"}}


def _copy_mathjax(app, exception):
    """Ship the MathJax files the pages load (the combined component, its fonts and the
    TeX extensions it may load on demand) inside the built site."""
    if exception is not None or app.builder.format != "html":
        return
    import shutil

    dest = Path(app.outdir) / "_static" / "mathjax"
    for part in ["tex-mml-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions",
                 "ui", "a11y", "adaptors"]:
        src = MATHJAX_SRC / part
        target = dest / part
        if src.is_dir():
            shutil.copytree(src, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


# --- citations -------------------------------------------------------------------
# One bibliography page (docs/bibliography.md); in the text {cite:t}`key` reads
# "Hochreiter and Schmidhuber (1997)" and links to the numbered entry.
bibtex_bibfiles = ["docs/references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# --- hosting and citing ----------------------------------------------------------
# The address of the hosted book (GitHub Pages, .github/workflows/pages.yml). Every page
# gets <link rel="canonical"> to it, and the cite page builds permalinks from it: a
# page's address is SITE_URL + its path, an equation's adds "#equation-<label>".
SITE_URL = "https://lstm-notes.github.io/verified-lstm-gradients/"
REPOSITORY_URL = "https://github.com/lstm-notes/verified-lstm-gradients"
html_baseurl = os.environ.get("READTHEDOCS_CANONICAL_URL", SITE_URL)
DESCRIPTION = ("Gradient derivations for LSTMs and RNNs, from matrix calculus to "
               "backpropagation through time and attention, each equation checked "
               "against numerical differentiation when the site is built.")

# --- theme -----------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = project
# No "Last updated" line: it would show the day of the build, not of the text; the
# footer shows the version and the date of the last commit instead.
html_last_updated_fmt = None
html_favicon = "docs/_static/favicon.svg"
html_theme_options = {
    "repository_url": REPOSITORY_URL,
    "repository_branch": "main",
    "path_to_docs": "docs",
    "use_repository_button": True,
    "use_source_button": True,
    "use_download_button": True,
    "use_issues_button": False,
    # Launch buttons would point notebook services at .md files (PITFALLS 13).
    "launch_buttons": {},
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "extra_footer": (f'<p class="book-version">Version {release}, built {build_date}. '
                     'Text CC BY 4.0, code MIT. <a href="{cite}">How to cite</a>.</p>'),
}
html_context = {"default_mode": "light"}
html_css_files = ["book.css"]
html_show_sourcelink = True
html_copy_source = True

copybutton_prompt_text = r">>> |\.\.\. "
copybutton_prompt_is_regexp = True
# Copy the code of a cell, not the one-line result printed under it.
copybutton_exclude = ".linenos, .gp, .go"


def _page_context(app, pagename, templatename, context, doctree):
    """Per page: the social description (Open Graph and Twitter card tags, no new
    dependency) and the footer's link to the cite page, relative to this page."""
    import re
    from html import escape, unescape

    # The title as plain text: no tags, and inline math as its TeX without delimiters.
    title = re.sub(r"<[^>]+>", "", context.get("title") or project)
    title = unescape(title).replace("\\(", "").replace("\\)", "")
    url = html_baseurl.rstrip("/") + "/" + pagename + ".html"
    tags = {
        "description": DESCRIPTION,
        "og:title": f"{title} | {project}" if pagename != root_doc else project,
        "og:description": DESCRIPTION,
        "og:type": "book" if pagename == root_doc else "article",
        "og:url": url,
        "og:site_name": project,
        "twitter:card": "summary",
    }
    meta = "".join(
        f'<meta {"name" if key in ("description", "twitter:card") else "property"}='
        f'"{key}" content="{escape(value, quote=True)}" />\n'
        for key, value in tags.items())
    context["metatags"] = context.get("metatags", "") + meta
    footer = context.get("theme_extra_footer")
    if footer and "{cite}" in footer:
        context["theme_extra_footer"] = footer.replace(
            "{cite}", app.builder.get_relative_uri(pagename, "cite"))


def _math_titles(app) -> dict:
    """Plain text -> title nodes, for every page or section title that contains math."""
    from docutils import nodes
    from sphinx.util.nodes import clean_astext

    cached = getattr(app, "_lstm_notes_math_titles", None)
    if cached is not None:
        return cached
    env = app.env
    found = {clean_astext(title): title for title in env.titles.values()
             if next(title.findall(nodes.math), None) is not None}
    trees = {}
    for docname, labelid, sectname in env.get_domain("std").labels.values():
        if "\\" not in sectname or sectname in found or docname not in env.all_docs:
            continue
        if docname not in trees:
            trees[docname] = env.get_doctree(docname)
        for node in trees[docname].findall(nodes.section):
            if labelid in node["ids"] and isinstance(node[0], nodes.title):
                found[sectname] = node[0]
                break
    app._lstm_notes_math_titles = found
    return found


def _typeset_titles_in_links(app, doctree, docname):
    """A {doc} or {ref} link without its own text shows the target's title, but Sphinx
    gives it as plain text, so a title with math would show its raw TeX. Put the title's
    nodes (math included, for MathJax to typeset) in the link instead."""
    from docutils import nodes

    for inline in list(doctree.findall(nodes.inline)):
        if (isinstance(inline.parent, nodes.reference) and "\\" in inline.astext()
                and {"doc", "std-ref"} & set(inline["classes"])):
            title = _math_titles(app).get(inline.astext())
            if title is not None:
                inline[:] = [child.deepcopy() for child in title.children]


def setup(app):
    # MathJax on every page, not only on pages with equations: page titles with math
    # appear in the navigation of every page (and in genindex and search).
    app.set_html_assets_policy("always")
    app.add_config_value("build_date", build_date, "html")
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _page_context)
    app.connect("doctree-resolved", _typeset_titles_in_links)
