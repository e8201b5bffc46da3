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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..blocks import backprop, label_losses
from ..models import lstm, rnn
from . import carousel
from .training import Adam, clip_by_norm
from .vanishing import (
    run_steps,
    scaled_to_spectral_norm,
    step_jacobians,
    tanh_rnn_states,
)

__all__ = [
    "LagRun",
    "rnn_lag_run",
    "lstm_lag_run",
    "lag_rows",
    "lag_table",
    "long_lag_batch",
    "batch_loss",
    "param_count",
    "train",
    "TASK_N_X",
    "TASK_N_Y",
]

TASK_N_X, TASK_N_Y = 4, 3


@dataclass
class LagRun:
    """One curve of the lag experiment: a model run T steps from a zero state, and a
    seeded unit gradient ``g`` on its last state s_T, sent back by ``van-lag-backprop``.

    ``states[t]`` is s_t for t = 0..T (h_t for the RNN; (c_t, a_t) concatenated for an
    LSTM); ``deltas[l]`` is ``delta_{T-l}`` (:func:`lstm_notes.blocks.backprop`);
    ``last_state(s_k, k)`` re-runs steps k+1..T from s_k (complex-safe), the function
    whose derivative ``deltas`` must be. For an LSTM, ``cell[l]`` is the part that
    stayed on the cell path, ``(prod of the last l forget gates) o g_c``
    (``van-lag-cell-path``), and ``cell_last(c_k, k)`` gives c_T from c_k with the
    recorded a's fed to the gates.
    """

    states: np.ndarray
    g: np.ndarray
    deltas: np.ndarray
    last_state: Callable
    cell: np.ndarray | None = None
    cell_last: Callable | None = None

    @property
    def norms(self) -> np.ndarray:
        """``||delta_{T-l}||`` for l = 0..T: the plotted curve."""
        return np.linalg.norm(self.deltas, axis=1)

    @property
    def cell_norms(self) -> np.ndarray:
        """``||(prod f) o g_c||`` for l = 0..T: the dotted curve (LSTMs only)."""
        return np.linalg.norm(self.cell, axis=1)

    @property
    def cell_states(self) -> np.ndarray:
        """``c_t`` for t = 0..T, the first half of the LSTM's state."""
        return self.states[:, : self.cell.shape[1]]

    def loss_at(self, lag: int) -> Callable:
        """``s_{T-lag} -> g . s_T``, the steps after T - lag re-run: its gradient is
        ``deltas[lag]``."""
        k = self.states.shape[0] - 1 - lag
        return lambda s_k: self.g @ self.last_state(s_k, k)

    def cell_loss_at(self, lag: int) -> Callable:
        """``c_{T-lag} -> g_c . c_T`` along the cell path; its gradient is
        ``cell[lag]``."""
        k, n = self.states.shape[0] - 1 - lag, self.cell.shape[1]
        return lambda c_k: self.g[:n] @ self.cell_last(c_k, k)


def rnn_lag_run(
    norm: float, T: int = 100, n_h: int = 16, n_x: int = 3, seed: int = 0
) -> LagRun:
    """The tanh RNN ``h_t = tanh(W h_{t-1} + U x_t)`` with W of spectral norm ``norm``:
    inputs N(0, 1), U with entries N(0, 1/n_x), h_0 = 0, a seeded unit gradient at
    h_T."""
    rng = np.random.default_rng(seed)
    W = scaled_to_spectral_norm(n_h, norm, seed)
    U = rng.standard_normal((n_h, n_x)) / np.sqrt(n_x)
    x = rng.standard_normal((T, n_x))
    h = tanh_rnn_states(W, x, U=U)
    g = rng.standard_normal(n_h)
    g /= np.linalg.norm(g)
    p = {"W": W, "U": U, "b": np.zeros(n_h)}
    return LagRun(
        h,
        g,
        backprop(step_jacobians(W, h), g),
        lambda h_k, k: run_steps(p, x, h_k, k, T),
    )


