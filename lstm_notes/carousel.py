"""The constant error carousel: an LSTM cell without a forget gate (f = 1), and the
Jacobian of the LSTM state (c_t, a_t) in (c_{t-1}, a_{t-1}).

The cell is that of :mod:`lstm_notes.lstm` (source 001's notation and orientation,
``z_g = W_ga^T a_prev + W_gx^T x_t + b_g``) with the forget gate removed, as in
Hochreiter and Schmidhuber (1997): the cell's self-connection has the fixed weight 1.0.
Vectors are 1-D arrays standing for columns; every function of the cell also accepts a
leading batch axis (arrays (B, n), rows are sequences), since ``W^T a`` is written
``a @ W``. Biases are stored as (n,).

Equations (step t = 1..T; ``x[t-1]`` is x_t)::

    u  = sigmoid(W_ua^T a_prev + W_ux^T x_t + b_u)       input ("update") gate
    o  = sigmoid(W_oa^T a_prev + W_ox^T x_t + b_o)       output gate
    c~ = tanh(W_ca^T a_prev + W_cx^T x_t + b_c)          cell input
    c  = c_prev + u o c~                                 the carousel: weight 1.0
    a  = o o tanh(c)
    yhat = softmax(W_ya^T a + b_y),   L = - sum_t log yhat_t[y_t]

State Jacobian of one step (numerator layout, state s = (c, a), 2 n_a entries; for the
LSTM with a forget gate f, the carousel is the case f = 1)::

    dc/dc_prev = diag(f)
    dc/da_prev = diag(c_prev o f') W_fa^T + diag(c~ o u') W_ua^T + diag(u o (1 - c~^2)) W_ca^T
    da/dc_prev = diag(o o (1 - tanh^2 c)) diag(f)
    da/da_prev = diag(tanh(c) o o') W_oa^T + diag(o o (1 - tanh^2 c)) dc/da_prev

with ``g' = g (1 - g)`` for the sigmoid gates (the ``W_fa`` term is absent when f = 1).

API (that of the book's other models)::

    params = init_params(n_x, n_a, n_y, seed=0)
    loss, grads = loss_and_grads(params, x, y, a0=None, c0=None)   # grads: params + a0, c0
    a, c, cache = cell_forward(params, x_t, a_prev, c_prev)          # cache: lstm.StepCache
    S = state_jacobian(params, cache)                                # (2 n_a, 2 n_a)
"""

from __future__ import annotations

import numpy as np

from . import _validate, lstm
from .calculus import dsigmoid, dtanh, sigmoid, softmax

__all__ = ["PARAM_NAMES", "GATES", "shapes", "init_params", "cell_forward", "forward",
           "loss", "loss_and_grads", "batch_loss_and_grads", "state_jacobian",
           "as_lstm_params", "OPEN_FORGET_BIAS", "cell_path", "state_map", "trajectory",
           "states_as_displayed", "cell_step_total"]

GATES = ("u", "o", "c")
PARAM_NAMES = ("W_ua", "W_ux", "b_u", "W_oa", "W_ox", "b_o", "W_ca", "W_cx", "b_c",
               "W_ya", "b_y")
#: sigmoid(40) rounds to exactly 1.0 in float64 (exp(-40) < eps / 2), and so does the
#: complex sigmoid's real part: an LSTM with W_fa = W_fx = 0 and this b_f is the carousel.
OPEN_FORGET_BIAS = 40.0


def shapes(n_x: int, n_a: int, n_y: int) -> dict[str, tuple]:
    """The shape of every parameter: those of :func:`lstm_notes.lstm.shapes` without f."""
    full = lstm.shapes(n_x, n_a, n_y)
    return {k: full[k] for k in PARAM_NAMES}


def init_params(n_x: int, n_a: int, n_y: int, seed: int = 0, scale: float | None = None,
                input_bias: float = 0.0) -> dict[str, np.ndarray]:
    """Seeded Gaussian weights (standard deviation ``scale``, default ``1/sqrt(n_a)``),
    biases ``0.1 N(0, 1)``, plus ``input_bias`` on the input gate's bias ``b_u``."""
    rng = np.random.default_rng(seed)
    s = 1.0 / np.sqrt(n_a) if scale is None else float(scale)
    params = {}
    for name, shape in shapes(n_x, n_a, n_y).items():
        params[name] = (0.1 if name.startswith("b_") else s) * rng.standard_normal(shape)
    params["b_u"] = params["b_u"] + input_bias
    return params


