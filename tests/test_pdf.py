"""The book to take away: `make pdf` and the pages' notebooks.

The slow tests (marked ``pdf`` and ``build``) run on the session's whole-book build
(``built_book``): `make pdf`'s script (tools/build_pdf.py) on the same project copy
reuses its environment, so no page is executed twice, then the PDF is read back with
pdftotext and its LaTeX labels compared with the site's equation numbers. They need TeX
(tools/check_tex.py names the Debian packages); without it they are skipped with the
reason, unless LSTM_NOTES_REQUIRE names "latex" (CI). Two downloaded notebooks are run top
to bottom in a fresh kernel with this checkout's lstm_notes.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, require
from docutils.nodes import make_id

sys.path.insert(0, str(ROOT / "tools"))
import build_pdf  # noqa: E402
import check_tex  # noqa: E402

PDF = "verified-lstm-gradients.pdf"
REPOSITORY_URL = "https://github.com/lstm-notes/verified-lstm-gradients"
#: Small pages, one per kind of check, whose notebooks the tests run again.
NOTEBOOKS = ["calculus/activations-softmax.ipynb", "lstm/forward.ipynb"]
SITE_EQNO = re.compile(
    r'<span class="eqno">\((\d+(?:\.\d+)*)\)<a class="headerlink" '
    r'href="#(equation-[^"]+)"'
)
AUX_EQNO = re.compile(r"\\newlabel\{equation:([^:}]+):([^}]+)\}\{\{([\d.]+)\}")
SUMMARY = re.compile(
    r"This build checked (\d+) labelled equations with (\d+) comparisons .*?; "
    r"(\d+) failed\) and showed (\d+) formulas"
)


def plain(text: str) -> str:
    """Text for searching: no tags, words split at line ends joined, one space."""
    text = re.sub(r"<[^>]+>", " ", text).replace("’", "'").replace("&#8217;", "'")
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    return re.sub(r"\s+", " ", text)


# --- without TeX ---------------------------------------------------------------------


def test_every_package_make_pdf_needs_is_in_the_readme_and_installed_by_ci():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert [p for p in check_tex.PACKAGES if p not in readme] == []
    assert "check_tex.py --missing" in ci and "apt-get install" in ci


def test_a_newcomer_without_tex_is_told_which_packages_to_install(monkeypatch):
    real = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda n: None if n in ("xelatex", "kpsewhich") else real(n)
    )
    absent = check_tex.missing()
    assert {"texlive-xetex", "texlive-latex-extra"} <= set(absent)
    assert build_pdf.main(["_build_never_made"]) == 1  # stops before any build
    message = check_tex.message(absent)
    assert "apt-get install" in message and "texlive-xetex" in message


def test_the_latex_log_problems_that_fail_the_build_are_named():
    wrapped = (  # TeX wraps its log at 79 characters
        "LaTeX Warning: Reference `equation:lstm/bptt:lstm-bptt-dx' on page 3 "
        "undefined on input line 12."
    )
    log = "\n".join(
        [
            wrapped[:79],
            wrapped[79:],
            "Missing character: There is no ᵗ (U+1D57) in font FreeSans!",
            "LaTeX Warning: Hyper reference `verification:equation-x' on page 9 undefined",
            "! Package amsmath Error: \\tag not allowed here.",
            "LaTeX Warning: Citation `key' on page 2 undefined on input line 5.",
        ]
    )
    found = build_pdf.log_problems(log)
    assert "??: `equation:lstm/bptt:lstm-bptt-dx'" in found, found
    assert any(p.startswith("missing glyph: no ᵗ (U+1D57)") for p in found)
    assert "dead link: `verification:equation-x'" in found
    assert any(p.startswith("LaTeX error: Package amsmath") for p in found)
    assert "??: `key'" in found
    assert build_pdf.log_problems("Output written on book.pdf (150 pages).") == []


# --- the PDF of the session's build --------------------------------------------------


@pytest.fixture(scope="session")
def built_pdf(built_book):
    """`make pdf` on the session's project copy: (project, result, PDF text)."""
    absent = check_tex.missing()
    require("latex", not absent, f"make pdf needs {' '.join(absent)}")
    project, done = built_book
    if done.returncode != 0:
        pytest.fail("the book does not build (see test_the_book_builds_cleanly)")
    made = subprocess.run(
        [sys.executable, "tools/build_pdf.py", "_build"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    pdf = project / "_build" / "latex" / PDF
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-5000:]
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True
    ).stdout
    return project, made, text


@pytest.mark.build
@pytest.mark.pdf
def test_make_pdf_builds_and_the_site_serves_it(built_pdf):
    project, made, _ = built_pdf
    html = project / "_build" / "html"
    assert (html / PDF).read_bytes() == (project / "_build/latex" / PDF).read_bytes()
    front = (html / "index.html").read_text()
    assert f'href="{PDF}"' in front  # the front page's link and the header's
    assert f'href="../{PDF}"' in (html / "lstm" / "forward.html").read_text()
    assert re.search(r"\(\d+ pages, [\d.]+ MiB, \d+ s\)", made.stdout)


