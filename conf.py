"""Sphinx configuration of the book: configuration only (code: docs/_ext/verified_book)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# This checkout's lstm_notes (the extension puts it on the pages' kernels' path too).
sys.path[:0] = [str(ROOT), str(ROOT / "docs" / "_ext")]

import lstm_notes  # noqa: E402

project = "Verified LSTM and RNN gradients"
author = "The lstm_notes authors"
release = version = lstm_notes.__version__

# verified_book (docs/_ext): the guarantee, the report, citing, site tweaks
extensions = [
    "myst_nb",
    "sphinx_copybutton",
    "sphinx_design",
    "sphinxcontrib.bibtex",
    "verified_book",
]

# --- the guarantee -----------------------------------------------------------------
# Every page is executed whenever Sphinx reads it; a failed cell is a warning showing the
# traceback (the CheckFailed message); -W (tools/build_html.py) makes it fail the build.
nb_execution_mode = "force"
nb_execution_raise_on_error = False
nb_execution_show_tb = True
nb_execution_timeout = 300
nb_merge_streams = True

root_doc = "index"
exclude_patterns = ["_build", "_ext", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
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
# MathJax finds its fonts and extensions next to the script.
mathjax_path = "mathjax/startup.js"
mathjax3_config = {"tex": {"tags": "none"}}

# --- citations -------------------------------------------------------------------
# One bibliography page (docs/bibliography.md); in the text {cite:t}`key` reads
# "Hochreiter and Schmidhuber (1997)" and links to the numbered entry.
bibtex_bibfiles = ["docs/references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# --- hosting and citing ----------------------------------------------------------
# The hosted book (GitHub Pages): every page's <link rel="canonical">, and the base of the
# cite page's permalinks (SITE_URL + page path [+ "#equation-<label>"]).
SITE_URL = "https://lstm-notes.github.io/verified-lstm-gradients/"
REPOSITORY_URL = "https://github.com/lstm-notes/verified-lstm-gradients"
html_baseurl = os.environ.get("READTHEDOCS_CANONICAL_URL", SITE_URL)
site_description = (
    "Gradient derivations for LSTMs and RNNs, from matrix calculus to "
    "backpropagation through time and attention, each equation checked "
    "against an independent computation when the site is built."
)

# --- theme -----------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = project
html_last_updated_fmt = None  # the footer shows the last commit's date instead
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
    "extra_footer": (
        '<p class="book-version">Version {release}, built {build_date}. '
        'Text CC BY 4.0, code MIT. <a href="{cite}">How to cite</a>.</p>'
    ),
}
# Dark or light as the reader's system, until they pick; layout.html: light page heads.
html_context = {"default_mode": "auto"}
templates_path = ["docs/_templates"]

copybutton_prompt_text, copybutton_prompt_is_regexp = r">>> |\.\.\. ", True
copybutton_exclude = ".linenos, .gp, .go"
