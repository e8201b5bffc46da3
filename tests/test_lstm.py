"""lstm_notes.models.lstm: the LSTM of source 001 against numerical differentiation."""

import re

import numpy as np
import pytest

from lstm_notes import CheckFailed, central_grad, check, complex_step_grad, wrt
from lstm_notes.models import lstm

N_X, N_A, N_Y, T = 3, 5, 4, 7


@pytest.fixture
def problem():
    """The seeded example, its state dict unpacked: (params, x, y, a0, c0)."""
    params, x, y, state = lstm.example(N_X, N_A, N_Y, T, seed=3)
    assert set(state) == {"a0", "c0"}
    return params, x, y, state["a0"], state["c0"]


def loss_of_all(y):
    """J as a function of one dict holding the parameters, a0, c0 and x."""

    def J(q):
        p = {k: v for k, v in q.items() if k not in ("a0", "c0", "x")}
        return lstm.loss(p, q["x"], y, q["a0"], q["c0"])

    return J


def test_shapes_follow_source_001():
    s = lstm.shapes()
    assert tuple(s) == lstm.PARAM_NAMES
    assert (
        s["W_oa"] == ("n_a", "n_a")
        and s["W_ox"] == ("n_x", "n_a")
        and s["b_o"] == ("n_a",)
    )
    assert s["W_ya"] == ("n_a", "n_y") and s["b_y"] == ("n_y",)
    # the parameters init_params makes have these shapes, with the sizes given
    n = {"n_x": N_X, "n_a": N_A, "n_y": N_Y}
    params = lstm.init_params(N_X, N_A, N_Y)
    assert tuple(params) == lstm.PARAM_NAMES
    for k, dims in s.items():
        assert params[k].shape == tuple(n[d] for d in dims), k
    assert params["W_oa"].shape == (N_A, N_A) and params["W_ox"].shape == (N_X, N_A)
    assert params["W_ya"].shape == (N_A, N_Y) and params["b_y"].shape == (N_Y,)
    # without the forget gate (the carousel): the same shapes, less W_fa, W_fx, b_f
    carousel = lstm.shapes(forget_gate=False)
    assert carousel == {k: v for k, v in s.items() if k not in ("W_fa", "W_fx", "b_f")}


def test_init_params_is_seeded_and_sets_the_forget_bias_exactly():
    p1 = lstm.init_params(N_X, N_A, N_Y, seed=4, forget_bias=1.5)
    p2 = lstm.init_params(N_X, N_A, N_Y, seed=4, forget_bias=1.5)
    for k in lstm.PARAM_NAMES:
        np.testing.assert_array_equal(p1[k], p2[k])
        assert p1[k].dtype == np.float64
    np.testing.assert_array_equal(p1["b_f"], np.full(N_A, 1.5))
    assert not np.array_equal(
        p1["W_fa"], lstm.init_params(N_X, N_A, N_Y, seed=5)["W_fa"]
    )


@pytest.mark.parametrize("name", lstm.PARAM_NAMES + ("a0", "c0"))
def test_every_gradient_matches_central_differences_and_the_complex_step(problem, name):
    params, x, y, a0, c0 = problem
    _, grads = lstm.loss_and_grads(params, x, y, a0, c0)
    point = {**params, "a0": a0, "c0": c0, "x": x}
    f = wrt(loss_of_all(y), point, name)
    assert grads[name].shape == point[name].shape
    check(f"test-{name}", grads[name], central_grad(f, point[name]))
    check(f"test-{name}", grads[name], complex_step_grad(f, point[name]))


def test_the_input_gradient_matches_the_complex_step(problem):
    params, x, y, a0, c0 = problem
    point = {**params, "a0": a0, "c0": c0, "x": x}
    f = wrt(loss_of_all(y), point, "x")
    check("test-x", lstm.grads_x(params, x, y, a0, c0), complex_step_grad(f, x))


