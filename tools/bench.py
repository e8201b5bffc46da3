"""`make bench`: what the book's guarantee costs, and how accurate its checks are.

Measured on a fresh copy of the working tree (so nothing of an earlier build is reused),
with the same sphinx-build command as `make html`, back to back. Other load on the
machine slows every build alike, so each figure is also printed as a ratio to the
unexecuted build, and with the CPU seconds the build used:

1. the book built without executing any cell (``-D nb_execution_mode=off``) in its own
   build folder, before and after builds 2 to 4 (the mean of the two is the reference);
2. cold full build: every page executed and checked, from an empty build folder;
3. the same build again with nothing changed (the incremental rebuild);
4. one function of a model module edited (a statement added to its body: its text
   changes, not what it computes), then rebuilt; only the pages that ran it run again.
   First ``EDITED`` (else the model function the most pages ran), then the model
   function the fewest pages ran;
5. the worst error per method, from the records the checks wrote during build 2
   (``<doctrees>/checks/*.json``, read with ``lstm_notes.checking.check.load_records``);
6. the attention RNN's gradient cost against the sequence length T
   (``lstm_notes.chapters.timing.time_backward``), with the fitted exponent of T.

Printed as a table, each figure against its target, and written to ``<out>/bench.md`` and
``<out>/bench.json``. The targets live here only, never in the tests: a slow machine
makes the bench say "over", not the test suite fail.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import pickle
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from build_html import (
    ROOT,
    build,
    copy_project,
)  # tools/build_html.py: `make html`'s command

sys.path[:0] = [str(ROOT), str(ROOT / "docs" / "_ext")]

from verified_book.mystnb_internals import MystNbInternalsMoved, exec_data  # noqa: E402

from lstm_notes.checking.check import load_records  # noqa: E402
from lstm_notes.checking.numdiff import METHOD_NAMES  # noqa: E402

TARGETS = {
    "cold": 15.0,  # seconds, at the least
    "cold_ratio": 2.0,  # the aim: the cold build against the unexecuted one
    "incremental": 5.0,
    "edit": 10.0,  # one function of a model module edited
    "central": 1e-9,  # worst relative error of a central-difference check
}
#: The function the bench edits first: the LSTM's backward step, a formula at the centre
#: of the book, run by the LSTM pages (training among them) and the vanishing experiments.
EDITED = "lstm_notes.models.lstm:_cell_backward"
#: The methods that difference the function (their worst error is held to "central").
CENTRAL_METHODS = ("central", "directional")
#: The single central difference, which the checking page shows beside the extrapolated
#: one the checks use: its error is the figure the extrapolation improves on.
SINGLE_NOTE = "shown on calculus/checking beside the extrapolated form; no other check"
# Sequence lengths for the attention RNN: the reverse-mode recursion and, on shorter
# sequences (it grows much faster), the sum over paths.
T_REVERSE = [64, 128, 256, 512, 1024, 2048, 4096]
T_PATHS = [8, 16, 32, 64]


def cpu_seconds() -> float:
    """User and system seconds of this process's finished children (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sphinx(project: Path, builddir: str, *extra: str, strict: bool = True) -> dict:
    """Run `make html`'s sphinx-build on ``project``: seconds, CPU seconds, status."""
    start, cpu = time.perf_counter(), cpu_seconds()
    done = build(project, builddir, *extra, strict=strict)
    return {
        "seconds": time.perf_counter() - start,
        "cpu": cpu_seconds() - cpu,
        "status": done.returncode,
        "output": (done.stdout + done.stderr)[-3000:],
    }


def environment(doctrees: Path):
    with open(doctrees / "environment.pickle", "rb") as f:
        return pickle.load(f)


def runs(env) -> dict[str, float]:
    """Docname -> when its cells last ran (myst-nb's record)."""
    out = {}
    for doc in sorted(env.found_docs):
        data = exec_data(env, doc)
        if data is not None:
            out[doc] = data["mtime"]
    return out


def execution_times(env) -> dict[str, float]:
    """Seconds each page's cells took to run in the build (myst-nb's own record)."""
    times = {}
    for doc in sorted(env.found_docs):
        data = exec_data(env, doc)
        if data and data.get("runtime") is not None:
            times[doc] = float(data["runtime"])
    return times


def edit_function(project: Path, key: str) -> None:
    """Add a statement to the body of the function ``module:qualname`` (after its
    docstring): its text changes, what it computes does not."""
    module, qualname = key.split(":")
    path = project / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = path.with_suffix("") / "__init__.py"
    source = path.read_text()
    body: list = ast.parse(source).body
    node = None
    for part in qualname.split("."):
        node = next(
            n
            for n in body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and n.name == part
        )
        body = node.body
    first = (
        body[1] if ast.get_docstring(node) is not None and len(body) > 1 else body[0]
    )
    lines = source.splitlines(keepends=True)
    statement = " " * first.col_offset + "pass  # edited by make bench\n"
    lines.insert(first.lineno - 1, statement)
    path.write_text("".join(lines))


