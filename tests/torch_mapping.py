"""Source 001's LSTM mapped onto ``torch.nn.LSTM`` + ``torch.nn.Linear``, for the test
suite's cross-check (``test_lstm_torch.py``). It lives with the tests, not in the package:
the book's build never needs PyTorch, so no page can check this mapping.

PyTorch (``torch.nn.LSTM``, one layer) computes, with gates stacked in the order i, f, g, o::

    i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      f = sigmoid(W_if x + b_if + W_hf h + b_hf)
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)         o = sigmoid(W_io x + b_io + W_ho h + b_ho)
    c' = f o c + i o g                              h' = o o tanh(c')

``weight_ih_l0`` is ``[W_ii; W_if; W_ig; W_io]`` (4 n_a, n_x), ``weight_hh_l0`` is
``[W_hi; W_hf; W_hg; W_ho]`` (4 n_a, n_a), and there are two bias vectors (4 n_a,).

Source 001 writes ``z_u = W_uaᵀ a + W_uxᵀ x + b_u``: its update gate ``u`` is PyTorch's
``i``, its candidate ``c̃`` is PyTorch's ``g``, its ``a`` is PyTorch's ``h``; each of
PyTorch's blocks is the *transpose* of 001's matrix (``W_ii = W_uxᵀ``, ``W_hi = W_uaᵀ``).
We put 001's bias in ``bias_ih_l0`` and zeros in ``bias_hh_l0`` (each one's gradient is the
gradient of their sum, so we read ``bias_ih_l0``'s). The output layer
``Linear(n_a, n_y)`` has weight ``W_yaᵀ`` and bias ``b_y``; the loss is
``cross_entropy(..., reduction="sum")``.

torch is imported inside the functions (it is the optional extra ``torch``).
"""

from __future__ import annotations

import numpy as np

from lstm_notes.models import lstm

__all__ = ["TORCH_ORDER", "to_torch", "loss_and_grads"]

#: Source 001's gate names in the order of PyTorch's blocks i, f, g, o.
TORCH_ORDER = ("u", "f", "c", "o")


def to_torch(params, gate_order=TORCH_ORDER):
    """``(lstm_module, linear_module)`` in float64 holding 001's parameters.

    ``gate_order`` names, for PyTorch's blocks i, f, g, o, which of 001's gates fills it;
    anything but :data:`TORCH_ORDER` is a wrong mapping (used as a negative control).
    """
    import torch

    n_x, n_a, n_y = lstm.sizes(params)
    p = {k: np.asarray(params[k], dtype=np.float64) for k in lstm.PARAM_NAMES}
    cell = torch.nn.LSTM(n_x, n_a, num_layers=1, bias=True, dtype=torch.float64)
    out = torch.nn.Linear(n_a, n_y, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih_l0.copy_(
            torch.from_numpy(np.vstack([p[f"W_{g}x"].T for g in gate_order]))
        )
        cell.weight_hh_l0.copy_(
            torch.from_numpy(np.vstack([p[f"W_{g}a"].T for g in gate_order]))
        )
        cell.bias_ih_l0.copy_(
            torch.from_numpy(np.concatenate([p[f"b_{g}"] for g in gate_order]))
        )
        cell.bias_hh_l0.zero_()
        out.weight.copy_(torch.from_numpy(p["W_ya"].T.copy()))
        out.bias.copy_(torch.from_numpy(p["b_y"]))
    return cell, out


def loss_and_grads(params, x, y, a0=None, c0=None, gate_order=TORCH_ORDER):
    """The loss and gradients computed by PyTorch's autograd, in 001's names and shapes.

    Returns ``(loss, grads)`` like :func:`lstm_notes.models.lstm.loss_and_grads`, plus ``"x"``
    in ``grads``. The blocks are read back with the same ``gate_order`` they were written
    with.
    """
    import torch

    p, x, y, a0, c0 = lstm.validated(params, x, y, a0, c0, allow_complex=False)
    n_a = p["W_fa"].shape[0]
    cell, out = to_torch(p, gate_order)
    xt = torch.tensor(x, requires_grad=True)
    h0 = torch.tensor(a0.reshape(1, n_a), requires_grad=True)
    s0 = torch.tensor(c0.reshape(1, n_a), requires_grad=True)
    hs, _ = cell(xt, (h0, s0))  # unbatched input: (T, n_x) -> (T, n_a)
    J = torch.nn.functional.cross_entropy(out(hs), torch.tensor(y), reduction="sum")
    J.backward()
    blocks = {
        "x": cell.weight_ih_l0.grad.numpy(),
        "a": cell.weight_hh_l0.grad.numpy(),
        "b": cell.bias_ih_l0.grad.numpy(),  # = bias_hh_l0.grad: both enter as a sum
    }
    grads = {}
    for k, g in enumerate(gate_order):
        rows = slice(k * n_a, (k + 1) * n_a)
        grads[f"W_{g}x"] = blocks["x"][rows].T.copy()
        grads[f"W_{g}a"] = blocks["a"][rows].T.copy()
        grads[f"b_{g}"] = blocks["b"][rows].copy()
    grads["W_ya"] = out.weight.grad.numpy().T.copy()
    grads["b_y"] = out.bias.grad.numpy().copy()
    grads["a0"] = h0.grad.numpy().reshape(n_a).copy()
    grads["c0"] = s0.grad.numpy().reshape(n_a).copy()
    grads["x"] = xt.grad.numpy().copy()
    return float(J.item()), {k: grads[k] for k in lstm.PARAM_NAMES + ("a0", "c0", "x")}