def test_a_transposed_gradient_fails_the_check(problem):
    params, x, y, a0, c0 = problem
    _, grads = lstm.loss_and_grads(params, x, y, a0, c0)
    f = wrt(loss_of_all(y), {**params, "a0": a0, "c0": c0, "x": x}, "W_oa")
    with pytest.raises(CheckFailed):
        check("test-W_oa-transposed", grads["W_oa"].T, central_grad(f, params["W_oa"]))


def test_grads_have_every_parameter_and_the_initial_states(problem):
    params, x, y, a0, c0 = problem
    loss, grads = lstm.loss_and_grads(params, x, y, a0, c0)
    assert set(grads) == set(lstm.PARAM_NAMES) | {"a0", "c0"}
    assert isinstance(loss, float)
    assert loss == pytest.approx(float(lstm.loss(params, x, y, a0, c0)), rel=1e-14)


def test_cell_forward_reproduces_the_cached_forward_pass(problem):
    params, x, y, a0, c0 = problem
    cache = lstm.forward(params, x, a0, c0)
    a, c = a0, c0
    for t in range(1, T + 1):
        a, c, step = lstm.cell_forward(params, x[t - 1], a, c)
        np.testing.assert_allclose(a, cache.a[t], rtol=1e-14, atol=0)
        np.testing.assert_allclose(c, cache.c[t], rtol=1e-14, atol=0)
        np.testing.assert_allclose(step.f, cache.f[t - 1], rtol=1e-14, atol=0)


