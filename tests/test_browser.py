"""Every page of the built book, loaded in a real browser (headless Chromium), as a reader
on a phone (390 px wide, touch, 3x pixels) and on a laptop (1366 px) sees it.

The site of the session's whole-book build (``built_book``; or the html folder named by
``LSTM_NOTES_SITE``) is served on 127.0.0.1 by a ``http.server`` in a thread, and
Debian's ``/usr/bin/chromium`` is driven through ``/usr/bin/chromedriver`` by selenium;
nothing downloads a browser or a driver. Each page is visited once per width (the two
widths side by side, one browser each), and every visit checks:

- the math: MathJax has typeset it (its startup promise resolved, no ``mjx-merror``, no
  raw TeX left in the text), the console has no error, every request went to 127.0.0.1
  and succeeded, every image loaded;
- the numbers of cell outputs and tables: none split across two lines ("1.6e-" / "16"),
  none cut by an edge unless that edge scrolls and shows that it does (book.css's cue);
- the sidebar toggle: on a phone ☰ opens the chapter list and a tap beside it closes it,
  and the page's contents open the same way; on a laptop ☰ collapses the chapter list
  and brings it back;
- axe-core: no critical or serious violation;
- the tab's title and ``og:title`` carry no TeX.

Then the reader features: the fold of long cells opens, copy buttons are there, plots are
SVG with an alt text made from their data and stay legible in dark mode, dark mode
follows the system until the reader picks a mode, MathJax's accessibility explorer loads
its files, search results show plain titles. Each check has a negative control: a page
(or a server) broken on purpose, in which it must see the fault. Screenshots are kept in
``test-artifacts/`` (git-ignored): the front page and a derivation page at 1366 px,
three pages at 390 px.

Without Chromium, chromedriver or selenium the tests are skipped with the reason; with
``LSTM_NOTES_REQUIRE=chromium`` (CI) they fail instead. axe-core comes from npm, pinned
in package.json (``npm ci --omit=dev``, which ``.ci/run`` does); without it the
accessibility test is skipped with the reason, and fails when LSTM_NOTES_REQUIRE names
``axe``.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import functools
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from conftest import ROOT, require
from fontTools import subset
from fontTools.ttLib import TTFont
from PIL import Image  # Pillow: matplotlib, which builds the book's plots, requires it
from test_site import html_pages, site  # noqa: F401  (the site fixture)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
#: The two readers: a phone (touch, 3x pixels) and a laptop.
WIDTHS = {
    390: {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True},
    1366: {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False},
}
#: Screenshots kept per width: page -> file in test-artifacts/.
SCREENSHOTS = {
    390: {
        "calculus/trace-method.html": "phone-trace-method.png",
        "errata/004-attention-gradients.html": "phone-004-attention-gradients.png",
        "vanishing/experiments.html": "phone-experiments.png",
    },
    1366: {
        "index.html": "front-page.png",
        "calculus/trace-method.html": "derivation-page.png",
    },
}

try:
    import selenium  # noqa: F401
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    HAVE_SELENIUM = True
except ImportError:  # pragma: no cover
    HAVE_SELENIUM = False


# --- serving and driving -------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    #: Paths under this prefix answer 404 (a server broken on purpose), when set.
    refuse: str | None = None

    def do_GET(self):  # noqa: N802
        if self.refuse and self.path.startswith(self.refuse):
            self.send_error(404)
            return
        super().do_GET()

    def log_message(self, format, *args):  # noqa: A002
        pass


@contextlib.contextmanager
def serve(directory: Path, refuse: str | None = None):
    """Serve ``directory`` on 127.0.0.1 (a free port) while the block runs; yield its URL.
    With ``refuse``, every path under that prefix answers 404."""
    handler = functools.partial(
        type("Handler", (QuietHandler,), {"refuse": refuse}), directory=str(directory)
    )
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


def _require_browser() -> None:
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


@contextlib.contextmanager
def chromium(width: int | None = None):
    """A headless Chromium; with ``width`` (390 or 1366) it emulates that reader's
    screen (:data:`WIDTHS`), else it is a 1280 x 1600 window. With axe-core installed,
    axe is in every page it opens."""
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
    driver.set_script_timeout(60)
    try:
        if width is not None:
            metrics = WIDTHS[width]
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            driver.execute_cdp_cmd(
                "Emulation.setTouchEmulationEnabled",
                {"enabled": metrics["mobile"], "maxTouchPoints": 5},
            )
            # A reader who asked for less motion: the sidebar moves without its
            # transition (book.css), so the toggle checks need not wait for it.
            driver.execute_cdp_cmd(
                "Emulation.setEmulatedMedia",
                {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]},
            )
        if AXE.exists():
            driver.execute_cdp_cmd(
                "Page.addScriptToEvaluateOnNewDocument",
                {"source": AXE.read_text(encoding="utf-8")},
            )
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    with chromium() as driver:
        yield driver


# In the page: MathJax's startup done, then every formula typeset. The pages typeset a
# formula when it comes into view (MathJax's ui/lazy, site_tweaks.MATHJAX_LOAD); the
# tests look at all of them, as a reader who scrolls through the page does.
TYPESET_ALL = r"""
async function startedUp() {  // MathJax's startup done (the formulas in view typeset)
  for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
    await new Promise(r => setTimeout(r, 50));
  await MathJax.startup.promise;
}
async function typesetAll() {
  await startedUp();
  if (MathJax.startup.document.lazyTypesetAll)
    await MathJax.startup.document.lazyTypesetAll();
}
"""

# The icons a page shows: the font, weight and character of every ::before or ::after
# drawn with a Font Awesome font (icon_fonts cuts those fonts down to what the site names).
ICONS = r"""
function iconsShown() {
  const seen = new Set();
  for (const e of document.body.querySelectorAll('*')) {
    if (e.closest('mjx-container')) continue;
    for (const pseudo of ['::before', '::after']) {
      const cs = getComputedStyle(e, pseudo);
      if (!cs.fontFamily.includes('Font Awesome') || cs.content === 'none') continue;
      const glyph = cs.content.match(/^"(.)"/u);  // '"\uf0c9" / ""' (with its alt text)
      if (!glyph) continue;
      seen.add(JSON.stringify([cs.fontFamily.replace(/"/g, ''), cs.fontWeight,
                               glyph[1].codePointAt(0), e.className.toString()]));
    }
  }
  return Array.from(seen, JSON.parse);
}
"""

# In the page: wait for MathJax (when the page loads it) to typeset every formula, then
# report what the tests check. Text inside code, scripts and MathJax's own output is not
# searched for raw TeX.
INSPECT = (
    TYPESET_ALL
    + ICONS
    + r"""
const done = arguments[arguments.length - 1];
(async () => {
  const out = {mathjax: typeof window.MathJax !== 'undefined', typeset: null, errors: []};
  const mathNodes = document.querySelectorAll('div.math, span.math');
  out.mathNodes = mathNodes.length;
  if (out.mathjax) {
    try { await typesetAll(); out.typeset = true; }
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
  out.icons = iconsShown();
  window.scrollTo(0, 0);
  done(out);
})().catch(e => done({fatal: String(e)}));
"""
)

# In the page, once typeset: numbers split across lines (anywhere in the article) or cut
# by an edge (in cell outputs and tables), and the titles that cannot show math.
# A number in a box that scrolls sideways may run under its edge only if the box shows
# the scroll cue of book.css (a background that scrolls with the content).
READER = r"""
// A number, not a piece of a name or code ("978-3-642", "x-1", "err-003").
const number = /(?<![\w.\-])[-+\u2212]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+\u2212]?\d+)?(?![\w])/g;
const article = document.querySelector('article') || document.body;
const vw = document.documentElement.clientWidth;
const out = {split: [], cut: [], title: document.title,
             ogTitle: (document.querySelector('meta[property="og:title"]') || {}).content};
