"""The f = 1 carousel cell and the LSTM state Jacobian."""

import numpy as np
import pytest

from lstm_notes import CheckFailed, check, complex_step_grad, jacobian, wrt
from lstm_notes.chapters import carousel
from lstm_notes.models import lstm

#: The carousel's parameters: the LSTM's without the forget gate's W_fa, W_fx, b_f.
PARAM_NAMES = (
    "W_ua",
    "W_ux",
    "b_u",
    "W_oa",
    "W_ox",
    "b_o",
    "W_ca",
    "W_cx",
    "b_c",
    "W_ya",
    "b_y",
)


@pytest.fixture
def example():
    params = lstm.init_params(3, 5, 4, seed=1, forget_gate=False)
    assert tuple(params) == PARAM_NAMES == tuple(lstm.shapes(forget_gate=False))
    assert not any(k in params for k in ("W_fa", "W_fx", "b_f"))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((7, 3)), rng.integers(0, 4, 7)
    return params, x, y, 0.5 * rng.standard_normal(5), 0.5 * rng.standard_normal(5)


def test_carousel_gradients_agree_with_the_complex_step(example):
    params, x, y, a0, c0 = example
    _, grads = lstm.loss_and_grads(params, x, y, a0, c0)
    assert set(grads) == set(PARAM_NAMES) | {"a0", "c0"}
    for name in PARAM_NAMES:
        check(
            name,
            grads[name],
            complex_step_grad(
                wrt(lambda p: lstm.loss(p, x, y, a0, c0), params, name), params[name]
            ),
        )
    check(
        "a0",
        grads["a0"],
        complex_step_grad(lambda v: lstm.loss(params, x, y, v, c0), a0),
    )
    check(
        "c0",
        grads["c0"],
        complex_step_grad(lambda v: lstm.loss(params, x, y, a0, v), c0),
    )


def test_carousel_is_the_lstm_with_its_forget_gate_held_open(example):
    params, x, y, a0, c0 = example
    assert lstm.loss(params, x, y, a0, c0) == lstm.loss(
        carousel.as_lstm_params(params), x, y, a0, c0
    )
    cache = lstm.forward(params, x, a0, c0)  # f = 1: c = c_prev + u o c~
    np.testing.assert_array_equal(cache.f, np.ones((7, 5)))
    np.testing.assert_allclose(
        cache.c[1:], cache.c[:-1] + cache.u * cache.c_tilde, rtol=1e-15, atol=0
    )


def test_batch_equals_the_sum_of_single_sequences(example):
    params = example[0]
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((6, 4, 3)), rng.integers(0, 4, (6, 4))
    loss, grads, _ = lstm.batch_loss_and_grads(params, x, y)
    singles = [lstm.loss_and_grads(params, x[:, b], y[:, b]) for b in range(4)]
    assert np.isclose(loss, sum(s[0] for s in singles), rtol=1e-12)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(
            grads[name], sum(s[1][name] for s in singles), rtol=1e-10, atol=1e-12
        )


@pytest.mark.parametrize("model", ["carousel", "lstm"])
def test_state_jacobian_agrees_with_the_complex_step(example, model):
    _, x, _, a0, c0 = example
    params = (
        lstm.init_params(3, 5, 4, seed=2, forget_gate=False)
        if model == "carousel"
        else lstm.init_params(3, 5, 4, seed=2, forget_bias=1.0)
    )
    assert ("W_fa" in params) == (model == "lstm")
    S = carousel.state_jacobian(params, lstm.cell_forward(params, x[0], a0, c0)[2])
    numeric = jacobian(
        lambda s: carousel.state_map(params, x, s, 0, 1),
        np.concatenate([c0, a0]),
        "complex-step",
    )
    check("state", S, numeric)
    wrong = S.copy()
    wrong[:5, 5:] = wrong[:5, 5:].T  # a transposed block must fail
    with pytest.raises(CheckFailed):
        check("state", wrong, numeric)


def test_cell_path_of_the_carousel_is_the_identity(example):
    params, x, _, a0, c0 = example
    a, c, _ = carousel.trajectory(params, x, a0, c0)
    J = jacobian(
        lambda ck: carousel.cell_path(params, x, a, ck, 1, 7), c[1], "complex-step"
    )
    np.testing.assert_array_equal(J.value, np.eye(5))


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda p, x, y: ({**p, "W_xa": p["W_ua"]}, x, y),
            r"unknown parameter name\(s\) \['W_xa'\]",
        ),
        # a forget gate given in part is neither the carousel nor the LSTM
        (
            lambda p, x, y: ({**p, "W_fa": p["W_ua"]}, x, y),
            r"missing parameter\(s\) \['W_fx', 'b_f'\]",
        ),
        (
            lambda p, x, y: ({k: v for k, v in p.items() if k != "b_o"}, x, y),
            r"missing parameter\(s\) \['b_o'\]",
        ),
        (
            lambda p, x, y: ({**p, "W_ua": p["W_ua"].astype(np.float32)}, x, y),
            "W_ua has dtype float32",
        ),
        (
            lambda p, x, y: ({**p, "W_ox": p["W_ox"][:2]}, x, y),
            r"^W_ox has shape \(2, 5\), expected \(3, 5\): "
            r"the other parameters give n_x = 3, n_a = 5",
        ),
        (lambda p, x, y: (p, x[:, :2], y), r"x must have shape \(T, n_x\) = \(T, 3\)"),
        (lambda p, x, y: (p, x, y + 4), "out of range"),
        (lambda p, x, y: (p, x, y[:-1]), "y must hold one class index per step"),
        (lambda p, x, y: (p, np.where(x > 1, np.nan, x), y), "non-finite"),
    ],
)
def test_bad_input_raises_a_value_error_naming_the_culprit(example, change, message):
    params, x, y, _, _ = example
    with pytest.raises(ValueError, match=message):
        lstm.loss_and_grads(*change(params, x, y))


def test_cell_step_total_is_the_one_step_total_derivative_and_each_defect_changes_it():
    params, x, y, state = lstm.example()
    a0, c0 = state["a0"], state["c0"]
    _, c1, st1 = lstm.cell_forward(params, x[0], a0, c0)
    _, _, st2 = lstm.cell_forward(params, x[1], st1.a, c1)
    c2_of = lambda cp: lstm.cell_forward(params, x[1], st1.o * np.tanh(cp), cp)[1]
    numeric = jacobian(c2_of, c1, "complex-step")
    check("total", carousel.cell_step_total(params, st2, st1.o), numeric)
    for flag in ("drop_f", "drop_o_prev", "drop_W_ca"):
        with pytest.raises(CheckFailed):
            wrong = carousel.cell_step_total(params, st2, st1.o, **{flag: True})
            check(flag, wrong, numeric)