def as_lstm_params(params) -> dict[str, np.ndarray]:
    """The same cell as an :mod:`lstm_notes.lstm` model whose forget gate is held open:
    ``W_fa = W_fx = 0`` and ``b_f = 40``, so that ``f = sigmoid(40) = 1.0`` exactly."""
    n_a, n_x = params["W_ua"].shape[0], params["W_ux"].shape[0]
    return {**params, "W_fa": np.zeros((n_a, n_a)), "W_fx": np.zeros((n_x, n_a)),
            "b_f": np.full(n_a, OPEN_FORGET_BIAS)}


def _cell(p, x_t, a_prev, c_prev) -> lstm.StepCache:
    def pre(g):
        return a_prev @ p[f"W_{g}a"] + x_t @ p[f"W_{g}x"] + p[f"b_{g}"]

    u, o, c_tilde = sigmoid(pre("u")), sigmoid(pre("o")), np.tanh(pre("c"))
    c = c_prev + u * c_tilde
    a = o * np.tanh(c)
    return lstm.StepCache(x_t, a_prev, c_prev, np.ones_like(c), u, o, c_tilde, c, a)


def _sizes(params):
    _validate.keys(params, PARAM_NAMES)
    n_x, n_a = _validate.matrix_shape(params, "W_ux")
    n_y = _validate.matrix_shape(params, "W_ya")[1]
    return n_x, n_a, n_y


def cell_forward(params, x_t, a_prev, c_prev):
    """One step of the carousel cell (complex-safe). ``x_t`` (n_x,), ``a_prev``, ``c_prev``
    (n_a,); returns ``(a, c, cache)`` with a :class:`lstm_notes.lstm.StepCache` whose
    ``f`` is all ones."""
    n_x, n_a, n_y = _sizes(params)
    p = _validate.params(params, shapes(n_x, n_a, n_y), allow_complex=True)
    x_t = _validate.array(x_t, "x_t", (n_x,), allow_complex=True)
    a_prev = _validate.array(a_prev, "a_prev", (n_a,), allow_complex=True)
    c_prev = _validate.array(c_prev, "c_prev", (n_a,), allow_complex=True)
    cache = _cell(p, x_t, a_prev, c_prev)
    return cache.a, cache.c, cache


def _validated(params, x, y, a0, c0, allow_complex):
    n_x, n_a, n_y = _sizes(params)
    p = _validate.params(params, shapes(n_x, n_a, n_y), allow_complex)
    x, y = _validate.sequence(x, y, n_x, n_y, allow_complex)
    dtype = np.result_type(*p.values(), x)
    a0 = _validate.state(a0, "a0", n_a, dtype, allow_complex)
    c0 = _validate.state(c0, "c0", n_a, dtype, allow_complex)
    return p, x, y, a0, c0


def forward(params, x, a0, c0) -> list[lstm.StepCache]:
    """The steps' caches for x (T, n_x) or a batch x (T, B, n_x) (no input checks)."""
    steps, a, c = [], a0, c0
    for t in range(x.shape[0]):
        steps.append(_cell(params, x[t], a, c))
        a, c = steps[-1].a, steps[-1].c
    return steps


def _log_probs(params, steps, y):
    z = np.stack([s.a for s in steps]) @ params["W_ya"] + params["b_y"]   # (T, [B,] n_y)
    p = softmax(z)
    picked = np.take_along_axis(p, np.asarray(y)[..., None], axis=-1)[..., 0]
    return p, np.log(picked)


def loss(params, x, y, a0=None, c0=None):
    """The summed cross-entropy; accepts complex128 inputs for the complex step."""
    p, x, y, a0, c0 = _validated(params, x, y, a0, c0, allow_complex=True)
    return -np.sum(_log_probs(p, forward(p, x, a0, c0), y)[1])