@pytest.mark.build
@pytest.mark.pdf
def test_the_pdf_has_every_title_and_no_unresolved_reference(built_pdf):
    project, _, text = built_pdf
    found = plain(text).casefold()
    titles = [  # of every page (the parts are the chapters), those without math
        next(
            line[2:] for line in page.read_text().splitlines() if line.startswith("# ")
        )
        for page in sorted((project / "docs").rglob("*.md"))
    ]
    titles = [t.replace("`", "").strip() for t in titles if "$" not in t]
    assert len(titles) > 30
    missing = [t for t in titles if plain(t).casefold() not in found]
    assert not missing, missing
    assert "??" not in text
    assert "Version " in text[:2000] and re.search(r"\d{4}-\d{2}-\d{2}", text[:2000])


@pytest.mark.build
@pytest.mark.pdf
def test_the_pdf_reports_the_same_verification_as_the_site(built_pdf):
    project, _, text = built_pdf
    site = plain((project / "_build" / "html" / "index.html").read_text())
    in_site, in_pdf = SUMMARY.search(site), SUMMARY.search(plain(text))
    assert in_site and in_pdf, "no verification summary"
    assert in_pdf.groups() == in_site.groups()


@pytest.mark.build
@pytest.mark.pdf
def test_the_pdf_numbers_every_equation_as_the_site_does(built_pdf):
    project, _, text = built_pdf
    html = project / "_build" / "html"
    site = {
        anchor: number
        for page in html.rglob("*.html")
        for number, anchor in SITE_EQNO.findall(page.read_text())
    }
    aux = (project / "_build" / "latex" / PDF.replace(".pdf", ".aux")).read_text()
    latex = {
        (doc, make_id(f"equation-{label}")): number
        for doc, label, number in AUX_EQNO.findall(aux)
    }
    assert len(latex) == len(site) > 100
    differ = {a: (n, site.get(a)) for (_, a), n in latex.items() if site.get(a) != n}
    assert not differ, differ
    # One equation of each part, printed in the PDF with the site's number.
    parts = {}
    for (doc, anchor), number in sorted(latex.items(), key=lambda kv: kv[1]):
        parts.setdefault(doc.split("/")[0], (anchor, number))
    assert {"calculus", "lstm", "attention", "vanishing", "errata"} <= set(parts)
    for anchor, number in parts.values():
        assert f"({number})" in text, (anchor, number)


# --- the notebooks ---------------------------------------------------------------------


#: MyST that Jupyter shows raw: a role of Sphinx's or myst-nb's.
RAW_MYST = re.compile(r"\{(?:doc|ref|eq|cite(?::\w)?|glue(?::\w+)?)\}`|```\{|:::\{")


@pytest.mark.build
def test_every_notebook_shows_its_equations_and_no_raw_myst(built_book):
    """Every page's notebook (the download menu's .ipynb): each displayed equation
    whole (its environments closed, TeX before its tag), and no MyST role or directive
    left for Jupyter to print raw."""
    import nbformat

    project, done = built_book
    if done.returncode != 0:
        pytest.fail("the book does not build (see test_the_book_builds_cleanly)")
    books = sorted((project / "_build" / "html" / "_sources").rglob("*.ipynb"))
    assert len(books) >= 30
    problems, equations = [], 0
    for path in books:
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "markdown":
                continue
            where = f"{path.relative_to(project)} cell {index}"
            for tex in re.findall(r"\$\$\n(.*?)\n\$\$", cell.source, re.S):
                equations += 1
                body = tex.split("\\tag{")[0].strip()
                if not body or tex.count("\\begin{") != tex.count("\\end{"):
                    problems.append(f"{where}: equation cut: {tex[:80]!r}")
            for raw in RAW_MYST.finditer(cell.source):
                line = cell.source[raw.start() : raw.start() + 80].split("\n")[0]
                problems.append(f"{where}: raw MyST: {line!r}")
    assert equations >= 200, equations
    assert not problems, "\n".join(problems[:20])


@pytest.mark.build
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_downloaded_notebook_runs_in_a_fresh_kernel(built_book, name, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    project, done = built_book
    if done.returncode != 0:
        pytest.fail("the book does not build (see test_the_book_builds_cleanly)")
    path = project / "_build" / "html" / "_sources" / name
    page = (project / "_build" / "html" / name.replace(".ipynb", ".html")).read_text()
    assert f"_sources/{name}" in page, "the page's download menu does not offer it"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert f'pip install "lstm_notes[notebook] @ git+{REPOSITORY_URL}"' in first.source
    assert "{math}" not in json.dumps(nb), "MyST math left for Jupyter to show raw"
    built = [o.get("text", "") for c in nb.cells for o in c.get("outputs", [])]

    # lstm_notes as a reader installs it: importable, outside the build.
    monkeypatch.setenv("PYTHONPATH", str(project))
    monkeypatch.delenv("LSTM_NOTES_RECORD_DIR", raising=False)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    ran = [o.get("text", "") for c in nb.cells for o in c.get("outputs", [])]
    errors = [
        o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert not errors

    # A check prints one short line, "✓ label · method · ... · max rel 1e-16 · ...",
    # and an erratum's formula as written one that starts "✗ label as written".
    def check_lines(outputs):
        lines = [line for out in outputs for line in out.splitlines()]
        return [line for line in lines if line.startswith(("✓ ", "✗ "))]

    checks = check_lines(ran)
    failed = [c for c in checks if c.startswith("✗") and " as written" not in c]
    assert checks and not failed, failed
    assert len(checks) == len(check_lines(built))
