"""The one check of the book: an analytic result against a numerical one.

Comparison rule (element-wise, as ``numpy.allclose``)::

    |a - n| <= atol + rtol * |n|      for every entry

with ``a`` the analytic and ``n`` the numerical value. Tolerances depend on the method
(:data:`TOLERANCES`); a check may tighten them, and the page must then say why.

Reported for every check: the number of entries compared, the largest absolute error
``max |a - n|``, the largest relative error ``max |a - n| / max(|n|, atol / rtol)`` (the
floor keeps entries that are zero up to rounding from dominating it), and the worst entry,
the one closest to breaking the rule.

A passing check prints one compact line, :meth:`CheckResult.short_line`, which carries
every figure above and which :func:`parse_short_line` reads back (the book's build shows it
as a short line linked to the equation, with the full record on demand). A failing check
raises :class:`CheckFailed` (an ``AssertionError``) whose message names the equation
label, the method, the tolerance and the measured error. When the variable
``LSTM_NOTES_RECORD_DIR`` is set (the book's build sets it), every result is also written
there as JSON for the verification report.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .numdiff import METHOD_NAMES, Estimate
from .validate import finite_float64

__all__ = [
    "TOLERANCES",
    "CheckFailed",
    "CheckResult",
    "check",
    "erratum",
    "ErratumResult",
    "compare",
    "holds",
    "exercise",
    "load_records",
    "parse_short_line",
]

#: (rtol, atol) per method. A single central difference at eps^(1/3) carries a rounding
#: error near eps * |f| / h ~ 4e-11 |f| and a truncation error near h^2 |f'''| / 6 ~
#: 6e-12 |f'''|; extrapolated (the book's "central"), both fall to about eps^(4/5) |f|.
#: The complex step and exact identities carry only rounding, a few ulps per operation.
TOLERANCES: dict[str, tuple[float, float]] = {
    "central": (1e-6, 1e-8),
    "central-single": (1e-6, 1e-8),
    "directional": (1e-6, 1e-8),
    "complex-step": (1e-11, 1e-13),
    "directional-complex": (1e-11, 1e-13),
    "exact": (1e-11, 1e-13),
    # A slope fitted to measured errors against the slope an analysis predicts: the
    # measurements scatter, so agreement within 5% is what such a fit can show.
    "fit": (5e-2, 0.0),
}

RECORD_ENV = "LSTM_NOTES_RECORD_DIR"

#: Separates the fields of a short line (:meth:`CheckResult.short_line`).
SEP = " · "


class CheckFailed(AssertionError):
    """An analytic result disagrees with its numerical counterpart."""

    def __init__(self, message: str, result: CheckResult | None = None):
        super().__init__(message)
        self.result = result


@dataclass
class CheckResult:
    """What one comparison measured."""

    label: str
    method: str
    entries: int
    max_abs: float
    max_rel: float
    worst_index: tuple
    worst_analytic: float
    worst_numeric: float
    worst_ratio: float
    rtol: float
    atol: float
    passed: bool
    kind: str = "check"
    note: str = field(default="")
    #: What the numerical side is, in words, when its name alone does not say it.
    against: str = ""

    @property
    def method_name(self) -> str:
        return METHOD_NAMES[self.method]

    @property
    def rule(self) -> str:
        return f"|a - n| <= {self.atol:.0e} + {self.rtol:.0e}·|n|"

    def line(self) -> str:
        """The one line a reader sees under a check."""
        status = "passes" if self.passed else "FAILS"
        return (
            f"{self.label}: {self.method_name}, {self.entries} entr"
            f"{'y' if self.entries == 1 else 'ies'}, max abs error {self.max_abs:.1e}, "
            f"max rel error {self.max_rel:.1e}: {status} (rtol {self.rtol:.0e}, "
            f"atol {self.atol:.0e})"
        )

    def short_line(self, role: str = "") -> str:
        """The compact line ``check`` prints, e.g. ``✓ lstm-bptt-dz · complex step ·
        140 entries · max rel 1.8e-15 · max abs 8.3e-17 · rtol 1e-11 atol 1e-13``;
        ``role`` ("as written", "corrected") follows the label for an erratum, and the
        words ``against`` follow the method. :func:`parse_short_line` reads it back."""
        fields = [
            f"{'✓' if self.passed else '✗'} {self.label}{' ' + role if role else ''}",
            self.method_name,
            *([f"against {self.against}"] if self.against else []),
            f"{self.entries} entr{'y' if self.entries == 1 else 'ies'}",
            f"max rel {self.max_rel:.1e}",
            f"max abs {self.max_abs:.1e}",
            f"rtol {self.rtol:.0e} atol {self.atol:.0e}",
        ]
        return SEP.join(fields)

    def failure_message(self) -> str:
        idx = list(self.worst_index) if self.worst_index else "scalar"
        return (
            f"check {self.label!r} FAILED ({self.method_name}): {self.entries} entries "
            f"compared, max abs error {self.max_abs:.3e}, max rel error {self.max_rel:.3e}; "
            f"worst entry {idx}: analytic {self.worst_analytic:.10g}, numerical "
            f"{self.worst_numeric:.10g}; tolerance {self.rule} "
            f"(exceeded {self.worst_ratio:.2g} times)"
        )

    def _ipython_display_(self):
        # check() has printed the line already; showing the returned value again
        # would repeat it under every cell that ends with a check.
        pass


def _array(value, label: str, side: str) -> np.ndarray:
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        value = np.float64(value)
    return finite_float64(value, f"check {label!r}: the {side} value")


def _quotient(err, scale):
    """``err / scale`` entry-wise, 0 where the error is 0 and infinite where only the
    scale is (a zero tolerance met by a non-zero error)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(err == 0, 0.0, err / scale)