def _backward(params, steps, y, probs):
    """Reverse-mode accumulation over a batch (leading axis B after time; rows are
    sequences, so ``sum_b u_b v_b^T`` is ``u.T @ v``). Returns the gradients of the
    parameters and of the initial states ``a0``, ``c0`` (B, n_a)."""
    grads = {k: np.zeros_like(params[k]) for k in PARAM_NAMES}
    da_next = np.zeros_like(steps[-1].a)
    dc_next = np.zeros_like(steps[-1].c)
    onehot = np.eye(params["W_ya"].shape[1])[np.asarray(y)]
    for t in range(len(steps) - 1, -1, -1):
        s = steps[t]
        dz_y = probs[t] - onehot[t]
        grads["W_ya"] += s.a.T @ dz_y
        grads["b_y"] += dz_y.sum(0)
        da = dz_y @ params["W_ya"].T + da_next
        tanh_c = np.tanh(s.c)
        dc = dc_next + da * s.o * dtanh(tanh_c)
        dz = {"u": dc * s.c_tilde * dsigmoid(s.u), "o": da * tanh_c * dsigmoid(s.o),
              "c": dc * s.u * dtanh(s.c_tilde)}
        for g in GATES:
            grads[f"W_{g}a"] += s.a_prev.T @ dz[g]
            grads[f"W_{g}x"] += s.x.T @ dz[g]
            grads[f"b_{g}"] += dz[g].sum(0)
        da_next = sum(dz[g] @ params[f"W_{g}a"].T for g in GATES)
        dc_next = dc                                  # f = 1: the carousel
    grads["a0"], grads["c0"] = da_next, dc_next
    return grads


