"""End to end: the book builds, and a wrong formula in lstm_notes stops the build.

This is the slow test of the suite (two full builds of a copy of the project). It runs
the same sphinx-build command as `make html`, with the virtual environment's
interpreter, on copies in a temporary folder so the working tree is never touched.
"""

import re

import pytest
from conftest import build_book, copy_project

# The formula broken by the test, and the equation whose check must then fail.
CORRECT = "return np.diag(p) - np.outer(p, p)"
BROKEN = "return np.diag(p) + np.outer(p, p)"
LABEL = "calc-softmax-jacobian"


@pytest.mark.build
def test_the_book_builds_cleanly(built_book):
    project, done = built_book
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert (project / "_build" / "html" / "index.html").exists()


@pytest.mark.build
def test_wrong_formula_fails_the_build_and_names_the_equation(tmp_path):
    bad = copy_project(tmp_path / "bad")
    source = (bad / "lstm_notes" / "blocks.py").read_text()
    assert CORRECT in source, "the test's target formula has moved; update the test"
    (bad / "lstm_notes" / "blocks.py").write_text(source.replace(CORRECT, BROKEN))
    done = build_book(bad)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "VERIFICATION FAILED" in out
    summary = out[out.index("VERIFICATION FAILED") :]
    assert re.search(rf"page docs/\S+\.md, equation \(\d[\d.]*\) '{LABEL}'", summary), (
        summary
    )
    assert "max rel error" in summary and "tolerance" in summary

    # Running the build again without a change must not turn it green.
    again = build_book(bad)
    assert again.returncode != 0 and f"'{LABEL}'" in again.stdout + again.stderr


@pytest.mark.build
def test_incremental_build_reexecutes_pages_after_a_package_change(
    tmp_path, monkeypatch
):
    """PITFALLS 2: Sphinx re-reads only changed pages, so a formula broken in lstm_notes
    after a green build must still fail the next, incremental, build. One page suffices."""
    monkeypatch.setenv("BOOK_ONLY", "calculus/activations-softmax")
    project = copy_project(tmp_path / "incremental")
    first = build_book(project, keep_book_only=True)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]

    source = project / "lstm_notes" / "blocks.py"
    source.write_text(source.read_text().replace(CORRECT, BROKEN))
    second = build_book(project, keep_book_only=True)
    assert second.returncode != 0
    assert f"'{LABEL}'" in second.stdout + second.stderr
