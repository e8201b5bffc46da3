"""Static checks of the built site: what a reader relies on, read from the HTML files.

- nothing is loaded from another host (scripts, styles, fonts, images): the site works
  offline and leaks no reader to a CDN;
- MathJax ships with the site, and every page with math loads it from there;
- every labelled equation of docs/ has a number, an id and a permalink, and a row in the
  verification report;
- the footer shows the version and the date, the cite page gives BibTeX for this version,
  CITATION.cff agrees with the package, the pages carry a favicon and a description.

The build-dependent tests use the session's whole-book build (``built_book``); to run them
on an existing build instead, set ``LSTM_NOTES_SITE`` to its html folder, e.g.
``LSTM_NOTES_SITE=_build/html .venv/bin/python -m pytest tests/test_site.py``.
"""

from __future__ import annotations

import datetime
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import yaml
from conftest import ROOT
from docutils.nodes import make_id
from test_pairing import PAGES, labelled_equations

import lstm_notes

ENV_SITE = "LSTM_NOTES_SITE"


# --- the built site ----------------------------------------------------------------


@pytest.fixture(scope="session")
def site(request) -> Path:
    """The html folder of a whole-book build (the shared session build by default)."""
    given = os.environ.get(ENV_SITE)
    if given:
        path = Path(given)
        path = path if path.is_absolute() else ROOT / path
        assert (path / "index.html").exists(), (
            f"{ENV_SITE}={given}: no index.html there"
        )
        return path
    project, done = request.getfixturevalue("built_book")
    if done.returncode != 0:
        pytest.fail(
            "the book does not build (see test_the_book_builds_cleanly):\n"
            + (done.stdout + done.stderr)[-2000:]
        )
    return project / "_build" / "html"


def html_pages(site: Path) -> list[Path]:
    """Every page of the book (not the copied sources, static files or reports)."""
    skip = {"_sources", "_static", "_images", "reports", "_downloads"}
    return sorted(
        p for p in site.rglob("*.html") if not skip & set(p.relative_to(site).parts)
    )


class Page(HTMLParser):
    """The parts of a page these tests look at."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.assets: list[tuple[str, str]] = []  # (tag, url) loaded by the browser
        self.links: list[str] = []  # <a href>
        self.ids: set[str] = set()
        self.meta: dict[str, str] = {}
        self.styles: list[str] = []  # inline <style> and style=""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if a.get("style"):
            self.styles.append(a["style"])
        if tag == "script" and a.get("src"):
            self.assets.append((tag, a["src"]))
        elif tag == "link" and a.get("href"):
            rel = set((a.get("rel") or "").split())
            if rel & {
                "stylesheet",
                "preload",
                "modulepreload",
                "icon",
                "shortcut",
                "apple-touch-icon",
                "manifest",
                "prefetch",
            }:
                self.assets.append((tag, a["href"]))
        elif tag in ("img", "iframe", "source", "audio", "video", "embed") and a.get(
            "src"
        ):
            self.assets.append((tag, a["src"]))
        elif tag == "object" and a.get("data"):
            self.assets.append((tag, a["data"]))
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "meta":
            key = a.get("name") or a.get("property")
            if key:
                self.meta[key] = a.get("content", "")
        elif tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def parse(path: Path) -> tuple[Page, str]:
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    return page, text


def is_remote(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.netloc) or parts.scheme not in ("", "data", "blob", "about")


CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""")


def remote_css_urls(css: str) -> list[str]:
    return [u for u in CSS_URL.findall(css) if is_remote(u)]


# --- checks that need no build -------------------------------------------------------


def cff() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def test_citation_cff_version_is_the_package_version():
    assert str(cff()["version"]) == lstm_notes.__version__


