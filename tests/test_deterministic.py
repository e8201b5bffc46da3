"""Two clean builds give the same pages, byte for byte (issue 13, target 5).

Only the cost page's timing lines may differ (they are measured in the build): the text
of its outputs, its figure and the figure's alt text (made from the timings), the words
those lines put into the search index, and the outputs of its downloadable notebook. Dates
and the build's cache-busting ids are normalised; nothing else is. A print split into
two pieces by a kernel used to add a blank line here and there (errata/004,
calculus/trace-method): pages run in page processes keep a print in one piece.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import build_book, copy_project

TIMED = "attention/cost.html"
#: The same page's executed notebook, offered for download: its outputs are the timings.
TIMED_NOTEBOOK = "_sources/attention/cost.ipynb"
DATE = re.compile(rb"\b\d{4}-\d{2}-\d{2}\b")
BUILD_ID = re.compile(rb"\?v=[0-9a-f]{8,}\b")
OUTPUT = re.compile(rb'(<div class="output [^"]*">).*?(</pre>)', re.S)
IMAGE = re.compile(rb"_images/[0-9a-f]{64}\.(?:png|svg)")
#: A plot's alt text, made from the data it plots: on the cost page, the timings.
ALT = re.compile(rb'<img alt="[^"]*"')


def normalised(html: Path, rel: str) -> bytes:
    data = BUILD_ID.sub(b"?v=ID", DATE.sub(b"DATE", (html / rel).read_bytes()))
    if rel == TIMED:
        data = IMAGE.sub(b"_images/TIMED", OUTPUT.sub(rb"\1TIMED\2", data))
        data = ALT.sub(b'<img alt="TIMED"', data)
    if rel == "searchindex.js":
        data = _without_timed_page(data)
    if rel == TIMED_NOTEBOOK:
        notebook = json.loads(data)
        for cell in notebook["cells"]:
            if "outputs" in cell:
                cell["outputs"] = "TIMED"
        data = json.dumps(notebook, sort_keys=True).encode()
    return data


def _without_timed_page(data: bytes) -> bytes:
    """The search index with the words of the timed page left out."""
    text = data.decode()
    start, end = text.index("{"), text.rindex("}") + 1
    index = json.loads(text[start:end])
    timed = index["docnames"].index(TIMED.removesuffix(".html"))
    for table in ("terms", "titleterms"):
        kept = {}
        for word, docs in index[table].items():
            docs = [docs] if isinstance(docs, int) else docs
            if word and docs != [timed]:
                kept[word] = [d for d in docs if d != timed]
        index[table] = kept
    return json.dumps(index, sort_keys=True).encode()


def page_files(html: Path, timed_images: set[str]) -> list[str]:
    return sorted(
        p.relative_to(html).as_posix()
        for p in html.rglob("*")
        if p.is_file() and p.relative_to(html).as_posix() not in timed_images
    )


def timed_images(html: Path) -> set[str]:
    return {m.decode() for m in IMAGE.findall((html / TIMED).read_bytes())}


@pytest.mark.build
def test_two_clean_builds_give_the_same_pages(built_book, tmp_path):
    project, first = built_book
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    again = copy_project(tmp_path / "again")
    second = build_book(again)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-3000:]
    a, b = project / "_build" / "html", again / "_build" / "html"
    files = page_files(a, timed_images(a))
    assert files == page_files(b, timed_images(b))
    differ = [rel for rel in files if normalised(a, rel) != normalised(b, rel)]
    assert differ == []
