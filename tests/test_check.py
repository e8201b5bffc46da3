"""The check must fail on wrong derivatives and pass on right ones, at the stated tolerances."""

import json

import numpy as np
import pytest

from lstm_notes import (
    TOLERANCES,
    CheckFailed,
    central_grad,
    check,
    complex_step_grad,
    directional,
    erratum,
    jacobian,
)
from lstm_notes.blocks import (
    cross_entropy,
    cross_entropy_grad,
    softmax,
    softmax_jacobian,
)
from lstm_notes.checking.check import load_records

# A small loss with a matrix parameter of distinct sizes: J(W) = CE(softmax(W^T a + b), y).
N_IN, N_OUT = 5, 3


@pytest.fixture
def problem(rng):
    W = rng.standard_normal((N_IN, N_OUT))
    a = rng.standard_normal(N_IN)
    b = rng.standard_normal(N_OUT)
    y = np.eye(N_OUT)[1]

    def loss(Wv):
        return cross_entropy(Wv.T @ a + b, y)

    g = cross_entropy_grad(W.T @ a + b, y)
    return W, a, b, y, loss, np.outer(a, g), g


ESTIMATORS = {
    "central": lambda f, x: central_grad(f, x),
    "complex-step": lambda f, x: complex_step_grad(f, x),
    "directional": lambda f, x: directional(f, x, k=4, seed=1),
    "directional-complex": lambda f, x: directional(
        f, x, k=4, seed=1, complex_step=True
    ),
}


@pytest.mark.parametrize("method", ESTIMATORS)
def test_correct_gradient_passes_every_method(problem, method):
    W, *_, loss, dW, _ = problem
    result = check("t-dW", dW, ESTIMATORS[method](loss, W))
    assert result.passed and result.method == method
    rtol, _ = TOLERANCES[method]
    assert result.max_rel < rtol / 10, "the tolerance should leave a margin of 10"


@pytest.mark.parametrize("method", ESTIMATORS)
@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param(lambda dW, a, g: -dW, id="wrong-sign"),
        pytest.param(lambda dW, a, g: 2 * dW, id="factor-of-2"),
        pytest.param(lambda dW, a, g: 0.5 * dW, id="factor-of-half"),
        pytest.param(
            lambda dW, a, g: dW + np.outer(a, np.full_like(g, 1e-3)),
            id="small-extra-term",
        ),
    ],
)
def test_wrong_gradient_fails_every_method(problem, method, mistake):
    W, a, *_, loss, dW, g = problem
    with pytest.raises(CheckFailed, match="t-bad"):
        check("t-bad", mistake(dW, a, g), ESTIMATORS[method](loss, W))


def test_transposed_gradient_fails_even_when_square(rng):
    W = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    u = rng.standard_normal(4)

    def loss(Wv):
        return u @ np.tanh(Wv @ x)

    dW = np.outer(u * (1 - np.tanh(W @ x) ** 2), x)
    check("t-square", dW, central_grad(loss, W))
    with pytest.raises(CheckFailed, match="t-square-T"):
        check("t-square-T", dW.T, central_grad(loss, W))


def test_transposed_gradient_fails_on_shape(problem):
    W, *_, loss, dW, _ = problem
    with pytest.raises(CheckFailed, match=r"shape \(3, 5\)"):
        check("t-T", dW.T, central_grad(loss, W))


def test_dropped_term_fails(rng):
    # J(x) = sum(tanh(x) * x): the product rule has two terms; drop one.
    x = rng.standard_normal(6)

    def loss(v):
        return np.sum(np.tanh(v) * v)

    full = (1 - np.tanh(x) ** 2) * x + np.tanh(x)
    check("t-product", full, complex_step_grad(loss, x))
    with pytest.raises(CheckFailed):
        check("t-product-dropped", np.tanh(x), complex_step_grad(loss, x))


