"""Shared blocks (layer 2): the only copies of the formulas every model uses.

Activations and their derivatives, softmax and its Jacobian, cross-entropy, the output
error ``ŷ - e_y``, sums of outer products over steps (and batches), and chains of step
Jacobians with the back-propagation through them. Everything here is complex-safe
(usable with the complex step); nothing knows of a model. Vectors are 1-D arrays
standing for columns; a leading axis (steps, a batch) is allowed wherever it reads
naturally, and the last axis is always the vector's.

Equations
---------
``sigma(z) = 1 / (1 + exp(-z))``, ``sigma' = sigma (1 - sigma)``, ``tanh' = 1 - tanh^2``
``p = softmax(z)`` ->  ``dp/dz = diag(p) - p p^T``
``J = -y . log softmax(z)``  ->  ``dJ/dz = (sum y) p - y``,  ``p - e_y`` for a label
``dh_t/dh_k = F_t F_{t-1} ... F_{k+1}``  (the latest step on the left)
``delta_T = g``,  ``delta_{s-1} = F_s^T delta_s``
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "sigmoid",
    "dsigmoid",
    "dtanh",
    "softmax",
    "log_softmax",
    "softmax_jacobian",
    "cross_entropy",
    "cross_entropy_grad",
    "label_losses",
    "output_error",
    "outer_sum",
    "sum_rows",
    "chain",
    "chains_to",
    "backprop",
]


def sigmoid(z):
    """The logistic function ``1 / (1 + exp(-z))``, element-wise."""
    return 1.0 / (1.0 + np.exp(-z))


def dsigmoid(s):
    """``sigma'(z)`` written through ``s = sigma(z)``: ``s (1 - s)``."""
    return s * (1.0 - s)


def dtanh(t):
    """``tanh'(z)`` written through ``t = tanh(z)``: ``1 - t^2``."""
    return 1.0 - t * t


