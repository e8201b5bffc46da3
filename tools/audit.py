"""`make audit`: Lighthouse's scores of the built book as a phone reader gets it.

Lighthouse (pinned in package.json, installed from npm by ``npm ci``) runs Debian's
Chromium (``CHROME_PATH``, default /usr/bin/chromium) in its default mobile set-up (a
phone's screen, simulated slow 4G and a 4x slower CPU) on three pages of a built site:
the front page, lstm/backward-step and vanishing/experiments. The site is served on
127.0.0.1 as the book's hosts (GitHub Pages, Read the Docs) serve it: text compressed
with gzip (an uncompressed local server would triple the bytes a phone loads) over
connections kept open. Each page is measured three times (``--runs``) and the run with
the median performance is kept, as Lighthouse's own guidance advises: one run's
performance score moves by tens of points with the machine's load. For each page it
prints performance, accessibility, best practices and SEO against their targets
(performance at least 90, the others 100), every run's performance, and what weighs on
performance (first and largest contentful paint, blocking time, layout shift, bytes,
render-blocking requests, unused JavaScript). Written to ``<out>/audit.md`` and
``<out>/audit.json``.

This is a measurement, not a test: a slow or busy machine lowers the performance score,
so a missed target prints "below", and the exit status is 0. Without Node.js or npm it
says how to get them and exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
PAGES = ["index.html", "lstm/backward-step.html", "vanishing/experiments.html"]
TARGETS = {"performance": 90, "accessibility": 100, "best-practices": 100, "seo": 100}
#: Lighthouse audits shown under each page: what the performance score is made of.
DETAILS = [
    "first-contentful-paint",
    "largest-contentful-paint",
    "total-blocking-time",
    "speed-index",
    "cumulative-layout-shift",
    "total-byte-weight",
    "render-blocking-resources",
    "unused-javascript",
]


class _Gzip(http.server.SimpleHTTPRequestHandler):
    """Static files, text compressed with gzip when the browser accepts it, over
    connections kept open (HTTP/1.1) as the book's hosts keep them. Python's default,
    HTTP/1.0, closes the connection after each file, and Lighthouse then counts a new
    connection's set-up for every stylesheet and script of a page."""

    protocol_version = "HTTP/1.1"

    COMPRESS = ("text/", "application/javascript", "application/json", "image/svg+xml")

    def do_GET(self):  # noqa: N802
        path = Path(self.translate_path(self.path))
        kind = self.guess_type(str(path))
        if (
            not path.is_file()
            or not kind.startswith(self.COMPRESS)
            or "gzip" not in self.headers.get("Accept-Encoding", "")
        ):
            super().do_GET()
            return
        body = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """``directory`` on 127.0.0.1 (a free port, gzip) while the block runs; yields the
    URL."""
    handler = functools.partial(_Gzip, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def ensure_lighthouse() -> str | None:
    """The reason Lighthouse cannot run, or None once it is installed (``npm ci``)."""
    if not shutil.which("node") or not shutil.which("npm"):
        return (
            "make audit needs Node.js and npm to install Lighthouse (pinned in "
            "package.json). On Debian or Ubuntu: sudo apt-get install nodejs npm; "
            "then run make audit again (it runs npm ci itself)."
        )
    if not LIGHTHOUSE.exists():
        print("Installing the pinned Lighthouse and axe-core from npm (npm ci) ...")
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT)
        if done.returncode != 0 or not LIGHTHOUSE.exists():
            return (
                "npm ci failed: Lighthouse is not installed (see npm's message above)"
            )
    return None


def lighthouse(url: str, chrome: str) -> dict:
    """One Lighthouse run (mobile, its defaults) on ``url``; its JSON report."""
    with tempfile.TemporaryDirectory(prefix="lstm-notes-audit-") as tmp:
        out = Path(tmp) / "report.json"
        flags = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"
        done = subprocess.run(
            [
                str(LIGHTHOUSE),
                url,
                "--quiet",
                "--output=json",
                f"--output-path={out}",
                "--only-categories=performance,accessibility,best-practices,seo",
                f"--chrome-flags={flags}",
            ],
            env={**os.environ, "CHROME_PATH": chrome},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"lighthouse failed on {url}:\n{done.stderr[-2000:]}")
        return json.loads(out.read_text(encoding="utf-8"))