def lstm_lag_run(
    forget_bias: float | None, T: int = 100, n_a: int = 16, n_x: int = 3, seed: int = 0
) -> LagRun:
    """An LSTM of :mod:`lstm_notes.models.lstm` with forget-gate bias ``forget_bias``, or the
    carousel (no forget gate: f = 1) for ``None``: inputs N(0, 1), zero
    initial states, a seeded unit gradient on (c_T, a_T), sent back through the full
    state Jacobians S_t of ``van-state-jacobian``.

    Checked as ``err-002-gates`` (errata/002-vanishing-note)."""
    rng = np.random.default_rng(seed)
    if forget_bias is None:
        params = lstm.init_params(n_x, n_a, 1, seed=seed, forget_gate=False)
    else:
        params = lstm.init_params(n_x, n_a, 1, seed=seed, forget_bias=forget_bias)
    x = rng.standard_normal((T, n_x))
    a, c, S = carousel.trajectory(params, x, np.zeros(n_a), np.zeros(n_a))
    f = lstm.forward(params, x).f  # f[t-1] is f_t
    g = rng.standard_normal(2 * n_a)
    g /= np.linalg.norm(g)
    cell = backprop([np.diag(f_t) for f_t in f], g[:n_a])  # one forget gate a lag
    return LagRun(
        np.hstack([c, a]),
        g,
        backprop(S, g),
        lambda s_k, k: carousel.state_map(params, x, s_k, k, T),
        cell,
        lambda c_k, k: carousel.cell_path(params, x, a, c_k, k, T),
    )


def lag_rows(rnn_runs: dict, lstm_runs: dict) -> dict[str, np.ndarray]:
    """Name every curve of the lag experiment: ``rnn_runs`` maps a spectral norm to its
    :class:`LagRun`, ``lstm_runs`` a forget bias (None: the carousel) to its run."""
    rows = {f"tanh RNN, ||W||_2 = {s:g}": r.norms for s, r in rnn_runs.items()}
    for b, r in lstm_runs.items():
        name = "carousel, f = 1" if b is None else f"LSTM, forget bias {b:+g}"
        rows[name], rows[f"{name}, cell path"] = r.norms, r.cell_norms
    return rows


def lag_table(rows: dict, at) -> str:
    """The curves' values at the lags ``at``, as a fixed-width table (formatting only:
    every number is a curve's value)."""
    lags = "".join(f"{'lag ' + str(l):>10s}" for l in at)
    header = f"{'':31s}{lags}"
    lines = [
        f"{name:31s}{''.join(f'{v[l]:10.1e}' for l in at)}" for name, v in rows.items()
    ]
    return "\n".join([header, *lines])


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


def batch_loss(model, args: dict, x, y):
    """``L = sum_b L^(b)`` (equation ``van-batch-grads``): the loss of a batch, one
    sequence at a time through ``model``'s own ``loss`` (:mod:`lstm_notes.models.rnn` or
    :mod:`lstm_notes.models.lstm`). ``args`` holds the parameters and, optionally, initial
    states under the model's names (``a0``, ``c0`` for the LSTM), each (B, n) with
    row b for sequence b (zeros if absent). Complex-safe: the function whose gradient
    the batched backward passes are checked against."""
    params = {k: v for k, v in args.items() if k not in model.STATE_NAMES}
    states = {k: v for k, v in args.items() if k not in params}
    return sum(
        model.loss(params, x[:, b], y[:, b], **{k: v[b] for k, v in states.items()})
        for b in range(x.shape[1])
    )


def param_count(params) -> int:
    """The number of scalar parameters of a model."""
    return int(sum(v.size for v in params.values()))


def train(
    model: str,
    params,
    T: int,
    steps: int = 400,
    B: int = 32,
    lr: float = 0.01,
    seed: int = 0,
    clip: float = 1.0,
):
    """Adam on fresh seeded batches of the long-lag task; ``model`` is "rnn" or
    "carousel" (an LSTM without a forget gate). Gradients are averaged over the batch
    and clipped to norm ``clip``.

    Returns ``(params, curve, accuracy)``: ``curve[i]`` is the batch-mean cross-entropy of
    the last step at iteration i, ``accuracy`` the last-step accuracy on a held-out batch
    of 1000 sequences.
    """
    steps_of = {"rnn": rnn.batch_loss_and_grads, "carousel": lstm.batch_loss_and_grads}
    if model not in steps_of:
        raise ValueError(f"model must be 'rnn' or 'carousel', got {model!r}")
    if model == "carousel" and "W_fa" in params:
        raise ValueError("the carousel has no forget gate: params has W_fa")
    step_fn = steps_of[model]
    rng = np.random.default_rng(seed)
    p, adam = dict(params), Adam(params, lr)
    curve = np.empty(steps)
    for i in range(steps):
        x, y = long_lag_batch(T, B, rng)
        _, grads, probs = step_fn(p, x, y)
        # The last step's loss; log-probabilities are logits of the same softmax.
        curve[i] = np.mean(label_losses(np.log(probs[-1]), y[-1]))
        p = adam.step(p, clip_by_norm({k: grads[k] / B for k in p}, clip))
    x, y = long_lag_batch(T, 1000, np.random.default_rng(seed + 10_000))
    probs = step_fn(p, x, y)[2]
    accuracy = float(np.mean(np.argmax(probs[-1], axis=-1) == y[-1]))
    return p, curve, accuracy
