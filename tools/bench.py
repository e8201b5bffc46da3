"""`make bench`: what the book's guarantee costs, and how accurate its checks are.

Measured on a fresh copy of the working tree (so nothing of an earlier build is reused),
with the same sphinx-build command as `make html`:

1. cold full build: every page executed and checked, from an empty build folder;
2. the same build again with nothing changed (the incremental rebuild);
3. the same book built without executing any cell (``-D nb_execution_mode=off``) in
   another empty build folder: the cold build divided by this one is what verification
   costs;
4. the worst error per method, from the records the checks wrote during build 1
   (``<doctrees>/checks/*.json``, read with ``lstm_notes.check.load_records``);
5. the attention RNN's gradient cost against the sequence length T
   (``lstm_notes.timing.time_backward``), with the fitted exponent of T.

Printed as a table, each figure against its target, and written to ``<out>/bench.md`` and
``<out>/bench.json``. The targets live here only, never in the tests: a slow machine
makes the bench say "over", not the test suite fail.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lstm_notes.check import load_records  # noqa: E402
from lstm_notes.numdiff import METHOD_NAMES  # noqa: E402

TARGETS = {"cold": 60.0, "incremental": 5.0, "ratio": 3.0}
IGNORE = shutil.ignore_patterns(".venv", "_build*", ".git", "__pycache__", "*.egg-info",
                                ".pytest_cache", "test-artifacts", "node_modules",
                                ".jupyter_cache")
# Sequence lengths for the attention RNN: the reverse-mode recursion and, on shorter
# sequences (it grows much faster), the sum over paths.
T_REVERSE = [64, 128, 256, 512, 1024, 2048, 4096]
T_PATHS = [8, 16, 32, 64]


def sphinx(project: Path, builddir: str, *extra: str, strict: bool = True):
    """Run `make html`'s sphinx-build on ``project``; return (seconds, completed process)."""
    cmd = [sys.executable, "-m", "sphinx", *(["-W", "--keep-going"] if strict else []), "-q",
           "-j", "auto", "-b", "html", "-c", ".", *extra, "-d", f"{builddir}/doctrees", "docs",
           f"{builddir}/html"]
    env = {**os.environ, "PYTHONPATH": str(project)}
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True,
                          timeout=1800)
    return time.perf_counter() - start, done


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


def execution_times(doctrees: Path) -> dict:
    """Seconds each page's cells took to run in the build (myst-nb's own record)."""
    import pickle

    sys.path[:0] = [str(ROOT / "docs" / "_ext")]
    try:
        from myst_nb.sphinx_ import NbMetadataCollector

        with open(doctrees / "environment.pickle", "rb") as f:
            env = pickle.load(f)
        times = {}
        for doc in sorted(env.found_docs):
            data = NbMetadataCollector.get_exec_data(env, doc)
            if data and "runtime" in data:
                times[doc] = float(data["runtime"])
        return times
    except Exception as err:  # noqa: BLE001  (a breakdown is a bonus, never a failure)
        print(f"bench: no execution breakdown ({type(err).__name__}: {err})", file=sys.stderr)
        return {}


def attention_cost() -> dict | str:
    """{form: {"T": [...], "seconds": [...], "exponent": p}} or why it was skipped."""
    try:
        from lstm_notes.timing import time_backward
    except ImportError as err:
        return f"skipped: lstm_notes.timing.time_backward is not available ({err})"
    out = {}
    for forms, Ts in ((("reverse-mode recursion",), T_REVERSE), (("sum over paths",), T_PATHS)):
        try:
            seconds = time_backward(Ts, repeats=3, seed=0, forms=forms)
        except (KeyError, TypeError, ValueError) as err:
            return f"skipped: time_backward failed ({type(err).__name__}: {err})"
        for form, secs in seconds.items():
            secs = np.asarray(secs, dtype=float)
            # the exponent on the three largest T, as on the cost page: per-step constant
            # costs fade there and the quadratic attention dominates
            slope = np.polyfit(np.log(Ts[-3:]), np.log(secs[-3:]), 1)[0]
            out[form] = {"T": list(Ts), "seconds": secs.tolist(), "exponent": float(slope)}
    return out


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "OVER"


