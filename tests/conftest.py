"""Shared fixtures: the project root, a seeded generator, and a whole-book build."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def require(tool: str, available: bool, why: str) -> None:
    """Skip a test whose optional tool is missing, with the reason shown in the summary;
    fail it instead when LSTM_NOTES_REQUIRE names the tool (CI installs every tool)."""
    if available:
        return
    required = {t.strip() for t in os.environ.get("LSTM_NOTES_REQUIRE", "").split(",")}
    if tool in required:
        pytest.fail(f"{tool} is required here (LSTM_NOTES_REQUIRE) but missing: {why}")
    pytest.skip(f"{tool} is not installed: {why}")


SPHINX = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-j", "auto", "-b", "html",
          "-c", "."]
IGNORE = shutil.ignore_patterns(".venv", "_build*", ".git", "__pycache__", "*.egg-info",
                                ".pytest_cache", "test-artifacts", "node_modules")


def copy_project(dest: Path) -> Path:
    """A copy of the working tree without environments, builds or git data."""
    shutil.copytree(ROOT, dest, ignore=IGNORE)
    return dest


def build_book(project: Path, *extra: str, keep_book_only: bool = False
               ) -> subprocess.CompletedProcess:
    """Run the same sphinx-build as `make html` on ``project`` (its own lstm_notes); the
    whole book unless ``keep_book_only`` lets a test's BOOK_ONLY through."""
    cmd = SPHINX + list(extra) + ["-d", "_build/doctrees", "docs", "_build/html"]
    env = {**os.environ, "PYTHONPATH": str(project)}
    if not keep_book_only:
        env.pop("BOOK_ONLY", None)
    return subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=env,
                          timeout=900)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """One clean build of the whole book per test session: (project copy, result)."""
    project = copy_project(tmp_path_factory.mktemp("book") / "project")
    return project, build_book(project)
