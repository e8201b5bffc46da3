"""Pages run in page processes (docs/_ext/verified_book/execution.py), not in a Jupyter
kernel each: the same outputs as a kernel, each page on its own, and a record of what it
ran of lstm_notes (deps.py).

The comparison with a kernel starts one (nbclient, as myst-nb does); the other tests run
pages in processes forked from the test process, never Sphinx.
"""

from __future__ import annotations

import sys

import nbformat
import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from verified_book import deps, execution, mystnb_internals  # noqa: E402
from verified_book.mystnb_internals import MYST_NB_VERSION, MystNbInternalsMoved  # noqa: E402

CELLS = [
    "import numpy as np\nimport matplotlib.pyplot as plt\n"
    "from lstm_notes import check, central_grad",
    'print("one line", end="")\nprint(" printed in two pieces")\n'
    'import sys\nprint("to stderr", file=sys.stderr)\n1.5',
    '{"b": [1, 2, 3], "a": np.arange(3)}',
    "x = np.linspace(0, 1, 5)\n"
    'check("demo", 2 * x, central_grad(lambda v: np.sum(v**2), x))',
    'fig, ax = plt.subplots(figsize=(3, 2), facecolor="white")\n'
    'ax.plot(x, x**2)\nplt.show()\nprint("after the figure")',
    "fig2, ax2 = plt.subplots(figsize=(2, 2))\nax2.plot([0, 1], [1, 0]);",
    "7;",
    "np.float64(0.25)",
    "",
    "None",
    # IPython's display, as the package's plots use it (lstm_notes.chapters.plotting)
    "from IPython.display import display\n"
    'display({"image/svg+xml": "<svg></svg>", "text/plain": "a plot"}, raw=True)\n'
    'display("text", {"a": 1})',
]


def notebook(cells: list[str]):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def job(cells: list[str], **kw) -> execution.Job:
    return execution.Job(str(ROOT / "docs" / "page.md"), [(c, []) for c in cells], **kw)


def comparable(outputs) -> list:
    """Streams merged per name (a kernel may split a print, and deliver stdout and
    stderr in either order), everything else in order."""
    streams: dict[str, str] = {}
    rest = []
    for o in outputs:
        if o["output_type"] == "stream":
            streams[o["name"]] = streams.get(o["name"], "") + o["text"]
        else:
            o = dict(o)
            o.pop("execution_count", None)
            rest.append(nbformat.from_dict(o))
    return [streams, rest]


@pytest.fixture
def page_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("LSTM_NOTES_RECORD_DIR", raising=False)
    return tmp_path


def test_a_page_process_gives_what_a_kernel_gives(page_env):
    """Streams, the last expression's value (and its suppression by ';'), a check's
    line, figures from plt.show() and from the end of a cell (PNG bytes identical)."""
    from nbclient import NotebookClient

    kernel = notebook(CELLS)
    NotebookClient(
        kernel,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "docs")}},
    ).execute()
    mine = notebook(CELLS)
    result = execution.run_here(job(CELLS), ROOT, page_env / "runs")
    assert result.error is None, result.error
    mystnb_internals.apply_result(mine, result)
    for n, (k, m) in enumerate(zip(kernel.cells, mine.cells, strict=True)):
        assert comparable(m.outputs) == comparable(k.outputs), f"cell {n}: {CELLS[n]}"
        assert m.execution_count == k.execution_count, n
    kinds = [[o["output_type"] for o in c.outputs] for c in mine.cells]
    assert kinds[4] == ["display_data", "stream"] and kinds[5] == ["display_data"]
    assert kinds[6] == [] and kinds[9] == []
    assert kinds[10] == ["display_data"] * 3
    assert mine.cells[10].outputs[0]["data"]["image/svg+xml"] == "<svg></svg>"
    assert mine.metadata.language_info == kernel.metadata.language_info


