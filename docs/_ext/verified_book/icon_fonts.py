"""The theme's icon fonts, cut down to the icons this site can show.

pydata-sphinx-theme draws its icons (the ☰, the search glass, the download menu, the
repository's logo, an admonition's sign, ...) with the Font Awesome web fonts it ships:
three files, 244 KB, for about thirty icons. A phone fetches them while it is still
fetching the page's stylesheets, and on a slow connection that delays its first paint
(Lighthouse counts them among what blocks it: make audit).

At the end of an HTML build each font in ``_static/vendor/fontawesome/webfonts`` of the
built site is replaced by a subset (fontTools, pinned) that keeps the glyphs of

- every ``fa-*`` icon class that a built page or one of the site's scripts names, looked
  up in the theme's stylesheet (``.fa-bars{--fa:"\\f0c9"}``), and
- every icon character a stylesheet writes out itself (the theme's ``--pst-icon-*``
  variables, which admonitions and links use),

so that a class or a stylesheet that names an icon keeps it. The theme's own files are
not touched: the built site gets the subsets. tests/test_browser.py holds every icon a
page shows (at both widths) against the glyphs of the font it is drawn with.
"""

from __future__ import annotations

import re
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

WEBFONTS = Path("_static") / "vendor" / "fontawesome" / "webfonts"
#: ``.fa-bars,.fa-navicon{--fa:"\f0c9"}``: the theme stylesheet's table of icon classes.
_CLASS_TABLE = re.compile(r'((?:\.fa-[\w-]+,?)+)\{--fa:"\\([0-9a-fA-F]+)"\}')
_CLASS = re.compile(r"\bfa-[a-z0-9-]+")
#: Unicode's private use area, where Font Awesome puts its icons.
_PRIVATE = re.compile("[\ue000-\uf8ff]")


def _icon_table(stylesheets: list[str]) -> dict[str, int]:
    """Icon class -> code point, from the stylesheets' ``--fa`` table."""
    table = {}
    for css in stylesheets:
        for rule in _CLASS_TABLE.finditer(css):
            for name in re.findall(r"\.(fa-[\w-]+)", rule.group(1)):
                table[name] = int(rule.group(2), 16)
    return table


def icons_named(site: Path) -> set[int]:
    """The code points of every icon the built ``site`` can show (the module's rule)."""
    static = site / "_static"
    stylesheets = [
        p.read_text(encoding="utf-8", errors="replace")
        for p in static.rglob("*.css")
        if "mathjax" not in p.parts
    ]
    table = _icon_table(stylesheets)
    named = set()
    for path in [*site.rglob("*.html"), *static.rglob("*.js")]:
        if "mathjax" in path.parts:
            continue
        named |= set(_CLASS.findall(path.read_text(encoding="utf-8", errors="replace")))
    points = {table[name] for name in named if name in table}
    for css in stylesheets:
        points |= {ord(c) for c in _PRIVATE.findall(_CLASS_TABLE.sub("", css))}
    return points


def subset_fonts(site: Path, theme_dirs: list[Path]) -> dict[str, tuple[int, int]]:
    """Write into the built ``site`` the subset of each of its web fonts, cut from the
    theme's own file (the first of ``theme_dirs`` that has it), so that a later build
    that names a new icon gets it; file -> (bytes of the theme's file, of the subset)."""
    points = icons_named(site)
    sizes = {}
    for path in sorted((site / WEBFONTS).glob("*.woff2")):
        source = next(
            s
            for d in theme_dirs
            if (
                s := Path(d) / "static" / WEBFONTS.relative_to("_static") / path.name
            ).is_file()
        )
        before = source.stat().st_size
        font = TTFont(source, recalcTimestamp=False)  # the same bytes every build
        keep = sorted(points & set(font.getBestCmap()))
        options = subset.Options()
        options.flavor = "woff2"
        options.layout_features = ["*"]
        cutter = subset.Subsetter(options)
        cutter.populate(unicodes=keep)
        cutter.subset(font)
        font.flavor = "woff2"
        font.save(path)
        sizes[path.name] = (before, path.stat().st_size)
    return sizes


def _after_build(app, exception):
    if exception is None and app.builder.format == "html":
        subset_fonts(Path(app.outdir), app.builder.theme.get_theme_dirs())


def setup(app):
    app.connect("build-finished", _after_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