def pick_edits(records: dict[str, dict]) -> list[str]:
    """EDITED (else the model function the most pages ran), and the model function the
    fewest pages ran."""
    users: dict[str, int] = {}
    for ran in records.values():
        for key in ran:
            if ":" in key and key.startswith("lstm_notes.models."):
                users[key] = users.get(key, 0) + 1
    if not users:
        return []
    ranked = sorted(users, key=lambda k: (-users[k], k))
    first = EDITED if EDITED in users else ranked[0]
    return [first] if ranked[-1] == first else [first, ranked[-1]]


def worst_per_method(folder: Path) -> dict[str, dict]:
    worst: dict[str, dict] = {}
    if not folder.exists():
        return worst
    for rec in load_records(folder):
        if rec.get("kind") not in ("check", "corrected") or "max_rel" not in rec:
            continue
        best = worst.get(rec["method"])
        if best is None or rec["max_rel"] > best["max_rel"]:
            worst[rec["method"]] = rec
    return worst


def attention_cost() -> dict | str:
    """{form: {"T": [...], "seconds": [...], "exponent": p}} or why it was skipped."""
    try:
        from lstm_notes.chapters.timing import time_backward
    except ImportError as err:
        return f"skipped: lstm_notes.chapters.timing.time_backward is not available ({err})"
    out = {}
    for forms, Ts in (
        (("reverse-mode recursion",), T_REVERSE),
        (("sum over paths",), T_PATHS),
    ):
        try:
            seconds = time_backward(Ts, repeats=3, seed=0, forms=forms)
        except (KeyError, TypeError, ValueError) as err:
            return f"skipped: time_backward failed ({type(err).__name__}: {err})"
        for form, secs in seconds.items():
            secs = np.asarray(secs, dtype=float)
            # the exponent on the three largest T, as on the cost page: per-step constant
            # costs fade there and the quadratic attention dominates
            slope = np.polyfit(np.log(Ts[-3:]), np.log(secs[-3:]), 1)[0]
            out[form] = {
                "T": list(Ts),
                "seconds": secs.tolist(),
                "exponent": float(slope),
            }
    return out


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "OVER"


def _builds(project: Path, result: dict) -> None:
    plain = ["-D", "nb_execution_mode=off"]
    doctrees = project / "_build" / "doctrees"
    print("bench: the book without executing any cell ...", flush=True)
    unexecuted = [sphinx(project, "_build_noexec", *plain, strict=False)]
    print("bench: cold verified build ...", flush=True)
    result["cold"] = cold = sphinx(project, "_build")
    if cold["status"] != 0:
        print(cold["output"], file=sys.stderr)
    print("bench: rebuild with nothing changed ...", flush=True)
    result["incremental"] = sphinx(project, "_build")
    env = environment(doctrees)
    result["pages"] = execution_times(env)
    records = getattr(env, "verified_book_ran", {})
    result["edits"] = []
    for key in pick_edits(records) if cold["status"] == 0 else []:
        print(f"bench: {key} edited ...", flush=True)
        before = runs(environment(doctrees))
        edit_function(project, key)
        done = sphinx(project, "_build")
        after = runs(environment(doctrees))
        done["function"] = key
        done["pages"] = sorted(d for d in after if before.get(d) != after[d])
        done["ran_it"] = sorted(d for d, ran in records.items() if key in ran)
        result["edits"].append(done)
    print("bench: the book without executing any cell, again ...", flush=True)
    shutil.rmtree(project / "_build_noexec", ignore_errors=True)
    unexecuted.append(sphinx(project, "_build_noexec", *plain, strict=False))
    result["unexecuted"] = {
        "seconds": sum(u["seconds"] for u in unexecuted) / 2,
        "cpu": sum(u["cpu"] for u in unexecuted) / 2,
        "each": [u["seconds"] for u in unexecuted],
        "status": 0,  # without executing, unchecked equations warn: not a failure here
    }


def _checks(project: Path, result: dict) -> None:
    records = project / "_build" / "doctrees" / "checks"
    worst = worst_per_method(records)
    all_records = load_records(records) if records.exists() else []
    checks = [r for r in all_records if r.get("kind") in ("check", "corrected")]
    result["checks"] = {
        "equations": len({r["label"] for r in checks}),
        "comparisons": len(checks),
        "failed": sum(not r["passed"] for r in checks),
    }
    result["worst"] = {
        m: {
            "label": r["label"],
            "max_rel": r["max_rel"],
            "max_abs": r["max_abs"],
            "rtol": r["rtol"],
            "atol": r["atol"],
        }
        for m, r in sorted(worst.items())
    }


