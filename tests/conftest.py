"""Shared fixtures: the project root, a seeded generator, and a whole-book build."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_html  # noqa: E402  (tools/build_html.py: the build command, written once)
from build_html import copy_project  # noqa: E402,F401  (used by the tests)


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


def build_book(
    project: Path, *extra: str, keep_book_only: bool = False
) -> subprocess.CompletedProcess:
    """Run `make html`'s sphinx-build on ``project`` (its own lstm_notes) into its
    ``_build``; the whole book unless ``keep_book_only`` lets a test's BOOK_ONLY through."""
    env = dict(os.environ)
    if not keep_book_only:
        env.pop("BOOK_ONLY", None)
    return build_html.build(project, "_build", *extra, environ=env, timeout=900)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """One clean build of the whole book per test session: (project copy, result)."""
    project = copy_project(tmp_path_factory.mktemp("book") / "project")
    return project, build_book(project)
