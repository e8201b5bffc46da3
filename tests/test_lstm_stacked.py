"""The stacked-gate form (source 000) against the per-gate LSTM, and the training demo."""

import numpy as np

from lstm_notes import central_grad, check
from lstm_notes.chapters import stacked, training
from lstm_notes.models import lstm


def test_stacked_backward_equals_the_per_gate_gradients():
    P, x, y, state = lstm.example()
    a0, c0 = state["a0"], state["c0"]
    W, b = stacked.stack(P)
    J, (dW, db) = stacked.loss_and_grads(W, b, P["W_ya"], P["b_y"], x, y, a0, c0)
    loss, grads = lstm.loss_and_grads(P, x, y, a0, c0)
    gW = np.block([[grads[f"W_{g}x"].T, grads[f"W_{g}a"].T] for g in "cufo"])
    gb = np.concatenate([grads[f"b_{g}"] for g in "cufo"])
    assert abs(J - loss) <= 1e-12 * abs(loss)
    np.testing.assert_allclose(dW, gW, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(db, gb, rtol=1e-12, atol=1e-15)


def test_stacked_dW_matches_central_differences_and_unstack_inverts_stack():
    P, x, y, state = lstm.example(T=6)
    a0, c0 = state["a0"], state["c0"]
    W, b = stacked.stack(P)
    back = stacked.unstack(W, b, P["W_ya"], P["b_y"], 3)
    for k in lstm.PARAM_NAMES:
        np.testing.assert_array_equal(back[k], P[k])
    dW = stacked.loss_and_grads(W, b, P["W_ya"], P["b_y"], x, y, a0, c0)[1][0]
    J = lambda V: stacked.loss(V, b, P["W_ya"], P["b_y"], x, y, a0, c0)
    check("test-stacked-dW", dW, central_grad(J, W))


def test_training_on_the_delayed_copy_task_beats_chance():
    data = training.delayed_copy(60, 8, 2, 3, seed=0)
    p0 = lstm.init_params(3, 8, 4, seed=0, forget_bias=1.0)
    p, losses = training.train(p0, data, iterations=80, batch=4, lr=0.05)
    assert losses[-10:].mean() < 0.5 * np.log(3)
