"""Diagrams of the computation, drawn from declarative descriptions (docs/_diagrams/*.toml).

A description is data, not code: nodes at positions (in inches, from the bottom left),
each with a label in matplotlib's mathtext, a plain-text name, the labelled equation that
defines it and the model quantity it stands for; arrows between nodes with an optional
label (a factor, also linked); shaded groups. This module reads and validates a
description, draws it as SVG with matplotlib (every quantity a link to its equation) and
writes its text alternative. It needs neither Sphinx nor the package ``lstm_notes``: the
Sphinx extension ``diagrams`` resolves the links, ``tests/test_diagrams.py`` holds the
quantities against the model through ``docs/_diagrams/models.toml``.

Colours are roles, not values: the SVG carries CSS variables (``var(--dg-ink)``, ...)
that ``docs/_static/diagrams.css`` sets for the light and the dark theme.
"""

from __future__ import annotations

import io
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

DIAGRAMS = Path(__file__).resolve().parents[2] / "_diagrams"

#: Node kinds: the fill role of their box ("note": no box, the text itself is the link).
KINDS = ("state", "gate", "input", "output", "param", "grad", "op", "note")
#: Arrow styles: the stroke role and the dash pattern (so that no style is told by colour
#: alone: the backward and the attention paths differ in dashes too).
STYLES = {
    "forward": ("ink", "solid", 1.1),
    "backward": ("back", "solid", 1.4),
    "cell": ("cell", "solid", 2.4),
    "value": ("value", "solid", 1.4),
    "key": ("key", (0, (5, 2)), 1.4),
    "query": ("query", (0, (1.5, 1.8)), 1.6),
    "path": ("back", "solid", 2.2),
    "faint": ("faint", "solid", 0.9),
}
#: Role -> (sentinel colour written by matplotlib, light colour, dark colour). The
#: sentinels are replaced by ``var(--dg-<role>)`` in the SVG; the two palettes are used
#: for previews and must agree with docs/_static/diagrams.css.
ROLES = {
    "ink": ("#010101", "#1b1b1b", "#e6e6e6"),
    "bg": ("#010102", "#ffffff", "#14181f"),
    "state": ("#010103", "#dceaf8", "#1d3b5c"),
    "gate": ("#010104", "#fdebcc", "#5a4216"),
    "input": ("#010105", "#ececec", "#33383f"),
    "output": ("#010106", "#dff0d8", "#234a26"),
    "param": ("#010107", "#ece0f5", "#46305a"),
    "grad": ("#010108", "#fbdede", "#5c2424"),
    "op": ("#010109", "#ffffff", "#14181f"),
    "group": ("#01010a", "#f2f4f7", "#1f252e"),
    "back": ("#01010b", "#c0392b", "#ff8a78"),
    "cell": ("#01010c", "#2e7d32", "#7fd483"),
    "value": ("#01010d", "#1f5fa8", "#7db4ff"),
    "key": ("#01010e", "#b35900", "#ffb266"),
    "query": ("#01010f", "#8e24aa", "#e49cf5"),
    "faint": ("#010110", "#b9bec6", "#505862"),
}


class DiagramError(ValueError):
    """A description that cannot be drawn; the message names the file and the item."""


@dataclass
class Node:
    id: str
    at: tuple[float, float]
    label: str
    text: str
    kind: str = "state"
    eq: str | None = None
    q: tuple[str, ...] = ()
    size: tuple[float, float] | None = None
    font: float | None = None
    faint: bool = False


@dataclass
class Edge:
    src: str
    dst: str
    style: str = "forward"
    label: str | None = None
    text: str | None = None
    eq: str | None = None
    q: tuple[str, ...] = ()
    conn: str = "arc3,rad=0"
    label_at: tuple[float, float] | None = None
    font: float | None = None
    heads: str = "end"


