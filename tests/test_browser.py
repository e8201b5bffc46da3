"""Every page of the built book, loaded in a real browser (headless Chromium).

The site of the session's whole-book build (``built_book``; or the html folder named by
``LSTM_NOTES_SITE``) is served on 127.0.0.1 by a ``http.server`` in a thread, and
Debian's ``/usr/bin/chromium`` is driven through ``/usr/bin/chromedriver`` by selenium;
nothing downloads a browser or a driver. On every page: MathJax has typeset the math (its
startup promise resolved, no ``mjx-merror``, no raw TeX left in the text), the console
has no error, every request went to 127.0.0.1 and succeeded, every image loaded. Then
the reader features: the fold of long cells opens, copy buttons are there, plots stay
legible in dark mode. Then the math at a phone's width (390 px, mobile emulation) and a
laptop's (1366 px): no formula cut off, at most one display equation in ten scrolling
sideways on the phone, a visible cue on each that does, a pixel of room above and below
every glyph. Screenshots of the front page, of one derivation page and, at 390 px, of
the pages with the most math are kept in ``test-artifacts/`` (git-ignored).

Without Chromium, chromedriver or selenium the tests are skipped with the reason; with
``LSTM_NOTES_REQUIRE=chromium`` (CI) they fail instead.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import io
import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from conftest import ROOT, require
from PIL import Image  # Pillow: matplotlib, which builds the book's plots, requires it
from test_site import html_pages, site  # noqa: F401  (the site fixture)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "test-artifacts"
# The derivation page whose screenshot is kept (the first that exists).
DERIVATION_PAGES = ["calculus/trace-method.html", "calculus/checking.html"]

try:
    import selenium  # noqa: F401
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    HAVE_SELENIUM = True
except ImportError:  # pragma: no cover
    HAVE_SELENIUM = False


# --- serving and driving -------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1 (a free port) while the block runs; yield its URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def server(site):  # noqa: F811
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    require(
        "chromium",
        CHROMIUM.exists() and CHROMEDRIVER.exists(),
        "the browser tests need Debian's chromium and chromium-driver "
        "(apt-get install chromium chromium-driver)",
    )
    require(
        "chromium",
        HAVE_SELENIUM,
        "the browser tests need selenium (pip install -e '.[test]')",
    )
    # Selenium Manager must never fetch a browser or a driver: both paths are given, and
    # it is told it is offline.
    os.environ["SE_OFFLINE"] = "true"
    profile = tempfile.mkdtemp(prefix="lstm-notes-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--window-size=1280,1600",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.set_capability(
        "goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"}
    )
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# In the page: wait for MathJax (when the page loads it), then report what the tests
# check. Text inside code, scripts and MathJax's own output is not searched for raw TeX.
INSPECT = r"""
const done = arguments[arguments.length - 1];
(async () => {
  const out = {mathjax: typeof window.MathJax !== 'undefined', typeset: null, errors: []};
  const mathNodes = document.querySelectorAll('div.math, span.math');
  out.mathNodes = mathNodes.length;
  if (out.mathjax) {
    for (let i = 0; i < 200 && !(MathJax.startup && MathJax.startup.promise); i++)
      await new Promise(r => setTimeout(r, 50));
    try { await MathJax.startup.promise; out.typeset = true; }
    catch (e) { out.typeset = false; out.errors.push(String(e)); }
  }
  out.merror = document.querySelectorAll('mjx-merror').length;
  out.containers = document.querySelectorAll('mjx-container').length;
  const skip = new Set(['PRE', 'CODE', 'SCRIPT', 'STYLE', 'TEXTAREA', 'MJX-CONTAINER',
                        'NOSCRIPT']);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      // Only what a reader sees (not, e.g., the theme's print-only page header).
      if (!node.parentElement.checkVisibility()) return NodeFilter.FILTER_REJECT;
      for (let e = node.parentElement; e; e = e.parentElement)
        if (skip.has(e.tagName) || e.classList.contains('highlight'))
          return NodeFilter.FILTER_REJECT;
      return NodeFilter.FILTER_ACCEPT;
    }});
  let text = '';
  while (walker.nextNode()) text += walker.currentNode.nodeValue + ' ';
  out.rawTex = ['\\frac', '\\begin{', '\\mathbf', '$$', '\\[', '\\(', '\\partial']
    .filter(s => text.includes(s));
  // Images: bring lazy ones into view and wait for each to finish loading.
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(r => {
    img.loading = 'eager'; img.scrollIntoView();
    img.addEventListener('load', r); img.addEventListener('error', r);
    setTimeout(r, 5000);
  })));
  out.images = imgs.length;
  out.brokenImages = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
  out.resources = performance.getEntriesByType('resource').map(e => e.name);
  window.scrollTo(0, 0);
  done(out);
})().catch(e => done({fatal: String(e)}));
"""


def _network_failures(driver) -> list[str]:
    """Failed requests, error statuses and requests to other hosts made by the served
    pages, from Chromium's performance log. Requests of the browser's own pages (its new
    tab page, on the first navigation) are not the site's and are left out."""
    failed, sent = [], {}
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        params = msg.get("params", {})
        if msg["method"] == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if urlsplit(params.get("documentURL", "")).hostname != "127.0.0.1":
                continue
            sent[params["requestId"]] = url
            parts = urlsplit(url)
            if (
                parts.scheme in ("http", "https", "ws", "wss")
                and parts.hostname != "127.0.0.1"
            ):
                failed.append(f"request to another host: {url}")
        elif msg["method"] == "Network.loadingFailed" and not params.get("canceled"):
            if params.get("requestId") in sent:
                failed.append(f"{params.get('errorText')}: {sent[params['requestId']]}")
        elif msg["method"] == "Network.responseReceived":
            resp = params["response"]
            if params.get("requestId") in sent and resp.get("status", 200) >= 400:
                failed.append(f"HTTP {resp['status']} {resp['url']}")
    return failed


