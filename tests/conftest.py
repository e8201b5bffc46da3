"""Shared fixtures: the project root and a seeded generator."""

import os
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