def test_failure_message_names_label_method_tolerance_and_error(problem):
    W, *_, loss, dW, _ = problem
    with pytest.raises(CheckFailed) as info:
        check("lstm-dW-oa", -dW, central_grad(loss, W))
    msg = str(info.value)
    for part in [
        "'lstm-dW-oa'",
        "central differences",
        "max abs error",
        "max rel error",
        "worst entry",
        "tolerance |a - n| <= 1e-08 + 1e-06·|n|",
    ]:
        assert part in msg
    assert isinstance(info.value, AssertionError)
    assert info.value.result.max_rel > 1


def test_jacobian_of_softmax_both_methods(rng):
    z = rng.standard_normal(5)
    for method in ["central", "complex-step"]:
        check("t-softmax", softmax_jacobian(softmax(z)), jacobian(softmax, z, method))
    with pytest.raises(CheckFailed):
        check(
            "t-softmax-wrong", np.diag(softmax(z)), jacobian(softmax, z, "complex-step")
        )


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.ones(3, dtype=np.float32), "float32"),
        (np.array([1.0, np.nan, 2.0]), "non-finite"),
        (np.array([1.0, np.inf, 2.0]), "non-finite"),
        (np.array([1, 2, 3]), "int64"),
    ],
)
def test_check_refuses_float32_and_non_finite(bad, message):
    with pytest.raises(ValueError, match=message):
        check("t-input", bad, np.ones(3))
    with pytest.raises(ValueError, match=message):
        check("t-input", np.ones(3), bad)


@pytest.mark.parametrize("estimator", [central_grad, complex_step_grad])
def test_numerical_derivatives_refuse_float32_and_nan(estimator):
    with pytest.raises(ValueError, match="float32"):
        estimator(np.sum, np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="non-finite"):
        estimator(np.sum, np.array([0.0, np.nan]))


def test_complex_step_refuses_a_function_that_is_not_complex_safe():
    def unsafe(x):
        buffer = np.zeros(x.shape)  # a float buffer drops the imaginary part
        buffer[:] = x
        return np.sum(buffer**2)

    with pytest.raises(ValueError, match="not complex-safe"):
        complex_step_grad(unsafe, np.ones(3))
    with pytest.raises(ValueError, match="not complex-safe"):
        complex_step_grad(lambda x: float(np.sum(np.abs(x))), np.ones(3))


def test_directional_cost_does_not_grow_with_size():
    calls = []

    def f(x):
        calls.append(1)
        return np.sum(x**2)

    directional(f, np.ones((50, 40)), k=5)
    assert len(calls) == 20  # 4 per direction (extrapolated), whatever the size


def test_erratum_shows_the_wrong_formula_failing(problem, capsys):
    W, a, *_, loss, dW, g = problem
    wrong, fixed = erratum(
        "t-err", as_written=dW.T, corrected=dW, numeric=central_grad(loss, W)
    )
    assert fixed.passed and "shape" in wrong
    wrong, _ = erratum(
        "t-err2", as_written=-dW, corrected=dW, numeric=central_grad(loss, W)
    )
    assert not wrong.passed and wrong.max_rel > 1
    out = capsys.readouterr().out
    assert "as written" in out and "corrected" in out


def test_erratum_refuses_a_formula_as_written_that_passes(problem):
    W, *_, loss, dW, _ = problem
    with pytest.raises(CheckFailed, match="passes its check"):
        erratum(
            "t-not-an-error", as_written=dW, corrected=dW, numeric=central_grad(loss, W)
        )


def test_erratum_raises_when_the_correction_is_wrong(problem):
    W, *_, loss, dW, _ = problem
    with pytest.raises(CheckFailed, match="corrected formula"):
        erratum(
            "t-bad-fix", as_written=-dW, corrected=2 * dW, numeric=central_grad(loss, W)
        )