def softmax(z):
    """``exp(z_i) / sum_k exp(z_k)`` along the last axis, shifted by the largest entry
    so that no exponential overflows (equation ``calc-softmax-shift``).

    Checked as ``calc-softmax-shift`` (calculus/activations-softmax)."""
    z = np.asarray(z)
    shifted = z - np.max(z.real, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(z):
    """``log softmax(z)`` along the last axis, ``z - m - log sum_k exp(z_k - m)`` with
    ``m`` the largest entry (equation ``calc-softmax-shift``): the one copy of the
    log-probabilities that every cross-entropy of the package uses.

    Checked as ``calc-softmax-shift`` (calculus/activations-softmax)."""
    z = np.asarray(z)
    shifted = z - np.max(z.real, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax_jacobian(p):
    """``d softmax(z) / dz = diag(p) - p p^T`` with ``p = softmax(z)`` (symmetric).

    Checked as ``att-dalpha-dA`` (attention/attention-layer); ``calc-softmax-jacobian``
    (calculus/activations-softmax)."""
    return np.diag(p) - np.outer(p, p)


def cross_entropy(z, y):
    """``-sum_i y_i log softmax(z)_i`` for a target vector ``y`` (one-hot or not)."""
    return -np.sum(y * log_softmax(z))


def cross_entropy_grad(z, y):
    """Gradient of :func:`cross_entropy` in ``z``: ``(sum_i y_i) softmax(z) - y`` (each
    row on its own when ``z`` and ``y`` have leading axes).

    Checked as ``calc-xent-chain`` (calculus/activations-softmax); ``err-001-dby``
    (errata/001-output-and-layout)."""
    return np.sum(y, axis=-1, keepdims=True) * softmax(z) - y


def _labels(y, n_y: int, lead: tuple) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != lead or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"labels must be integers of shape {lead}, got {y.dtype} {y.shape}"
        )
    if y.size and (y.min() < 0 or y.max() >= n_y):
        raise ValueError(
            f"labels must lie in range(0, {n_y}), got {y.min()}..{y.max()}"
        )
    return y


def label_losses(z, y):
    """``-log softmax(z)[y]`` for integer labels: ``z`` (..., n_y), ``y`` (...) of the
    same leading shape (steps, or steps and a batch); returns an array of that shape.
    The models' loss is its sum."""
    z = np.asarray(z)
    y = _labels(y, z.shape[-1], z.shape[:-1])
    return -np.take_along_axis(log_softmax(z), y[..., None], axis=-1)[..., 0]


def output_error(y_hat, y):
    """``ŷ - e_y``, the gradient of ``-log softmax(z)[y]`` in ``z`` for integer labels
    (``y_hat`` (..., n_y), ``y`` its leading shape): the output error of every model.

    Checked as ``att-dOmega`` (attention/output); ``lstm-bptt-dzy`` (lstm/bptt)."""
    y_hat = np.asarray(y_hat)
    y = _labels(y, y_hat.shape[-1], y_hat.shape[:-1])
    return y_hat - (np.arange(y_hat.shape[-1]) == y[..., None])


def outer_sum(u, v):
    """``sum u v^T`` over every leading axis: ``u`` (..., n), ``v`` (..., m) -> (n, m).
    For 1-D vectors it is ``np.outer(u, v)``; with steps or a batch in front it adds
    one outer product per row, as a weight gradient sums its steps."""
    u, v = np.asarray(u), np.asarray(v)
    return u.reshape(-1, u.shape[-1]).T @ v.reshape(-1, v.shape[-1])


def sum_rows(v):
    """``v`` summed over every leading axis (steps, a batch): (..., n) -> (n,). A bias
    gradient sums its steps this way."""
    v = np.asarray(v)
    return v.reshape(-1, v.shape[-1]).sum(axis=0)


def chains_to(F, t: int) -> np.ndarray:
    """``P[k] = dh_t/dh_k = F_t F_{t-1} ... F_{k+1}`` for k = 0..t (the identity for
    k = t), the latest step on the left, from ``F[s-1] = F_s`` (T, n, n), any chain of
    step Jacobians; each from the one before, ``P[k] = P[k+1] F_{k+1}``. (t+1, n, n)."""
    F = np.asarray(F)
    if not 0 <= t <= F.shape[0]:
        raise ValueError(f"need 0 <= t <= T = {F.shape[0]}, got t = {t}")
    P = np.empty((t + 1, *F.shape[1:]), dtype=F.dtype)
    P[t] = np.eye(F.shape[1])
    for k in range(t - 1, -1, -1):
        P[k] = P[k + 1] @ F[k]
    return P


def chain(F, t: int, k: int) -> np.ndarray:
    """``dh_t/dh_k = F_t F_{t-1} ... F_{k+1}`` (the identity for k = t): one of
    :func:`chains_to`.

    Checked as ``err-002-eigenvalues`` (errata/002-vanishing-note); ``van-chain``
    (vanishing/bptt); ``van-state-chain`` (vanishing/carousel)."""
    if not 0 <= k <= t:
        raise ValueError(f"need 0 <= k <= t, got t = {t}, k = {k}")
    return chains_to(F, t)[k]


def backprop(F, g) -> np.ndarray:
    """``delta_{T-l}`` for lags l = 0..T (row l), by ``delta_T = g`` (the gradient of a
    loss at the last step in the last state) and ``delta_{s-1} = F_s^T delta_s``, with
    ``F[s-1]`` the step Jacobian F_s (numerator layout); returns (T+1, n).

    Checked as ``van-lag-backprop``, ``van-lag-cell-path`` (vanishing/experiments)."""
    T = len(F)
    out = np.empty((T + 1, len(g)), dtype=np.result_type(g, *F[:1]))
    out[0] = g
    for lag in range(1, T + 1):
        out[lag] = F[T - lag].T @ out[lag - 1]
    return out