const skip = new Set(['SCRIPT', 'STYLE', 'MJX-CONTAINER', 'NOSCRIPT']);
const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {
  acceptNode(node) {
    if (!node.parentElement.checkVisibility()) return NodeFilter.FILTER_REJECT;
    for (let e = node.parentElement; e && e !== article; e = e.parentElement)
      if (skip.has(e.tagName)) return NodeFilter.FILTER_REJECT;
    return NodeFilter.FILTER_ACCEPT;
  }});
const where = (text, i, n) => text.slice(Math.max(0, i - 25), i + n + 10).replace(/\s+/g, ' ');
while (walker.nextNode()) {
  const node = walker.currentNode, text = node.nodeValue;
  const inData = node.parentElement.closest('div.cell_output, table');
  for (const m of text.matchAll(number)) {
    if (m[0].length < 2) continue;
    const range = document.createRange();
    range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
    const rects = Array.from(range.getClientRects()).filter(r => r.width > 0.5);
    if (new Set(rects.map(r => Math.round(r.bottom))).size > 1)
      out.split.push(`"${m[0]}" in "${where(text, m.index, m[0].length)}"`);
    if (!inData) continue;
    let clip = null;
    for (let e = node.parentElement; e && e !== document.body; e = e.parentElement)
      if (getComputedStyle(e).overflowX !== 'visible') { clip = e; break; }
    const box = clip ? clip.getBoundingClientRect() : {left: 0, right: vw};
    const left = Math.max(box.left, 0), right = Math.min(box.right, vw);
    const r = range.getBoundingClientRect();
    if (r.left >= left - 1 && r.right <= right + 1) continue;
    const style = clip && getComputedStyle(clip);
    const scrolls = clip && /auto|scroll/.test(style.overflowX)
                    && clip.scrollWidth > clip.clientWidth;
    const cue = clip && style.backgroundAttachment.includes('local');
    // Under the edge of a box is fine if the box scrolls, shows the cue and is on screen.
    if (!(scrolls && cue && box.left >= -1 && box.right <= vw + 1))
      out.cut.push(`"${m[0]}" in "${where(text, m.index, m[0].length)}" (` +
                   (clip ? `${clip.tagName.toLowerCase()}.${clip.classList[0] || ''}, ` +
                           `${scrolls ? 'scrolls' : 'does not scroll'}, ${cue ? 'with' : 'no'} cue`
                         : 'the screen') + ')');
  }
}
return out;
"""

# The sidebar toggles' state: what a reader sees of the chapter list and of the page's
# contents, the theme's two dialogs, and which toggle button is the visible one.
TOGGLE_STATE = r"""
const onScreen = r => r.width > 0 && r.height > 0 && r.right > 0 && r.left < innerWidth;
const seen = e => !!e && e.checkVisibility({visibilityProperty: true, opacityProperty: true})
  && onScreen(e.getBoundingClientRect());