def loss_and_grads(params, x, y, a0=None, c0=None) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and the gradient of every parameter and of ``a0``, ``c0`` (float64): the
    batch computation of :func:`batch_loss_and_grads` on a batch of one."""
    p, x, y, a0, c0 = _validated(params, x, y, a0, c0, allow_complex=False)
    loss, grads, _ = batch_loss_and_grads(p, x[:, None], y[:, None], a0[None], c0[None])
    grads["a0"], grads["c0"] = grads["a0"][0], grads["c0"][0]
    return loss, grads


def batch_loss_and_grads(params, x, y, a0=None, c0=None):
    """Summed loss and gradients over a batch (equation ``van-batch-grads``): ``x``
    (T, B, n_x), ``y`` (T, B) int labels, initial states ``a0``, ``c0`` (B, n_a)
    (zeros if None). Returns ``(loss, grads, probs)``: ``grads`` has every parameter
    and ``a0``, ``c0`` (B, n_a); ``probs`` (T, B, n_y). No input checks (speed)."""
    B, n_a = x.shape[1], params["W_ua"].shape[0]
    a0 = np.zeros((B, n_a)) if a0 is None else a0
    c0 = np.zeros((B, n_a)) if c0 is None else c0
    steps = forward(params, x, a0, c0)
    probs, logp = _log_probs(params, steps, y)
    return float(-np.sum(logp)), _backward(params, steps, y, probs), probs


def cell_path(model, params, x, a_rec, c_k, k: int, t: int):
    """``c_t`` from ``c_k`` with the recorded activations ``a_rec[s]`` fed to the gates
    (the paths through a cut, as the 1997 LSTM truncated them); ``model`` is
    :mod:`lstm_notes.lstm` or this module. Complex-safe."""
    c = c_k
    for s in range(k + 1, t + 1):
        c = model.cell_forward(params, x[s - 1], a_rec[s - 1], c)[1]
    return c


def state_map(model, params, x, s_k, k: int, t: int):
    """``(c_t, a_t)`` from ``s_k = (c_k, a_k)`` (concatenated), steps k+1..t re-run."""
    n = s_k.shape[0] // 2
    c, a = s_k[:n], s_k[n:]
    for s in range(k + 1, t + 1):
        a, c, _ = model.cell_forward(params, x[s - 1], a, c)
    return np.concatenate([c, a])


def states_as_displayed(params, x, a0, c0) -> tuple[np.ndarray, np.ndarray]:
    """Equation ``van-cec-cell`` evaluated as displayed, one step at a time, in columns:
    ``g = sigmoid(W_ga^T a_{t-1} + W_gx^T x_t + b_g)`` for g = u, o, ``c~ = tanh(...)``,
    ``c_t = c_{t-1} + u_t o c~_t``, ``a_t = o_t o tanh(c_t)``. Returns ``(a, c)``, each
    (T+1, n_a) with row t the state after step t (no input checks)."""
    a, c = [np.asarray(a0, float)], [np.asarray(c0, float)]
    for t in range(1, x.shape[0] + 1):
        def z(g):
            return params[f"W_{g}a"].T @ a[t - 1] + params[f"W_{g}x"].T @ x[t - 1] \
                + params[f"b_{g}"]
        u, o = 1 / (1 + np.exp(-z("u"))), 1 / (1 + np.exp(-z("o")))
        c_tilde = np.tanh(z("c"))
        c.append(c[t - 1] + u * c_tilde)
        a.append(o * np.tanh(c[t]))
    return np.array(a), np.array(c)


def trajectory(model, params, x, a0, c0):
    """``(a, c, S)``: states a[t], c[t] for t = 0..T and the state Jacobians S[t-1] of
    steps t = 1..T."""
    a, c, S = [a0], [c0], []
    for x_t in x:
        a_t, c_t, cache = model.cell_forward(params, x_t, a[-1], c[-1])
        a.append(a_t), c.append(c_t), S.append(state_jacobian(params, cache))
    return np.array(a), np.array(c), np.array(S)


def state_jacobian(params, cache: lstm.StepCache) -> np.ndarray:
    """``d(c_t, a_t) / d(c_{t-1}, a_{t-1})`` of one step, (2 n_a, 2 n_a), rows and columns
    ordered (c, a). ``params`` of :mod:`lstm_notes.lstm` (with a forget gate) or of this
    module (f = 1); ``cache`` from either ``cell_forward``."""
    n = cache.c.shape[0]
    f, u, o, ct = cache.f, cache.u, cache.o, cache.c_tilde
    tanh_c = np.tanh(cache.c)
    dc_da = (ct * dsigmoid(u))[:, None] * params["W_ua"].T \
        + (u * dtanh(ct))[:, None] * params["W_ca"].T
    if "W_fa" in params:
        dc_da = dc_da + (cache.c_prev * dsigmoid(f))[:, None] * params["W_fa"].T
    dc_dc = np.diag(f)
    via_c = (o * dtanh(tanh_c))[:, None]
    da_dc = via_c * dc_dc
    da_da = (tanh_c * dsigmoid(o))[:, None] * params["W_oa"].T + via_c * dc_da
    S = np.empty((2 * n, 2 * n), dtype=np.result_type(dc_da, da_da))
    S[:n, :n], S[:n, n:], S[n:, :n], S[n:, n:] = dc_dc, dc_da, da_dc, da_da
    return S


def cell_step_total(params, cache: lstm.StepCache, o_prev, *, drop_f: bool = False,
                    drop_o_prev: bool = False, drop_W_ca: bool = False) -> np.ndarray:
    """``dc_t/dc_{t-1}`` of the LSTM (:mod:`lstm_notes.lstm` params, ``cache`` of step
    t) when ``a_{t-1} = o_{t-1} o tanh(c_{t-1})`` is recomputed from ``c_{t-1}`` with
    ``o_{t-1}`` held fixed, three terms through the gates f, u and the candidate::

        diag(f) + [diag(c_prev o f') W_fa^T + diag(c~ o u') W_ua^T
                   + diag(u o (1 - c~^2)) W_ca^T] diag(o_{t-1} o tanh'(c_{t-1}))

    The flags are the defects of source 003's last line of Exercise 3(c): ``drop_f``
    leaves out ``diag(f)``, ``drop_o_prev`` the factor ``o_{t-1}``, ``drop_W_ca`` the
    weight matrix of the candidate's term.
    """
    f, u, ct, cp = cache.f, cache.u, cache.c_tilde, cache.c_prev
    da_dc = (1.0 if drop_o_prev else o_prev) * dtanh(np.tanh(cp))   # da_{t-1}/dc_{t-1}
    W_c = np.eye(cp.shape[0]) if drop_W_ca else params["W_ca"].T
    via_a = (cp * dsigmoid(f))[:, None] * params["W_fa"].T \
        + (ct * dsigmoid(u))[:, None] * params["W_ua"].T \
        + (u * dtanh(ct))[:, None] * W_c
    return (0.0 if drop_f else np.diag(f)) + via_a * da_dc