def test_citation_cff_is_valid_cff_1_2_0():
    data = cff()
    assert data["cff-version"] == "1.2.0"
    for key in (
        "message",
        "title",
        "authors",
        "version",
        "date-released",
        "license",
        "repository-code",
        "url",
    ):
        assert data.get(key), f"CITATION.cff: {key} is missing"
    released = data["date-released"]
    if isinstance(released, str):
        released = datetime.date.fromisoformat(released)
    assert released <= datetime.date.today() + datetime.timedelta(days=1)
    assert data["type"] in ("software", "dataset")


def test_hosting_builds_with_make_pdf():
    """`make pdf`: the verified site and its PDF, which the site serves."""
    pages = yaml.safe_load((ROOT / ".github/workflows/pages.yml").read_text())
    steps = [s for job in pages["jobs"].values() for s in job.get("steps", [])]
    assert any(s.get("run", "").startswith("make pdf") for s in steps)
    assert any("check_tex.py --list" in s.get("run", "") for s in steps)
    upload = [s for s in steps if "upload-pages-artifact" in s.get("uses", "")]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    rtd = yaml.safe_load((ROOT / ".readthedocs.yaml").read_text())
    assert rtd["version"] == 2
    assert any(c.startswith("make pdf") for c in rtd["build"]["jobs"]["build"]["html"])
    sys.path.insert(0, str(ROOT / "tools"))
    import check_tex

    assert rtd["build"]["apt_packages"] == list(check_tex.PACKAGES)
    assert rtd["sphinx"]["fail_on_warning"] is True


# --- checks of the built site ------------------------------------------------------


def test_no_page_loads_anything_from_another_host(site):
    remote = []
    for path in html_pages(site):
        page, _ = parse(path)
        name = path.relative_to(site).as_posix()
        remote += [
            f"{name}: <{tag}> {url}" for tag, url in page.assets if is_remote(url)
        ]
        remote += [
            f"{name}: style {u}" for s in page.styles for u in remote_css_urls(s)
        ]
    for css in (site / "_static").rglob("*.css"):
        remote += [
            f"{css.relative_to(site)}: {u}"
            for u in remote_css_urls(css.read_text(encoding="utf-8", errors="replace"))
        ]
    assert not remote, "assets from another host:\n" + "\n".join(remote[:20])


def test_no_known_cdn_or_font_service_is_named_in_a_page(site):
    hosts = (
        "fonts.googleapis.com",
        "fonts.gstatic.com",
        "cdn.jsdelivr.net",
        "unpkg.com",
        "cdnjs.cloudflare.com",
        "polyfill.io",
        "use.fontawesome.com",
    )
    found = [
        f"{p.relative_to(site)}: {h}"
        for p in html_pages(site)
        for h in hosts
        if h in p.read_text(encoding="utf-8")
    ]
    assert not found, found


def test_mathjax_ships_with_the_site_and_pages_load_it_from_there(site):
    mathjax = site / "_static" / "mathjax"
    # startup.js loads the components (site_tweaks.MATHJAX_LOAD) from next to it.
    for part in [
        "startup.js",
        "core.js",
        "input/tex.js",
        "output/chtml.js",
        "ui/lazy.js",
    ]:
        assert (mathjax / part).stat().st_size > 5_000, part
    fonts = list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert len(fonts) >= 20, "MathJax's CHTML fonts are missing"
    with_math = 0
    for path in html_pages(site):
        page, text = parse(path)
        scripts = [
            u for tag, u in page.assets if tag == "script" and "mathjax" in u.lower()
        ]
        if 'class="math' in text:
            with_math += 1
            assert scripts, f"{path.relative_to(site)} has math but loads no MathJax"
        for url in scripts:
            target = Path(urlsplit(urljoin(path.as_uri(), url)).path)
            assert target.resolve() == (mathjax / "startup.js").resolve(), url
    assert with_math > 0