def test_chaining_cell_backward_one_step_at_a_time_equals_loss_and_grads(problem):
    params, x, y, a0, c0 = problem
    _, grads = lstm.loss_and_grads(params, x, y, a0, c0)
    cache = lstm.forward(params, x, a0, c0)
    total = {k: np.zeros_like(v) for k, v in params.items() if k not in ("W_ya", "b_y")}
    da_next, dc_next = np.zeros(N_A), np.zeros(N_A)
    for t in range(T, 0, -1):
        dz_y = cache.y_hat[t - 1] - np.eye(N_Y)[y[t - 1]]
        da = params["W_ya"] @ dz_y + da_next
        step, da_next, dc_next, _ = lstm.cell_backward(
            params, da, dc_next, cache.step(t, x)
        )
        assert set(step) == set(total)
        for k in total:
            total[k] += step[k]
    for k in total:
        np.testing.assert_allclose(total[k], grads[k], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(da_next, grads["a0"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dc_next, grads["c0"], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "node, field",
    [
        ("o", "dGo"),
        ("c", "dc"),
        ("u", "dGu"),
        ("c_tilde", "dct"),
        ("f", "dGf"),
        ("z_f", "dz_f"),
        ("z_u", "dz_u"),
        ("z_o", "dz_o"),
        ("z_c", "dz_c"),
    ],
)
def test_the_step_record_is_the_gradient_in_each_quantity_of_the_step(
    problem, node, field
):
    """cell_backward's record and bptt's rows, at step 3, against the complex step."""
    params, x, y, a0, c0 = problem
    cache = lstm.forward(params, x, a0, c0)
    bw = lstm.bptt(params, cache, x, y)
    t = 3
    step = lstm.cell_backward(
        params, bw.da[t - 1], cache.f[t] * bw.dc[t], cache.step(t, x)
    )
    num = lstm.step_grad(params, x, y, t, node, a0, c0, "complex-step")
    check(f"step record {field}", getattr(step, field), num)
    check(f"bptt record {field}", getattr(bw, field)[t - 1], num)


def test_without_a_forget_gate_the_record_has_no_forget_gate_gradients(problem):
    params, x, y, a0, c0 = problem
    cec = lstm.init_params(N_X, N_A, N_Y, seed=1, forget_gate=False)
    cache = lstm.forward(cec, x, a0, c0)
    bw = lstm.bptt(cec, cache, x, y)
    assert bw.dGf is None and bw.dz_f is None
    step = lstm.cell_backward(cec, bw.da[0], np.zeros(N_A), cache.step(T, x))
    assert step.dGf is None and step.dz_f is None
    np.testing.assert_array_equal(step.dc_prev, step.dc)  # f = 1: passed on unchanged


def test_step_loss_with_the_computed_value_is_the_loss(problem):
    params, x, y, a0, c0 = problem
    cache = lstm.forward(params, x, a0, c0)
    J = lstm.loss(params, x, y, a0, c0)
    for node, value in [
        ("a", cache.a[3]),
        ("c", cache.c[3]),
        ("o", cache.o[2]),
        ("W_oa", params["W_oa"]),
        ("z_y", cache.z_y[2]),
    ]:
        assert lstm.step_loss(params, x, y, 3, node, value, a0, c0) == pytest.approx(
            J, rel=1e-13
        )


def test_step_loss_of_a_parameter_gives_one_steps_contribution(problem):
    params, x, y, a0, c0 = problem
    _, grads = lstm.loss_and_grads(params, x, y, a0, c0)
    parts = sum(
        central_grad(
            lambda W, t=t: lstm.step_loss(params, x, y, t, "W_ux", W, a0, c0),
            params["W_ux"],
        ).value
        for t in range(1, T + 1)
    )
    np.testing.assert_allclose(parts, grads["W_ux"], rtol=1e-6, atol=1e-8)


def test_loss_is_complex_safe(problem):
    params, x, y, a0, c0 = problem
    z = params["W_fa"].astype(complex)
    z[1, 2] += 1e-20j
    value = lstm.loss({**params, "W_fa": z}, x, y, a0, c0)
    assert np.iscomplexobj(value) and np.imag(value) != 0


@pytest.mark.parametrize(
    "change, culprit",
    [
        (
            lambda p, x, y: ({**p, "W_oa": p["W_oa"][:, :4]}, x, y),
            "W_oa has shape (5, 4), expected (5, 5): the other parameters give n_a = 5",
        ),
        (lambda p, x, y: ({**p, "b_u": p["b_u"].astype(np.float32)}, x, y), "b_u"),
        (
            lambda p, x, y: (
                {**p, "W_cx": np.where(p["W_cx"] > 0, np.nan, p["W_cx"])},
                x,
                y,
            ),
            "W_cx",
        ),
        (lambda p, x, y: ({**p, "W_xx": p["W_ox"]}, x, y), "W_xx"),
        (lambda p, x, y: ({k: v for k, v in p.items() if k != "b_y"}, x, y), "b_y"),
        (lambda p, x, y: (p, x.astype(np.float32), y), "x"),
        (lambda p, x, y: (p, x[:, :2], y), "x"),
        (lambda p, x, y: (p, x, np.where(np.arange(T) == 2, N_Y, y)), "y[2]"),
        (lambda p, x, y: (p, x, y[:-1]), "y must hold one class index per step"),
    ],
)
def test_bad_input_raises_value_error_naming_the_culprit(problem, change, culprit):
    params, x, y, a0, c0 = problem
    p, xx, yy = change(params, x, y)
    for fn in (lstm.loss, lstm.loss_and_grads):
        with pytest.raises(ValueError, match=re.escape(culprit)):
            fn(p, xx, yy, a0, c0)


def test_bad_initial_state_raises_value_error_naming_it(problem):
    params, x, y, a0, c0 = problem
    with pytest.raises(ValueError, match="c0"):
        lstm.loss_and_grads(params, x, y, a0, c0[:3])
    with pytest.raises(ValueError, match="a0"):
        lstm.loss_and_grads(params, x, y, a0.astype(np.float32), c0)


def test_loss_and_grads_refuses_complex_input(problem):
    params, x, y, a0, c0 = problem
    with pytest.raises(ValueError, match="x"):
        lstm.loss_and_grads(params, x.astype(complex), y, a0, c0)