def compare(
    label: str,
    analytic,
    numeric,
    rtol: float | None = None,
    atol: float | None = None,
    kind: str = "check",
) -> CheckResult:
    """Measure ``analytic`` against ``numeric`` without raising on a mismatch.

    ``numeric`` is an :class:`~lstm_notes.checking.numdiff.Estimate`, or a plain array for a
    comparison of two exact forms (method ``"exact"``). A shape mismatch is a failure
    (a transposed result is wrong even when it holds the right numbers).
    """
    if not isinstance(label, str) or not label:
        raise ValueError("check needs the equation's label as its first argument")
    if isinstance(numeric, Estimate):
        method, n = numeric.method, numeric.value
    else:
        method, n = "exact", numeric
    a = _array(analytic, label, "analytic")
    n = _array(n, label, "numerical")
    if isinstance(numeric, Estimate) and numeric.directions is not None:
        dirs = numeric.directions
        if dirs.shape[1:] != a.shape:
            raise CheckFailed(
                f"check {label!r} FAILED ({METHOD_NAMES[method]}): the analytic value has "
                f"shape {a.shape} but the directions have shape {dirs.shape[1:]}"
            )
        a = np.tensordot(dirs, a, axes=a.ndim)
    default_rtol, default_atol = TOLERANCES[method]
    rtol = default_rtol if rtol is None else float(rtol)
    atol = default_atol if atol is None else float(atol)
    if a.shape != n.shape:
        raise CheckFailed(
            f"check {label!r} FAILED ({METHOD_NAMES[method]}): the analytic value has shape "
            f"{a.shape}, the numerical one {n.shape}"
        )
    err = np.abs(a - n)
    allowed = atol + rtol * np.abs(n)
    ratio = _quotient(err, allowed)
    worst = np.unravel_index(int(np.argmax(ratio)), ratio.shape) if ratio.size else ()
    rel = _quotient(err, np.maximum(np.abs(n), atol / rtol if rtol > 0 else atol))
    return CheckResult(
        label=label,
        method=method,
        entries=int(n.size),
        max_abs=float(err.max(initial=0.0)),
        max_rel=float(rel.max(initial=0.0)),
        worst_index=tuple(int(i) for i in worst),
        worst_analytic=float(a[worst]) if a.size else 0.0,
        worst_numeric=float(n[worst]) if n.size else 0.0,
        worst_ratio=float(ratio[worst]) if ratio.size else 0.0,
        rtol=rtol,
        atol=atol,
        passed=bool(np.all(err <= allowed)),
        kind=kind,
    )