def summary(report: dict) -> dict:
    """Scores (0-100) and the performance details of one report."""
    audits = report["audits"]
    return {
        "scores": {
            key: (None if cat["score"] is None else round(100 * cat["score"]))
            for key, cat in report["categories"].items()
        },
        "details": {
            key: audits[key].get("displayValue", "") for key in DETAILS if key in audits
        },
        "failed": sorted(
            f"{key}: {audit['title']}"
            for key, audit in audits.items()
            if audit.get("score") is not None
            and audit["score"] < 1
            and audit.get("scoreDisplayMode") == "binary"
        ),
    }


def median_run(runs: list[dict]) -> dict:
    """The run with the median performance score, with every run's score beside it."""
    ranked = sorted(runs, key=lambda r: r["scores"].get("performance") or 0)
    kept = dict(ranked[(len(ranked) - 1) // 2])
    kept["performance_runs"] = [r["scores"].get("performance") for r in runs]
    kept["scores"] = {
        key: statistics.median(
            r["scores"][key] for r in runs if r["scores"].get(key) is not None
        )
        for key in kept["scores"]
    }
    return kept


def report_version(chrome: str) -> str:
    """Lighthouse's version and the browser's, for the record."""
    done = subprocess.run(
        [str(LIGHTHOUSE), "--version"], capture_output=True, text=True
    )
    browser = subprocess.run([chrome, "--version"], capture_output=True, text=True)
    return f"{done.stdout.strip()}, {browser.stdout.strip()}"


def render(results: dict) -> str:
    lines = ["| page | " + " | ".join(TARGETS) + " |", "|---|" + "---|" * len(TARGETS)]
    for page, res in results.items():
        cells = []
        for key, target in TARGETS.items():
            score = res["scores"].get(key)
            verdict = "?" if score is None else ("ok" if score >= target else "below")
            cells.append(f"{score} ({verdict}, target {target})")
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    for page, res in results.items():
        lines.append("")
        lines.append(
            f"{page}: performance of the runs {res['performance_runs']}; median "
            "run: " + "; ".join(f"{k} {v}" for k, v in res["details"].items() if v)
        )
        if res["failed"]:
            lines.append("  not passed: " + "; ".join(res["failed"]))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--site",
        type=Path,
        default=ROOT / "_build" / "html",
        help="the built site (default _build/html)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="Lighthouse runs per page; the median is kept (default 3)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where audit.md and audit.json go (default: the site's parent)",
    )
    args = parser.parse_args(argv)
    site = args.site if args.site.is_absolute() else ROOT / args.site
    if not (site / "index.html").exists():
        print(f"no built site at {site}: run make html first", file=sys.stderr)
        return 2
    reason = ensure_lighthouse()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    if not Path(chrome).exists():
        print(
            f"no Chromium at {chrome}: apt-get install chromium, or set CHROME_PATH",
            file=sys.stderr,
        )
        return 2
    results = {}
    with serve(site) as url:
        for page in PAGES:
            print(f"Lighthouse (mobile) on {page}, {args.runs} runs ...", flush=True)
            results[page] = median_run(
                [summary(lighthouse(url + page, chrome)) for _ in range(args.runs)]
            )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    text = (
        render(results) + f"\n\nMachine load (1 min) at the end: {load:.1f} on "
        f"{os.cpu_count()} cores; Lighthouse {report_version(chrome)}."
    )
    print()
    print(text)
    out = args.out or site.parent
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.md").write_text(
        "# Lighthouse, mobile (make audit)\n\n" + text + "\n", encoding="utf-8"
    )
    (out / "audit.json").write_text(
        json.dumps({"targets": TARGETS, "load": load, "pages": results}, indent=1),
        encoding="utf-8",
    )
    print(f"\nWritten to {out / 'audit.md'} and {out / 'audit.json'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