def test_an_error_ends_the_page_and_names_the_equation(page_env):
    cells = [
        "import numpy as np\nfrom lstm_notes import check",
        'print("before")\ncheck("eq-wrong", np.ones(3), np.ones(3) * 1.5)',
        'print("never")',
    ]
    result = execution.run_here(job(cells), ROOT, page_env / "runs")
    error = result.error
    assert error["ename"] == "CheckFailed" and error["cell"] == 1
    assert "check 'eq-wrong' FAILED" in error["evalue"]
    text = error["text"]
    assert text.startswith("An error occurred while executing the following cell:")
    assert "Cell In[2], line 2" in text and "----> 2 check(" in text
    assert text.rstrip().endswith(error["evalue"].splitlines()[-1])
    assert result.counts == [1, 2, None] and result.outputs[2] == []
    assert [o["output_type"] for o in result.outputs[1]] == ["stream", "error"]


def test_pages_do_not_share_state(page_env):
    """Each page runs in its own process: what one page changes (numpy's print options,
    matplotlib's settings, open figures, a module's attribute, its namespace) the next
    page does not see."""
    first = [
        "import numpy as np, matplotlib, matplotlib.pyplot as plt, lstm_notes\n"
        "np.set_printoptions(precision=2)\nmatplotlib.rcParams['lines.linewidth'] = 9\n"
        "lstm_notes.leaked = 1\nplt.figure()\nsecret = 42\nprint(np.pi * np.ones(1))",
    ]
    second = [
        "import numpy as np, matplotlib, matplotlib.pyplot as plt, lstm_notes\n"
        "print(np.array([np.pi]), matplotlib.rcParams['lines.linewidth'], "
        "hasattr(lstm_notes, 'leaked'), plt.get_fignums(), 'secret' in globals())",
    ]
    pool = execution.Pool(ROOT, page_env / "pool", nproc=1)
    jobs = [job(first), job(second + ["# second"])]
    pool.start(jobs)
    try:
        one, two = (pool.result(j) for j in jobs)
    finally:
        pool.stop()
    assert one.outputs[0][0]["text"] == "[3.14]\n"
    assert two.outputs[0][0]["text"] == "[3.14159265] 1.5 False [] False\n"


def test_a_cell_that_runs_too_long_is_stopped(page_env):
    result = execution.run_here(
        job(["import time\ntime.sleep(30)"], timeout=1), ROOT, page_env / "runs"
    )
    assert result.error["ename"] == "CellTimeout"


def test_what_a_page_ran_is_recorded_with_its_subprocesses(page_env):
    """The functions a page ran, in its process and in the Python processes it starts,
    and the own code of the modules it imports; not the functions it did not run."""
    cells = [
        "import subprocess, sys\nfrom lstm_notes import blocks\nblocks.sigmoid(0.5)",
        "subprocess.run([sys.executable, '-c', 'from lstm_notes.models import rnn; "
        "rnn.init_params(3, 5, 4)'], check=True)",
    ]
    ran = execution.run_here(job(cells), ROOT, page_env / "runs").ran
    assert "lstm_notes.blocks:sigmoid" in ran  # in the page's process
    assert "lstm_notes.models.rnn:init_params" in ran  # in its subprocess
    assert "lstm_notes.blocks:dsigmoid" not in ran
    assert {"lstm_notes", "lstm_notes.blocks", "lstm_notes.models.rnn"} <= set(ran)
    now = deps.Snapshot.read(ROOT).units()
    assert deps.changed(ran, now) == []
    assert deps.EVERYTHING not in ran


def test_a_process_that_leaves_no_record_makes_the_page_depend_on_everything(page_env):
    ran = execution.run_here(
        job(["import os\nos.system('true')"]), ROOT, page_env / "runs"
    ).ran
    assert set(ran) == {deps.EVERYTHING}
    now = deps.Snapshot.read(ROOT).units()
    assert deps.changed(ran, now) == []
    assert deps.changed(ran, {**now, "lstm_notes.blocks": "edited"}) == [
        deps.EVERYTHING
    ]