def check(
    label: str,
    analytic,
    numeric,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    against: str = "",
) -> CheckResult:
    """Compare, print one short line, record, and raise :class:`CheckFailed` on a
    mismatch; a value that cannot be compared (non-finite, float32, ...) raises
    ``ValueError``. ``against`` says in a few words what the numerical side is when the
    method's name does not ("the model's forward pass"); it is shown and recorded."""
    if not isinstance(against, str) or SEP.strip() in against or "\n" in against:
        raise ValueError(
            f"check {label!r}: against must be a few words on one line, "
            f"without {SEP.strip()!r}; got {against!r}"
        )
    result = _compare_or_refuse(label, analytic, numeric, rtol, atol, "check")
    result.against = against
    _record(result)
    if not result.passed:
        raise CheckFailed(result.failure_message(), result)
    print(result.short_line())
    return result


def exercise(
    label: str,
    answer,
    numeric,
    *,
    rtol: float | None = None,
    atol: float | None = None,
) -> CheckResult | None:
    """A reader's attempt at an exercise, measured against an independent computation.

    ``answer`` is what the reader's formula gives, or None while the exercise is not
    attempted. Prints one line ("not attempted yet", "right" or "not yet" with the
    largest relative error and the worst entry) and returns the result; a wrong or
    malformed answer never raises and is not recorded for the verification report: it is
    the reader's. The book's own solution is checked with :func:`check`.
    """
    if answer is None:
        print(f"exercise {label}: not attempted yet (fill in the formula above)")
        return None
    try:
        result = compare(label, answer, numeric, rtol=rtol, atol=atol, kind="exercise")
    except (ValueError, CheckFailed) as err:
        print(f"exercise {label}: cannot be compared: {err}")
        return None
    if result.passed:
        print(
            f"exercise {label}: right ({result.method_name} agrees, "
            f"max rel error {result.max_rel:.1e})"
        )
    else:
        print(
            f"exercise {label}: not yet: max rel error {result.max_rel:.1e}, worst entry "
            f"{list(result.worst_index)}: yours {result.worst_analytic:.6g}, "
            f"expected {result.worst_numeric:.6g}"
        )
    return result


def _compare_or_refuse(label, analytic, numeric, rtol, atol, kind) -> CheckResult:
    """:func:`compare`; a value it refuses (non-finite, float32, ...) is recorded as
    refused before the ``ValueError`` goes on, so that the build's summary names the
    equation."""
    try:
        return compare(label, analytic, numeric, rtol=rtol, atol=atol, kind=kind)
    except ValueError as err:
        method = numeric.method if isinstance(numeric, Estimate) else "exact"
        _record_text(label, method, str(err), kind="refused")
        raise


@dataclass
class ErratumResult:
    """What an erratum measured: the formula as written (a result, or why it cannot be
    evaluated), the corrected one, and, for a formula with named defects, the result with
    each defect alone and with each defect alone switched off. Unpacks as
    ``as_written, corrected``."""

    as_written: CheckResult | str
    corrected: CheckResult
    defects: dict[str, tuple[CheckResult, CheckResult]] | None = None

    def __iter__(self):
        return iter((self.as_written, self.corrected))

    def _ipython_display_(self):
        # erratum() has printed its lines already.
        pass


