"""Cross-check of lstm_notes.models.lstm against PyTorch's nn.LSTM (the optional extra `torch`),
through the mapping of tests/torch_mapping.py."""

import importlib.util

import numpy as np
import pytest
from conftest import require

from lstm_notes.models import lstm

N_X, N_A, N_Y, T = 3, 5, 4, 7
RTOL = 1e-10


@pytest.fixture
def torch_mapping():
    require(
        "torch",
        importlib.util.find_spec("torch") is not None,
        "the PyTorch cross-check needs `pip install .[torch]`",
    )
    import torch_mapping

    return torch_mapping


@pytest.fixture
def problem():
    """The seeded example, its state dict unpacked: (params, x, y, a0, c0)."""
    params, x, y, state = lstm.example(N_X, N_A, N_Y, T, seed=11)
    return params, x, y, state["a0"], state["c0"]


def relative_error(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def test_loss_and_every_gradient_agree_with_pytorch(torch_mapping, problem):
    params, x, y, a0, c0 = problem
    loss, grads = lstm.loss_and_grads(params, x, y, a0, c0)
    grads["x"] = lstm.grads_x(params, x, y, a0, c0)
    t_loss, t_grads = torch_mapping.loss_and_grads(params, x, y, a0, c0)
    assert abs(loss - t_loss) <= RTOL * abs(t_loss)
    assert set(t_grads) == set(grads)
    for k in grads:
        assert grads[k].shape == t_grads[k].shape, k
        assert relative_error(grads[k], t_grads[k]) <= RTOL, k


def test_swapping_two_gates_in_the_mapping_breaks_the_agreement(torch_mapping, problem):
    params, x, y, a0, c0 = problem
    loss, grads = lstm.loss_and_grads(params, x, y, a0, c0)
    swapped = ("f", "u", "c", "o")  # 001's u and f in each other's blocks
    t_loss, t_grads = torch_mapping.loss_and_grads(
        params, x, y, a0, c0, gate_order=swapped
    )
    assert abs(loss - t_loss) > RTOL * abs(t_loss)
    assert relative_error(grads["W_fa"], t_grads["W_fa"]) > 1e-3


def test_pytorch_blocks_are_the_transposes_of_001s_matrices(torch_mapping, problem):
    params = problem[0]
    cell, out = torch_mapping.to_torch(params)
    w_hh = cell.weight_hh_l0.detach().numpy()
    np.testing.assert_array_equal(w_hh[:N_A], params["W_ua"].T)  # i is 001's u
    np.testing.assert_array_equal(
        w_hh[2 * N_A : 3 * N_A], params["W_ca"].T
    )  # g is 001's c~
    np.testing.assert_array_equal(out.weight.detach().numpy(), params["W_ya"].T)