def _load(driver, url: str) -> dict:
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(url)
    report = driver.execute_async_script(INSPECT)
    report["console"] = [
        e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
    ]
    report["network"] = _network_failures(driver)
    return report


def _problems(name: str, r: dict) -> list[str]:
    if "fatal" in r:
        return [f"{name}: the inspection script failed: {r['fatal']}"]
    out = []
    if r["mathNodes"] and not r["mathjax"]:
        out.append(f"{name}: {r['mathNodes']} math elements but MathJax is not loaded")
    if r["mathjax"] and not r["typeset"]:
        out.append(f"{name}: MathJax did not finish: {r['errors']}")
    if r["mathNodes"] and r["containers"] < r["mathNodes"]:
        out.append(f"{name}: {r['mathNodes']} math elements, {r['containers']} typeset")
    if r["merror"]:
        out.append(f"{name}: {r['merror']} MathJax error(s) (mjx-merror)")
    if r["rawTex"]:
        out.append(f"{name}: raw TeX left in the text: {r['rawTex']}")
    out += [f"{name}: console: {m}" for m in r["console"]]
    out += [f"{name}: network: {m}" for m in r["network"]]
    out += [
        f"{name}: resource from another host: {u}"
        for u in r["resources"]
        if urlsplit(u).scheme in ("http", "https")
        and urlsplit(u).hostname != "127.0.0.1"
    ]
    out += [f"{name}: image did not load: {u}" for u in r["brokenImages"]]
    return out


