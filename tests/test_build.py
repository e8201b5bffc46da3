"""End to end: the book builds, and a wrong formula in lstm_notes stops the build.

This is the slow test of the suite (two full builds of a copy of the project). It runs
the same sphinx-build command as `make html`, with the virtual environment's
interpreter, on copies in a temporary folder so the working tree is never touched.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPHINX = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-c", "."]

# The formula broken by the test, and the equation whose check must then fail.
TARGET = ROOT / "lstm_notes" / "calculus.py"
CORRECT = "return np.sum(y) * softmax(z) - y"
BROKEN = "return np.sum(y) * softmax(z) + y"
LABEL = "softmax-xent-grad"


def copy_project(dest: Path) -> Path:
    ignore = shutil.ignore_patterns(".venv", "_build", ".git", "__pycache__", "*.egg-info",
                                    ".pytest_cache", "test-artifacts")
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def build(project: Path) -> subprocess.CompletedProcess:
    cmd = SPHINX + ["-d", "_build/doctrees", "docs", "_build/html"]
    # The copy's own lstm_notes must be the one imported, by the build and by the kernels
    # (conf.py puts its own folder first as well).
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=env,
                          timeout=900)


@pytest.mark.build
def test_wrong_formula_fails_the_build_and_names_the_equation(tmp_path):
    good = copy_project(tmp_path / "good")
    done = build(good)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert (good / "_build" / "html" / "index.html").exists()

    bad = copy_project(tmp_path / "bad")
    source = (bad / "lstm_notes" / "calculus.py").read_text()
    assert CORRECT in source, "the test's target formula has moved; update the test"
    (bad / "lstm_notes" / "calculus.py").write_text(source.replace(CORRECT, BROKEN))
    done = build(bad)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "VERIFICATION FAILED" in out
    summary = out[out.index("VERIFICATION FAILED"):]
    assert re.search(rf"page docs/\S+\.md, equation \(\d[\d.]*\) '{LABEL}'", summary), summary
    assert "max rel error" in summary and "tolerance" in summary

    # Running the build again without a change must not turn it green.
    again = build(bad)
    assert again.returncode != 0 and f"'{LABEL}'" in again.stdout + again.stderr