def erratum(
    label: str,
    *,
    numeric,
    as_written=None,
    corrected=None,
    formula=None,
    defects=(),
    rtol: float | None = None,
    atol: float | None = None,
) -> ErratumResult:
    """Show a source's formula failing its check next to the corrected one passing.

    Two ways to state the source's formula:

    - ``formula`` and ``defects`` (defect isolation, the preferred way): ``formula(**flags)``
      is the corrected computation, and each name in ``defects`` is a keyword flag that
      switches on one of the source's defects. As written is ``formula`` with every
      defect on, corrected with none. Each defect is also measured alone and switched off
      alone, and printed as a small table; a defect that passes its check alone is not an
      error (or the check cannot see it), and raises.
    - ``as_written`` and ``corrected``: values (or callables) computed separately, for a
      formula that cannot be written as the corrected one with a defect switched on.

    If evaluating the formula as written raises, it cannot be computed as written and the
    reason is reported. ``corrected`` must pass and ``as_written`` must fail, otherwise the
    erratum itself is wrong and this raises :class:`CheckFailed`.
    """
    if formula is not None:
        if as_written is not None or corrected is not None or not defects:
            raise ValueError(
                f"erratum {label!r}: give formula with defects, or "
                "as_written with corrected, not both"
            )
        defects = tuple(defects)
        corrected = formula()
        as_written = lambda: formula(**dict.fromkeys(defects, True))  # noqa: E731
    elif as_written is None or corrected is None:
        raise ValueError(
            f"erratum {label!r} needs as_written and corrected (or formula and defects)"
        )
    fixed = _compare_or_refuse(label, corrected, numeric, rtol, atol, "corrected")
    _record(fixed)
    if not fixed.passed:
        raise CheckFailed("the corrected formula: " + fixed.failure_message(), fixed)
    wrong: CheckResult | str
    try:
        value = as_written() if callable(as_written) else as_written
        wrong = compare(label, value, numeric, rtol=rtol, atol=atol, kind="as-written")
    except CheckFailed as err:  # a shape mismatch: the formula cannot be right
        wrong = str(err).split(": ", 1)[1]
    except (ValueError, TypeError, IndexError) as err:
        reason = str(err).split(",")[0]
        wrong = f"cannot be evaluated as written ({type(err).__name__}: {reason})"
    if isinstance(wrong, CheckResult):
        _record(wrong)
        if wrong.passed:
            raise CheckFailed(
                f"erratum {label!r}: the formula as written passes its check "
                f"({wrong.line()}); either it is not an error or the check cannot see it",
                wrong,
            )
        print(wrong.short_line("as written"))
    else:
        _record_text(label, fixed.method, wrong)
        print(SEP.join([f"✗ {label} as written", fixed.method_name, wrong]))
    print(fixed.short_line("corrected"))
    by_defect = None
    if formula is not None and len(defects) > 1:
        by_defect = _isolate(label, formula, defects, numeric, rtol, atol)
    elif formula is not None and isinstance(wrong, CheckResult):
        by_defect = {defects[0]: (wrong, fixed)}
    return ErratumResult(wrong, fixed, by_defect)


def _isolate(label, formula, defects, numeric, rtol, atol):
    """Each defect alone, and all defects but that one: what each slip costs."""
    out = {}
    rows = []
    for name in defects:
        alone = compare(
            label, formula(**{name: True}), numeric, rtol=rtol, atol=atol, kind="defect"
        )
        if alone.passed:
            raise CheckFailed(
                f"erratum {label!r}: the defect {name!r} alone passes its "
                f"check ({alone.line()}): it is not an error, or the check "
                "cannot see it",
                alone,
            )
        others = dict.fromkeys(defects, True)
        others[name] = False
        rest = compare(
            label, formula(**others), numeric, rtol=rtol, atol=atol, kind="defect"
        )
        out[name] = (alone, rest)
        rows.append((name, alone.max_rel, rest.max_rel, rest.passed))
    width = max(len(name) for name in defects)
    print(
        f"  {'defect':{width}s}  max rel error alone  with the others, this one fixed"
    )
    for name, alone_rel, rest_rel, rest_passed in rows:
        print(
            f"  {name:{width}s}  {alone_rel:19.1e}  {rest_rel:.1e}"
            f"{' (passes)' if rest_passed else ''}"
        )
    return out


# How many results each (label, method, kind) has recorded in this process: a label may
# be checked several times with one method (say, W_ya and b_y of one equation), and each
# result keeps its own record. A page re-executed runs its checks in the same order, so
# its records are overwritten, never duplicated.
_RECORDED: dict[tuple[str, str, str], int] = {}


def _record_path(label: str, method: str, kind: str) -> Path | None:
    folder = os.environ.get(RECORD_ENV)
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    n = _RECORDED.get((label, method, kind), 0)
    _RECORDED[(label, method, kind)] = n + 1
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{label}--{method}--{kind}--{n}")
    return path / f"{safe}.json"