def _screenshot(driver, name: str) -> Path:
    """A full-page PNG in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script(
        "return Math.min(8000, document.documentElement.scrollHeight)"
    )
    driver.set_window_size(1280, max(900, height))
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1600)
    return path


# --- the tests -----------------------------------------------------------------------


def test_every_page_renders_its_math_offline_with_no_error(site, server, browser):  # noqa: F811
    pages = [p.relative_to(site).as_posix() for p in html_pages(site)]
    assert "index.html" in pages
    problems, typeset = [], 0
    for name in pages:
        report = _load(browser, server + name)
        problems += _problems(name, report)
        typeset += report.get("containers", 0)
    assert not problems, "\n".join(problems[:40])
    assert typeset > 0, "no page had any math typeset"


def test_screenshots_of_the_front_page_and_a_derivation_page(site, server, browser):  # noqa: F811
    assert not _problems("index.html", _load(browser, server + "index.html"))
    shot = _screenshot(browser, "front-page.png")
    assert shot.stat().st_size > 10_000
    page = next((p for p in DERIVATION_PAGES if (site / p).exists()), None)
    assert page, f"none of {DERIVATION_PAGES} was built"
    report = _load(browser, server + page)
    assert not _problems(page, report)
    assert report["containers"] > 0, f"{page} has no typeset math"
    shot = _screenshot(browser, "derivation-page.png")
    assert shot.stat().st_size > 10_000


# --- math at a phone's and a laptop's width ------------------------------------------

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True}
LAPTOP = {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False}
#: At most this share of the display equations may scroll sideways at 390 px; the rest
#: are written (``aligned``, several lines) to fit a phone.
MAX_SCROLLING_SHARE = 0.10
#: Pages whose math is shown at 390 px in test-artifacts/ (those that exist).
MATH_SHOTS = [
    "calculus/trace-method.html",
    "errata/004-attention-gradients.html",
    "errata/003-homework.html",
    "lstm/stacked.html",
    "vanishing/experiments.html",
]


@contextlib.contextmanager
def emulate(driver, metrics: dict):
    """The browser as a device of these metrics (a touch screen when ``mobile``)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.execute_cdp_cmd(
        "Emulation.setTouchEmulationEnabled",
        {"enabled": metrics["mobile"], "maxTouchPoints": 5},
    )
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# In the page, once MathJax has typeset it: every visible formula, where it is (the id of
# a display equation, "heading" or "inline"), whether its content is wider than the box
# that shows it, and whether a box cuts a glyph.
# - What the reader sees of a formula is its mjx-math box and its glyphs (mjx-c), not the
#   hidden MathML kept for screen readers.
# - From the formula up to its span.math or div.math, a box with overflow hidden or clip
#   that is narrower than the formula cuts it ("clipped"); one that scrolls is the
#   formula's scroller (marked with data-math-scroller), and needs a cue (_no_cue).
# - Beyond that, the first ancestor that does not let content overflow must hold the
#   formula's box, else the formula is cut (or off the screen when none does); an
#   ancestor that scrolls (a table, say) is followed further.
# - Headroom: every glyph at least 1 px inside each box from the formula to its
#   span.math or div.math that cuts what overflows vertically (the top bar of a
#   transpose sign sits on the glyph's box, so a box that fits it exactly loses it).
MATH_FIT = r"""
const done = arguments[arguments.length - 1];
(async () => {
  if (window.MathJax) {
    for (let i = 0; i < 200 && !(MathJax.startup && MathJax.startup.promise); i++)
      await new Promise(r => setTimeout(r, 50));
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  const vw = document.documentElement.clientWidth;
  const tex = new Map();
  for (const m of (window.MathJax ? MathJax.startup.document.math : []))
    tex.set(m.typesetRoot, m.math);
  const scrolls = cs => cs.overflowX === 'auto' || cs.overflowX === 'scroll';
  const inner = a => {
    const r = a.getBoundingClientRect(), left = r.left + a.clientLeft,
          top = r.top + a.clientTop;
    return {left, right: left + a.clientWidth, top, bottom: top + a.clientHeight};
  };
  function beyond(r) {  // how far the box r reaches past what holds it, or null
    for (let a = r.el.parentElement; a && a !== document.documentElement;
         a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (cs.overflowX === 'visible') continue;
      const b = inner(a), over = Math.round(Math.max(r.right - b.right, b.left - r.left));
      if (over <= 1) return null;
      if (scrolls(cs)) return beyond(Object.assign(a.getBoundingClientRect().toJSON(),
                                                   {el: a}));
      return {how: 'clipped', over};
    }
    const over = Math.round(Math.max(r.right - vw, -r.left));
    return over > 1 ? {how: 'off the screen', over} : null;
  }
  const out = {width: vw, display: 0, scrolling: [], inlineScrolling: [], clipped: [],
               scrollers: [], tight: []};
  for (const c of document.querySelectorAll('mjx-container')) {
    if (!c.checkVisibility()) continue;
    const display = c.getAttribute('display') === 'true';
    const holder = c.closest('div.math, span.math') || c;
    const where = display ? (holder.id || 'display')
      : c.closest('h1, h2, h3, h4, h5, h6') ? 'heading' : 'inline';
    const name = where + ' ' + (tex.get(c) || '').trim().replace(/\s+/g, ' ').slice(0, 50);
    if (display) out.display++;
    const glyphs = Array.from(c.querySelectorAll('mjx-c'))
      .filter(g => !g.closest('mjx-assistive-mml, mjx-ext'))
      .map(g => g.getBoundingClientRect()).filter(g => g.width > 0 && g.height > 0);
    const ink = [(c.querySelector(':scope > mjx-math') || c).getBoundingClientRect(),
                 ...glyphs];
    const lo = Math.min(...ink.map(g => g.left)), hi = Math.max(...ink.map(g => g.right));
    let scroller = null, cut = null, room = Infinity;
    for (let a = c; a; a = a.parentElement) {
      const cs = getComputedStyle(a), b = inner(a);
      if (cs.overflowX !== 'visible') {
        const over = Math.round(Math.max(hi - b.right, b.left - lo));
        if (over > 1 && scrolls(cs)) scroller = scroller || {box: a, over};
        else if (over > 1 && !cut) cut = {how: 'clipped', over};
      }
      if (cs.overflowY !== 'visible')
        for (const g of glyphs) room = Math.min(room, g.top - b.top, b.bottom - g.bottom);
      if (a === holder) break;
    }
    const box = (scroller ? scroller.box : holder).getBoundingClientRect().toJSON();
    cut = cut || beyond(Object.assign(box, {el: scroller ? scroller.box : holder}));
    if (cut) out.clipped.push(`${name} [${cut.how}, ${cut.over} px]`);
    if (scroller) {
      (display ? out.scrolling : out.inlineScrolling).push(`${name} [${scroller.over} px]`);
      scroller.box.dataset.mathScroller = out.scrollers.length;
      out.scrollers.push(name);
    }
    if (room < 1) out.tight.push(`${name} [${room.toFixed(1)} px]`);
  }
  done(out);
})().catch(e => done({fatal: String(e)}));
"""


