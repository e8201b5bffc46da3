"""The tanh RNN's gradients, the BPTT double sum and the vanishing-gradient tools."""

import numpy as np
import pytest

from lstm_notes import CheckFailed, check, complex_step_grad, holds, wrt
from lstm_notes.blocks import chain
from lstm_notes.chapters import experiments
from lstm_notes.chapters import vanishing as van
from lstm_notes.models import rnn


@pytest.fixture
def example():
    params = rnn.init_params(3, 5, 4, seed=1)
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((7, 3)), rng.integers(0, 4, 7)
    return params, x, y, 0.5 * rng.standard_normal(5)


def test_rnn_loss_and_grads_agree_with_the_complex_step(example):
    params, x, y, h0 = example
    _, grads = rnn.loss_and_grads(params, x, y, h0=h0)
    for name in rnn.PARAM_NAMES:
        check(
            name,
            grads[name],
            complex_step_grad(
                wrt(lambda p: rnn.loss(p, x, y, h0=h0), params, name), params[name]
            ),
        )
    check(
        "h0", grads["h0"], complex_step_grad(lambda v: rnn.loss(params, x, y, h0=v), h0)
    )


def test_double_sum_recursion_and_model_give_the_same_dW(example):
    params, x, y, h0 = example
    double_sum = sum(van.bptt_terms(params, x, y, h0).values())
    _, recursion = van.bptt_recursion(params, x, y, h0)
    model = rnn.loss_and_grads(params, x, y, h0=h0)[1]["W"]
    np.testing.assert_allclose(double_sum, model, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(recursion, model, rtol=1e-12, atol=1e-14)


def test_dropping_the_k_less_than_t_terms_fails_the_check(example):
    params, x, y, h0 = example
    terms = van.bptt_terms(params, x, y, h0)
    diagonal_only = sum(v for (t, k), v in terms.items() if t == k)
    numeric = complex_step_grad(
        wrt(lambda p: rnn.loss(p, x, y, h0=h0), params, "W"), params["W"]
    )
    with pytest.raises(CheckFailed):
        check("van-bptt-sum", diagonal_only, numeric)


def test_source_003_expansions_differ_from_the_gradient_by_each_defect(example):
    params, x, y, h0 = example
    x4, y4 = x[:4], y[:4]
    cache = rnn.forward(params, x4, h0)
    d, F = van.output_grads(params, cache, y4), van.step_jacobians(params["W"], cache.h)
    imm = [van.immediate_dW(cache.h[s], cache.h[s + 1]) for s in range(4)]
    truth = rnn.loss_and_grads(params, x4, y4, h0=h0)[1]["W"]
    right = van.source_003_T3_terms()
    assert right == [(t, k, k) for t in range(4) for k in range(t + 1)]
    np.testing.assert_allclose(
        van.source_003_T3_expansion(d, F, imm, right), truth, rtol=1e-12, atol=1e-14
    )
    for flag in ("dropped_22", "h0_for_hk", "extra_32"):
        listed = van.source_003_T3_terms(**{flag: True})
        wrong = van.source_003_T3_expansion(d, F, imm, listed)
        assert np.abs(wrong - truth).max() > 1e-3, flag
    one = van.source_003_T3_expansion(d, F, imm, right, one_diagonal=True)
    assert np.abs(one - truth).max() > 1e-3


def test_source_003_second_form_has_eleven_terms_with_dh0_where_written():
    terms = van.source_003_T3_terms(h0_for_hk=True, extra_32=True)
    assert len(terms) == 11 and terms.count((3, 2, 0)) == 2
    assert [i for t, k, i in terms if k > 0 and t != k or (t, k) == (3, 3)] == [0] * 5
    assert (1, 1, 1) in terms and (2, 2, 2) in terms


def test_ordered_product_is_the_jacobian_and_each_source_defect_changes_it(example):
    params, x, _, h0 = example
    h = rnn.forward(params, x, h0).h
    exact = chain(van.step_jacobians(params["W"], h), 7, 1)
    np.testing.assert_allclose(
        van.ordered_product(params["W"], h, 7, 1), exact, rtol=1e-12, atol=1e-15
    )
    for flag in ("one_diagonal", "diagonals_first"):
        wrong = van.ordered_product(params["W"], h, 7, 1, **{flag: True})
        assert np.abs(wrong - exact).max() > 1e-6, flag


def test_inputs_for_states_drive_the_rnn_through_the_given_states():
    W = np.array([[-2.0, -2.5], [1.5, 1.5]])
    h = np.random.default_rng(0).uniform(-0.9, 0.9, (9, 2))
    x = van.inputs_for_states(W, h)
    np.testing.assert_allclose(
        van.tanh_rnn_states(W, x, h0=h[0]), h, rtol=1e-12, atol=1e-15
    )


def test_holds_raises_when_the_inequality_is_broken(capsys):
    assert holds("a <= b", [1.0, np.nan], [2.0, 0.0]) == 0.5
    assert capsys.readouterr().out == "a <= b: holds\n"  # one case, no count
    holds("a <= b", [1.0, 2.0], [2.0, 2.0])
    assert "a <= b: holds in all 2 cases" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="fails for 1 of 2"):
        holds("a <= b", [1.0, 3.0], [2.0, 2.0])