def run(keep: bool) -> dict:
    result: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_before": os.getloadavg()[0],
        },
        "book_only": os.environ.get("BOOK_ONLY", ""),
        "targets": TARGETS,
    }
    tmp = Path(tempfile.mkdtemp(prefix="lstm-notes-bench-"))
    project = tmp / "project"
    copy_project(project)
    try:
        _builds(project, result)
        _checks(project, result)
    except MystNbInternalsMoved:
        raise
    finally:
        if keep:
            print(f"bench: the copy is kept in {project}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    result["machine"]["load_after"] = os.getloadavg()[0]
    print("bench: attention RNN backward against T ...", flush=True)
    result["attention"] = attention_cost()
    return result


def table(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# Build and verification benchmark",
        "",
        f"Machine: {m['cpus']} CPUs, Python {m['python']}, {m['platform']}; load "
        f"average {m['load_before']:.1f} before the builds, {m['load_after']:.1f} after."
        + (f" Partial book: BOOK_ONLY={r['book_only']}." if r["book_only"] else ""),
        "",
        "Seconds of wall-clock time; in brackets the ratio to the unexecuted build and "
        "the CPU seconds the build used.",
        "",
        "| measure | value | target | |",
        "|---|---|---|---|",
    ]
    t, plain = r["targets"], r["unexecuted"]

    def row(name, b, target=None, text=None):
        failed = "" if b["status"] == 0 else f" (build FAILED, status {b['status']})"
        value = (
            f"{b['seconds']:.1f} s ({b['seconds'] / plain['seconds']:.2f}x, "
            f"CPU {b['cpu']:.1f} s){failed}"
        )
        if target is None:
            return f"| {name} | {value} | | |"
        return f"| {name} | {value} | {text} | {verdict(b['seconds'], target)} |"

    cold = r["cold"]
    ratio = cold["seconds"] / plain["seconds"]
    lines += [
        row("same book, no cell executed (mean of before and after)", plain),
        row("cold verified build (every page executed)", cold, t["cold"], "<= 15 s"),
        f"| cold verified build against the unexecuted one | {ratio:.2f}x | "
        f"<= {t['cold_ratio']:.0f}x (the aim) | {verdict(ratio, t['cold_ratio'])} |",
        row(
            "rebuild with nothing changed", r["incremental"], t["incremental"], "<= 5 s"
        ),
    ]
    for e in r.get("edits", []):
        name = (
            f"one function edited, `{e['function']}`: {len(e['pages'])} pages ran again"
        )
        lines.append(row(name, e, t["edit"], "<= 10 s"))
    pages = r.get("pages") or {}
    if pages:
        slow = sorted(pages.items(), key=lambda kv: -kv[1])[:4]
        lines += [
            "",
            f"Where the verified build's time goes: {len(pages)} pages executed, "
            f"{sum(pages.values()):.1f} s in their cells in all (each page in a process "
            f"forked from a warm one, no kernel; the fastest took "
            f"{min(pages.values()):.2f} s); slowest: "
            + ", ".join(f"{d} {s:.1f} s" for d, s in slow)
            + ".",
        ]
    for e in r.get("edits", []):
        extra = sorted(set(e["pages"]) - set(e["ran_it"]))
        missing = sorted(set(e["ran_it"]) - set(e["pages"]))
        lines += [
            "",
            f"`{e['function']}` edited: ran again {', '.join(e['pages']) or 'nothing'}"
            + (f"; not recorded as running it: {', '.join(extra)}" if extra else "")
            + (f"; recorded but NOT run again: {', '.join(missing)}" if missing else "")
            + ".",
        ]
    c = r["checks"]
    lines += [
        "",
        f"Checks recorded by the cold build: {c['equations']} labelled equations, "
        f"{c['comparisons']} comparisons, {c['failed']} failed.",
        "",
        "| method | worst max rel error | its max abs error | tolerance | equation | "
        "target |",
        "|---|---|---|---|---|---|",
    ]
    for method, w in r["worst"].items():
        if method in CENTRAL_METHODS:
            target = f"<= {t['central']:.0e}: {verdict(w['max_rel'], t['central'])}"
        else:
            target = SINGLE_NOTE if method == "central-single" else ""
        lines.append(
            f"| {METHOD_NAMES.get(method, method)} | {w['max_rel']:.1e} | "
            f"{w['max_abs']:.1e} | rtol {w['rtol']:.0e}, atol {w['atol']:.0e} | "
            f"`{w['label']}` | {target} |"
        )
    lines += [
        "",
        "Attention RNN: seconds per gradient (forward pass included), minimum of "
        "3 runs, one BLAS thread; the exponent p fits time ~ T^p on the three largest T.",
        "",
    ]
    att = r["attention"]
    if isinstance(att, str):
        lines.append(att)
    else:
        lines += ["| form | T | seconds | exponent p |", "|---|---|---|---|"]
        for form, v in att.items():
            lines.append(
                f"| {form} | {', '.join(map(str, v['T']))} | "
                f"{', '.join(f'{s:.2e}' for s in v['seconds'])} | "
                f"{v['exponent']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", default="_build", help="folder for bench.md and bench.json"
    )
    parser.add_argument("--keep", action="store_true", help="keep the project copy")
    args = parser.parse_args(argv)
    result = run(args.keep)
    text = table(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.md").write_text(text)
    for build_result in [result["cold"], result["incremental"], *result["edits"]]:
        build_result.pop("output", None)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(text)
    print(f"Written to {out / 'bench.md'} and {out / 'bench.json'}.")
    # The bench measures; it fails only when the book itself does not build.
    return 0 if result["cold"]["status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