# A scroller's cue, seen: the formula hidden (its layout, hence the scroll width, kept),
# scrolled to its start, whatever the page paints at the scroller's right edge (a shade,
# an arrow, a border) against what it paints in its middle (nothing but the page).
CUE_STRIP = r"""
const el = document.querySelector(`[data-math-scroller="${arguments[0]}"]`);
el.scrollIntoView({block: 'center'});
el.scrollLeft = 0;
for (const k of el.children) k.style.visibility = arguments[1] ? 'hidden' : '';
const r = el.getBoundingClientRect();
return [r.left, r.top, r.right, r.bottom, window.devicePixelRatio];
"""


def _no_cue(driver, index: int, strip: float = 10.0) -> bool:
    """Whether scroller ``index`` of the page shows nothing at its right edge (mean
    difference of its last ``strip`` px from its middle under 3 levels of 255)."""
    left, top, right, bottom, scale = driver.execute_script(CUE_STRIP, index, True)
    try:
        png = driver.execute_cdp_cmd("Page.captureScreenshot", {})["data"]
    finally:
        driver.execute_script(CUE_STRIP, index, False)
    shot = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("L"), float)
    rows = slice(int(top * scale) + 1, int(bottom * scale) - 1)
    edge = shot[rows, int((right - strip) * scale) : int(right * scale)]
    middle = (left + right) / 2
    plain = shot[
        rows, int((middle - strip / 2) * scale) : int((middle + strip / 2) * scale)
    ]
    return edge.size == 0 or abs(edge.mean() - plain.mean()) < 3


