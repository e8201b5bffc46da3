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
    "verification",  # docs/_ext: the guarantee, the report, the cite entries
    "site_tweaks",  # docs/_ext: MathJax shipped with the site, social tags, math in titles
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

html_static_path = ["docs/_static"]
mathjax_path = "mathjax/tex-mml-chtml.js"
# MathJax finds its fonts and extensions next to the script it was loaded from. \boldsymbol
# (on half of the pages) is loaded with MathJax rather than when first met, which stopped
# the typesetting, fetched the extension and typeset the page again.
mathjax3_config = {"tex": {"tags": "none", "packages": {"[+]": ["boldsymbol"]}},
                   "loader": {"load": ["[tex]/boldsymbol"]}}

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
site_description = ("Gradient derivations for LSTMs and RNNs, from matrix calculus to "
                    "backpropagation through time and attention, each equation checked "
                    "against an independent computation when the site is built.")

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
# The colour mode follows the reader's system (light or dark) until they pick one with the
# theme's switch; site_tweaks applies it before the first paint.
html_context = {"default_mode": "auto"}
# docs/_templates/layout.html: the theme's layout without two heavy scripts in every head.
templates_path = ["docs/_templates"]
html_css_files = ["book.css"]
# docs/_static/book.js: the book's fixes to the theme (its sidebar toggles, unnamed controls).
html_js_files = [("book.js", {"defer": "defer"})]
html_show_sourcelink = True
html_copy_source = True

copybutton_prompt_text = r">>> |\.\.\. "
copybutton_prompt_is_regexp = True
# Copy the code of a cell, not the one-line result printed under it.
copybutton_exclude = ".linenos, .gp, .go"
