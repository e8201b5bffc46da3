"""Site tweaks: what the pages look like and carry, beyond the theme.

- MathJax ships inside the built site (copied from the pinned django-static-mathjax
  package), so that math renders offline, its accessibility explorer included (the speech
  rules it loads when a reader turns it on). It loads as separate components rather than
  one combined file, and typesets a formula when it comes into view (MathJax's ui/lazy),
  so that a phone is not blocked for a second typesetting the whole page before the
  reader can scroll (make audit); printing typesets every formula first (ui/lazy listens
  for the print dialog);
- every page gets Open Graph and Twitter card tags and the footer's link to the cite page;
- where TeX cannot be typeset (the browser tab's ``<title>``, ``og:title``, the titles
  of search results) a title with math is given as plain text (``plotting.plain_text``:
  "∂Zₜ / ∂hₘ", not "\\partial \\mathbf Z_t / ...");
- a plot's alt text is the description its SVG carries (``lstm_notes.chapters.plotting.show``
  writes it from the plotted data), not the image's file name;
- a {doc} or {ref} link to a title with math shows that math typeset, not its raw TeX;
- MathJax is loaded on every page (titles with math are in every page's navigation);
- two accessibility faults of the generated markup are mended in each page's body (the
  theme's own chrome is mended by docs/_static/book.js); the colour mode follows the
  reader's system until they pick one, from the first paint on;
- a cell output that prints a table (aligned columns) is marked ``output-table``, so that
  book.css keeps its rows whole instead of wrapping them at the column's edge.
"""

from __future__ import annotations

import re
import shutil
from html import escape, unescape
from pathlib import Path

import mathjax as _mathjax_pkg  # django-static-mathjax: MathJax 3.2.2 files
from docutils import nodes
from sphinx.util.nodes import clean_astext

from lstm_notes.chapters.plotting import plain_text

MATHJAX_SRC = Path(_mathjax_pkg.__file__).parent / "static" / "mathjax" / "es5"
#: The components the pages load (MATHJAX_LOAD, through startup.js's loader): the same
#: parts as MathJax's combined tex-mml-chtml.js less its MathML input, which no page
#: uses, plus ui/lazy. Separate files are evaluated as separate tasks, where the combined
#: file was one long task that kept a phone from responding.
MATHJAX_LOAD = [
    "input/tex",
    "output/chtml",
    "ui/menu",
    "a11y/assistive-mml",
    "[tex]/boldsymbol",
    "ui/lazy",
]
#: What ships: the loader, the components (core.js is what they all need), the CHTML
#: fonts, the TeX extensions MathJax may load on demand, the UI and accessibility parts,
#: the MathML input and the speech rules of every language the accessibility explorer
#: offers (the explorer loads both when a reader turns it on: its semantic enrichment
#: reads MathML; without them MathJax never finishes starting, or fails with 404s).
MATHJAX_PARTS = [
    "startup.js",
    "core.js",
    "input/tex.js",
    "input/tex/extensions",
    "input/mml.js",
    "output/chtml.js",
    "output/chtml/fonts/tex.js",
    "output/chtml/fonts/woff-v2",
    "ui",
    "a11y",
    "adaptors",
    "sre/mathmaps",
]