def _math_fit(driver, url: str) -> dict:
    """MATH_FIT's report of the page, with the scrollers that show no cue (noCue)."""
    driver.get(url)
    report = driver.execute_async_script(MATH_FIT)
    if "fatal" not in report:
        report["noCue"] = [
            name for i, name in enumerate(report["scrollers"]) if _no_cue(driver, i)
        ]
    return report


def _math_fit_problems(name: str, r: dict) -> list[str]:
    """What is wrong with the math of one page at one width (the share of scrolling
    display equations is judged over the whole book, by the caller)."""
    if "fatal" in r:
        return [f"{name}: the math inspection failed: {r['fatal']}"]
    at = f"{name} at {r['width']} px"
    return (
        [f"{at}: cut off: {m}" for m in r["clipped"]]
        + [f"{at}: scrolls with no visible cue: {m}" for m in r["noCue"]]
        + [
            f"{at}: a glyph has under 1 px of room (a crossbar or accent is cut): {m}"
            for m in r["tight"]
        ]
    )


def _full_page_shot(driver, name: str, metrics: dict, scale: float = 1.0) -> Path:
    """The whole page (its first 20000 px) as a PNG in test-artifacts/, at the width of
    ``metrics``, ``scale`` image pixels per CSS pixel: the emulated screen is made as tall
    as the page for the shot, then given back its height."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script(
        "return Math.min(20000, document.documentElement.scrollHeight)"
    )
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {**metrics, "height": height}
    )
    try:
        png = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": metrics["width"],
                    "height": height,
                    "scale": scale / metrics["deviceScaleFactor"],
                }
            },
        )
    finally:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    path = ARTIFACTS / name
    path.write_bytes(base64.b64decode(png["data"]))
    return path


def test_math_fits_a_phone_and_a_laptop(site, server, browser):  # noqa: F811
    """At 390 px (a phone, touch) and 1366 px: no formula cut off (inline, headings,
    display), crossbars and accents whole, a cue on every equation that scrolls, and at
    390 px at most MAX_SCROLLING_SHARE of the display equations scroll. Prints the
    counts per page and keeps them, with screenshots at 390 px, in test-artifacts/."""
    pages = [p.relative_to(site).as_posix() for p in html_pages(site)]
    problems, counts, lines = [], {}, []
    for metrics in (PHONE, LAPTOP):
        width = metrics["width"]
        with emulate(browser, metrics):
            for name in pages:
                r = _math_fit(browser, server + name)
                problems += _math_fit_problems(name, r)
                counts[(width, name)] = r
                if metrics is PHONE and name in MATH_SHOTS:
                    shot = "math-390-" + name.replace("/", "-").replace(".html", ".png")
                    _full_page_shot(browser, shot, PHONE, scale=2)
    total = {w: [0, 0] for w in (PHONE["width"], LAPTOP["width"])}
    lines.append(
        f"{'page':<42} {'width':>5} {'display':>7} {'scroll':>6} "
        f"{'inline scroll':>13} {'clipped':>7} {'tight':>5}"
    )
    for (width, name), r in counts.items():
        if "fatal" in r:
            continue
        total[width][0] += r["display"]
        total[width][1] += len(r["scrolling"])
        if r["display"] or r["clipped"] or r["inlineScrolling"] or r["tight"]:
            lines.append(
                f"{name:<42} {width:>5} {r['display']:>7} {len(r['scrolling']):>6} "
                f"{len(r['inlineScrolling']):>13} {len(r['clipped']):>7} "
                f"{len(r['tight']):>5}"
            )
    for width, (display, scrolling) in total.items():
        lines.append(
            f"{width} px: {scrolling} of {display} display equations scroll "
            f"sideways ({scrolling / max(display, 1):.0%})"
        )
    phone_display, phone_scrolling = total[PHONE["width"]]
    if phone_scrolling > MAX_SCROLLING_SHARE * phone_display:
        problems.append(
            f"at 390 px {phone_scrolling} of {phone_display} display equations scroll "
            f"(at most {MAX_SCROLLING_SHARE:.0%}): "
            + "; ".join(
                f"{n}: {m}"
                for (w, n), r in counts.items()
                if w == PHONE["width"] and "fatal" not in r
                for m in r["scrolling"]
            )[:3000]
        )
    lines += ["", "Scrolling sideways (how far):"] + [
        f"  {width} px {name}: {m}"
        for (width, name), r in counts.items()
        if "fatal" not in r
        for m in r["scrolling"] + [f"(inline) {i}" for i in r["inlineScrolling"]]
    ]
    report = "\n".join(lines)
    print(report)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "math-fit.txt").write_text(
        report + "\n\n" + "\n".join(problems) + "\n", encoding="utf-8"
    )
    assert phone_display > 0, "no display equation was seen at 390 px"
    assert not problems, "\n".join(problems[:60])


def _pages_with(site, needle: str) -> list[str]:  # noqa: F811
    return [
        p.relative_to(site).as_posix()
        for p in html_pages(site)
        if needle in p.read_text(encoding="utf-8")
    ]


def test_folded_cells_open_and_code_has_copy_buttons(site, server, browser):  # noqa: F811
    with_code = _pages_with(site, 'class="cell docutils container"')
    if not with_code:
        pytest.skip("no page of this build has a code cell")
    browser.get(server + with_code[0])
    buttons = browser.execute_script(
        "return document.querySelectorAll('button.copybtn').length"
    )
    assert buttons > 0, f"{with_code[0]}: no copy button on its code"
    folded = _pages_with(site, "tag_hide-input")
    if not folded:
        pytest.skip("no page of this build folds a cell (hide-input)")
    browser.get(server + folded[0])
    state = browser.execute_script("""
        const d = document.querySelector('.tag_hide-input details');
        if (!d) return null;
        const before = d.open;
        d.querySelector('summary').click();
        const code = d.querySelector('pre');
        return [before, d.open, code ? code.getBoundingClientRect().height : 0];""")
    assert state is not None, f"{folded[0]}: a hide-input cell has no fold"
    before, after, height = state
    assert before is False and after is True and height > 0, (folded[0], state)


def test_plots_keep_a_white_background_in_dark_mode(site, server, browser):  # noqa: F811
    plots = [
        p
        for p in _pages_with(site, "cell_output")
        if re.search(
            r"cell_output.*?<img ", (site / p).read_text(encoding="utf-8"), re.S
        )
    ]
    # The book plots on several pages (checking, cost, experiments): none means the
    # plots were lost (a headless backend leaking into the build, say), not a skip.
    assert plots, "no page of this build shows a plot"
    browser.get(server + plots[0])
    colours = browser.execute_script("""
        document.documentElement.dataset.theme = 'dark';
        return Array.from(document.querySelectorAll('div.cell_output img'))
            .map(i => getComputedStyle(i).backgroundColor);""")
    assert colours, f"{plots[0]}: no plot found"
    assert set(colours) == {"rgb(255, 255, 255)"}, (plots[0], colours)
    background = browser.execute_script(
        "return getComputedStyle(document.body).backgroundColor"
    )
    assert background != "rgb(255, 255, 255)", "the page did not switch to dark mode"
    _screenshot(browser, "dark-mode-plot.png")


# A page broken on purpose in each way the tests look for, next to the real site's
# assets: the inspection must see every fault (a check that cannot fail proves nothing).
BROKEN = r"""
<p>A formula MathJax cannot parse:
   <span class="math notranslate nohighlight">\(\frac{1}\)</span>.</p>