def run(out_dir: Path, keep: bool) -> dict:
    result: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "book_only": os.environ.get("BOOK_ONLY", ""),
        "targets": TARGETS,
    }
    tmp = Path(tempfile.mkdtemp(prefix="lstm-notes-bench-"))
    project = tmp / "project"
    shutil.copytree(ROOT, project, ignore=IGNORE)
    try:
        print("bench: cold verified build ...", flush=True)
        cold, done = sphinx(project, "_build")
        result["cold"] = {"seconds": cold, "status": done.returncode}
        if done.returncode != 0:
            print((done.stdout + done.stderr)[-3000:], file=sys.stderr)
        print("bench: rebuild with nothing changed ...", flush=True)
        again, done2 = sphinx(project, "_build")
        result["incremental"] = {"seconds": again, "status": done2.returncode}
        print("bench: the same book without executing any cell ...", flush=True)
        plain, done3 = sphinx(project, "_build_noexec", "-D", "nb_execution_mode=off",
                              strict=False)
        result["unexecuted"] = {"seconds": plain, "status": done3.returncode}
        result["ratio"] = cold / plain if plain > 0 else float("nan")
        result["pages"] = execution_times(project / "_build" / "doctrees")
        records = project / "_build" / "doctrees" / "checks"
        worst = worst_per_method(records)
        all_records = load_records(records) if records.exists() else []
        checks = [r for r in all_records if r.get("kind") in ("check", "corrected")]
        result["checks"] = {"equations": len({r["label"] for r in checks}),
                            "comparisons": len(checks),
                            "failed": sum(not r["passed"] for r in checks)}
        result["worst"] = {m: {"label": r["label"], "max_rel": r["max_rel"],
                               "max_abs": r["max_abs"], "rtol": r["rtol"], "atol": r["atol"]}
                           for m, r in sorted(worst.items())}
    finally:
        if keep:
            print(f"bench: the copy is kept in {project}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("bench: attention RNN backward against T ...", flush=True)
    result["attention"] = attention_cost()
    return result


def table(r: dict) -> str:
    lines = [
        "# Build and verification benchmark",
        "",
        f"Machine: {r['machine']['cpus']} CPUs, Python {r['machine']['python']}, "
        f"{r['machine']['platform']}."
        + (f" Partial book: BOOK_ONLY={r['book_only']}." if r["book_only"] else ""),
        "",
        "| measure | value | target | |",
        "|---|---|---|---|",
    ]

    def status(key):
        return "" if r[key]["status"] == 0 else f" (build failed, status {r[key]['status']})"

    t = r["targets"]
    lines += [
        f"| cold verified build (every page executed) | {r['cold']['seconds']:.1f} s"
        f"{status('cold')} | < {t['cold']:.0f} s | {verdict(r['cold']['seconds'], t['cold'])} |",
        f"| rebuild with nothing changed | {r['incremental']['seconds']:.1f} s"
        f"{status('incremental')} | < {t['incremental']:.0f} s | "
        f"{verdict(r['incremental']['seconds'], t['incremental'])} |",
        f"| same book, no cell executed | {r['unexecuted']['seconds']:.1f} s"
        f"{status('unexecuted')} | | |",
        f"| verification cost: cold / unexecuted | {r['ratio']:.2f}x | <= {t['ratio']:.0f}x | "
        f"{verdict(r['ratio'], t['ratio'])} |",
    ]
    pages = r.get("pages") or {}
    if pages:
        slow = sorted(pages.items(), key=lambda kv: -kv[1])[:4]
        lines += ["", f"Where the verified build's time goes: {len(pages)} pages executed, "
                  f"{sum(pages.values()):.1f} s in their cells and kernels in all (a kernel "
                  f"starts for each page; the fastest page took {min(pages.values()):.2f} s); "
                  "slowest: " + ", ".join(f"{d} {t:.1f} s" for d, t in slow) + "."]
    c = r["checks"]
    lines += ["", f"Checks recorded by the cold build: {c['equations']} labelled equations, "
              f"{c['comparisons']} comparisons, {c['failed']} failed.", "",
              "| method | worst max rel error | its max abs error | tolerance | equation |",
              "|---|---|---|---|---|"]
    for method, w in r["worst"].items():
        lines.append(f"| {METHOD_NAMES.get(method, method)} | {w['max_rel']:.1e} | "
                     f"{w['max_abs']:.1e} | rtol {w['rtol']:.0e}, atol {w['atol']:.0e} | "
                     f"`{w['label']}` |")
    lines += ["", "Attention RNN: seconds per gradient (forward pass included), minimum of "
              "3 runs, one BLAS thread; the exponent p fits time ~ T^p on the three largest T.", ""]
    att = r["attention"]
    if isinstance(att, str):
        lines.append(att)
    else:
        lines += ["| form | T | seconds | exponent p |", "|---|---|---|---|"]
        for form, v in att.items():
            lines.append(f"| {form} | {', '.join(map(str, v['T']))} | "
                         f"{', '.join(f'{s:.2e}' for s in v['seconds'])} | "
                         f"{v['exponent']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="_build", help="folder for bench.md and bench.json")
    parser.add_argument("--keep", action="store_true", help="keep the project copy")
    args = parser.parse_args(argv)
    result = run(Path(args.out), args.keep)
    text = table(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.md").write_text(text)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(text)
    print(f"Written to {out / 'bench.md'} and {out / 'bench.json'}.")
    # The bench measures; it fails only when the book itself does not build.
    return 0 if result["cold"]["status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