def _copy_mathjax(app, exception):
    """Ship the MathJax files the pages load (MATHJAX_PARTS) inside the built site."""
    if exception is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        src = MATHJAX_SRC / part
        target = dest / part
        if src.is_dir():
            shutil.copytree(src, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


def _page_context(app, pagename, templatename, context, doctree):
    """Per page: the title as plain text, the social description (Open Graph and Twitter
    card tags, no new dependency), the body's markup mended (accessible names, numbers
    kept whole), the head's scripts that can wait deferred, and the footer's link to the
    cite page, relative to this page."""
    # The title as plain text (the tab's <title> and og:title): no tags, inline math as
    # Unicode text.
    title = re.sub(r"<[^>]+>", "", context.get("title") or app.config.project)
    title = re.sub(r"\\\((.*?)\\\)", lambda m: plain_text(m.group(1)), unescape(title))
    if context.get("title"):
        context["title"] = escape(title)
    url = app.config.html_baseurl.rstrip("/") + "/" + pagename + ".html"
    project, root_doc = app.config.project, app.config.root_doc
    description = app.config.site_description
    tags = {
        "description": description,
        "og:title": f"{title} | {project}" if pagename != root_doc else project,
        "og:description": description,
        "og:type": "book" if pagename == root_doc else "article",
        "og:url": url,
        "og:site_name": project,
        "twitter:card": "summary",
    }
    meta = "".join(
        f"<meta {'name' if key in ('description', 'twitter:card') else 'property'}="
        f'"{key}" content="{escape(value, quote=True)}" />\n'
        for key, value in tags.items()
    )
    context["metatags"] = context.get("metatags", "") + meta
    if "body" in context:
        context["body"] = _label_report_cells(
            _keep_numbers_whole(_accessible_body(context["body"]))
        )
    if pagename != "search" and "script_files" in context:
        context["script_files"] = [_deferred(js) for js in context["script_files"]]
    footer = context.get("theme_extra_footer")
    if footer and "{cite}" in footer:
        context["theme_extra_footer"] = footer.replace(
            "{cite}", app.builder.get_relative_uri(pagename, "cite")
        )


def _math_titles(app) -> dict:
    """Plain text -> title nodes, for every page or section title that contains math."""
    cached = getattr(app, "_lstm_notes_math_titles", None)
    if cached is not None:
        return cached
    env = app.env
    found = {
        clean_astext(title): title
        for title in env.titles.values()
        if next(title.findall(nodes.math), None) is not None
    }
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
    for inline in list(doctree.findall(nodes.inline)):
        if (
            isinstance(inline.parent, nodes.reference)
            and "\\" in inline.astext()
            and {"doc", "std-ref"} & set(inline["classes"])
        ):
            title = _math_titles(app).get(inline.astext())
            if title is not None:
                inline[:] = [child.deepcopy() for child in title.children]


#: Markup of the page body that fails axe-core, and what replaces it: myst-nb names the
#: fold of a hidden cell "Toggle hidden content" while it reads "Show code cell source"
#: (label-content-name-mismatch: the visible text must be in the name, so the visible
#: text is left as the name); docutils gives each entry of the bibliography's role="list"
#: the deprecated role doc-biblioentry, so the list has no items (aria-required-children).
BODY_FIXES = [
    ('<summary aria-label="Toggle hidden content">', "<summary>"),
    ('role="doc-biblioentry"', 'role="listitem"'),
]


def _accessible_body(body: str) -> str:
    for markup, mended in BODY_FIXES:
        body = body.replace(markup, mended)
    return body


_REPORT_TABLE = re.compile(r'<table class="verification-table[^"]*">.*?</table>', re.S)


def _label_report_cells(body: str) -> str:
    """Give every cell of the verification report's tables its column's name
    (``data-label``): on a phone book.css lays each row out as a short block of
    "name value" pairs instead of a table eight columns wide that scrolls."""

    def label(table: re.Match) -> str:
        html = table.group(0)
        names = [
            escape(unescape(re.sub(r"<[^>]+>", "", head)).strip(), quote=True)
            for head in re.findall(r"<th[^>]*>(.*?)</th>", html, re.S)
        ]

        def row(tr: re.Match) -> str:
            cells = iter(names)
            return re.sub(
                r"<td(?=[\s>])",
                lambda td: f'<td data-label="{next(cells, "")}"',
                tr.group(0),
            )

        return re.sub(r"<tr[ >].*?</tr>", row, html, flags=re.S)

    return _REPORT_TABLE.sub(label, body)


_TAG = re.compile(r"(<[^>]+>)")
#: A number with a sign inside or in front ("1.6e-16", "-0.25", "1e+02"): browsers may
#: break a line after its "-" or "+", which splits it ("1.6e-" / "16").
_SIGNED_NUMBER = re.compile(
    r"(?<![\w.#&;])(?:[-+\u2212](?=[\d.]))?(?:\d+\.?\d*|\.\d+)(?:[eE][-+\u2212]?\d+)?(?![\w.])"
)


def _keep_numbers_whole(body: str) -> str:
    """Wrap every signed number of the cell outputs and tables in
    ``<span class="nowrap">`` (book.css keeps it on one line), so an output or a table
    cell wraps at spaces but never inside a number. Only text between tags changes, and
    never the TeX of a formula (MathJax reads it as text)."""
    out, divs, tables = [], [], 0
    for piece in _TAG.split(body):
        if piece.startswith("<"):
            name = (
                piece[1:].split(None, 1)[0].rstrip(">").lower()
                if len(piece) > 2
                else ""
            )
            if name == "div":
                divs.append("cell_output" in piece)
            elif name == "/div" and divs:
                divs.pop()
            elif name in ("table", "/table"):
                tables += 1 if name == "table" else -1
        elif (
            (tables or any(divs))
            and set(piece) & {"-", "+", "\u2212"}
            and "\\(" not in piece
            and "\\[" not in piece
        ):  # not inside TeX
            piece = _SIGNED_NUMBER.sub(
                lambda m: (
                    f'<span class="nowrap">{m.group(0)}</span>'
                    if set(m.group(0)) & {"-", "+", "\u2212"}
                    else m.group(0)
                ),
                piece,
            )
        out.append(piece)
    return "".join(out)


#: The theme's first script sets the colour mode to the reader's choice, else to
#: html_context's default_mode ("auto"), which its own script resolves only once the page
#: has loaded. This resolves "auto" from the system's preference before the first paint.
FOLLOW_SYSTEM_THEME = """
(function () {
  var root = document.documentElement;
  if ((root.dataset.mode || "auto") === "auto") {
    root.dataset.theme = window.matchMedia("(prefers-color-scheme: dark)").matches
      ? "dark" : "light";
  }
})();
"""


#: Scripts of the head that only register what to do once the page is parsed: loaded with
#: ``defer`` (in this order, after parsing) they no longer hold up the first paint. Not on
#: the search page, whose own searchtools.js runs at once and needs doctools.js.
DEFERRABLE = {
    "doctools.js",
    "sphinx_highlight.js",
    "clipboard.min.js",
    "copybutton.js",
    "sphinx-book-theme.js",
    "design-tabs.js",
}


def _deferred(js):
    """``js`` (a script of ``script_files``) with ``defer`` if it is one of DEFERRABLE; a
    copy, since the builder shares these objects between pages."""
    name = Path(str(getattr(js, "filename", "") or "")).name
    if name not in DEFERRABLE or "defer" in js.attributes or "async" in js.attributes:
        return js
    return type(js)(
        js.filename, priority=js.priority, **{**js.attributes, "defer": "defer"}
    )


def _plain_title(node: nodes.Node) -> str:
    """A title node as plain text, its math as Unicode (``plain_text``)."""
    if isinstance(node, nodes.math):
        return plain_text(node.astext())
    if isinstance(node, nodes.Text):
        return node.astext()
    return "".join(_plain_title(child) for child in node.children)


def _plain_search_titles(app):
    """The search index stores titles as text, so a title with math would show its raw
    TeX in the search results: give those titles as plain text (on ``html-collect-pages``,
    after every page was indexed and before the index is written). ``_titles`` and
    ``_all_titles`` are the indexer's internals; tests/test_browser.py searches the built
    site and fails if TeX shows, should they move."""
    indexer = getattr(app.builder, "indexer", None)
    if indexer is None:
        return []
    env = app.env
    for docname, title in list(indexer._titles.items()):
        if "\\" in title and docname in env.titles:
            indexer._titles[docname] = _plain_title(env.titles[docname])
    for docname, titles in indexer._all_titles.items():
        if not any("\\" in title for title, _ in titles):
            continue
        plain = {
            node.astext(): _plain_title(node)
            for node in env.get_doctree(docname).findall(nodes.title)
        }
        indexer._all_titles[docname] = [
            (plain.get(title, title), anchor) for title, anchor in titles
        ]
    return []


def _alt_from_svg(app, doctree):
    """A cell's SVG plot gets its alt text from the description inside the SVG
    (``dc:description``, written by ``lstm_notes.chapters.plotting.show``); without one the alt
    stays myst-nb's file name, which the browser tests reject."""
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if not uri.endswith(".svg") or image.get("alt", "") not in ("", uri):
            continue
        # Sphinx's image collector has already made the path relative to the sources.
        found_at = image.get("candidates", {}).get("*")
        path = (
            Path(app.srcdir, found_at)
            if found_at
            else Path(app.env.relfn2path(uri, app.env.docname)[1])
        )
        found = (
            re.search(
                r"<dc:description>(.*?)</dc:description>",
                path.read_text(encoding="utf-8"),
                re.S,
            )
            if path.is_file()
            else None
        )
        if found:
            image["alt"] = unescape(found.group(1)).strip()


#: A printed table: two or more lines that align columns with runs of spaces.
_ALIGNED = re.compile(r"\S {2,}\S")


def _mark_printed_tables(app, doctree, docname):
    """Mark the text outputs of cells that print a table (``output-table``): wrapped at
    the column's edge, their rows would break apart; book.css makes them scroll whole."""
    for block in doctree.findall(nodes.literal_block):
        parent = block.parent
        if not (
            isinstance(parent, nodes.container) and "cell_output" in parent["classes"]
        ):
            continue
        lines = block.astext().splitlines()
        if sum(bool(_ALIGNED.search(line)) for line in lines) >= 2:
            block["classes"].append("output-table")


def _mathjax_config(app, config):
    """The components MathJax loads (MATHJAX_LOAD). \\boldsymbol (on half of the pages)
    loads with them rather than when first met, which stopped the typesetting, fetched the
    extension and typeset the page again."""
    tex = config.mathjax3_config.setdefault("tex", {})
    tex.setdefault("packages", {"[+]": []})["[+]"].append("boldsymbol")
    config.mathjax3_config.setdefault("loader", {}).setdefault("load", []).extend(
        MATHJAX_LOAD
    )


def setup(app):
    app.add_config_value("site_description", "", "html")
    app.connect("config-inited", _mathjax_config)
    # docs/_static/book.js: the book's fixes to the theme (its sidebar toggles, unnamed
    # controls).
    app.add_js_file("book.js", loading_method="defer")
    app.add_css_file("book.css")
    # MathJax on every page, not only on pages with equations: page titles with math
    # appear in the navigation of every page (and in genindex and search).
    app.set_html_assets_policy("always")
    app.add_js_file(None, body=FOLLOW_SYSTEM_THEME, priority=1)
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _page_context)
    app.connect("doctree-resolved", _typeset_titles_in_links)
    app.connect("doctree-resolved", _mark_printed_tables)
    app.connect("doctree-read", _alt_from_svg)
    app.connect("html-collect-pages", _plain_search_titles)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
