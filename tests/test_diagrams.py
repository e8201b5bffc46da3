"""The diagrams of the computation (docs/_diagrams/*.toml, drawn by verified_book.diagrams).

Each description is held against the model and the book:
- every quantity a diagram names exists in its model: the look-up goes through
  docs/_diagrams/models.toml (module, a seeded example, "value.field"), so that a moved
  module or a renamed cache field is one line to change there, and this test says which;
- every link names an equation that a page of the book labels, and in the built site
  every link of every diagram reaches an element with that id;
- every diagram is placed on a page, is inline SVG (an <img> would disable its links),
  has a title and a text alternative that names each quantity, and uses the site's colour
  variables (so that it reads in the dark theme too).
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import numpy as np
import pytest
from conftest import ROOT
from test_pairing import PAGES, labelled_equations
from test_site import html_pages, site  # noqa: F401  (the site fixture)

sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from verified_book import diagram_draw  # noqa: E402

NAMES = diagram_draw.names()
MODELS_FILE = diagram_draw.DIAGRAMS / "models.toml"
# The diagrams the issue asks for (issue 15, item 1); more may be added.
REQUIRED = {
    "lstm-cell",
    "lstm-unrolled",
    "lstm-backward",
    "lstm-stacked",
    "rnn-bptt-paths",
    "attention-rnn",
    "carousel",
}


# --- the mapping from diagram names to the model ----------------------------------------


class Missing(LookupError):
    """A quantity the mapping cannot find; the message says where to look."""


def model_values(mapping: dict, model: str, _cache: dict = {}) -> dict:  # noqa: B006
    """The values of ``mapping[model]`` (see models.toml), computed once per mapping and
    model (a changed mapping, as in the tests that break it, is computed anew)."""
    key = (json.dumps(mapping, sort_keys=True), model)
    if key in _cache:
        return _cache[key]
    if model not in mapping:
        raise Missing(
            f"model {model!r} has no section in {MODELS_FILE.name} "
            f"(sections: {sorted(mapping)})"
        )
    spec = mapping[model]
    try:
        modules = {
            name: importlib.import_module(s["module"]) for name, s in mapping.items()
        }
    except ImportError as err:
        raise Missing(
            f"{MODELS_FILE.name}: a module cannot be imported ({err}); has the "
            "package moved? Update its `module`."
        ) from None
    scope = {**modules, "m": modules[model], "np": np, "load": importlib.import_module}
    values = {}
    for name, expression in spec.get("values", {}).items():
        try:
            values[name] = scope[name] = eval(expression, scope)  # noqa: S307 (our own file)
        except Exception as err:
            raise Missing(
                f"{MODELS_FILE.name} [{model}.values] {name} = {expression!r} "
                f"fails: {type(err).__name__}: {err}"
            ) from None
    _cache[key] = values
    return values


def look_up(mapping: dict, model: str, quantity: str):
    """The value of ``quantity`` in ``model``, or Missing naming what to fix."""
    spec = mapping.get(model, {})
    where = spec.get("quantities", {}).get(quantity)
    if where is None:
        raise Missing(
            f"{MODELS_FILE.name} [{model}.quantities] has no {quantity!r}: add "
            "where the model keeps it"
        )
    value_name, _, field = where.partition(".")
    values = model_values(mapping, model)
    if value_name not in values:
        raise Missing(
            f"{MODELS_FILE.name} [{model}.quantities] {quantity} = {where!r}: no "
            f"value {value_name!r}"
        )
    value = values[value_name]
    if not field:
        return value
    if isinstance(value, dict):
        if field not in value:
            raise Missing(
                f"{model}: {value_name} has no key {field!r} (keys: "
                f"{sorted(value)}); update {MODELS_FILE.name}"
            )
        return value[field]
    if isinstance(value, (tuple, list, set, frozenset)):
        if field not in value:
            raise Missing(
                f"{model}: {field!r} is not one of {value_name} {tuple(value)}; "
                f"update {MODELS_FILE.name}"
            )
        return field
    if not hasattr(value, field):
        raise Missing(
            f"{model}: {value_name} ({type(value).__name__}) has no field "
            f"{field!r}; renamed? update {MODELS_FILE.name}"
        )
    return getattr(value, field)


def mapping() -> dict:
    return tomllib.loads(MODELS_FILE.read_text(encoding="utf-8"))


def is_a_quantity(value) -> bool:
    """A computed array or number (finite float64), or a name the model lists."""
    if isinstance(value, str):
        return True
    array = np.asarray(value)
    return (
        array.dtype == np.float64 and array.size > 0 and bool(np.isfinite(array).all())
    )


# --- descriptions against the model and the book -----------------------------------------


def test_every_required_diagram_has_a_description():
    assert REQUIRED <= set(NAMES), f"missing: {sorted(REQUIRED - set(NAMES))}"


@pytest.mark.parametrize("name", NAMES)
def test_every_quantity_a_diagram_names_exists_in_its_model(name):
    d = diagram_draw.load(name)
    table = mapping()
    named = d.quantities()
    assert named, f"{name} names no model quantity"
    for where, model, quantity in named:
        try:
            value = look_up(table, model, quantity)
        except Missing as err:
            pytest.fail(f"{name}, {where}: {err}")
        assert is_a_quantity(value), (
            f"{name}, {where}: {model}:{quantity} is {type(value).__name__}, not a computed "
            "float64 array or a name the model lists"
        )


@pytest.mark.parametrize("name", NAMES)
def test_every_link_of_a_diagram_names_a_labelled_equation(name):
    labels = {
        label
        for page in PAGES
        for label, _ in labelled_equations(page.read_text(encoding="utf-8"))
    }
    d = diagram_draw.load(name)
    bad = [(where, label) for where, label in d.links() if label not in labels]
    assert not bad, f"{name}: links to equations no page labels: {bad}"
    assert len(d.links()) >= len(d.nodes) // 2, f"{name}: most quantities carry no link"


@pytest.mark.parametrize("name", NAMES)
def test_every_diagram_is_placed_on_a_page(name):
    pattern = re.compile(r"^```\{diagram\}\s+" + re.escape(name) + r"\s*$", re.M)
    pages = [p for p in PAGES if pattern.search(p.read_text(encoding="utf-8"))]
    assert pages, f"no page shows the diagram {name!r}"


def test_the_mapping_names_no_unused_model():
    used = {
        model for name in NAMES for _, model, _ in diagram_draw.load(name).quantities()
    }
    assert used == set(mapping()), f"unused sections: {sorted(set(mapping()) - used)}"


# --- the look-up and the loader can fail ---------------------------------------------------


def test_a_renamed_cache_field_fails_the_look_up_and_names_the_field():
    table = mapping()
    table["lstm"]["quantities"]["c_tilde"] = "cache.ctilde"
    with pytest.raises(Missing, match=r"no field 'ctilde'.*models.toml"):
        look_up(table, "lstm", "c_tilde")
    with pytest.raises(Missing, match="has no 'gamma_f'"):
        look_up(table, "lstm", "gamma_f")


def test_a_moved_module_fails_the_look_up_and_says_so():
    table = mapping()
    table["rnn"]["module"] = "lstm_notes.no_such_module"
    with pytest.raises(Missing, match="cannot be imported"):
        look_up(table, "rnn", "h")


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(
        'title = "t"\nsummary = "s"\nmodel = "lstm"\nsize = [2, 2]\n' + body,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "body, message",
    [
        (
            '[nodes.a]\nat = [1, 1]\nlabel = "a"\ntext = "a"\n',
            "must name its model quantity",
        ),
        (
            '[nodes.a]\nat = [1, 1]\nlabel = "a"\ntext = "a"\nq = "a"\n',
            "links to no equation",
        ),
        (
            '[nodes.a]\nat = [3, 1]\nlabel = "a"\ntext = "a"\nkind = "op"\n',
            "outside the drawing",
        ),
        (
            '[nodes.a]\nat = [1, 1]\nlabel = "$x^$"\ntext = "a"\nkind = "op"\n',
            "mathtext",
        ),
        (
            '[nodes.a]\nat = [1, 1]\nlabel = "a"\ntext = "a"\nkind = "op"\n'
            '[[edges]]\nfrom = "a"\nto = "b"\n',
            "'to' names no node",
        ),
        (
            '[nodes.a]\nat = [1, 1]\nlabel = "a"\ntext = "a"\nkind = "op"\ncolour = "red"\n',
            "unknown key",
        ),
    ],
)
def test_a_faulty_description_is_refused_with_a_message_naming_the_item(
    tmp_path, body, message
):
    with pytest.raises(diagram_draw.DiagramError, match=message):
        diagram_draw.load(write(tmp_path, body))


# --- the drawing ------------------------------------------------------------------------------


def fake_href(label: str) -> str:
    return f"page.html#equation-{label}"


@pytest.mark.parametrize("name", NAMES)
def test_the_svg_links_every_equation_and_uses_the_site_colours(name):
    d = diagram_draw.load(name)
    svg, (w, h) = diagram_draw.svg(d, fake_href)
    hrefs = set(re.findall(r'<a xlink:href="([^"]+)"', svg))
    assert hrefs == {fake_href(label) for _, label in d.links()}
    assert 'target="_blank"' not in svg
    assert "var(--dg-ink)" in svg
    leftover = {s for s, _, _ in diagram_draw.ROLES.values() if s in svg}
    assert not leftover, f"sentinel colours not replaced: {leftover}"
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert all(i.startswith(f"dg-{name}-") for i in ids)
    refs = set(re.findall(r'(?:xlink:href="#|url\(#)([^")]+)', svg))
    assert refs <= set(ids), (
        f"references to ids the SVG does not define: {refs - set(ids)}"
    )
    assert "<metadata>" not in svg and w > 0 and h > 0
    assert svg == diagram_draw.svg(d, fake_href)[0], "the SVG differs between two draws"


@pytest.mark.parametrize("name", NAMES)
def test_the_text_alternative_names_every_quantity_and_arrow(name):
    d = diagram_draw.load(name)
    quantities, sections = diagram_draw.text_alternative(d)
    told = {text for text, _ in quantities}
    for n in d.nodes.values():
        if n.q and not n.faint:
            assert n.text in told, f"{name}: {n.id} ({n.text}) is not in the text"
    lines = " ".join(line for _, ls in sections for line in ls)
    for e in d.edges:
        if e.style != "faint":
            assert d.end(e.dst).text in lines and d.end(e.src).text in lines


# --- the built site ----------------------------------------------------------------------


class Figures(HTMLParser):
    """The diagram figures of a page: their links, whether they hold an <svg> or <img>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.figures: list[dict] = []
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "figure" and "diagram" in (a.get("class") or "").split():
            self.figures.append({"id": a.get("id"), "links": [], "tags": set()})
            self._depth = 1
        elif self._depth:
            if tag == "figure":
                self._depth += 1
            self.figures[-1]["tags"].add(tag)
            href = a.get("href") or a.get("xlink:href")
            if tag == "a" and href:
                self.figures[-1]["links"].append(href)

    def handle_endtag(self, tag):
        if self._depth and tag == "figure":
            self._depth -= 1