def test_results_are_recorded_for_the_report(problem, tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_NOTES_RECORD_DIR", str(tmp_path))
    W, *_, loss, dW, _ = problem
    check("rec-label", dW, central_grad(loss, W))
    (record,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert record["label"] == "rec-label" and record["passed"]
    assert record["entries"] == N_IN * N_OUT and record["method"] == "central"


def test_two_checks_of_one_label_keep_two_records(problem, tmp_path, monkeypatch):
    monkeypatch.setenv("LSTM_NOTES_RECORD_DIR", str(tmp_path))
    W, *_, loss, dW, _ = problem
    check("rec-twice", dW, central_grad(loss, W))
    check("rec-twice", dW[:, :2], central_grad(loss, W).apply(lambda v: v[:, :2]))
    records = sorted(
        json.loads(p.read_text())["entries"] for p in tmp_path.glob("*.json")
    )
    assert records == [2 * N_IN, N_IN * N_OUT]


def _scaled_sum(*, sign=False, half=False):
    """A toy 'formula' with two switchable defects: the corrected value is 2."""
    value = 2.0
    if sign:
        value = -value
    if half:
        value = value / 2
    return np.array([value])


def test_erratum_with_defects_measures_each_defect_alone_and_switched_off(capsys):
    result = erratum(
        "toy", formula=_scaled_sum, defects=["sign", "half"], numeric=np.array([2.0])
    )
    assert result.corrected.passed and not result.as_written.passed
    assert set(result.defects) == {"sign", "half"}
    alone, rest = result.defects["sign"]
    assert not alone.passed and not rest.passed  # half alone still fails
    out = capsys.readouterr().out
    assert "defect" in out and "sign" in out and "half" in out


def test_a_named_defect_that_changes_nothing_is_refused():
    harmless = lambda *, sign=False, noop=False: np.array([-2.0 if sign else 2.0])  # noqa
    with pytest.raises(CheckFailed, match="'noop' alone passes"):
        erratum(
            "toy", formula=harmless, defects=["sign", "noop"], numeric=np.array([2.0])
        )


def test_erratum_needs_one_way_of_stating_the_formula():
    with pytest.raises(ValueError, match="not both"):
        erratum(
            "toy",
            formula=_scaled_sum,
            defects=["sign"],
            as_written=1.0,
            numeric=np.array([2.0]),
        )
    with pytest.raises(ValueError, match="needs as_written"):
        erratum("toy", corrected=np.array([2.0]), numeric=np.array([2.0]))


def test_a_refused_value_is_recorded_so_the_summary_names_its_equation(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("LSTM_NOTES_RECORD_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="non-finite"):
        check("t-refused", np.array([np.nan, 1.0]), np.ones(2))
    [rec] = [r for r in load_records(tmp_path) if r["label"] == "t-refused"]
    assert (
        rec["kind"] == "refused" and not rec["passed"] and "non-finite" in rec["note"]
    )


def test_exercise_reports_the_readers_attempt_and_never_raises(
    capsys, tmp_path, monkeypatch
):
    from lstm_notes import exercise

    monkeypatch.setenv("LSTM_NOTES_RECORD_DIR", str(tmp_path))
    x = np.arange(1.0, 4.0)
    numeric = central_grad(lambda v: np.sum(v**3), x)
    assert exercise("ex-cube", None, numeric) is None
    assert exercise("ex-cube", 3 * x**2, numeric).passed
    wrong = exercise("ex-cube", 2 * x**2, numeric)
    assert not wrong.passed and wrong.worst_index == (2,)
    assert exercise("ex-cube", (3 * x**2)[:2], numeric) is None
    assert exercise("ex-cube", np.full(3, np.nan), numeric) is None
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("not attempted yet (fill in the formula above)")
    assert "right" in out[1] and "not yet" in out[2] and "yours 18" in out[2]
    assert all("cannot be compared" in line for line in out[3:])
    assert not list(tmp_path.iterdir()), "an exercise is the reader's: never recorded"