<p class="mathjax_ignore">Raw TeX left as text (MathJax told to skip it): $$ \frac{a}{b} $$</p>
<img src="_images/missing-figure.png" alt="missing">
<script src="http://192.0.2.1/remote.js"></script>
<script>console.error("an error on purpose");</script>
"""


def test_the_inspection_sees_broken_math_images_and_requests(site, browser, tmp_path):  # noqa: F811
    (tmp_path / "_static").symlink_to(site / "_static", target_is_directory=True)
    with_math = _pages_with(site, 'class="math')
    assert with_math, "no page of this build has math"
    # The page moves to the site's root: its links to ../_static must point there.
    page = (site / with_math[0]).read_text(encoding="utf-8").replace("../", "")
    (tmp_path / "broken.html").write_text(
        page.replace("</article>", BROKEN + "</article>", 1), encoding="utf-8"
    )
    with serve(tmp_path) as url:
        found = "\n".join(_problems("broken.html", _load(browser, url + "broken.html")))
    for fault in (
        "mjx-merror",
        "raw TeX",
        "missing-figure.png",
        "HTTP 404",
        "another host: http://192.0.2.1/remote.js",
        "an error on purpose",
    ):
        assert fault in found, f"not detected: {fault}\n{found}"


# Math broken on purpose in each way the math inspection looks for, each fault confined to
# its own element: it must see every one (and the share of scrolling equations).
WIDE = r"\sum_{i=1}^{n} a_i b_i + " * 12 + "c"
BROKEN_MATH = rf"""
<style>
  #clip-inline span.math, #clip-heading span.math {{ overflow: hidden !important; }}
  #equation-no-cue mjx-container {{ background: none !important; }}
  #equation-tight mjx-container {{ padding: 0 !important; }}