def parse_figures(path: Path) -> Figures:
    parser = Figures()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_diagram_link_in_the_built_site_reaches_its_equation(site):  # noqa: F811
    shown, ids_of = {}, {}
    for path in html_pages(site):
        page = parse_figures(path)
        for fig in page.figures:
            name = fig["id"].removeprefix("diagram-")
            shown.setdefault(name, []).append(path.relative_to(site).as_posix())
            assert "svg" in fig["tags"] and "img" not in fig["tags"], (
                f"{path.name}: {name} is not inline SVG"
            )
            assert "details" in fig["tags"], (
                f"{path.name}: {name} has no text alternative"
            )
            assert fig["links"], f"{path.name}: {name} has no links"
            for href in fig["links"]:
                target = urljoin(path.as_uri(), href)
                parts = urlsplit(target)
                file = Path(parts.path)
                assert file.exists(), (
                    f"{path.name}: {name} links to a missing page {href}"
                )
                if file not in ids_of:
                    ids_of[file] = parse_figures(file).ids
                assert parts.fragment.startswith("equation-"), f"{name}: {href}"
                assert parts.fragment in ids_of[file], (
                    f"{path.name}: {name} links to #{parts.fragment}, which "
                    f"{file.relative_to(site)} does not have"
                )
    assert set(shown) == set(NAMES), f"not shown: {sorted(set(NAMES) - set(shown))}"


@pytest.mark.parametrize("name", NAMES)
def test_the_text_alternative_names_every_term_of_a_sum_faint_ones_too(name):
    d = diagram_draw.load(name)
    _, sections = diagram_draw.text_alternative(d)
    lines = " ".join(line for _, ls in sections for line in ls)
    for e in d.edges:
        dst = d.end(e.dst)
        if isinstance(dst, diagram_draw.Node) and dst.kind == "op":
            assert d.end(e.src).text in lines, f"{name}: {e.src} -> {e.dst} is not said"


@pytest.mark.parametrize("name", NAMES)
def test_every_arrow_out_of_a_gradient_says_what_it_multiplies_by(name):
    """A backward diagram's caption promises a factor on each arrow leaving a gradient."""
    d = diagram_draw.load(name)
    for e in d.edges:
        src = d.end(e.src)
        if e.style in ("backward", "cell") and getattr(src, "kind", "grad") == "grad":
            assert e.label, f"{name}: the arrow {e.src} -> {e.dst} carries no factor"
