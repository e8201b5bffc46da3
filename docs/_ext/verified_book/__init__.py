"""The book's Sphinx extension: the build's guarantee, its report, citing, site tweaks.

conf.py names this package once; ``setup`` sets up its parts, one concern each:

- ``mystnb_internals``: the only use of myst-nb's internals, failing loudly if they move;
- ``computed_config``: values computed at start (build date, copyright, BOOK_ONLY pages);
- ``run_pages``: the pages' cells run in processes forked from a warm one (``execution``),
  not in a Jupyter kernel each, recording what of lstm_notes each page ran (``deps``);
- ``rebuild``: when pages run again (what they ran changed, the build changed, failed
  pages, report pages);
- ``records``: the checks' JSON records, and where each labelled equation is;
- ``report``: the verification report on its pages and the failures in the terminal;
- ``check_lines``: the checks' printed lines as short lines linked to their equations,
  the full record on demand;
- ``citing``: the cite page's BibTeX entries;
- ``site_tweaks``: MathJax shipped with the site, social tags, math in link titles;
- ``icon_fonts``: the theme's icon fonts cut down to the icons the site shows;
- ``diagrams``: the ``{diagram}`` directive, SVG drawn from docs/_diagrams/*.toml by
  ``diagram_draw``.
- ``latex``: the book as a PDF (Sphinx's LaTeX builder, for `make pdf`);
- ``downloads``: the PDF and every page's notebook, linked from the site.
"""

PARTS = [
    "computed_config",
    "rebuild",
    "run_pages",
    "records",
    "report",
    "check_lines",
    "citing",
    "site_tweaks",
    "icon_fonts",
    "diagrams",
    "latex",
    "downloads",
]


def setup(app):
    for part in PARTS:
        app.setup_extension(f"{__name__}.{part}")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
