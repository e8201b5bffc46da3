"""Site tweaks: what the pages look like and carry, beyond the theme.

- MathJax ships inside the built site (copied from the pinned django-static-mathjax
  package), so that math renders offline;
- every page gets Open Graph and Twitter card tags and the footer's link to the cite page;
- a {doc} or {ref} link to a title with math shows that math typeset, not its raw TeX;
- MathJax is loaded on every page (titles with math are in every page's navigation).
"""

from __future__ import annotations

import re
import shutil
from html import escape, unescape
from pathlib import Path

import mathjax as _mathjax_pkg  # django-static-mathjax: MathJax 3.2.2 files
from docutils import nodes
from sphinx.util.nodes import clean_astext

MATHJAX_SRC = Path(_mathjax_pkg.__file__).parent / "static" / "mathjax" / "es5"
#: What the pages load: the combined component, its fonts and the TeX extensions it may
#: load on demand, with the UI and accessibility parts the component asks for.
MATHJAX_PARTS = [
    "tex-mml-chtml.js",
    "output/chtml/fonts/woff-v2",
    "input/tex/extensions",
    "ui",
    "a11y",
    "adaptors",
]


def _copy_mathjax(app, exception):
    """Ship the MathJax files the pages load (the combined component, its fonts and the
    TeX extensions it may load on demand) inside the built site."""
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
    """Per page: the social description (Open Graph and Twitter card tags, no new
    dependency) and the footer's link to the cite page, relative to this page."""
    # The title as plain text: no tags, and inline math as its TeX without delimiters.
    title = re.sub(r"<[^>]+>", "", context.get("title") or app.config.project)
    title = unescape(title).replace("\\(", "").replace("\\)", "")
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


def setup(app):
    app.add_config_value("site_description", "", "html")
    # MathJax on every page, not only on pages with equations: page titles with math
    # appear in the navigation of every page (and in genindex and search).
    app.set_html_assets_policy("always")
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _page_context)
    app.connect("doctree-resolved", _typeset_titles_in_links)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
