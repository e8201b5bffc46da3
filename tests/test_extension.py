"""The book's Sphinx extension (docs/_ext/verified_book): its reliance on myst-nb's
internals (PITFALLS 28), a configuration without code, and the build command written once."""

import ast
import re
import sys
import tomllib
from importlib import metadata
from types import SimpleNamespace

import pytest
from conftest import ROOT, build_html

sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from verified_book import mystnb_internals  # noqa: E402
from verified_book.mystnb_internals import MYST_NB_VERSION, MystNbInternalsMoved  # noqa: E402


def test_the_myst_nb_internals_the_guarantee_relies_on_are_still_there():
    """The extension asks myst-nb which pages failed to execute. If that internal moves,
    this test fails (and the build stops with a message), instead of the extension
    quietly believing every page succeeded."""
    import inspect

    from myst_nb.core.execute.base import ExecutionResult

    collector = mystnb_internals.collector()
    assert list(inspect.signature(collector.get_exec_data).parameters)[:2] == [
        "env",
        "docname",
    ]
    assert {"succeeded", "error", "runtime"} <= set(ExecutionResult.__annotations__)
    # What myst-nb's executors record is what failed_pages reads back.
    env = SimpleNamespace(found_docs={"good", "bad", "prose"})
    collector.set_exec_data(
        env, "good", {"succeeded": True, "error": None, "runtime": 1.0}
    )
    collector.set_exec_data(
        env, "bad", {"succeeded": False, "error": "CheckFailed", "runtime": 2.0}
    )
    assert mystnb_internals.exec_data(env, "prose") is None
    assert mystnb_internals.failed_pages(env) == {
        "bad": {"succeeded": False, "error": "CheckFailed", "runtime": 2.0}
    }


def test_the_internals_were_checked_against_the_pinned_myst_nb():
    """Moving the pin (or installing another myst-nb) means checking the internals again
    and then updating MYST_NB_VERSION."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [
        d
        for deps in pyproject["project"]["optional-dependencies"].values()
        for d in deps
        if re.match(r"myst-nb\s*==", d)
    ]
    assert pins and set(pins) == {f"myst-nb=={MYST_NB_VERSION}"}  # docs, notebook
    assert metadata.version("myst-nb") == MYST_NB_VERSION


def test_a_moved_internal_stops_the_build_naming_the_pinned_version(monkeypatch):
    import myst_nb.sphinx_

    monkeypatch.delattr(myst_nb.sphinx_, "NbMetadataCollector")
    with pytest.raises(
        MystNbInternalsMoved, match=rf"myst-nb {re.escape(MYST_NB_VERSION)}"
    ):
        mystnb_internals.failed_pages(SimpleNamespace(found_docs={"page"}))
    from verified_book import rebuild

    with pytest.raises(MystNbInternalsMoved):  # at set-up, before any page runs
        rebuild.setup(app=None)


def test_a_record_of_another_shape_is_an_error_not_a_success():
    collector = mystnb_internals.collector()
    env = SimpleNamespace(found_docs={"page"})
    collector.set_exec_data(env, "page", {"ok": False})
    with pytest.raises(MystNbInternalsMoved, match="'succeeded'"):
        mystnb_internals.failed_pages(env)


def test_myst_nb_settings_and_outputs_are_read_in_one_place_that_fails_loudly():
    from myst_nb.core.config import NbParserConfig

    env = SimpleNamespace(mystnb_config=NbParserConfig(output_folder="out"))
    assert mystnb_internals.execution_mode(env) == NbParserConfig().execution_mode
    assert mystnb_internals.executed_notebook(env, "lstm/bptt").as_posix() == (
        "out/lstm/bptt.ipynb"
    )
    for moved in [SimpleNamespace(), SimpleNamespace(mystnb_config=SimpleNamespace())]:
        with pytest.raises(MystNbInternalsMoved):
            mystnb_internals.execution_mode(moved)
        with pytest.raises(MystNbInternalsMoved):
            mystnb_internals.executed_notebook(moved, "index")
    # Nothing else reads myst-nb's configuration or its output folder.
    ext = ROOT / "docs" / "_ext" / "verified_book"
    elsewhere = [
        f"{path.name}:{n}"
        for path in ext.glob("*.py")
        if path.name != "mystnb_internals.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "env.mystnb_config" in line or '"jupyter_execute"' in line
    ]
    assert not elsewhere, elsewhere


def test_conf_py_holds_configuration_only():
    """At most 100 lines, and no function or class: the code lives in the extension."""
    source = (ROOT / "conf.py").read_text()
    assert len(source.splitlines()) <= 100
    tree = ast.parse(source)
    code = [
        type(n).__name__
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.If, ast.For, ast.While))
    ]
    assert code == []


def test_the_build_command_is_written_once():
    cmd = build_html.command("_b")
    assert cmd[1:3] == ["-m", "sphinx"]
    assert {"-W", "--keep-going", "-q"} <= set(cmd)
    assert cmd[cmd.index("-j") + 1] == "auto"
    assert cmd[-4:] == ["-d", "_b/doctrees", "docs", "_b/html"]
    assert "tools/build_html.py $(BUILDDIR)" in (ROOT / "Makefile").read_text()
    # No other file of the project spells out a sphinx-build command.
    for path in [ROOT / "Makefile", *ROOT.glob("tools/*.py"), *ROOT.glob("tests/*.py")]:
        if path.name in ("build_html.py", "test_extension.py"):
            continue
        text = path.read_text()
        assert "-b html" not in text and '"-b", "html"' not in text, path
