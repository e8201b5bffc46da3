"""Experiments of the part on vanishing gradients: gradient norm against lag for the LSTM
and the carousel, and a long-lag task that a tanh RNN and a carousel LSTM are trained on.

Everything is seeded and small (a few seconds in all). Batches are a leading axis after
time: ``x`` (T, B, n_x), ``y`` (T, B); row vectors, so ``W h`` is ``h @ W.T``.

The long-lag task
-----------------
A symbol s in {0, 1} is shown at step 1 (one-hot on input channels 0, 1), Gaussian noise
is fed on channel 2 at every step, and channel 3 is a query flag, 1 at the last step only.
The target is the class "blank" (0) at steps 1..T-1 and 1 + s at step T: the network must
carry one bit across T - 1 steps of noise. Chance level at the last step is log 2 in
cross-entropy and 50 % in accuracy.
"""

from __future__ import annotations

import numpy as np

from . import carousel, lstm, rnn
from .training import Adam, clip_by_norm
from .calculus import softmax
from .vanishing import backprop_norms

__all__ = ["lstm_lag_norms", "lag_rows", "lag_table", "long_lag_batch", "rnn_batch_loss_and_grads", "param_count",
           "train", "TASK_N_X", "TASK_N_Y"]

TASK_N_X, TASK_N_Y = 4, 3


def lstm_lag_norms(forget_bias: float | None, T: int = 100, n_a: int = 16, n_x: int = 3,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gradient norm against lag through an LSTM, from a unit gradient at the last state.

    ``forget_bias`` is the forget-gate bias of an :mod:`lstm_notes.lstm` cell, or ``None``
    for the carousel (f = 1, :mod:`lstm_notes.carousel`). Inputs N(0, 1); the gradient
    starts as a seeded unit vector on (c_T, a_T) and goes back through the full state
    Jacobians. Returns (full, cell_path): ``||(dc, da)||`` at lags 0..T, and the norm of
    the part that stayed on the cell path, ``||prod f o dc_T||``.
    """
    rng = np.random.default_rng(seed)
    if forget_bias is None:
        params, model = carousel.init_params(n_x, n_a, 1, seed=seed), carousel
    else:
        params, model = lstm.init_params(n_x, n_a, 1, seed=seed, forget_bias=forget_bias), lstm
    a, c = np.zeros(n_a), np.zeros(n_a)
    jacobians, forgets = [], []
    for x_t in rng.standard_normal((T, n_x)):
        a, c, cache = model.cell_forward(params, x_t, a, c)
        jacobians.append(carousel.state_jacobian(params, cache))
        forgets.append(cache.f)
    g = rng.standard_normal(2 * n_a)
    g /= np.linalg.norm(g)
    kept = np.cumprod(np.array(forgets[::-1]), axis=0)          # prod of the last l f's
    cell_path = np.linalg.norm(np.vstack([np.ones(n_a), kept]) * g[:n_a], axis=1)
    return backprop_norms(jacobians, g), cell_path


def lag_rows(rnn_norms: dict, lstm_norms: dict) -> dict[str, np.ndarray]:
    """Name every curve of the lag experiment: ``rnn_norms`` maps a spectral norm to its
    curve, ``lstm_norms`` a forget bias (None: the carousel) to (full, cell path)."""
    rows = {f"tanh RNN, sigma_max {s:g}": v for s, v in rnn_norms.items()}
    for b, (full, cell) in lstm_norms.items():
        name = "carousel, f = 1" if b is None else f"LSTM, forget bias {b:+g}"
        rows[name], rows[name + ", cell path"] = full, cell
    return rows


def lag_table(rows: dict, at=(10, 50, 100)) -> str:
    """The curves' values at a few lags, as a fixed-width table."""
    lines = [f"{'':31s}" + "".join(f"{'lag ' + str(l):>10s}" for l in at)]
    lines += [f"{name:31s}" + "".join(f"{v[l]:10.1e}" for l in at) for name, v in rows.items()]
    return "\n".join(lines)


def long_lag_batch(T: int, B: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """One batch of the long-lag task: ``x`` (T, B, 4) and ``y`` (T, B)."""
    s = rng.integers(0, 2, B)
    x = np.zeros((T, B, TASK_N_X))
    x[0, np.arange(B), s] = 1.0
    x[:, :, 2] = rng.standard_normal((T, B))
    x[-1, :, 3] = 1.0
    y = np.zeros((T, B), dtype=int)
    y[-1] = 1 + s
    return x, y


def rnn_batch_loss_and_grads(params, x, y):
    """The tanh RNN of :mod:`lstm_notes.rnn` on a batch, ``h_0 = 0``: summed loss,
    gradients and probabilities (T, B, n_y). Equals the sum over the batch of
    :func:`lstm_notes.rnn.loss_and_grads` (no input checks: speed)."""
    W, U, b, V, c = (params[k] for k in rnn.PARAM_NAMES)
    T, B = y.shape
    h = np.zeros((T + 1, B, W.shape[0]))
    for t in range(1, T + 1):
        h[t] = np.tanh(h[t - 1] @ W.T + x[t - 1] @ U.T + b)
    p = softmax(h[1:] @ V.T + c)
    onehot = np.eye(V.shape[0])[y]
    loss = -np.sum(np.log(np.sum(p * onehot, axis=-1)))
    dout = p - onehot
    grads = {"V": np.einsum("tbi,tbj->ij", dout, h[1:]), "c": dout.sum((0, 1))}
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dz_next = np.zeros((B, W.shape[0]))
    for t in range(T, 0, -1):
        dz = (1.0 - h[t] ** 2) * (dout[t - 1] @ V + dz_next @ W)
        dW += dz.T @ h[t - 1]
        dU += dz.T @ x[t - 1]
        db += dz.sum(0)
        dz_next = dz
    grads.update(W=dW, U=dU, b=db)
    return float(loss), grads, p


def param_count(params) -> int:
    return int(sum(v.size for v in params.values()))


def train(model: str, params, T: int, steps: int = 400, B: int = 32, lr: float = 0.01,
          seed: int = 0, clip: float = 1.0):
    """Adam on fresh seeded batches of the long-lag task; ``model`` is "rnn" or
    "carousel". Gradients are averaged over the batch and clipped to norm ``clip``.

    Returns ``(params, curve, accuracy)``: ``curve[i]`` is the batch-mean cross-entropy of
    the last step at iteration i, ``accuracy`` the last-step accuracy on a held-out batch
    of 1000 sequences.
    """
    step_fn = {"rnn": rnn_batch_loss_and_grads,
               "carousel": carousel.batch_loss_and_grads}[model]
    rng = np.random.default_rng(seed)
    p, adam = dict(params), Adam(params, lr)
    curve = np.empty(steps)
    for i in range(steps):
        x, y = long_lag_batch(T, B, rng)
        _, grads, probs = step_fn(p, x, y)
        curve[i] = -np.mean(np.log(probs[-1, np.arange(B), y[-1]]))
        p = adam.step(p, clip_by_norm({k: g / B for k, g in grads.items()}, clip))
    x, y = long_lag_batch(T, 1000, np.random.default_rng(seed + 10_000))
    probs = step_fn(p, x, y)[2]
    accuracy = float(np.mean(np.argmax(probs[-1], axis=-1) == y[-1]))
    return p, curve, accuracy
