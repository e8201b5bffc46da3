"""Helpers of the page "The constant error carousel" (chapter layer): the Jacobian of the
LSTM state (c_t, a_t) in (c_{t-1}, a_{t-1}), and the cell path through a cut.

The carousel itself is :mod:`lstm_notes.models.lstm` without a forget gate
(``init_params(..., forget_gate=False)``): Hochreiter and Schmidhuber (1997) give the
cell's self-connection the fixed weight 1.0, so ``c = c_prev + u o c~``. Every function
here takes the parameters of either (with a forget gate f, the carousel is the case
f = 1). Vectors are 1-D arrays standing for columns; source 001's orientation,
``z_g = W_ga^T a_prev + W_gx^T x_t + b_g``.

State Jacobian of one step (numerator layout, state s = (c, a), 2 n_a entries; for the
LSTM with a forget gate f, the carousel is the case f = 1)::

    dc/dc_prev = diag(f)
    dc/da_prev = diag(c_prev o f') W_fa^T + diag(c~ o u') W_ua^T + diag(u o (1 - c~^2)) W_ca^T
    da/dc_prev = diag(o o (1 - tanh^2 c)) diag(f)
    da/da_prev = diag(tanh(c) o o') W_oa^T + diag(o o (1 - tanh^2 c)) dc/da_prev

with ``g' = g (1 - g)`` for the sigmoid gates (the ``W_fa`` term is absent when f = 1).

API::

    a, c, S = trajectory(params, x, a0, c0)          # states and step Jacobians S_t
    S_t = state_jacobian(params, step)                # (2 n_a, 2 n_a), step: a StepCache
"""

from __future__ import annotations

import numpy as np

from ..blocks import dsigmoid, dtanh
from ..models import lstm

__all__ = [
    "OPEN_FORGET_BIAS",
    "as_lstm_params",
    "cell_path",
    "state_map",
    "trajectory",
    "states_as_displayed",
    "state_jacobian",
    "cell_step_total",
]

#: sigmoid(40) rounds to exactly 1.0 in float64 (exp(-40) < eps / 2), and so does the
#: complex sigmoid's real part: an LSTM with W_fa = W_fx = 0 and this b_f is the carousel.
OPEN_FORGET_BIAS = 40.0


def as_lstm_params(params) -> dict[str, np.ndarray]:
    """The carousel's cell as an LSTM whose forget gate is held open by its parameters:
    ``W_fa = W_fx = 0`` and ``b_f = 40``, so that ``f = sigmoid(40) = 1.0`` exactly."""
    n_a, n_x = params["W_ua"].shape[0], params["W_ux"].shape[0]
    return {
        **params,
        "W_fa": np.zeros((n_a, n_a)),
        "W_fx": np.zeros((n_x, n_a)),
        "b_f": np.full(n_a, OPEN_FORGET_BIAS),
    }


def cell_path(params, x, a_rec, c_k, k: int, t: int):
    """``c_t`` from ``c_k`` with the recorded activations ``a_rec[s]`` fed to the gates
    (the paths through a cut, as the 1997 LSTM truncated them). Complex-safe."""
    c, step = c_k, lstm.stepper(params)
    for s in range(k + 1, t + 1):
        c = step(x[s - 1], a_rec[s - 1], c)[1]
    return c


def state_map(params, x, s_k, k: int, t: int):
    """``(c_t, a_t)`` from ``s_k = (c_k, a_k)`` (concatenated), steps k+1..t re-run."""
    n = s_k.shape[0] // 2
    c, a = s_k[:n], s_k[n:]
    step = lstm.stepper(params)
    for s in range(k + 1, t + 1):
        a, c, _ = step(x[s - 1], a, c)
    return np.concatenate([c, a])


def states_as_displayed(params, x, a0, c0) -> tuple[np.ndarray, np.ndarray]:
    """Equation ``van-cec-cell`` evaluated as displayed, one step at a time, in columns:
    ``g = sigmoid(W_ga^T a_{t-1} + W_gx^T x_t + b_g)`` for g = u, o, ``c~ = tanh(...)``,
    ``c_t = c_{t-1} + u_t o c~_t``, ``a_t = o_t o tanh(c_t)``. Returns ``(a, c)``, each
    (T+1, n_a) with row t the state after step t (no input checks)."""
    a, c = [np.asarray(a0, float)], [np.asarray(c0, float)]
    for t in range(1, x.shape[0] + 1):

        def z(g, t=t):
            return (
                params[f"W_{g}a"].T @ a[t - 1]
                + params[f"W_{g}x"].T @ x[t - 1]
                + params[f"b_{g}"]
            )

        u, o = 1 / (1 + np.exp(-z("u"))), 1 / (1 + np.exp(-z("o")))
        c_tilde = np.tanh(z("c"))
        c.append(c[t - 1] + u * c_tilde)
        a.append(o * np.tanh(c[t]))
    return np.array(a), np.array(c)


