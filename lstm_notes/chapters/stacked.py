"""The stacked-gate form of the LSTM step, in the notation of source 000.

Source 000 (a forum question) writes the candidate as ``a`` and the gates as ``i, f, o``,
multiplies without transposes (``W^g x + U^g h``), has no biases, and stacks the four
pre-activations::

    I = [x_t; h_{t-1}]                      (n_x + n_a,)
    z = [a_hat; i_hat; f_hat; o_hat] = W I  W = [[W^c U^c]; [W^i U^i]; [W^f U^f]; [W^o U^o]]
    a = tanh(a_hat), i = sigmoid(i_hat), f = sigmoid(f_hat), o = sigmoid(o_hat)
    c_t = i o a + f o c_{t-1},  h_t = o o tanh(c_t)

In source 001's notation (module :mod:`lstm_notes.models.lstm`): 000's ``a`` is 001's ``c̃``,
``i`` is ``Γ_u``, ``f`` is ``Γ_f``, ``o`` is ``Γ_o``, ``h`` is ``a``; ``W^g = W_gxᵀ`` and
``U^g = W_gaᵀ`` (``g`` = c, u, f, o). We keep 001's biases as a stacked ``b`` (4 n_a,),
``z = W I + b``; 000's equations are the case ``b = 0``.

Backward, given ``δh`` (total, into h_t) and ``δc`` (from step t+1)::

    δc  += δh o o o (1 - tanh²c)
    δz   = [δc o i o (1 - a²); δc o a o i(1 - i); δc o c_{t-1} o f(1 - f); δh o tanh c o o(1 - o)]
    δI   = Wᵀ δz  = [δx_t; δh_{t-1}]         δW += δz Iᵀ         δb += δz
    δc_{t-1} = δc o f
"""

from __future__ import annotations

import numpy as np

from ..blocks import dsigmoid, dtanh, label_losses, output_error, sigmoid, softmax
from ..checking import validate
from ..models import lstm

__all__ = [
    "ORDER",
    "stack",
    "unstack",
    "pre_activations",
    "step_forward",
    "step_backward",
    "loss",
    "loss_and_grads",
    "loss_of_I",
    "loss_of_W_at_step",
]

#: 001's names of the four blocks of z, in source 000's order (candidate a, i, f, o).
ORDER = ("c", "u", "f", "o")


def stack(params):
    """``(W, b)``: W (4 n_a, n_x + n_a) with row blocks ``[W^g U^g] = [W_gxᵀ W_gaᵀ]``
    in :data:`ORDER`, and b (4 n_a,)."""
    W = np.vstack(
        [np.hstack([params[f"W_{g}x"].T, params[f"W_{g}a"].T]) for g in ORDER]
    )
    b = np.concatenate([params[f"b_{g}"] for g in ORDER])
    return W, b


def unstack(W, b, W_ya, b_y, n_x: int):
    """The per-gate parameter dict of :mod:`lstm_notes.models.lstm` from the stacked
    ``W``, ``b``. ``W_ya`` (n_a, n_y) gives the sizes the stacked ``W`` (4 n_a, n_x +
    n_a) and ``b`` (4 n_a,) are checked against, so that a wrongly sized ``W`` is named
    as the caller wrote it (complex values allowed, for the complex step)."""
    if np.ndim(W_ya) != 2:
        raise ValueError(f"W_ya must have shape (n_a, n_y), got {np.shape(W_ya)}")
    W_ya = validate.array(W_ya, "W_ya", np.shape(W_ya), allow_complex=True)
    n_a = W_ya.shape[0]
    W = validate.array(W, "W", (4 * n_a, n_x + n_a), allow_complex=True)
    b = validate.array(b, "b", (4 * n_a,), allow_complex=True)
    params = {}
    for k, g in enumerate(ORDER):
        rows = slice(k * n_a, (k + 1) * n_a)
        params[f"W_{g}x"] = W[rows, :n_x].T
        params[f"W_{g}a"] = W[rows, n_x:].T
        params[f"b_{g}"] = b[rows]
    params["W_ya"], params["b_y"] = W_ya, b_y
    return {k: params[k] for k in lstm.PARAM_NAMES}


def pre_activations(W, b, x_t, h_prev):
    """``(z, I)``: the stacked pre-activations ``z = W I + b`` and ``I = [x_t; h_prev]``
    (equation ``lstm-stk-z``).

    Checked as ``lstm-stk-z`` (lstm/stacked)."""
    I = np.concatenate([x_t, h_prev])
    return W @ I + b, I


