"""A memory task and a small Adam loop, to train :mod:`lstm_notes.lstm` with its own
gradients on the book's training page.

Task ("delayed copy"): at each step t the input is a one-hot symbol out of ``n_sym``; the
target is the symbol seen ``k`` steps earlier, and a blank class (index ``n_sym``) for the
first ``k`` steps. A model without memory can do no better than chance, ``log n_sym``
nats per step; one that remembers the last ``k`` symbols reaches zero.
"""

from __future__ import annotations

import numpy as np

from . import lstm

__all__ = ["delayed_copy", "train", "accuracy"]


def delayed_copy(n_seq: int, T: int, k: int, n_sym: int, seed: int = 0):
    """``n_seq`` sequences: a list of ``(x, y)`` with ``x`` (T, n_sym) one-hot float64 and
    ``y`` (T,) int labels in ``range(n_sym + 1)`` (``n_sym`` is the blank)."""
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(n_seq):
        s = rng.integers(0, n_sym, T)
        y = np.concatenate([np.full(k, n_sym), s[:T - k]])
        data.append((np.eye(n_sym)[s], y))
    return data


def train(params, data, iterations: int, batch: int = 8, lr: float = 0.02, seed: int = 0,
          clip: float = 5.0):
    """Adam on the mean loss per step over mini-batches, with gradients from
    :func:`lstm_notes.lstm.loss_and_grads`. Returns ``(params, losses)``, ``losses[i]`` the
    mean loss per step (nats) of the batch at iteration i. Gradients are clipped to norm
    ``clip``."""
    rng = np.random.default_rng(seed)
    p = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v2 = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
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
        g = {k: val / n_steps for k, val in g.items()}
        norm = np.sqrt(sum(np.sum(val ** 2) for val in g.values()))
        if norm > clip:
            g = {k: val * (clip / norm) for k, val in g.items()}
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v2[k] = b2 * v2[k] + (1 - b2) * g[k] ** 2
            step = lr * (m[k] / (1 - b1 ** (it + 1))) / (np.sqrt(v2[k] / (1 - b2 ** (it + 1))) + eps)
            p[k] = p[k] - step
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