def test_units_are_compared_by_their_text(tmp_path):
    """A function's body belongs to it alone; its header, and everything else at module
    level, to the module's own code."""
    source = (
        "import numpy as np\nK = 2\n\n\ndef f(x):\n    '''doc'''\n    return K * x\n\n\n"
        "class C:\n    def m(self):\n        return 1\n"
    )
    known = {"lstm_notes", "lstm_notes.m"}

    def units(text):
        mod = deps.read_module("lstm_notes.m", tmp_path / "m.py", text, known)
        return mod.own, mod.functions["f"][0], mod.functions["C.m"][0]

    own, f, m = units(source)
    body = units(source.replace("return K * x", "return K * x + 0"))
    assert body == (own, body[1], m) and body[1] != f
    header = units(source.replace("def f(x):", "def f(x, y=1):"))
    assert header[0] != own and header[1] != f and header[2] == m
    constant = units(source.replace("K = 2", "K = 3"))
    assert constant == (constant[0], f, m) and constant[0] != own
    method = units(source.replace("return 1", "return 2"))
    assert method[:2] == (own, f) and method[2] != m


def test_a_module_whose_import_runs_the_package_depends_on_its_functions(tmp_path):
    """A call made when a module is imported runs before any page: the module's own
    code then covers every function of the package (a lambda or a function body is not
    run on import); a module that does not parse is one unit."""
    known = {"lstm_notes", "lstm_notes.blocks", "lstm_notes.m"}

    def on_import(text):
        mod = deps.read_module("lstm_notes.m", tmp_path / "m.py", text, known)
        return mod.calls_on_import

    head = "import numpy as np\nfrom .blocks import sigmoid\n"
    assert on_import(head + "T = sigmoid(np.zeros(2))\n")
    assert on_import(head + "def f(x):\n    return x\n\n\nY = f(1)\n")
    assert on_import(head + "@sigmoid\ndef g():\n    pass\n")
    assert not on_import(head + "F = {'s': lambda v: sigmoid(v)}\nN = np.zeros(2)\n")
    assert not on_import(head + "def g(x):\n    return sigmoid(x)\n")
    broken = deps.read_module("lstm_notes.m", tmp_path / "m.py", "def f(:\n", known)
    assert broken.functions == {} and broken.tree is None


# --- myst-nb's client (PITFALLS 28) --------------------------------------------------


def test_the_client_myst_nb_would_choose_is_replaced_where_it_would_start_a_kernel():
    import myst_nb.sphinx_
    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.execute import NotebookClientBase, create_client

    mystnb_internals.install_client(lambda nb, path, config: None)
    assert myst_nb.sphinx_.create_client.__wrapped__ is create_client
    nb = notebook(["1"])
    logger = type("L", (), {"info": print, "warning": print})()
    force = myst_nb.sphinx_.create_client(
        nb, "page.md", NbParserConfig(execution_mode="force"), logger
    )
    assert type(force).__name__ == "ForkedClient"
    assert isinstance(force, NotebookClientBase)
    off = myst_nb.sphinx_.create_client(
        nb, "page.md", NbParserConfig(execution_mode="off"), logger
    )
    assert type(off) is NotebookClientBase


def test_a_moved_client_stops_the_build_naming_the_pinned_version(monkeypatch):
    import myst_nb.sphinx_

    monkeypatch.setattr(myst_nb.sphinx_, "create_client", lambda *a, **k: None)
    with pytest.raises(MystNbInternalsMoved, match=MYST_NB_VERSION):
        mystnb_internals.install_client(lambda nb, path, config: None)
    from myst_nb.core import execute

    monkeypatch.delattr(execute, "NotebookClientDirect")
    with pytest.raises(MystNbInternalsMoved, match="NotebookClientDirect"):
        mystnb_internals.install_client(lambda nb, path, config: None)


def test_reading_a_page_as_myst_nb_will_fails_loudly_if_it_moved(monkeypatch):
    from types import SimpleNamespace

    import myst_nb.core.read

    env = SimpleNamespace(doc2path=lambda doc: ROOT / "docs" / f"{doc}.md")
    with pytest.raises(MystNbInternalsMoved, match="env.myst_config"):
        mystnb_internals.read_notebook(env, "calculus/checking")
    monkeypatch.delattr(myst_nb.core.read, "create_nb_reader")
    with pytest.raises(MystNbInternalsMoved, match=MYST_NB_VERSION):
        mystnb_internals.read_notebook(env, "calculus/checking")