@dataclass
class Group:
    """A shaded area with a corner label. A group with an ``id`` is framed and arrows
    may start or end at it (the four gates of a step, say); ``text`` names it in words."""

    box: tuple[float, float, float, float]
    label: str = ""
    text: str = ""
    id: str | None = None

    @property
    def at(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return (x0 + x1) / 2, (y0 + y1) / 2

    def __contains__(self, point) -> bool:
        x0, y0, x1, y1 = self.box
        return x0 <= point[0] <= x1 and y0 <= point[1] <= y1


@dataclass
class Diagram:
    name: str
    path: Path
    title: str
    summary: str
    model: str
    size: tuple[float, float]
    font: float = 13.0
    min_width: int | None = None
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    def end(self, name: str) -> Node | Group:
        """The node or framed group an arrow starts or ends at."""
        if name in self.nodes:
            return self.nodes[name]
        return next(g for g in self.groups if g.id == name)

    def links(self) -> list[tuple[str, str]]:
        """(where, equation label) for every link the diagram carries."""
        out = [(f"node {n.id!r}", n.eq) for n in self.nodes.values() if n.eq]
        out += [(f"arrow {e.src}->{e.dst}", e.eq) for e in self.edges if e.eq]
        return out

    def quantities(self) -> list[tuple[str, str, str]]:
        """(where, model, quantity) for every model quantity the diagram names; a
        quantity written ``model:name`` belongs to another model than the diagram's."""
        out = []
        items = [(f"node {n.id!r}", n.q) for n in self.nodes.values()]
        items += [(f"arrow {e.src}->{e.dst}", e.q) for e in self.edges]
        for where, qs in items:
            for q in qs:
                model, _, name = q.rpartition(":")
                out.append((where, model or self.model, name))
        return out


# --- reading a description ----------------------------------------------------------


def _pair(value, where: str, what: str) -> tuple[float, float]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, (int, float)) for v in value)
    ):
        raise DiagramError(f"{where}: {what} must be two numbers [x, y], got {value!r}")
    return float(value[0]), float(value[1])


def _quantities(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise DiagramError(f"{where}: q must be a quantity name or a list of them")
    return tuple(value)


def _take(table: dict, where: str, allowed: set[str]) -> dict:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise DiagramError(
            f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}"
        )
    return table


def _check_math(label: str, where: str) -> None:
    """Fail on a label that mathtext cannot parse, naming it (not deep inside a draw)."""
    from matplotlib.mathtext import MathTextParser

    if label.count("$") % 2:
        raise DiagramError(f"{where}: unbalanced $ in label {label!r}")
    try:
        MathTextParser("path").parse(label) if "$" in label else None
    except ValueError as err:
        raise DiagramError(
            f"{where}: mathtext cannot read label {label!r}: {err}"
        ) from None


