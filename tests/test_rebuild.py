"""An incremental build re-runs exactly what an edit touches (issue 13, targets 1 and 2).

After a green build of a copy of the project, a wrong formula in a function that pages
ran, in each layer of lstm_notes, fails the next incremental build, which re-runs the
pages that ran that function and no other (besides those that ran the formula put back
at the same time, the previous one, and the report pages, read by every build). A change
to conf.py, to the extension or to pyproject.toml re-runs every page. Slow: whole-book
builds.
"""

from __future__ import annotations

import pickle
import sys

import pytest
from conftest import ROOT, build_book, copy_project

sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from verified_book.mystnb_internals import exec_data  # noqa: E402

# (file, function, what it computes, the same broken): each in a different module.
MUTANTS = [
    (
        "lstm_notes/models/lstm.py",
        "lstm_notes.models.lstm:_cell_backward",
        '"o": dGo * dsigmoid(s.o),',
        '"o": dGo * dsigmoid(s.o) * 1.001,',
    ),
    (
        "lstm_notes/models/rnn.py",
        "lstm_notes.models.rnn:_recurrence_backward",
        "ds[t] = dtanh(h[t]) * delta[t]",
        "ds[t] = dtanh(h[t]) * delta[t] * 1.001",
    ),
    (
        "lstm_notes/blocks.py",
        "lstm_notes.blocks:dsigmoid",
        "return s * (1.0 - s)",
        "return s * (1.001 - s)",
    ),
    (
        "lstm_notes/chapters/vanishing.py",
        "lstm_notes.chapters.vanishing:bptt_term_outer",
        "return np.outer(dtanh(h_k) * (P_tk.T @ d_t), h_prev)",
        "return np.outer(dtanh(h_k) * (P_tk.T @ d_t) * 1.001, h_prev)",
    ),
]


def environment(project):
    with open(project / "_build" / "doctrees" / "environment.pickle", "rb") as f:
        return pickle.load(f)


def runs(env) -> dict[str, float]:
    """Docname -> when its cells last ran (myst-nb's record)."""
    out = {}
    for doc in env.found_docs:
        data = exec_data(env, doc)
        if data is not None:
            out[doc] = data["mtime"]
    return out


def rerun(before: dict, after: dict) -> set[str]:
    return {doc for doc, t in after.items() if before.get(doc) != t}


def edit(path, old: str, new: str) -> str:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}: update the test"
    path.write_text(text.replace(old, new))
    return text


@pytest.mark.build
def test_a_wrong_formula_in_any_function_a_page_ran_fails_the_next_build(tmp_path):
    project = copy_project(tmp_path / "project")
    first = build_book(project)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    env = environment(project)
    records = env.verified_book_ran
    before = runs(env)
    reverted: set[str] = set()  # putting the last formula back re-runs its pages too
    for file, function, good, bad in MUTANTS:
        users = {doc for doc, ran in records.items() if function in ran}
        assert users, f"no page ran {function}: pick another function"
        original = edit(project / file, good, bad)
        done = build_book(project)
        out = done.stdout + done.stderr
        assert done.returncode != 0 and "VERIFICATION FAILED" in out, (function, out)
        env = environment(project)
        after = runs(env)
        again = rerun(before, after)
        assert users <= again, (function, users - again)
        assert again <= users | reverted, (function, again - users - reverted)
        failed = {doc for doc in again if not exec_data(env, doc)["succeeded"]}
        assert failed & users, function
        (project / file).write_text(original)
        before, reverted = after, users
    # every formula back: the last one's pages run again and pass
    done = build_book(project)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert rerun(before, runs(environment(project))) == reverted


@pytest.mark.build
def test_a_change_to_the_build_itself_reruns_every_page(tmp_path, monkeypatch):
    """conf.py, the extension and the pins: nothing of lstm_notes changed, yet every
    page runs again (on two pages, BOOK_ONLY, to be quick)."""
    monkeypatch.setenv("BOOK_ONLY", "calculus/activations-softmax,lstm/layout")
    project = copy_project(tmp_path / "project")
    first = build_book(project, keep_book_only=True)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    before = runs(environment(project))
    assert set(before) >= {"calculus/activations-softmax", "lstm/layout"}
    again = build_book(project, keep_book_only=True)
    assert again.returncode == 0
    assert rerun(before, runs(environment(project))) == set()  # nothing changed
    for name in ["conf.py", "docs/_ext/verified_book/records.py", "pyproject.toml"]:
        path = project / name
        path.write_text(path.read_text() + "\n# an edit\n")
        done = build_book(project, keep_book_only=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        after = runs(environment(project))
        assert rerun(before, after) == set(before), name
        before = after
