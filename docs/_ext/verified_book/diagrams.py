"""The ``diagram`` directive: a diagram of the computation, drawn when the site is built.

In a page::

    ```{diagram} lstm-cell
    One step of the LSTM; every box links to the equation that defines it.
    ```

draws ``docs/_diagrams/lstm-cell.toml`` (see ``diagram_draw``) as inline SVG, so that its
links work (an ``<img>`` would disable them), with the directive's content as the
caption and, under it, the diagram in words (its text alternative, generated from the
description). Every link is resolved through Sphinx's math domain, from the page that
shows the diagram to the page that labels the equation; a label no page defines is a
warning, hence an error under ``-W``.
"""

from __future__ import annotations

import hashlib
import json
from html import escape
from pathlib import Path

from docutils import nodes
from docutils.nodes import make_id
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from . import diagram_draw

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent


class diagram(nodes.General, nodes.Element):
    """Placeholder until the page is written: the links depend on the page."""


class Diagram(SphinxDirective):
    required_arguments = 1
    has_content = True

    def run(self):
        name = self.arguments[0]
        try:
            desc = diagram_draw.load(name)
        except diagram_draw.DiagramError as err:
            raise self.error(f"diagram {name}: {err}") from None
        self.env.note_dependency(str(desc.path))
        node = diagram(name=name)
        node["ids"] = [make_id(f"diagram-{name}")]
        self.set_source_info(node)
        if self.content:
            node += self.parse_content_to_nodes()
        return [node]


def _equation(app, label: str):
    """(docname, number text) of a labelled equation, or None."""
    found = app.env.domains.math_domain.equations.get(label)
    if found is None:
        return None
    docname = found[0]
    number = (
        app.env.toc_fignumbers.get(docname, {})
        .get("displaymath", {})
        .get(make_id(f"equation-{label}"))
    )
    text = ".".join(map(str, number)) if number else str(found[1])
    return docname, f"({text})"


def _render(app, node, docname: str) -> list[nodes.Node]:
    d = diagram_draw.load(node["name"], check_math=False)  # the directive checked it

    def href(label: str) -> str | None:
        found = _equation(app, label)
        if found is None:
            return None
        target = found[0]
        page = (
            "" if target == docname else app.builder.get_relative_uri(docname, target)
        )
        return f"{page}#{make_id(f'equation-{label}')}"

    def number(label: str) -> str:
        found = _equation(app, label)
        return found[1] if found else ""

    svg, w_pt = _drawn(app, d, docname, href, number)
    for where, label in d.links():
        if _equation(app, label) is None:
            logger.warning(
                f"diagram {d.name}: {where} links to equation {label!r}, which "
                "no page labels",
                location=node,
            )
    key = f"dg-{d.name}"
    # The natural size is 96 px per inch; wider screens show it up to 1.3 times larger,
    # narrower ones shrink it to the column (or scroll it, from min_width down).
    width = round(w_pt * 96 / 72 * 1.3)
    style = f"--dg-max: {width}px;"
    if d.min_width:
        style += f" --dg-min: {int(d.min_width)}px;"
    svg = svg.replace(
        "<svg ",
        f'<svg role="group" aria-labelledby="{key}-title" '
        f'aria-describedby="{key}-words" ',
        1,
    )
    head = svg.index(">", svg.index("<svg")) + 1
    svg = (
        svg[:head]
        + f'<title id="{key}-title">{escape(d.title)}</title>'
        + f"<desc>{escape(d.summary)}</desc>"
        + svg[head:]
    )
    opening = (
        f'<figure class="diagram" id="{node["ids"][0]}">'
        f'<div class="diagram-canvas" style="{style}">{svg}</div>'
    )
    parts: list[nodes.Node] = [nodes.raw("", opening, format="html")]
    if node.children:
        parts.append(nodes.raw("", "<figcaption>", format="html"))
        parts.extend(node.children)
        parts.append(nodes.raw("", "</figcaption>", format="html"))
    parts.append(
        nodes.raw("", _words(d, href, number, key) + "</figure>", format="html")
    )
    return parts