</style>
<h2 id="clip-heading">A heading <span class="math notranslate nohighlight">\({WIDE}\)</span></h2>
<p id="clip-inline">An inline formula <span class="math notranslate nohighlight">\({WIDE}\)</span>.</p>
<div class="math notranslate nohighlight" id="equation-no-cue">\[{WIDE}\]</div>
<div class="math notranslate nohighlight" id="equation-tight">\[\mathbf A^{{\top}} = \mathbf B^{{\top}}\]</div>
""" + "".join(
    rf'<div class="math notranslate nohighlight" id="equation-wide-{i}">\[{WIDE}\]</div>'
    for i in range(3)
)


def test_the_math_inspection_sees_cut_crowded_and_uncued_math(site, browser, tmp_path):  # noqa: F811
    (tmp_path / "_static").symlink_to(site / "_static", target_is_directory=True)
    with_math = _pages_with(site, 'class="math')
    assert with_math, "no page of this build has math"
    page = (site / with_math[0]).read_text(encoding="utf-8").replace("../", "")
    (tmp_path / "broken.html").write_text(
        page.replace("</article>", BROKEN_MATH + "</article>", 1), encoding="utf-8"
    )
    with serve(tmp_path) as url, emulate(browser, PHONE):
        r = _math_fit(browser, url + "broken.html")
    found = "\n".join(_math_fit_problems("broken.html", r))
    for fault in (
        "cut off: heading",
        "cut off: inline",
        "no visible cue: equation-no-cue",
        "under 1 px of room (a crossbar or accent is cut): equation-tight",
    ):
        assert fault in found, f"not detected: {fault}\n{found}"
    wide = [m for m in r["scrolling"] if m.startswith("equation-wide-")]
    assert len(wide) == 3, r["scrolling"]
    # The cue is the stylesheet's: the wide equations that keep it are not reported.
    assert "no visible cue: equation-wide" not in found, found
    assert len(r["scrolling"]) > MAX_SCROLLING_SHARE * r["display"], r


def test_search_finds_pages(site, server, browser):  # noqa: F811
    browser.get(server + "search.html?q=carousel")
    found = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const start = Date.now();
        (function poll() {
          const items = document.querySelectorAll('#search-results li');
          const status = document.querySelector(
            '#search-results .search-summary, #search-results p');
          if (items.length || Date.now() - start > 15000 ||
              (status && /did not match|found/.test(status.textContent)))
            done(Array.from(items).map(li => li.querySelector('a').getAttribute('href')));
          else setTimeout(poll, 100);
        })();""")
    assert found, "searching the book for 'carousel' found no page"
