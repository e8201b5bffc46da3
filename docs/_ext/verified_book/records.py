"""The records of the checks, and where each labelled equation is.

Kernels executing the pages write one JSON record per ``check()`` or ``erratum()`` into
``<doctreedir>/checks``: the variable ``LSTM_NOTES_RECORD_DIR``, set here before any page
is executed, is inherited by every kernel. A full read starts from an empty folder, so no
result of an earlier build survives. ``current_records`` gives the records with each label
resolved to its page and printed number, for the report and the terminal summary;
``all_equations`` gives every labelled equation of the book in reading order.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from docutils import nodes

from lstm_notes.checking.check import RECORD_ENV, load_records


def record_dir(app) -> Path:
    return Path(app.doctreedir) / "checks"


def _point_kernels_at_records(app):
    os.environ[RECORD_ENV] = str(record_dir(app))


def _clear_before_full_read(app, env, docnames):
    # A full read re-executes every page: start from an empty record folder so that no
    # result of an earlier build survives.
    if set(docnames) >= set(env.found_docs) and record_dir(app).exists():
        shutil.rmtree(record_dir(app))


def equation_of(env, label: str) -> tuple[str, str] | None:
    """(docname, printed number) of a labelled equation, or None."""
    found = env.get_domain("math").equations.get(label)
    if not found:
        return None
    docname, number = found
    node_id = nodes.make_id(f"equation-{label}")
    numbers = env.toc_fignumbers.get(docname, {}).get("displaymath", {}).get(node_id)
    text = ".".join(map(str, numbers)) if numbers else str(number)
    return docname, text


def current_records(app) -> list[dict]:
    """This build's records, each with its equation's ``docname`` and ``eqno``."""
    folder = record_dir(app)
    if not folder.exists():
        return []
    records = []
    for rec in load_records(folder):
        where = equation_of(app.env, rec["label"])
        rec["docname"], rec["eqno"] = where if where else (None, "")
        records.append(rec)
    return records


def all_equations(env) -> list[tuple[str, str, str]]:
    """(label, docname, printed number) of every labelled equation read, in book order."""
    found = []
    for label in env.get_domain("math").equations:
        where = equation_of(env, label)
        if where:
            found.append((label, *where))
    order = doc_order(env)
    found.sort(key=lambda e: (order.get(e[1], 10**6), eq_key(e[2]), e[0]))
    return found


def doc_order(env) -> dict[str, int]:
    """Docnames in reading order (the toctree's), then any others alphabetically."""
    seq = [env.config.root_doc]
    seen = set(seq)

    def walk(doc):
        for child in env.toctree_includes.get(doc, []):
            if child not in seen:
                seen.add(child)
                seq.append(child)
                walk(child)

    walk(env.config.root_doc)
    rest = sorted(set(env.found_docs) - set(seq))
    return {name: i for i, name in enumerate(seq + rest)}


def eq_key(eqno: str):
    """A printed equation number as a sort key: (1, 3, 2) for "1.3.2"."""
    try:
        return tuple(int(p) for p in eqno.split("."))
    except ValueError:
        return (10**6,)


def setup(app):
    app.connect("builder-inited", _point_kernels_at_records)
    app.connect("env-before-read-docs", _clear_before_full_read)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
