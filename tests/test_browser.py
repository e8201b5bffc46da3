"""Every page of the built book, loaded in a real browser (headless Chromium).

The site of the session's whole-book build (``built_book``; or the html folder named by
``LSTM_NOTES_SITE``) is served on 127.0.0.1 by a ``http.server`` in a thread, and
Debian's ``/usr/bin/chromium`` is driven through ``/usr/bin/chromedriver`` by selenium;
nothing downloads a browser or a driver. On every page: MathJax has typeset the math (its
startup promise resolved, no ``mjx-merror``, no raw TeX left in the text), the console
has no error, every request went to 127.0.0.1 and succeeded, every image loaded. Then
the reader features: the fold of long cells opens, copy buttons are there, plots stay
legible in dark mode. Screenshots of the front page and of one derivation page are kept
in ``test-artifacts/`` (git-ignored).

Without Chromium, chromedriver or selenium the tests are skipped with the reason; with
``LSTM_NOTES_REQUIRE=chromium`` (CI) they fail instead.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, require
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