def load(name_or_path: str | Path, check_math: bool = True) -> Diagram:
    """Read and validate one description: ``"lstm-cell"`` or a path to a .toml file.

    ``check_math=False`` skips parsing each label's mathtext (a third of a diagram's
    drawing time): for a description the directive has loaded, and so checked, already."""
    check = _check_math if check_math else lambda label, where: None
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = DIAGRAMS / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(sorted(names()))
        raise DiagramError(f"no diagram description {path} (known: {known})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise DiagramError(f"{path}: {err}") from None
    top = _take(
        data,
        str(path),
        {
            "title",
            "summary",
            "model",
            "size",
            "font",
            "min_width",
            "nodes",
            "edges",
            "groups",
        },
    )
    for key in ("title", "summary", "model", "size", "nodes"):
        if key not in top:
            raise DiagramError(f"{path}: missing {key!r}")
    d = Diagram(
        name=path.stem,
        path=path,
        title=top["title"],
        summary=top["summary"],
        model=top["model"],
        size=_pair(top["size"], str(path), "size"),
        font=float(top.get("font", 13.0)),
        min_width=top.get("min_width"),
    )
    node_keys = {"at", "label", "text", "kind", "eq", "q", "size", "font", "faint"}
    for nid, spec in top["nodes"].items():
        where = f"{path.name}: node {nid!r}"
        _take(spec, where, node_keys)
        for key in ("at", "label", "text"):
            if key not in spec:
                raise DiagramError(f"{where}: missing {key!r}")
        kind = spec.get("kind", "state")
        if kind not in KINDS:
            raise DiagramError(f"{where}: kind {kind!r} is not one of {KINDS}")
        node = Node(
            nid,
            _pair(spec["at"], where, "at"),
            spec["label"],
            spec["text"],
            kind,
            spec.get("eq"),
            _quantities(spec.get("q"), where),
            _pair(spec["size"], where, "size") if "size" in spec else None,
            spec.get("font"),
            bool(spec.get("faint", False)),
        )
        # A quantity is a link: whatever names a model quantity says where it is defined.
        if node.q and not node.eq:
            raise DiagramError(f"{where}: names {node.q} but links to no equation (eq)")
        if kind not in ("op", "note") and not node.faint and not node.q:
            raise DiagramError(
                f"{where}: a {kind} node must name its model quantity (q)"
            )
        check(node.label, where)
        d.nodes[nid] = node
    for i, spec in enumerate(top.get("groups", [])):
        where = f"{path.name}: group {i + 1}"
        _take(spec, where, {"box", "label", "text", "id"})
        box = spec.get("box")
        if not (isinstance(box, list) and len(box) == 4):
            raise DiagramError(f"{where}: box must be [x0, y0, x1, y1]")
        group = Group(
            tuple(float(v) for v in box),
            spec.get("label", ""),
            spec.get("text", ""),
            spec.get("id"),
        )
        if group.id is not None and (group.id in d.nodes or not group.text):
            raise DiagramError(
                f"{where}: id {group.id!r} needs a 'text' and must not be a node's id"
            )
        d.groups.append(group)
    edge_keys = {
        "from",
        "to",
        "style",
        "label",
        "text",
        "eq",
        "q",
        "conn",
        "label_at",
        "font",
        "heads",
    }
    for i, spec in enumerate(top.get("edges", [])):
        where = f"{path.name}: edge {i + 1} ({spec.get('from')}->{spec.get('to')})"
        _take(spec, where, edge_keys)
        ends = set(d.nodes) | {g.id for g in d.groups if g.id}
        for end in ("from", "to"):
            if spec.get(end) not in ends:
                raise DiagramError(f"{where}: {end!r} names no node or framed group")
        style = spec.get("style", "forward")
        if style not in STYLES:
            raise DiagramError(
                f"{where}: style {style!r} is not one of {sorted(STYLES)}"
            )
        heads = spec.get("heads", "end")
        if heads not in ("end", "both", "none"):
            raise DiagramError(f"{where}: heads must be end, both or none")
        edge = Edge(
            spec["from"],
            spec["to"],
            style,
            spec.get("label"),
            spec.get("text"),
            spec.get("eq"),
            _quantities(spec.get("q"), where),
            spec.get("conn", "arc3,rad=0"),
            _pair(spec["label_at"], where, "label_at") if "label_at" in spec else None,
            spec.get("font"),
            heads,
        )
        if edge.label is not None:
            if edge.text is None:
                raise DiagramError(
                    f"{where}: a labelled arrow needs its plain 'text' too"
                )
            check(edge.label, where)
        if edge.q and not edge.eq:
            raise DiagramError(f"{where}: names {edge.q} but links to no equation (eq)")
        d.edges.append(edge)
    w, h = d.size
    points = [(f"node {n.id!r}", n.at) for n in d.nodes.values()]
    points += [
        (f"the label of edge {e.src}->{e.dst}", e.label_at)
        for e in d.edges
        if e.label_at
    ]
    for what, (x, y) in points:
        if not (0 <= x <= w and 0 <= y <= h):
            raise DiagramError(
                f"{path.name}: {what} at {(x, y)} lies outside the drawing "
                f"({w} x {h} in)"
            )
    return d


def names() -> list[str]:
    """The names of every description (the models mapping excepted)."""
    return sorted(p.stem for p in DIAGRAMS.glob("*.toml") if p.stem != "models")


# --- drawing ------------------------------------------------------------------------

PAD = 0.07  # inches between a label and its box
MIN_BOX = (0.42, 0.34)


def _colour(role: str, palette: str) -> str:
    sentinel, light, dark = ROLES[role]
    return {"css": sentinel, "light": light, "dark": dark}[palette]


def _figure(d: Diagram) -> tuple[Figure, object]:
    fig = Figure(figsize=d.size, dpi=72)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(0, d.size[0])
    ax.set_ylim(0, d.size[1])
    return fig, ax


def _centred_text(ax, renderer, at, text: str, size: float, colour: str, zorder: int):
    """A label centred on ``at``, its math in Computer Modern; the text and its width
    and height in inches, measured as drawn."""
    t = ax.text(
        *at,
        text,
        ha="center",
        va="center",
        fontsize=size,
        color=colour,
        zorder=zorder,
        math_fontfamily="cm",
    )
    ext = t.get_window_extent(renderer)
    return t, ext.width / 72, ext.height / 72


def draw(
    d: Diagram,
    href: Callable[[str], str | None] = lambda label: None,
    palette: str = "css",
) -> Figure:
    """The matplotlib figure of ``d``; ``href(label)`` gives each equation's address.
    ``palette`` is "css" (sentinel colours for the site's variables), "light" or "dark"."""
    fig, ax = _figure(d)
    renderer = fig.canvas.get_renderer()
    c = lambda role: _colour(role, palette)  # noqa: E731
    boxes = {}
    for g in d.groups:
        x0, y0, x1, y1 = g.box
        patch = FancyBboxPatch(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            boxstyle="round,pad=0,rounding_size=0.08",
            fc=c("group"),
            ec=c("ink") if g.id else "none",
            lw=0.8,
            zorder=1,
        )
        ax.add_patch(patch)
        if g.id:
            boxes[g.id] = patch
        if g.label:
            ax.text(
                x0 + 0.06,
                y1 - 0.05,
                g.label,
                ha="left",
                va="top",
                fontsize=d.font * 0.72,
                color=c("ink"),
                zorder=1,
                math_fontfamily="cm",
            )
    for n in d.nodes.values():
        size = n.font or (d.font * (0.85 if n.kind == "op" else 1.0))
        ink = c("faint") if n.faint else c("ink")
        t, tw, th = _centred_text(ax, renderer, n.at, n.label, size, ink, 4)
        if n.kind == "note":
            w, h = tw + 2 * PAD, th + 2 * PAD
            if n.eq:
                t.set_url(href(n.eq))
            box = FancyBboxPatch(
                (n.at[0] - w / 2, n.at[1] - h / 2),
                w,
                h,
                boxstyle="round,pad=0",
                fc="none",
                ec="none",
                zorder=3,
            )
            ax.add_patch(box)
            boxes[n.id] = box
            continue
        if n.kind == "op":  # a circle around the operator
            w = h = n.size[0] if n.size else max(tw + 2 * PAD, th + 2 * PAD, 0.26)
            style = f"round,pad=0,rounding_size={w / 2}"
        else:
            w, h = n.size or (
                max(MIN_BOX[0], tw + 2 * PAD),
                max(MIN_BOX[1], th + 2 * PAD),
            )
            style = "round,pad=0,rounding_size=0.07"
        box = FancyBboxPatch(
            (n.at[0] - w / 2, n.at[1] - h / 2),
            w,
            h,
            boxstyle=style,
            fc=c("bg" if n.faint else n.kind),
            ec=ink,
            lw=0.8 if n.faint else 1.1,
            zorder=3,
        )
        if n.eq:
            box.set_url(href(n.eq))
        ax.add_patch(box)
        boxes[n.id] = box
    for e in d.edges:
        role, dash, lw = STYLES[e.style]
        a, b = d.end(e.src), d.end(e.dst)
        arrow = {"end": "-|>", "both": "<|-|>", "none": "-"}[e.heads]
        ax.add_patch(
            FancyArrowPatch(
                a.at,
                b.at,
                patchA=boxes[e.src],
                patchB=boxes[e.dst],
                shrinkA=1.5,
                shrinkB=1.5,
                connectionstyle=e.conn,
                arrowstyle=arrow,
                mutation_scale=11,
                color=c(role),
                lw=lw,
                linestyle=dash,
                zorder=2,
            )
        )
        if e.label:
            at = e.label_at or ((a.at[0] + b.at[0]) / 2, (a.at[1] + b.at[1]) / 2)
            size = e.font or d.font * 0.85
            colour = c("ink") if e.style in ("forward", "faint") else c(role)
            t, tw, th = _centred_text(ax, renderer, at, e.label, size, colour, 6)
            w, h = tw + 0.06, th + 0.05
            # The label hides the lines under it, in the colour of what lies behind it.
            behind = "group" if any(at in g for g in d.groups) else "bg"
            label_box = FancyBboxPatch(
                (at[0] - w / 2, at[1] - h / 2),
                w,
                h,
                boxstyle="round,pad=0,rounding_size=0.04",
                fc=c(behind),
                ec="none",
                zorder=5,
            )
            if e.eq:
                label_box.set_url(href(e.eq))
            ax.add_patch(label_box)
    return fig


def svg(
    d: Diagram,
    href: Callable[[str], str | None],
    titles: Callable[[str], str] = lambda label: label,
) -> tuple[str, tuple[float, float]]:
    """The inline SVG of ``d``: links to ``href(label)`` (each with the tooltip
    ``titles(label)``), colours as CSS variables, ids unique to this diagram, nothing
    that changes from one build to the next."""
    urls: dict[str, str] = {}

    def link(label: str) -> str | None:
        url = href(label)
        if url is not None:
            urls[url] = titles(label)
        return url

    fig = draw(d, link, "css")
    buf = io.StringIO()
    with matplotlib.rc_context(
        {"svg.hashsalt": f"diagram-{d.name}", "svg.fonttype": "path"}
    ):
        fig.savefig(
            buf,
            format="svg",
            transparent=True,
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    out = buf.getvalue()
    out = out[out.index("<svg") :]
    out = re.sub(r"\s*<metadata>.*?</metadata>", "", out, flags=re.S)
    # Ids: prefixed with the diagram's name, so two diagrams can share a page.
    prefix = f"dg-{d.name}-"
    ids = set(re.findall(r'\bid="([^"]+)"', out))
    out = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m[1]}"', out)
    out = re.sub(
        r'#([^"#)\s]+)(["\)])',
        lambda m: f"#{prefix}{m[1]}{m[2]}" if m[1] in ids else m[0],
        out,
    )
    # Links: same tab, with the equation's number as their title.
    out = out.replace(' target="_blank"', "")

    def titled(m):
        title = urls.get(m[1].replace("&amp;", "&"), "")
        return f'<a xlink:href="{m[1]}"><title>{escape(title)}</title>'

    out = re.sub(r'<a xlink:href="([^"]*)">', titled, out)
    for role, (sentinel, _, _) in ROLES.items():
        out = out.replace(sentinel, f"var(--dg-{role})")
    # Size: the viewBox stays, the page's CSS sets the width.
    w_pt, h_pt = d.size[0] * 72, d.size[1] * 72
    out = re.sub(
        r'<svg ([^>]*?)width="[^"]*" height="[^"]*"',
        lambda m: f"<svg {m[1]}",
        out,
        count=1,
    )
    return out.strip(), (w_pt, h_pt)


# --- the text alternative -----------------------------------------------------------


def _inflows(d: Diagram) -> dict[str, list[str]]:
    """For every node or frame that is not an operator: what flows into it, in words. An
    operator is spelt out where its result goes ("the sum of (A (W ·), B)"), so that no
    line says "+ receives ...". A two-headed arrow flows both ways. A faint arrow is
    context and left out, unless it is a term of an operator: a sum names all its terms."""
    into: dict[str, list[Edge]] = {}
    for e in d.edges:
        dst = d.end(e.dst)
        into_op = isinstance(dst, Node) and dst.kind == "op"
        if e.style == "faint" and not into_op:  # context, not what the diagram says
            continue
        into.setdefault(e.dst, []).append(e)
        if e.heads == "both":
            into.setdefault(e.src, []).append(
                Edge(e.dst, e.src, e.style, e.label, e.text)
            )

    def how(e: Edge) -> str:
        """The arrow's label, or the path it stands for (attention: value, key, query)."""
        said = e.text or (e.style if e.style in ("value", "key", "query") else "")
        return f" ({said})" if said else ""

    def words(name: str, seen: tuple = ()) -> str:
        end = d.end(name)
        if not (isinstance(end, Node) and end.kind == "op") or name in seen:
            return end.text
        parts = [words(e.src, seen + (name,)) + how(e) for e in into.get(name, [])]
        return f"{end.text} ({', '.join(parts)})" if parts else end.text

    lines = {}
    for dst, edges in into.items():
        end = d.end(dst)
        if isinstance(end, Node) and end.kind == "op":
            continue
        parts = []
        for e in edges:
            part = words(e.src) + how(e)
            if part not in parts:
                parts.append(part)
        lines[dst] = f"{end.text} receives {'; '.join(parts)}"
    return lines


def text_alternative(
    d: Diagram,
) -> tuple[list[tuple[str, str | None]], list[tuple[str, list[str]]]]:
    """What the diagram shows, in words, generated from the description: the quantities
    as (text, equation label), each once, and what flows into each quantity as
    (heading, lines), by group where the description has groups, each line once."""
    quantities = []
    for n in d.nodes.values():
        item = (n.text, n.eq)
        if n.text and not n.faint and n.kind != "op" and item not in quantities:
            quantities.append(item)
    for e in d.edges:
        item = (e.text, e.eq)
        if e.eq and e.q and item not in quantities:
            quantities.append(item)
    lines = _inflows(d)
    sections: list[tuple[str, list[str]]] = []
    placed: set[str] = set()
    for g in d.groups:
        if g.id:
            continue
        mine = []
        for dst, line in lines.items():
            if dst not in placed and d.end(dst).at in g:
                placed.add(dst)
                if line not in mine:
                    mine.append(line)
        if mine:
            sections.append((g.text or g.label, mine))
    rest = []
    for dst, line in lines.items():
        if dst not in placed and line not in rest:
            rest.append(line)
    if rest:
        sections.append(("Elsewhere" if sections else "Arrows", rest))
    return quantities, sections


def preview(name: str, out: Path, dpi: int = 150) -> None:
    """The diagram in the light and the dark palette, side by side, as a PNG, for writing
    a description: ``python docs/_ext/verified_book/diagram_draw.py lstm-cell x.png``."""
    from matplotlib.image import imread

    d = load(name)
    images = []
    for palette in ("light", "dark"):
        buf = io.BytesIO()
        draw(d, palette=palette).savefig(
            buf, format="png", dpi=dpi, facecolor=_colour("bg", palette)
        )
        buf.seek(0)
        images.append(imread(buf))
    both = Figure(figsize=(2 * d.size[0], d.size[1]), dpi=dpi)
    FigureCanvasAgg(both)
    both.figimage(np.hstack(images))
    both.savefig(out, dpi=dpi)


if __name__ == "__main__":
    import sys

    preview(sys.argv[1], Path(sys.argv[2]))