const visible = sel => Array.from(document.querySelectorAll(sel)).findIndex(seen);
const dialog = id => !!(document.getElementById(id) || {}).open;
return {nav: seen(document.querySelector('.bd-docs-nav a.reference')),
        toc: seen(document.querySelector('nav.page-toc a')),
        hasToc: !!document.querySelector('nav.page-toc a'),
        navDialog: dialog('pst-primary-sidebar-modal'),
        tocDialog: dialog('pst-secondary-sidebar-modal'),
        primary: visible('.primary-toggle'), secondary: visible('.secondary-toggle')};
"""

AXE_RUN = r"""
const done = arguments[arguments.length - 1];
if (typeof axe === 'undefined') { done(null); return; }
axe.run(document, {resultTypes: ['violations']})
  .then(r => done(r.violations.filter(v => ['critical', 'serious'].includes(v.impact))
    .map(v => `${v.impact} ${v.id} (${v.nodes.length}): ${v.help}; ` +
              v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
  .catch(e => done([`axe failed: ${e}`]));
"""


def _state(driver) -> dict:
    return driver.execute_script(TOGGLE_STATE)


def _until(driver, wanted, timeout: float = 3.0) -> tuple[bool, dict]:
    """Poll the toggle state until ``wanted(state)`` or the timeout; (reached, state)."""
    end = time.monotonic() + timeout
    while True:
        state = _state(driver)
        if wanted(state) or time.monotonic() > end:
            return wanted(state), state
        time.sleep(0.05)


def _click_toggle(driver, side: str, index: int) -> None:
    button = driver.find_elements("css selector", f".{side}-toggle")[index]
    ActionChains(driver, duration=0).click(button).perform()  # no 250 ms pointer glide


def _tap(driver, x: int, y: int) -> None:
    actions = ActionBuilder(driver, duration=0)
    actions.pointer_action.move_to_location(x, y).click()
    actions.perform()


def _toggle_problems(driver, width: int) -> list[str]:
    """Use the sidebar toggles as a reader would; what did not work."""
    state = _state(driver)
    if state["primary"] < 0:
        return ["no visible ☰ (sidebar toggle)"]
    problems = []
    metrics = WIDTHS[width]
    if metrics["mobile"]:
        _click_toggle(driver, "primary", state["primary"])
        opened, state = _until(driver, lambda s: s["navDialog"] and s["nav"])
        if not opened:
            return [f"☰ did not open the chapter list ({state})"]
        _tap(driver, metrics["width"] - 12, metrics["height"] // 2)  # beside the list
        if not _until(driver, lambda s: not s["navDialog"] and not s["nav"])[0]:
            problems.append("a tap beside the chapter list did not close it")
        if state["hasToc"]:
            if state["secondary"] < 0:
                return problems + ["the page's contents have no visible button"]
            _click_toggle(driver, "secondary", state["secondary"])
            opened, state = _until(driver, lambda s: s["tocDialog"] and s["toc"])
            if not opened:
                return problems + [f"the contents button did not open them ({state})"]
            _tap(driver, 12, metrics["height"] // 2)
            if not _until(driver, lambda s: not s["tocDialog"] and not s["toc"])[0]:
                problems.append("a tap beside the page's contents did not close them")
    else:
        if not state["nav"]:
            return ["the chapter list is not shown"]
        _click_toggle(driver, "primary", state["primary"])
        if not _until(driver, lambda s: not s["nav"])[0]:
            return ["☰ did not collapse the chapter list"]
        _click_toggle(driver, "primary", state["primary"])
        if not _until(driver, lambda s: s["nav"])[0]:
            problems.append("a second ☰ did not bring the chapter list back")
        if state["hasToc"] and not (state["toc"] or state["secondary"] >= 0):
            problems.append("the page's contents are neither shown nor behind a button")
    return problems


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
    """Load ``url`` and inspect its math, images and requests (``INSPECT``)."""
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(url)
    report = driver.execute_async_script(INSPECT)
    report["console"] = [
        e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
    ]
    report["network"] = _network_failures(driver)
    return report


def _visit(driver, url: str, width: int) -> dict:
    """One page as the reader at ``width`` sees it: ``_load``'s report, then the numbers
    and titles (``READER``), axe-core's critical and serious violations (None without
    axe), and the sidebar toggles used; console errors and failed requests of all that."""
    report = _load(driver, url)
    if "fatal" in report:
        return report
    report.update(driver.execute_script(READER))
    report["axe"] = driver.execute_async_script(AXE_RUN)
    report["toggle"] = _toggle_problems(driver, width)
    report["console"] += [
        e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
    ]
    report["network"] += _network_failures(driver)
    return report


#: A title that TeX would have to typeset: a backslash command or a sub/superscript.
TEX_IN_TITLE = re.compile(r"\\[A-Za-z(\[]|[_^]\{|\$")


def _problems(name: str, r: dict) -> dict[str, list[str]]:
    """What is wrong with page ``name`` by kind: render, numbers, toggle, axe, title."""
    if "fatal" in r:
        return {"render": [f"{name}: the inspection script failed: {r['fatal']}"]}
    render = []
    if r["mathNodes"] and not r["mathjax"]:
        render.append(
            f"{name}: {r['mathNodes']} math elements but MathJax is not loaded"
        )
    if r["mathjax"] and not r["typeset"]:
        render.append(f"{name}: MathJax did not finish: {r['errors']}")
    if r["mathNodes"] and r["containers"] < r["mathNodes"]:
        render.append(
            f"{name}: {r['mathNodes']} math elements, {r['containers']} typeset"
        )
    if r["merror"]:
        render.append(f"{name}: {r['merror']} MathJax error(s) (mjx-merror)")
    if r["rawTex"]:
        render.append(f"{name}: raw TeX left in the text: {r['rawTex']}")
    render += [f"{name}: console: {m}" for m in r["console"]]
    render += [f"{name}: network: {m}" for m in r["network"]]
    render += [
        f"{name}: resource from another host: {u}"
        for u in r["resources"]
        if urlsplit(u).scheme in ("http", "https")
        and urlsplit(u).hostname != "127.0.0.1"
    ]
    render += [f"{name}: image did not load: {u}" for u in r["brokenImages"]]
    out = {"render": render}
    if "split" in r:
        out["numbers"] = [f"{name}: split across lines: {s}" for s in r["split"]] + [
            f"{name}: cut by an edge: {c}" for c in r["cut"]
        ]
        out["toggle"] = [f"{name}: {t}" for t in r["toggle"]]
        out["axe"] = [f"{name}: {v}" for v in r["axe"] or []]
        out["title"] = [
            f"{name}: TeX in {what}: {text!r}"
            for what, text in (
                ("the tab's title", r["title"]),
                ("og:title", r["ogTitle"]),
            )
            if text and TEX_IN_TITLE.search(text)
        ]
    return out


def _screenshot(driver, name: str, max_height: int = 8000) -> Path:
    """The page from its top (at most ``max_height`` CSS px) as a PNG in test-artifacts/,
    at two device pixels per CSS pixel at most."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = driver.execute_script(
        "return [document.documentElement.clientWidth, "
        "document.documentElement.scrollHeight, devicePixelRatio]"
    )
    width, height, ratio = size
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {
                "x": 0,
                "y": 0,
                "width": width,
                "height": min(height, max_height),
                "scale": min(1.0, 2 / ratio),
            },
        },
    )
    path = ARTIFACTS / name
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