def _record(result: CheckResult) -> None:
    path = _record_path(result.label, result.method, result.kind)
    if path is None:
        return
    data = asdict(result)
    data["worst_index"] = list(result.worst_index)
    path.write_text(json.dumps(data))


def _record_text(label: str, method: str, text: str, kind: str = "as-written") -> None:
    path = _record_path(label, method, kind)
    if path is not None:
        path.write_text(
            json.dumps(
                {
                    "label": label,
                    "method": method,
                    "kind": kind,
                    "passed": False,
                    "note": text,
                }
            )
        )


class _Ratio(float):
    """:func:`holds`' largest ratio: a number, which a page does not show when a cell
    ends with ``holds(...)`` (it would be a bare figure beside the checked statement)."""

    def _ipython_display_(self):
        pass


def holds(statement: str, lhs, rhs, rtol: float = 1e-12) -> float:
    """Check ``lhs <= rhs`` entry-wise (up to rounding), print one line, raise if not.

    Returns the largest ratio ``lhs / rhs`` (printed only in the failure: the line a
    page shows states the inequality and the number of cases, nothing unchecked; a cell
    that ends with ``holds(...)`` does not show it either). For
    inequalities, which ``check`` (an equality) cannot state; NaN entries of ``lhs``
    are skipped.
    """
    lhs, rhs = np.broadcast_arrays(np.asarray(lhs, float), np.asarray(rhs, float))
    keep = ~np.isnan(lhs)  # NaN marks "no such case" (k > t)
    lhs, rhs = lhs[keep], rhs[keep]
    ok = lhs <= rhs * (1.0 + rtol)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 when both are 0
        ratio = float(np.max(lhs / rhs))
    if not ok.all():
        raise CheckFailed(
            f"{statement}: fails for {int((~ok).sum())} of {ok.size} "
            f"cases (largest lhs/rhs = {ratio:.3g})"
        )
    print(f"{statement}: holds" + (f" in all {ok.size} cases" if ok.size > 1 else ""))
    return _Ratio(ratio)


def load_records(folder: str | os.PathLike) -> list[dict]:
    """Every result recorded in ``folder``, as dictionaries."""
    return [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))]


_HEAD = re.compile(
    r"^(?P<mark>[✓✗]) (?P<label>\S+)(?: (?P<role>as written|corrected))?$"
)
_FIGURES = re.compile(
    r"^(?P<entries>\d+) entr(?:y|ies)$"
    r"|^max rel (?P<max_rel>\S+)$"
    r"|^max abs (?P<max_abs>\S+)$"
    r"|^rtol (?P<rtol>\S+) atol (?P<atol>\S+)$"
)


def parse_short_line(line: str) -> dict | None:
    """The fields of a line printed by :meth:`CheckResult.short_line` (or by ``erratum``
    for a formula that cannot be evaluated as written), or None for any other line.

    Gives ``passed``, ``label``, ``role`` ("", "as written" or "corrected"), ``method``
    (its key in ``METHOD_NAMES``), ``against`` and either the figures (``entries``,
    ``max_rel``, ``max_abs``, ``rtol``, ``atol``) or ``reason``.
    """
    fields = line.rstrip("\n").split(SEP)
    head = _HEAD.match(fields[0])
    methods = {name: key for key, name in METHOD_NAMES.items()}
    if head is None or len(fields) < 3 or fields[1] not in methods:
        return None
    out = {
        "passed": head["mark"] == "✓",
        "label": head["label"],
        "role": head["role"] or "",
        "method": methods[fields[1]],
        "against": "",
    }
    rest = fields[2:]
    if rest[0].startswith("against ") and len(rest) == 5:
        out["against"] = rest.pop(0)[len("against ") :]
    figures = {}
    for text in rest:
        found = _FIGURES.match(text)
        if found is None:
            break
        figures.update({k: v for k, v in found.groupdict().items() if v is not None})
    if len(rest) == 4 and len(figures) == 5:
        try:
            out["entries"] = int(figures.pop("entries"))
            out.update({k: float(v) for k, v in figures.items()})
        except ValueError:
            return None
        return out
    if out["passed"] or out["role"] != "as written":
        return None
    out["reason"] = SEP.join(rest)
    return out