def test_chain_refuses_bad_indices():
    with pytest.raises(ValueError, match="k <= t"):
        chain(np.zeros((3, 2, 2)), 1, 2)


def test_spectral_norm_scaling_and_the_pascanu_bound():
    W = van.scaled_to_spectral_norm(5, 0.9, seed=3)
    assert np.isclose(np.linalg.norm(W, 2), 0.9)
    N = van.rnn_product_norms(W, np.random.default_rng(0).standard_normal((20, 5)))
    lags = van.lags(20)
    assert np.all(np.nan_to_num(N, nan=0.0) <= 0.9**lags * (1 + 1e-12))


def test_non_normal_matrix_grows_before_it_decays():
    W = np.diag([0.9, 0.88, 0.86, 0.84, 0.82]) + 2.0 * np.eye(5, k=1)
    norms = van.power_norms(W, 150)
    assert norms.max() > 1e3 and norms[150] < 1.0


def test_batched_rnn_equals_the_sum_of_single_sequences():
    params = rnn.init_params(4, 6, 3, seed=0)
    x, y = experiments.long_lag_batch(9, 4, np.random.default_rng(0))
    loss, grads, _ = rnn.batch_loss_and_grads(params, x, y)
    singles = [rnn.loss_and_grads(params, x[:, b], y[:, b]) for b in range(4)]
    assert np.isclose(loss, sum(s[0] for s in singles), rtol=1e-12)
    for name in rnn.PARAM_NAMES:
        np.testing.assert_allclose(
            grads[name], sum(s[1][name] for s in singles), rtol=1e-10, atol=1e-12
        )


def test_long_lag_batch_targets_the_first_symbol():
    x, y = experiments.long_lag_batch(6, 5, np.random.default_rng(1))
    assert x.shape == (6, 5, experiments.TASK_N_X) and y.shape == (6, 5)
    assert np.all(y[:-1] == 0) and np.all(y[-1] == 1 + np.argmax(x[0, :, :2], axis=1))
    assert np.all(x[-1, :, 3] == 1.0) and np.all(x[:-1, :, 3] == 0.0)


def test_real_block_diagonal_has_the_given_eigenvalues_and_refuses_a_lone_complex_one():
    z = 1.1 * np.exp(2j * np.pi / 3)
    lam = np.array([-1.5, z, np.conj(z), 0.5])
    M = van.real_block_diagonal(lam)
    np.testing.assert_allclose(
        np.sort_complex(np.linalg.eigvals(M)), np.sort_complex(lam)
    )
    np.testing.assert_allclose(
        np.linalg.norm(np.linalg.matrix_power(M, 7), axis=0),
        np.abs(lam) ** 7,
        rtol=1e-13,
    )
    with pytest.raises(ValueError, match="conjugate"):
        van.real_block_diagonal([z, 0.5])


def test_lag_runs_send_the_gradient_back_through_the_state_jacobians():
    run = experiments.rnn_lag_run(2.0, T=12, n_h=4)
    assert run.deltas.shape == (13, 4) and np.isclose(run.norms[0], 1.0)
    numeric = complex_step_grad(run.loss_at(5), run.states[12 - 5])
    check("lag 5", run.deltas[5], numeric)