# --- every page at both widths ----------------------------------------------------------


def _sweep(width: int, server: str, pages: list[str]) -> dict[str, dict]:
    with chromium(width) as driver:
        reports = {}
        for name in pages:
            reports[name] = _visit(driver, server + name, width)
            if name in SCREENSHOTS[width]:
                driver.get(server + name)
                driver.execute_async_script(INSPECT)
                _screenshot(driver, SCREENSHOTS[width][name])
        return reports


@pytest.fixture(scope="module")
def sweeps(site, server):  # noqa: F811
    """Every page visited at 390 and at 1366 px (``_visit``), the two widths side by side
    in two browsers: {width: {page: report}}."""
    _require_browser()
    pages = [p.relative_to(site).as_posix() for p in html_pages(site)]
    assert "index.html" in pages
    with concurrent.futures.ThreadPoolExecutor(len(WIDTHS)) as pool:
        running = {w: pool.submit(_sweep, w, server, pages) for w in WIDTHS}
        return {w: job.result() for w, job in running.items()}


def _all(sweeps, width: int, kind: str) -> list[str]:
    return [
        p for name, r in sweeps[width].items() for p in _problems(name, r).get(kind, [])
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_renders_its_math_offline_with_no_error(sweeps, width):
    problems = _all(sweeps, width, "render")
    assert not problems, "\n".join(problems[:40])
    assert sum(r.get("containers", 0) for r in sweeps[width].values()) > 0, (
        "no page had any math typeset"
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_no_number_is_split_across_lines_or_cut_at_an_edge(sweeps, width):
    problems = _all(sweeps, width, "numbers")
    assert not problems, f"{len(problems)} numbers:\n" + "\n".join(problems[:40])


@pytest.mark.parametrize("width", WIDTHS)
def test_the_sidebar_toggle_and_the_page_contents_work(sweeps, width):
    problems = _all(sweeps, width, "toggle")
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("width", WIDTHS)
def test_no_critical_or_serious_accessibility_violation(sweeps, width):
    require(
        "axe",
        AXE.exists(),
        "axe-core is installed from npm by `npm ci --omit=dev` "
        "(with Debian's nodejs and npm: apt-get install nodejs npm)",
    )
    problems = _all(sweeps, width, "axe")
    assert not problems, "\n".join(problems[:40])


def test_titles_where_tex_cannot_render_are_plain_text(sweeps):
    problems = _all(sweeps, 1366, "title")
    assert not problems, "\n".join(problems)


#: ``@font-face{...font-family:Font Awesome\\ 7 Free;...font-weight:900;src:url(...)}``
FONT_FACE = re.compile(r"@font-face\{([^}]*)\}")


def _font_faces(site: Path) -> dict[tuple[str, str], Path]:
    """(family, weight) -> the web font file of the built ``site`` that draws it, from
    the @font-face rules of its stylesheets."""
    faces = {}
    for css in (site / "_static").rglob("*.css"):
        for rule in FONT_FACE.finditer(
            css.read_text(encoding="utf-8", errors="replace")
        ):
            props = dict(
                part.split(":", 1) for part in rule.group(1).split(";") if ":" in part
            )
            src = re.search(r"url\(['\"]?([^'\")]+\.woff2)", props.get("src", ""))
            if "font-family" in props and src:
                family = props["font-family"].replace("\\", "").strip("'\" ")
                key = (family, props.get("font-weight", "400").strip())
                faces[key] = (css.parent / src.group(1)).resolve()
    return faces


def _icon_problems(reports: dict, faces: dict[tuple[str, str], Path]) -> list[str]:
    """Every icon the pages showed (INSPECT's ``icons``) whose character is not in the
    font file that draws it."""
    cmaps, problems = {}, set()
    for name, r in reports.items():
        for family, weight, point, cls in r.get("icons", []):
            fam = next(f.strip() for f in family.split(",") if "Font Awesome" in f)
            path = faces.get((fam, weight))
            if path is None:
                problems.add(f"{name}: no @font-face for {fam} {weight} (.{cls})")
                continue
            if path not in cmaps:
                cmaps[path] = set(TTFont(path).getBestCmap())
            if point not in cmaps[path]:
                problems.add(
                    f"{name}: icon U+{point:04X} of .{cls} is not in {path.name}"
                )
    return sorted(problems)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_icon_shown_is_in_the_font_that_draws_it(sweeps, site, width):  # noqa: F811
    """The theme's icon fonts are cut down to the icons the site names
    (docs/_ext/verified_book/icon_fonts.py); each icon a page shows, read from the
    browser's computed styles, must still be in its font."""
    shown = {icon[2] for r in sweeps[width].values() for icon in r["icons"]}
    assert len(shown) >= 5, (
        f"only {len(shown)} distinct icons found: is the scan blind?"
    )
    problems = _icon_problems(sweeps[width], _font_faces(site))
    assert not problems, "\n".join(problems)


def test_the_icon_check_sees_an_icon_cut_from_its_font(sweeps, site, tmp_path):  # noqa: F811
    faces = _font_faces(site)
    family, weight, point, cls = next(
        icon
        for r in sweeps[390].values()
        for icon in r["icons"]
        if "fa-bars" in icon[3]
    )
    key = (next(f.strip() for f in family.split(",") if "Font Awesome" in f), weight)
    font = TTFont(faces[key])
    cutter = subset.Subsetter(subset.Options(flavor="woff2"))
    cutter.populate(unicodes=set(font.getBestCmap()) - {point})
    cutter.subset(font)
    broken = tmp_path / faces[key].name
    font.save(broken)
    problems = _icon_problems(sweeps[390], {**faces, key: broken})
    assert any(f"U+{point:04X} of .{cls}" in p for p in problems), problems


def test_screenshots_are_kept(sweeps):
    for width, shots in SCREENSHOTS.items():
        for page, name in shots.items():
            if page in sweeps[width]:
                assert (ARTIFACTS / name).stat().st_size > 10_000, name
    assert len([p for p in SCREENSHOTS[390] if p in sweeps[390]]) >= 2, (
        "the phone screenshots' pages were not built"
    )


# --- negative controls: a page and a server broken on purpose -------------------------

# A page broken on purpose in each way the tests look for, next to the real site's
# assets: the inspection must see every fault (a check that cannot fail proves nothing).
BROKEN = r"""
<p>A formula MathJax cannot parse:
   <span class="math notranslate nohighlight">\(\frac{1}\)</span>.</p>
<p class="mathjax_ignore">Raw TeX left as text (MathJax told to skip it): $$ \frac{a}{b} $$</p>
<img src="_static/missing-figure.png" alt="missing">
<script src="http://192.0.2.1/remote.js"></script>
<script>console.error("an error on purpose");</script>
<div class="cell_output docutils container"><pre style="width: 10ch; white-space: pre-wrap;
  word-break: break-all">max rel error 1.6e-16 (split on purpose)</pre></div>
<table><tr><td><div style="width: 3ch; overflow: hidden; white-space: nowrap">2.3e-11</div>
</td></tr></table>
<button class="broken-on-purpose"></button>
"""


def _broken_page(site, tmp_path) -> str:  # noqa: F811
    """A page of the site with every fault of BROKEN, the tab's title and og:title in
    TeX, and without book.js (the fix of the sidebar toggles); in tmp_path."""
    (tmp_path / "_static").symlink_to(site / "_static", target_is_directory=True)
    with_math = [
        p
        for p in html_pages(site)
        if 'class="math' in p.read_text(encoding="utf-8")
        and "../" in p.read_text(encoding="utf-8")
    ]
    assert with_math, "no page of this build has math"
    page = min(with_math, key=lambda p: p.stat().st_size).read_text(encoding="utf-8")
    # The page moves to the site's root: its links to ../_static must point there.
    page = page.replace("../", "")
    page = re.sub(r'<script[^>]*src="_static/book\.js[^"]*"[^>]*></script>', "", page)
    page = re.sub(
        r"<title>.*?</title>",
        r"<title>\\(\\mathbf c\\) of the output</title>",
        page,
        flags=re.S,
    )
    page = re.sub(r'(<meta property="og:title" content=")[^"]*', r"\1\\partial J", page)
    page = page.replace("</article>", BROKEN + "</article>", 1)
    (tmp_path / "broken.html").write_text(page, encoding="utf-8")
    return "broken.html"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_inspection_sees_every_fault_of_a_page_broken_on_purpose(
    site,
    width,  # noqa: F811
    tmp_path,
):
    _require_browser()
    name = _broken_page(site, tmp_path)
    with serve(tmp_path) as url, chromium(width) as driver:
        found = _problems(name, _visit(driver, url + name, width))
    everything = "\n".join(p for kind in found.values() for p in kind)
    for fault in (
        "mjx-merror",
        "raw TeX",
        "missing-figure.png",
        "HTTP 404",
        "another host: http://192.0.2.1/remote.js",
        "an error on purpose",
    ):
        assert fault in "\n".join(found["render"]), (
            f"not detected: {fault}\n{everything}"
        )
    assert any('split across lines: "1.6e-16"' in p for p in found["numbers"]), (
        everything
    )
    assert any('cut by an edge: "2.3e-11"' in p for p in found["numbers"]), everything
    assert found["toggle"], f"the dead sidebar toggle was not detected\n{everything}"
    assert len(found["title"]) == 2, f"TeX in the titles not detected\n{everything}"
    if AXE.exists():
        assert any("button-name" in p for p in found["axe"]), everything


def _explorer_failures(driver, url: str) -> list[str]:
    """Turn on MathJax's accessibility explorer (its menu setting), open a page, focus a
    formula and wait until the speech rules arrive; the failed requests and the
    console's errors of that."""
    driver.get(url)
    driver.execute_script(
        "localStorage.setItem('MathJax-Menu-Settings', "
        "JSON.stringify({explorer: true}))"
    )
    driver.get_log("performance")
    driver.get_log("browser")
    driver.get(url)
    driver.execute_async_script(INSPECT)
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        document.querySelector('mjx-container').focus();
        const start = Date.now();
        (function wait() {
          const maps = performance.getEntriesByType('resource')
            .filter(e => e.name.includes('/sre/mathmaps/'));
          if (maps.length >= 2 || Date.now() - start > 10000) done(maps.length);
          else setTimeout(wait, 100);
        })();""")
    time.sleep(0.5)
    return _network_failures(driver) + [
        e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
    ]


def test_the_math_accessibility_explorer_loads_its_files_offline(site, browser):  # noqa: F811
    page = next(
        p for p in html_pages(site) if 'class="math' in p.read_text(encoding="utf-8")
    )
    name = page.relative_to(site).as_posix()
    with serve(site) as url:
        failures = _explorer_failures(browser, url + name)
    assert not failures, "\n".join(failures[:10])
    # Negative control: the same site with its speech rules missing.
    with serve(site, refuse="/_static/mathjax/sre/") as url:
        failures = _explorer_failures(browser, url + name)
    assert any("mathmaps" in f and "404" in f for f in failures), failures


# --- the reader features ----------------------------------------------------------------


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


def test_plots_are_svg_with_alt_text_from_their_data_and_white_in_dark_mode(
    site, server, browser
):  # noqa: F811
    plots = {
        p: re.findall(
            r'<img alt="([^"]*)" src="([^"]+)"', (site / p).read_text(encoding="utf-8")
        )
        for p in _pages_with(site, "cell_output")
    }
    plots = {p: imgs for p, imgs in plots.items() if imgs}
    # The book plots on several pages (checking, cost, experiments): none means the
    # plots were lost (a headless backend leaking into the build, say), not a skip.
    assert plots, "no page of this build shows a plot"
    for page, imgs in plots.items():
        for alt, src in imgs:
            assert src.endswith(".svg"), f"{page}: a plot is not SVG: {src}"
            assert alt.startswith("Plot") and "axis" in alt and src not in alt, (
                f"{page}: the plot's alt text does not describe it: {alt[:120]!r}"
            )
    page = next(iter(plots))
    browser.get(server + page)
    colours = browser.execute_script("""
        document.documentElement.dataset.theme = 'dark';
        return Array.from(document.querySelectorAll('div.cell_output img'))
            .map(i => getComputedStyle(i).backgroundColor);""")
    assert colours, f"{page}: no plot found"
    assert set(colours) == {"rgb(255, 255, 255)"}, (page, colours)
    background = browser.execute_script(
        "return getComputedStyle(document.body).backgroundColor"
    )
    assert background != "rgb(255, 255, 255)", "the page did not switch to dark mode"
    browser.execute_script(
        "document.querySelector('div.cell_output img').scrollIntoView()"
    )
    _screenshot(browser, "dark-mode-plot.png", max_height=1600)


def test_dark_mode_follows_the_system_until_the_reader_picks_a_mode(server, browser):
    def theme(system: str) -> str:
        browser.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": system}]},
        )
        browser.get(server + "index.html")
        return browser.execute_script("return document.documentElement.dataset.theme")

    try:
        browser.get(server + "index.html")
        browser.execute_script("localStorage.clear()")
        assert theme("dark") == "dark", "a system in dark mode got a light page"
        assert theme("light") == "light", "a system in light mode got a dark page"
        # The reader picks light with the theme's switch: it stays, whatever the system.
        browser.execute_script(
            "document.querySelector('.theme-change-button[data-mode=light]').click()"
        )
        assert theme("dark") == "light", "the reader's choice did not stick"
    finally:
        browser.execute_script("localStorage.clear()")
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_search_finds_pages_and_shows_plain_titles(server, browser):
    def results(query: str) -> list[str]:
        browser.get(server + f"search.html?q={query}")
        return browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const start = Date.now();
            (function poll() {
              const items = document.querySelectorAll('#search-results li');
              const status = document.querySelector(
                '#search-results .search-summary, #search-results p');
              if (items.length || Date.now() - start > 15000 ||
                  (status && /did not match|found/.test(status.textContent)))
                done(Array.from(items).map(li => li.querySelector('a').textContent));
              else setTimeout(poll, 100);
            })();""")

    assert results("carousel"), "searching the book for 'carousel' found no page"
    # Titles with math (attention 3.2 to 3.5) are among these results.
    math_titles = [
        t for t in results("recurrent") + results("attention") if TEX_IN_TITLE.search(t)
    ]
    assert not math_titles, f"search results show TeX: {math_titles}"


# --- math at a phone's and a laptop's width ------------------------------------------

PHONE, LAPTOP = WIDTHS[390], WIDTHS[1366]
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
MATH_FIT = (
    TYPESET_ALL
    + r"""
const done = arguments[arguments.length - 1];
(async () => {
  if (window.MathJax) await typesetAll();
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
)


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


# --- the one-page summaries on paper ------------------------------------------------

A4 = {"paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": True}


def _printed_pages(driver, url: str) -> int:
    """Pages of ``url`` printed to PDF as a reader's print dialog does (A4, the site's
    print styles), after MathJax has typeset it."""
    _load(driver, url)
    pdf = base64.b64decode(
        driver.execute_cdp_cmd("Page.printToPDF", {**A4, "printBackground": False})[
            "data"
        ]
    )
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


LAZY_PENDING = (
    TYPESET_ALL
    + r"""
const done = arguments[arguments.length - 1];
(async () => {
  await startedUp();
  const math = Array.from(MathJax.startup.document.math);
  done([math.filter(m => m.lazyCompile || m.lazyTypeset).length, math.length]);
})();
"""
)


def _pdf_text(driver) -> str:
    """The page printed to PDF (A4) as text (pdftotext); "" without pdftotext (then the
    count of formulas still waiting holds the test alone)."""
    pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", A4)["data"])
    if not shutil.which("pdftotext"):
        return ""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        return subprocess.run(
            ["pdftotext", f.name, "-"], capture_output=True, text=True, check=True
        ).stdout


def test_printing_typesets_the_math_not_yet_in_view(server, browser):  # noqa: F811
    """The pages typeset a formula when it comes into view (ui/lazy); a reader who prints
    a page before scrolling through it must still get every formula on paper (ui/lazy
    typesets the rest when the print starts)."""
    url = server + "lstm/backward-step.html"
    browser.get(url)
    pending, total = browser.execute_async_script(LAZY_PENDING)
    assert pending > 10, f"only {pending} of {total} formulas wait to be typeset"
    lazily = _pdf_text(browser)
    assert browser.execute_async_script(LAZY_PENDING)[0] == 0
    _load(browser, url)  # every formula typeset first
    typeset = _pdf_text(browser)
    assert lazily == typeset
    if typeset:  # negative control: the print handler's typesetting turned off
        browser.get(url)
        browser.execute_async_script(LAZY_PENDING)
        browser.execute_script(
            "MathJax.startup.document.lazyTypesetAll = () => Promise.resolve();"
        )
        assert _pdf_text(browser) != typeset


def test_each_one_page_summary_prints_on_one_a4_page(site, server, browser):  # noqa: F811
    summaries = [
        p.relative_to(site).as_posix()
        for p in html_pages(site)
        if "one-page-summary" in p.read_text()
    ]
    assert {
        "lstm/summary.html",
        "attention/summary.html",
        "vanishing/summary.html",
    } <= set(summaries)
    pages = {rel: _printed_pages(browser, server + rel) for rel in summaries}
    assert all(n == 1 for n in pages.values()), f"printed pages (A4): {pages}"
    # The count sees a page that does not fit: the front page prints on several.
    assert _printed_pages(browser, server + "index.html") > 1