def trajectory(params, x, a0=None, c0=None):
    """``(a, c, S)``: states a[t], c[t] for t = 0..T and the state Jacobians S[t-1] of
    steps t = 1..T; a missing initial state is zeros, as in the model.

    Checked as ``van-cec-cell``, ``van-state-jacobian`` (vanishing/carousel)."""
    n_a = lstm.sizes(params)[1]
    a0 = np.zeros(n_a) if a0 is None else a0
    c0 = np.zeros(n_a) if c0 is None else c0
    a, c, S = [a0], [c0], []
    step = lstm.stepper(params)
    for x_t in x:
        a_t, c_t, cache = step(x_t, a[-1], c[-1])
        a.append(a_t), c.append(c_t), S.append(state_jacobian(params, cache))
    return np.array(a), np.array(c), np.array(S)


def _dc_da_prev(params, cache: lstm.StepCache, W_c=None) -> np.ndarray:
    """``dc_t / da_{t-1}`` of one step, c_{t-1} held fixed: through the gates f (when
    there is one), u and the candidate,
    ``diag(c_prev o f') W_fa^T + diag(c~ o u') W_ua^T + diag(u o (1 - c~^2)) W_c``, with
    ``W_c = W_ca^T`` unless another matrix is given (source 003's line, which drops it)."""
    f, u, ct = cache.f, cache.u, cache.c_tilde
    W_c = params["W_ca"].T if W_c is None else W_c
    dc_da = (ct * dsigmoid(u))[:, None] * params["W_ua"].T + (u * dtanh(ct))[
        :, None
    ] * W_c
    if "W_fa" in params:
        dc_da = dc_da + (cache.c_prev * dsigmoid(f))[:, None] * params["W_fa"].T
    return dc_da


def state_jacobian(params, cache: lstm.StepCache) -> np.ndarray:
    """``d(c_t, a_t) / d(c_{t-1}, a_{t-1})`` of one step, (2 n_a, 2 n_a), rows and columns
    ordered (c, a). ``params`` of :mod:`lstm_notes.models.lstm`, with a forget gate or
    without (the carousel, f = 1); ``cache`` the step's, from ``lstm.cell_forward``."""
    n = cache.c.shape[0]
    f, o = cache.f, cache.o
    tanh_c = np.tanh(cache.c)
    dc_da = _dc_da_prev(params, cache)
    dc_dc = np.diag(f)
    via_c = (o * dtanh(tanh_c))[:, None]
    da_dc = via_c * dc_dc
    da_da = (tanh_c * dsigmoid(o))[:, None] * params["W_oa"].T + via_c * dc_da
    S = np.empty((2 * n, 2 * n), dtype=np.result_type(dc_da, da_da))
    S[:n, :n], S[:n, n:], S[n:, :n], S[n:, n:] = dc_dc, dc_da, da_dc, da_da
    return S


def cell_step_total(
    params,
    cache: lstm.StepCache,
    o_prev,
    *,
    drop_f: bool = False,
    drop_o_prev: bool = False,
    drop_W_ca: bool = False,
) -> np.ndarray:
    """``dc_t/dc_{t-1}`` of the LSTM with a forget gate (:mod:`lstm_notes.models.lstm`
    params with ``W_fa``, ``cache`` of step t) when ``a_{t-1} = o_{t-1} o tanh(c_{t-1})``
    is recomputed from ``c_{t-1}`` with ``o_{t-1}`` held fixed, three terms through the
    gates f, u and the candidate::

        diag(f) + [diag(c_prev o f') W_fa^T + diag(c~ o u') W_ua^T
                   + diag(u o (1 - c~^2)) W_ca^T] diag(o_{t-1} o tanh'(c_{t-1}))

    The flags are the defects of source 003's last line of Exercise 3(c): ``drop_f``
    leaves out ``diag(f)``, ``drop_o_prev`` the factor ``o_{t-1}``, ``drop_W_ca`` the
    weight matrix of the candidate's term.

    Checked as ``err-003-3c-step`` (errata/003-homework).
    """
    if "W_fa" not in params:
        raise ValueError(
            "cell_step_total needs an LSTM with a forget gate (W_fa, W_fx, b_f)"
        )
    cp = cache.c_prev
    da_dc = (1.0 if drop_o_prev else o_prev) * dtanh(np.tanh(cp))  # da_{t-1}/dc_{t-1}
    W_c = np.eye(cp.shape[0]) if drop_W_ca else params["W_ca"].T
    via_a = _dc_da_prev(params, cache, W_c)
    return (0.0 if drop_f else np.diag(cache.f)) + via_a * da_dc