def test_every_labelled_equation_has_a_number_an_id_and_a_permalink(site):
    labels = [
        label
        for page in PAGES
        for label, _ in labelled_equations(page.read_text(encoding="utf-8"))
    ]
    assert labels
    where: dict[str, list[str]] = {}
    eqno = re.compile(
        r'<span class="eqno">\((\d+(?:\.\d+)*)\)<a class="headerlink" '
        r'href="#(equation-[^"]+)"'
    )
    for path in html_pages(site):
        page, text = parse(path)
        numbered = dict((anchor, n) for n, anchor in eqno.findall(text))
        for label in labels:
            anchor = make_id(f"equation-{label}")
            if anchor in page.ids:
                assert anchor in numbered, (
                    f"{path.relative_to(site)}: equation {label!r} has no number with a "
                    "permalink"
                )
                where.setdefault(label, []).append(path.relative_to(site).as_posix())
    missing = sorted(set(labels) - set(where))
    assert not missing, f"labelled equations absent from the site: {missing}"
    twice = {k: v for k, v in where.items() if len(v) > 1}
    assert not twice, f"equation ids on several pages: {twice}"


def test_the_report_links_every_labelled_equation(site):
    labels = {
        label
        for page in PAGES
        for label, _ in labelled_equations(page.read_text(encoding="utf-8"))
    }
    page, text = parse(site / "verification.html")
    linked = {href.split("#", 1)[1] for href in page.links if "#equation-" in href}
    missing = sorted(l for l in labels if make_id(f"equation-{l}") not in linked)
    assert not missing, f"not in the report: {missing}"
    assert "FAIL" not in re.sub(r"<[^>]+>", " ", text).split()
    front, _ = parse(site / "index.html")
    assert any("#equation-" in h for h in front.links), "no summary on the front page"


def test_every_page_shows_version_and_date_in_its_footer(site):
    stamp = re.compile(
        rf"Version {re.escape(lstm_notes.__version__)}, built "
        r"\d{4}-\d{2}-\d{2}\."
    )
    missing = [
        p.relative_to(site).as_posix()
        for p in html_pages(site)
        if not stamp.search(p.read_text(encoding="utf-8"))
    ]
    assert not missing, missing


def test_cite_page_gives_bibtex_for_this_version(site):
    text = (site / "cite.html").read_text(encoding="utf-8")
    plain = re.sub(r"<[^>]+>", "", text)
    assert "@misc{lstmnotes" in plain
    assert re.search(
        r"version\s*=\s*\{" + re.escape(lstm_notes.__version__) + r"\}", plain
    )
    assert "#equation-" in plain, "no example citation of an equation"


def test_pages_have_favicon_description_and_source_download(site):
    problems = []
    for path in html_pages(site):
        page, _ = parse(path)
        name = path.relative_to(site).as_posix()
        icons = [u for tag, u in page.assets if tag == "link" and "favicon" in u]
        if (
            not icons
            or not Path(urlsplit(urljoin(path.as_uri(), icons[0])).path).exists()
        ):
            problems.append(f"{name}: no favicon")
        if not page.meta.get("description") or not page.meta.get("og:description"):
            problems.append(f"{name}: no description")
        sources = [u for u in page.links if "_sources/" in u]
        if name not in ("genindex.html", "search.html") and not (
            sources and Path(urlsplit(urljoin(path.as_uri(), sources[0])).path).exists()
        ):
            problems.append(f"{name}: no downloadable source")
    assert not problems, "\n".join(problems[:20])


def test_pages_have_repository_and_source_buttons(site):
    missing = []
    for path in html_pages(site):
        name = path.relative_to(site).as_posix()
        if name in ("genindex.html", "search.html"):
            continue
        page, _ = parse(path)
        source = [u for u in page.links if "/blob/main/docs/" in u]
        if not source or not any(u.endswith(".md?plain=1") for u in source):
            missing.append(name)
    assert not missing, f"no repository source button: {missing[:10]}"


def test_no_launch_buttons(site):
    text = (site / "index.html").read_text(encoding="utf-8").lower()
    for service in ("mybinder", "colab.research", "jupyterhub", "thebe"):
        assert service not in text, service
