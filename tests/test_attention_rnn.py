"""lstm_notes.models.attention_rnn: source 004's model, its gradients in two forms, its inputs."""

import numpy as np
import pytest

from lstm_notes import (
    CheckFailed,
    central_grad,
    check,
    complex_step_grad,
    jacobian,
    wrt,
)
from lstm_notes.chapters.timing import time_backward
from lstm_notes.models import attention_rnn as att
from lstm_notes.models import rnn

N_X, N_H, N_Y, T = 3, 5, 4, 7


@pytest.fixture
def problem():
    """The seeded example, its state dict unpacked: (params, x, y, h0)."""
    params, x, y, state = att.example(N_X, N_H, N_Y, T, seed=3)
    assert set(state) == {"h0"}
    return params, x, y, state["h0"]


@pytest.mark.parametrize("attend", [False, True], ids=["h1..ht", "h0..ht"])
@pytest.mark.parametrize("name", ["W", "U", "b", "V", "c", "h0"])
def test_gradients_agree_with_central_differences_and_the_complex_step(
    problem, name, attend
):
    params, x, y, h0 = problem
    _, grads = att.loss_and_grads(params, x, y, h0, attend_to_h0=attend)
    if name == "h0":
        f, point = (lambda v: att.loss(params, x, y, v, attend)), h0
    else:
        f, point = (
            wrt(lambda p: att.loss(p, x, y, h0, attend), params, name),
            params[name],
        )
    assert grads[name].shape == point.shape
    check(name, grads[name], central_grad(f, point))
    check(name, grads[name], complex_step_grad(f, point))


@pytest.mark.parametrize("attend", [False, True])
def test_path_sum_equals_the_recursion_to_rounding(problem, attend):
    params, x, y, h0 = problem
    _, rec = att.loss_and_grads(params, x, y, h0, attend_to_h0=attend)
    paths = att.path_sum_grads(params, x, y, h0, attend_to_h0=attend)
    assert set(rec) == set(params) | {"h0"} and set(paths) == {"W", "U", "b", "h0"}
    for k in paths:
        check(k, paths[k], rec[k])


