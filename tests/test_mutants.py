"""`make mutants` (tools/mutants.py): it must tell a weak check from an honest one, class
real pages' mutants, write mutants.json in the agreed shape, and the verification report
must show its numbers only for the sources they were measured on.

A weak check here is a function compared with itself: a change to the function moves both
sides, so the check passes whatever the function computes.
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
from conftest import ROOT
from test_pairing import labelled_equations

sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "docs" / "_ext")]
import mutants  # noqa: E402
from verified_book import report  # noqa: E402
from verified_book.rebuild import sources_digest  # noqa: E402

FIXTURE = """\
---
file_format: mystnb
kernelspec:
  name: python3
  display_name: Python 3
---
# A fixture page

```{code-cell} python
import numpy as np
from lstm_notes import check, central_grad
from lstm_notes.blocks import softmax

z = np.array([0.3, -1.2, 0.8, 0.1, -0.4])
```

```{code-cell} python
check("fixture-weak", softmax(z), softmax(z))
```

```{code-cell} python
check("fixture-honest", softmax(z), np.exp(z) / np.sum(np.exp(z)))
```

```{code-cell} python
g = 2.0 * z + 1.0
check("fixture-cell", g, central_grad(lambda v: v @ v + np.sum(v), z))
```
"""

COUNTS = ("killed", "survived", "equivalent", "elsewhere", "crashed")


@pytest.fixture(scope="module")
def fixture_result(tmp_path_factory):
    page = tmp_path_factory.mktemp("pages") / "fixture"
    page.with_suffix(".md").write_text(FIXTURE)
    return mutants.mutate_page((str(page), 12, set()))["labels"]


def test_a_function_compared_with_itself_survives(fixture_result):
    weak = fixture_result["fixture-weak"]
    assert weak["survived"] >= 1 and weak["killed"] == 0, weak
    assert all("blocks.py" in s and "softmax" in s for s in weak["survivors"])


def test_an_independent_check_kills_the_mutants_of_the_same_function(fixture_result):
    honest = fixture_result["fixture-honest"]
    assert honest["killed"] >= 1 and honest["survived"] == 0, honest


def test_the_statements_of_a_cell_that_feed_the_analytic_side_are_mutated(
    fixture_result,
):
    cell = fixture_result["fixture-cell"]
    assert cell["killed"] >= 2 and cell["survived"] == 0, cell
    # the numerical side (the lambda) and the shared point z are left alone


def test_mutation_operators_cover_the_classes_of_slips():
    tree = mutants.ast.parse(
        "r = -(a.T @ b) * c[t - 1] + np.outer(u, v)[: t] - sum(x for k in range(1, t))"
    )
    kinds = {desc for _, _, desc, _ in mutants.mutation_points(tree)}
    for expected in (
        "Add -> Sub",
        "drop the right term",
        "drop the minus sign",
        "drop the transpose",
        "swap the operands of @",
        "index off by one",
        "swap the arguments of outer",
        "slice upper bound off by one",
        "range starts one later",
        "drop the right factor",
    ):
        assert expected in kinds, (expected, kinds)


def test_validation_and_error_messages_are_not_mutated():
    source = textwrap.dedent("""
        def f(x):
            if x.ndim != 2:
                raise ValueError(f"x has {x.ndim - 1} too many dimensions")
            return x + 1
    """)
    kinds = {
        (line, desc)
        for _, _, desc, line in mutants.mutation_points(mutants.ast.parse(source))
    }
    assert {line for line, _ in kinds} == {5}, kinds


PAGES = ["calculus/activations-softmax", "lstm/forward"]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mutants")
    mutants.main(
        ["--pages", *PAGES, "--package", "0", "--jobs", "1", "--out", str(out)]
    )
    return json.loads((out / "mutants.json").read_text())


def test_real_pages_every_label_has_a_caught_mutant_and_none_survives(real_run):
    labels = {
        label
        for page in PAGES
        for label, _ in labelled_equations((ROOT / "docs" / f"{page}.md").read_text())
    }
    assert set(real_run["labels"]) == labels
    for label, counts in real_run["labels"].items():
        assert counts["survived"] == 0, (label, counts["survivors"])
        assert counts["killed"] + counts["elsewhere"] >= 1, (label, counts)


def test_mutants_json_has_the_agreed_shape(real_run):
    assert real_run["digest"] == sources_digest(ROOT)
    assert isinstance(real_run["seconds"], float)
    for counts in real_run["labels"].values():
        assert counts["page"] in PAGES
        assert all(isinstance(counts[k], int) for k in COUNTS)
        assert isinstance(counts["survivors"], list)


def test_package_mode_reports_a_kill_rate_and_its_survivors():
    pkg = mutants.package_mode(3, seed=1)
    assert pkg["sampled"] == 3 and 0 <= pkg["killed"] <= 3
    assert len(pkg["survivors"]) == pkg["sampled"] - pkg["killed"]
    assert pkg["candidates"] > 500


def test_report_shows_a_run_only_for_the_sources_it_measured(tmp_path):
    path = tmp_path / "mutants.json"
    data, why = report.mutation_report(path, "abc")
    assert data is None and "has not been run" in why
    path.write_text(json.dumps({"digest": "old", "labels": {}, "seconds": 1.0}))
    data, why = report.mutation_report(path, "abc")
    assert data is None and "other sources" in why and "make mutants" in why
    path.write_text(json.dumps({"digest": "abc", "labels": {}, "seconds": 1.0}))
    data, why = report.mutation_report(path, "abc")
    assert data == {"digest": "abc", "labels": {}, "seconds": 1.0} and why == ""


def test_the_sources_digest_changes_with_a_page(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "lstm_notes").mkdir()
    (tmp_path / "docs" / "a.md").write_text("x")
    before = sources_digest(tmp_path)
    (tmp_path / "docs" / "a.md").write_text("y")
    assert sources_digest(tmp_path) != before
