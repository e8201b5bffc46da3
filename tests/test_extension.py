"""The verification extension's reliance on myst-nb internals (PITFALLS 28)."""

import inspect
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import verification  # noqa: E402


def test_the_myst_nb_internal_the_guarantee_relies_on_is_still_there():
    """PITFALLS 28: the extension asks myst-nb which pages failed to execute. If that
    internal moves, this test fails (and the build stops with a message), instead of the
    extension quietly believing every page succeeded."""
    collector = verification._nb_metadata_collector()
    assert list(inspect.signature(collector.get_exec_data).parameters)[:2] == [
        "env",
        "docname",
    ]
