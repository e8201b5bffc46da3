"""`make pdf`: the verified book as a PDF, ``<builddir>/latex/verified-lstm-gradients.pdf``.

``python tools/build_pdf.py <builddir> [sphinx option ...]``:

1. ``tools/check_tex.py``: stops with the list of missing Debian packages, if any;
2. the book's sphinx-build (tools/build_html.py) with the LaTeX builder, on the same
   environment as `make html` (``<builddir>/doctrees``): every page that is out of date is
   executed and checked, and any warning (a failed check, a broken reference) stops it;
3. latexmk with XeLaTeX; the build fails on any LaTeX error, on any undefined reference
   or citation (what prints "??") and on a character missing from the fonts, each listed;
4. a stamp next to the PDF, ``verified-lstm-gradients.json``, with the digest of the
   sources (``rebuild.sources_digest``) it was made from;
5. the html build again (nothing is executed again): the site links the PDF and serves a
   copy of it, for as long as the stamp's digest is that of the sources being built.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import build_html
import check_tex

ROOT = build_html.ROOT
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from verified_book.latex import PDF_NAME, stamp_path  # noqa: E402
from verified_book.rebuild import sources_digest  # noqa: E402

#: What the LaTeX log must not contain: errors, undefined references and citations
#: (printed as "??"), hyperlinks to nowhere, glyphs the fonts lack, unsettled labels.
PROBLEMS = [
    (re.compile(r"^! (.*)$"), "LaTeX error"),
    (re.compile(r"LaTeX Warning: (?:Reference|Citation) (`[^']*') .*undefined"), "??"),
    (re.compile(r"LaTeX Warning: Hyper reference (`[^']*') .*undefined"), "dead link"),
    (re.compile(r"^Missing character: There is (no .*)$"), "missing glyph"),
    (re.compile(r"LaTeX Warning: (There were undefined references)"), "??"),
    (re.compile(r"LaTeX Warning: (Label\(s\) may have changed)"), "unsettled"),
]


def log_problems(log: str) -> list[str]:
    """Every line of a LaTeX log that must fail the build, as ``what: detail`` ("??"
    for an undefined reference or citation), each once; lines the log wraps at 79
    characters are joined first."""
    text = re.sub(r"(?m)^(.{79})\n", r"\1", log)
    found: dict[str, None] = {}
    for line in text.splitlines():
        for pattern, what in PROBLEMS:
            match = pattern.search(line)
            if match:
                found[f"{what}: {match.group(1)}"] = None
    return list(found)


def latexmk(latexdir: Path) -> tuple[int, str]:
    """XeLaTeX through latexmk (Sphinx's latexmkrc): (status, log text)."""
    done = subprocess.run(
        [
            "latexmk",
            "-xelatex",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-silent",
            f"{PDF_NAME}.tex",
        ],
        cwd=latexdir,
        capture_output=True,
        text=True,
    )
    log = latexdir / f"{PDF_NAME}.log"
    text = log.read_text(errors="replace") if log.exists() else done.stdout
    return done.returncode, text


def pages(pdf: Path) -> str:
    done = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True)
    found = re.search(r"^Pages:\s+(\d+)", done.stdout, re.M)
    return found.group(1) if found else "?"


def main(argv: list[str]) -> int:
    builddir, extra = (argv[0], argv[1:]) if argv else ("_build", [])
    start = time.monotonic()
    absent = check_tex.missing()
    if absent:
        print(check_tex.message(absent), file=sys.stderr)
        return 1
    status = build_html.main([builddir, *extra], builder="latex")
    if status != 0:
        return status
    latexdir = ROOT / builddir / "latex"
    pdf = latexdir / f"{PDF_NAME}.pdf"
    stamp = stamp_path(latexdir)
    stamp.unlink(missing_ok=True)
    print(f"latexmk -xelatex {PDF_NAME}.tex (in {builddir}/latex)", flush=True)
    status, log = latexmk(latexdir)
    problems = log_problems(log)
    if status != 0 or problems or not pdf.exists():
        print(
            f"ERROR: the PDF did not build cleanly (latexmk exit {status}); from "
            f"{builddir}/latex/{PDF_NAME}.log:",
            *(f"  {p}" for p in problems[:40] or ["(no problem named: see the log)"]),
            sep="\n",
            file=sys.stderr,
        )
        return 1
    stamp.write_text(json.dumps({"digest": sources_digest(ROOT)}) + "\n")
    status = build_html.main([builddir, *extra])  # the site now links the PDF
    if status != 0:
        return status
    size = pdf.stat().st_size / 2**20
    print(
        f"The PDF is in {builddir}/latex/{PDF_NAME}.pdf ({pages(pdf)} pages, "
        f"{size:.1f} MiB, {time.monotonic() - start:.0f} s), linked from the site in "
        f"{builddir}/html."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