def test_path_terms_and_the_denominator_layout_sum_equal_the_recursion(problem):
    params, x, y, h0 = problem
    _, rec = att.loss_and_grads(params, x, y, h0)
    terms = att.every_path(range(1, T + 1))
    assert len(terms) == sum(t * (t + 1) // 2 for t in range(1, T + 1))
    listed = att.path_terms(params, x, y, terms, h0)
    cache = att.forward(params, x, h0)
    d = (cache.y_hat - np.eye(N_Y)[y]) @ params["V"]
    dZ_dh_T = lambda t, m: att.attention_jacobian(cache, t, m).T
    columns = att.denominator_path_sum(params["W"], x, cache.h, dZ_dh_T, d)
    for k in ("W", "U", "b"):
        check(k, listed[k], rec[k])
        check(k, columns[k], rec[k])


def _source_004_variants(params, x, y, h0):
    """Source 004's eq. 13 read right to left, with each of its defects: the score for
    the attention Jacobian (both flags of attention_jacobian), the weight alone (the
    value path only), the output error with its sign flipped; and eq. 12's chain
    multiplied in the other order (j increasing to the right), which 004 leaves open."""
    cache = att.forward(params, x, h0)
    d = (cache.y_hat - np.eye(N_Y)[y]) @ params["V"]
    jac_T = lambda **f: lambda t, m: att.attention_jacobian(cache, t, m, **f).T
    every = att.every_path(range(1, T + 1))
    upward = [(t, m, chain[::-1], k) for t, m, chain, k in every]
    columns = lambda f, d: att.denominator_path_sum(params["W"], x, cache.h, f, d)["W"]
    return {
        "ascending": att.path_terms(params, x, y, upward, h0)["W"],
        "score": columns(jac_T(score_for_weight=True, value_path_only=True), d),
        "value": columns(jac_T(value_path_only=True), d),
        "y-yhat": columns(jac_T(), -d),
    }


@pytest.mark.parametrize("variant", ["ascending", "score", "value", "y-yhat"])
def test_source_004_variants_of_the_path_sum_fail_the_check(problem, variant):
    params, x, y, h0 = problem
    wrong = _source_004_variants(params, x, y, h0)[variant]
    with pytest.raises(CheckFailed):
        check(
            "W",
            wrong,
            central_grad(
                wrt(lambda p: att.loss(p, x, y, h0), params, "W"), params["W"]
            ),
        )


def test_attention_jacobian_flags_give_the_score_and_the_weight_times_the_identity(
    problem,
):
    params, x, y, h0 = problem
    cache = att.forward(params, x, h0)
    t, m, eye = 5, 3, np.eye(N_H)
    both = att.attention_jacobian(
        cache, t, m, score_for_weight=True, value_path_only=True
    )
    check("A I", both, cache.h[m] @ cache.h[t] * eye)
    check(
        "alpha I",
        att.attention_jacobian(cache, t, m, value_path_only=True),
        cache.alpha[t - 1, m - 1] * eye,
    )


def test_eq3_as_written_gives_weights_that_sum_to_less_than_one(problem):
    params, x, y, h0 = problem
    cache = att.forward(params, x, h0)
    written = att.attention_by_terms(cache.h, denominator_from_0=True)[1]
    with_h0 = att.forward(params, x, h0, attend_to_h0=True).alpha
    check("eq. 3", written, with_h0[:, 1:])  # the h0 model's weights for i >= 1
    assert np.all(written.sum(axis=1) < 1.0)


@pytest.mark.parametrize("attend", [False, True])
def test_attention_by_terms_equals_the_vectorised_attention(problem, attend):
    params, x, y, h0 = problem
    cache = att.forward(params, x, h0, attend)
    literal = att.attention_by_terms(cache.h, attend)
    for name, value in zip(("A", "alpha", "Z"), literal, strict=True):
        check(name, value, getattr(cache, name))


@pytest.mark.parametrize("attend", [False, True])
def test_attention_jacobian_matches_numerical_jacobian_for_every_state(problem, attend):
    params, x, y, h0 = problem
    cache = att.forward(params, x, h0, attend)
    for t in (1, 4, T):
        J = np.stack(
            [att.attention_jacobian(cache, t, m) for m in range(T + 1)], axis=1
        )
        num = jacobian(
            lambda s, t=t: att.attention(s, attend)[2][t - 1], cache.h, "complex-step"
        )
        check("dZ/dh", J, num)


def test_value_path_alone_is_not_the_attention_jacobian(problem):
    params, x, y, h0 = problem
    cache = att.forward(params, x, h0)
    t, m = 5, 2
    num = jacobian(
        lambda v: att.attention(np.vstack([cache.h[:m], v, cache.h[m + 1 :]]))[2][
            t - 1
        ],
        cache.h[m],
        "complex-step",
    )
    with pytest.raises(CheckFailed):
        check("value only", cache.alpha[t - 1, m - 1] * np.eye(N_H), num)


def test_attention_backward_is_the_gradient_in_the_states_held_independent(problem):
    params, x, y, h0 = problem
    cache = att.forward(params, x, h0)
    e = att.attention_backward(params, cache, y)[2]
    check(
        "e", e, complex_step_grad(lambda s: att.loss_of_states(params, s, y), cache.h)
    )
    assert np.all(e[0] == 0.0)  # h0 is not attended to


def test_the_model_reuses_the_plain_rnn(problem):
    params, x, y, h0 = problem
    assert att.init_params is rnn.init_params and att.PARAM_NAMES == rnn.PARAM_NAMES
    check("states", att.states(params, x, h0), rnn.forward(params, x, h0).h)


def test_weights_are_a_distribution_and_the_first_step_copies_its_state(problem):
    params, x, y, h0 = problem
    cache = att.forward(params, x, h0)
    assert np.allclose(cache.alpha.sum(axis=1), 1.0)
    assert np.all(cache.alpha[~cache.mask] == 0.0)
    assert cache.alpha[0, 0] == 1.0 and np.array_equal(cache.Z[0], cache.h[1])
    with_h0 = att.forward(params, x, h0, attend_to_h0=True)
    assert with_h0.alpha[0, 1] < 1.0 and np.allclose(with_h0.alpha.sum(axis=1), 1.0)


def test_step_losses_are_causal_and_sum_to_the_loss(problem):
    params, x, y, h0 = problem
    losses = att.step_losses(params, x, y, h0)
    assert losses.shape == (T,) and np.isclose(losses.sum(), att.loss(params, x, y, h0))
    x2 = x.copy()
    x2[4:] += 1.0
    assert np.array_equal(att.step_losses(params, x2, y, h0)[:4], losses[:4])


def test_loss_is_complex_safe(problem):
    params, x, y, h0 = problem
    z = {**params, "W": params["W"] + 1e-20j}
    value = att.loss(z, x, y, h0)
    assert np.iscomplexobj(value) and np.imag(value) != 0.0


def test_path_terms_of_one_step_give_its_loss_gradient_and_refuse_bad_factors(problem):
    params, x, y, h0 = problem
    t = 3
    dL3 = wrt(lambda p: att.step_losses(p, x, y, h0)[t - 1], params, "W")
    check(
        "dL3/dW",
        att.path_terms(params, x, y, att.every_path([t]), h0)["W"],
        complex_step_grad(dL3, params["W"]),
    )
    with pytest.raises(ValueError, match="one-step"):
        att.path_terms(params, x, y, [(3, 3, [(3, 1)], 1)], h0)


@pytest.mark.parametrize(
    "change, culprit",
    [
        (
            lambda p, x, y, h0: dict(params={**p, "W": p["W"].astype(np.float32)}),
            "^W has dtype",
        ),
        (
            lambda p, x, y, h0: dict(params={**p, "V": p["V"][:, :3]}),
            r"^V has shape \(4, 3\), expected \(4, 5\): the other parameters give n_y = 4, n_h = 5",
        ),
        (
            lambda p, x, y, h0: dict(params={**p, "Q": p["W"]}),
            r"unknown parameter name\(s\) \['Q'\]",
        ),
        (
            lambda p, x, y, h0: dict(params={k: v for k, v in p.items() if k != "c"}),
            r"missing parameter\(s\) \['c'\]",
        ),
        (
            lambda p, x, y, h0: dict(x=np.where(np.arange(T)[:, None] == 2, np.nan, x)),
            "^x has 3 non-finite entries",
        ),
        (lambda p, x, y, h0: dict(x=x[:, :2]), r"^x must have shape \(T, n_x\)"),
        (
            lambda p, x, y, h0: dict(y=np.append(y[:-1], N_Y)),
            r"label y\[6\] = 4 is out of range",
        ),
        (lambda p, x, y, h0: dict(y=y[:-1]), "y must hold one class index per step"),
        (lambda p, x, y, h0: dict(h0=h0[:3]), r"^h0 has shape \(3,\), expected \(5,\)"),
    ],
)
def test_bad_input_raises_valueerror_naming_the_culprit(problem, change, culprit):
    args = {
        **dict(zip(("params", "x", "y", "h0"), problem, strict=True)),
        **change(*problem),
    }
    for f in (
        att.loss_and_grads,
        att.loss,
        att.path_sum_grads,
        lambda p, x, y, h0: att.path_terms(p, x, y, att.every_path([1]), h0),
    ):
        with pytest.raises(ValueError, match=culprit):
            f(args["params"], args["x"], args["y"], args["h0"])


def test_attend_to_h0_must_be_a_boolean(problem):
    params, x, y, h0 = problem
    with pytest.raises(ValueError, match="attend_to_h0"):
        att.loss_and_grads(params, x, y, h0, attend_to_h0="yes")


@pytest.mark.parametrize("single_thread", [False, True])
def test_time_backward_returns_seconds_per_form_and_length(single_thread):
    out = time_backward([4, 8], repeats=1, seed=0, single_thread=single_thread)
    assert set(out) == set(att.FORMS)
    for seconds in out.values():
        assert seconds.shape == (2,) and np.all(seconds > 0)
