"""A memory task and a small Adam loop, to train :mod:`lstm_notes.models.lstm` with its own
gradients on the book's training page.

Task ("delayed copy"): at each step t the input is a one-hot symbol out of ``n_sym``; the
target is the symbol seen ``k`` steps earlier, and a blank class (index ``n_sym``) for the
first ``k`` steps. A model without memory can do no better than chance, ``log n_sym``
nats per step; one that remembers the last ``k`` symbols reaches zero.
"""

from __future__ import annotations

import numpy as np

from ..models import lstm

__all__ = ["delayed_copy", "train", "accuracy", "clip_by_norm", "Adam"]


def clip_by_norm(grads: dict, clip: float) -> dict:
    """The gradients rescaled so that their joint norm is at most ``clip``."""
    norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    return {k: g * (clip / norm) for k, g in grads.items()} if norm > clip else grads


class Adam:
    """Adam's moment estimates for a dict of parameters; ``step`` returns the updated
    parameters (new arrays; the ones passed in are left untouched)."""

    def __init__(
        self,
        params: dict,
        lr: float,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
    ):
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict, grads: dict) -> dict:
        """The parameters after one Adam step on ``grads`` (a new dict)."""
        self.t += 1
        out = {}
        for k, g in grads.items():
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g**2
            m_hat = self.m[k] / (1 - self.b1**self.t)
            v_hat = self.v[k] / (1 - self.b2**self.t)
            out[k] = params[k] - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return out


def delayed_copy(n_seq: int, T: int, k: int, n_sym: int, seed: int = 0):
    """``n_seq`` sequences: a list of ``(x, y)`` with ``x`` (T, n_sym) one-hot float64 and
    ``y`` (T,) int labels in ``range(n_sym + 1)`` (``n_sym`` is the blank): the symbol
    read ``k`` steps earlier, the blank for the first ``k`` steps (0 <= k < T)."""
    if not 0 <= k < T:
        raise ValueError(f"the delay k must satisfy 0 <= k < T = {T}, got k = {k}")
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(n_seq):
        s = rng.integers(0, n_sym, T)
        y = np.concatenate([np.full(k, n_sym), s[: T - k]])
        data.append((np.eye(n_sym)[s], y))
    return data


def train(
    params,
    data,
    iterations: int,
    batch: int = 8,
    lr: float = 0.02,
    seed: int = 0,
    clip: float = 5.0,
):
    """Adam on the mean loss per step over mini-batches, with gradients from
    :func:`lstm_notes.models.lstm.loss_and_grads`. Returns ``(params, losses)``, ``losses[i]`` the
    mean loss per step (nats) of the batch at iteration i. Gradients are clipped to norm
    ``clip``."""
    rng = np.random.default_rng(seed)
    p, adam = dict(params), Adam(params, lr)
    losses = np.empty(iterations)
    for it in range(iterations):
        total, g = 0.0, {k: np.zeros_like(v) for k, v in p.items()}
        n_steps = 0
        for j in rng.integers(0, len(data), batch):
            x, y = data[j]
            loss, grads = lstm.loss_and_grads(p, x, y)
            total += loss
            n_steps += len(y)
            for k in p:
                g[k] += grads[k]
        p = adam.step(p, clip_by_norm({k: val / n_steps for k, val in g.items()}, clip))
        losses[it] = total / n_steps
    return p, losses


def accuracy(params, data) -> float:
    """The fraction of steps whose most probable class is the target."""
    hits = steps = 0
    for x, y in data:
        y_hat = lstm.forward(params, x).y_hat
        hits += int(np.sum(np.argmax(y_hat, axis=1) == y))
        steps += len(y)
    return hits / steps