def _drawn(app, d, docname: str, href, number) -> tuple[str, float]:
    """The diagram's SVG and its width in points, drawn once per description, drawing
    code, matplotlib and set of links: kept in the doctree folder, so a page written
    again (its code re-ran, say) does not draw its diagrams again."""
    import matplotlib

    links = sorted({label for _, label in d.links()})
    key = hashlib.sha256(
        json.dumps(
            [
                d.path.read_text(encoding="utf-8"),
                app.config.diagrams_digest,  # the drawing code, hashed once at setup
                matplotlib.__version__,
                docname,
                [(label, href(label), number(label)) for label in links],
            ]
        ).encode()
    ).hexdigest()[:32]
    cached = Path(app.doctreedir) / "diagrams" / f"{d.name}-{key}.json"
    if cached.is_file():
        svg, w_pt = json.loads(cached.read_text(encoding="utf-8"))
        return svg, w_pt
    try:
        svg, (w_pt, _) = diagram_draw.svg(
            d, href, lambda label: f"Equation {number(label)}"
        )
    except ValueError:  # a label mathtext cannot read: say which
        diagram_draw.load(d.path, check_math=True)
        raise
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps([svg, w_pt]), encoding="utf-8")
    return svg, w_pt


def _words(d, href, number, key: str) -> str:
    """The text alternative as HTML: summary, quantities with links, arrows."""
    quantities, sections = diagram_draw.text_alternative(d)
    links = []
    for text, label in quantities:
        url = href(label) if label else None
        links.append(
            f'<a href="{escape(url)}">{escape(text)} {escape(number(label))}</a>'
            if url
            else escape(text)
        )
    html = [
        f'<details class="diagram-text" id="{key}-words">',
        "<summary>The diagram in words</summary>",
        f"<p>{escape(d.summary)}</p>",
        "<p>Quantities, each linked to the equation that defines it: "
        + ", ".join(links)
        + ".</p>",
    ]
    for heading, lines in sections:
        if not lines:
            continue
        html.append(
            f"<p>{escape(heading)}:</p><ul>"
            + "".join(f"<li>{escape(line)}</li>" for line in lines)
            + "</ul>"
        )
    html.append("</details>")
    return "".join(html)


def _pdf_figure(app, node) -> list[nodes.Node]:
    """The PDF's figure: the diagram drawn in the light palette as a vector PDF (no
    links; the equation numbers it shows are printed beside the equations), then its
    caption."""
    d = diagram_draw.load(node["name"], check_math=False)
    name = f"diagram-{d.name}.pdf"
    fig = diagram_draw.draw(d, palette="light")
    fig.savefig(
        Path(app.outdir) / name,
        format="pdf",
        facecolor="white",
        metadata={"CreationDate": None, "ModDate": None, "Producer": None},
    )
    figure = nodes.figure(ids=node["ids"])
    # Written into the LaTeX folder already: Sphinx is told not to look for it ("?").
    figure += nodes.image(uri=name, alt=d.title, candidates={"?": name})
    if node.children:
        legend = nodes.legend()
        legend.extend(node.children)
        figure += legend
    return [figure]


def _resolve(app, doctree, docname: str) -> None:
    for node in list(doctree.findall(diagram)):
        if app.builder.format == "html":
            node.replace_self(_render(app, node, docname))
        elif app.builder.format == "latex":
            node.replace_self(_pdf_figure(app, node))
        else:  # other builders: the caption alone
            node.replace_self(node.children or [])


def _digest() -> str:
    """Changes when the drawing code does, so that every page is written anew."""
    h = hashlib.sha256()
    for name in ("diagrams.py", "diagram_draw.py"):
        h.update((HERE / name).read_bytes())
    return h.hexdigest()[:16]


def setup(app):
    app.add_node(diagram)
    app.add_directive("diagram", Diagram)
    app.connect("doctree-resolved", _resolve)
    app.add_css_file("diagrams.css")
    app.add_config_value("diagrams_digest", _digest(), "html")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