def step_forward(W, b, x_t, h_prev, c_prev):
    """One step in stacked form (complex-safe); returns ``(h, c, cache)``. A second
    formulation of :mod:`lstm_notes.models.lstm`'s step, written as source 000 stacks it:
    the page holds the two against each other (``lstm-stk-equal``)."""
    z, I = pre_activations(W, b, x_t, h_prev)
    a_hat, i_hat, f_hat, o_hat = np.split(z, 4)
    a, i, f, o = np.tanh(a_hat), sigmoid(i_hat), sigmoid(f_hat), sigmoid(o_hat)
    c = i * a + f * c_prev
    h = o * np.tanh(c)
    return h, c, {"I": I, "a": a, "i": i, "f": f, "o": o, "c": c, "c_prev": c_prev}


def step_backward(W, dh, dc, cache):
    """The backward pass of one stacked step (``lstm-stk-dz``, ``lstm-stk-dI``).

    ``dh`` (n_a,) is the total gradient in h_t, ``dc`` (n_a,) the gradient reaching c_t
    from step t+1. Returns ``(dz, dI, dc_prev)``: ``dz`` (4 n_a,), ``dI = Wᵀ dz``
    (n_x + n_a,) whose blocks are δx_t and δh_{t-1}, and δc_{t-1} (n_a,). The step's
    contributions to the parameters are ``np.outer(dz, I)`` and ``dz``.
    """
    a, i, f, o, c = (cache[k] for k in ("a", "i", "f", "o", "c"))
    tanh_c = np.tanh(c)
    dc = dc + dh * o * dtanh(tanh_c)
    dz = np.concatenate(
        [
            dc * i * dtanh(a),
            dc * a * dsigmoid(i),
            dc * cache["c_prev"] * dsigmoid(f),
            dh * tanh_c * dsigmoid(o),
        ]
    )
    return dz, W.T @ dz, dc * f


def loss(W, b, W_ya, b_y, x, y, h0=None, c0=None):
    """The summed cross-entropy of the sequence, as a function of the stacked ``W``, ``b``
    (complex-safe; the model is :mod:`lstm_notes.models.lstm`'s)."""
    return lstm.loss(unstack(W, b, W_ya, b_y, np.shape(x)[1]), x, y, h0, c0)


def loss_of_I(params, x, y, t: int, I, a0=None, c0=None):
    """The loss with step t's input ``I = [x_t; h_{t-1}]`` replaced (as step t reads it)."""
    n_x = np.shape(x)[1]
    return lstm.step_loss(
        params, x, y, t, {"x": I[:n_x], "a_prev": I[n_x:]}, None, a0, c0
    )


def loss_of_W_at_step(params, x, y, t: int, W, a0=None, c0=None):
    """The loss with the stacked gate weights ``W`` used at step t only (the other steps
    keep ``params``): its gradient in ``W`` is step t's term of ``δW``."""
    b = stack(params)[1]
    gates = unstack(W, b, params["W_ya"], params["b_y"], np.shape(x)[1])
    replace = {k: v for k, v in gates.items() if k[:2] == "W_" and k != "W_ya"}
    return lstm.step_loss(params, x, y, t, replace, None, a0, c0)


def loss_and_grads(W, b, W_ya, b_y, x, y, h0=None, c0=None):
    """Loss and ``(dW, db)`` by the stacked backward pass through time (equation
    ``lstm-stk-dW``): ``δW = Σ_t δz_t I_tᵀ``, ``δb = Σ_t δz_t``. The output layer is
    001's.

    Checked as ``lstm-stk-dW``, ``lstm-stk-equal`` (lstm/stacked)."""
    params = unstack(W, b, W_ya, b_y, np.shape(x)[1])
    p, x, y, h0, c0 = lstm.validated(params, x, y, h0, c0, allow_complex=False)
    T, n_x = x.shape
    n_a = W_ya.shape[0]
    h, c = [h0], [c0]
    caches, zy = [], []
    for t in range(T):
        h_t, c_t, cache = step_forward(W, b, x[t], h[-1], c[-1])
        h.append(h_t)
        c.append(c_t)
        caches.append(cache)
        zy.append(W_ya.T @ h_t + b_y)
    zy = np.array(zy)
    J = np.sum(label_losses(zy, y))
    dzy = output_error(softmax(zy), y)
    dW, db = np.zeros_like(W), np.zeros_like(b)
    dh_next, dc_next = np.zeros(n_a), np.zeros(n_a)
    for t in range(T - 1, -1, -1):
        dz, dI, dc_next = step_backward(W, W_ya @ dzy[t] + dh_next, dc_next, caches[t])
        dW += np.outer(dz, caches[t]["I"])
        db += dz
        dh_next = dI[n_x:]
    return float(J), (dW, db)
