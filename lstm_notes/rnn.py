"""The plain tanh RNN with a softmax output, and its backward pass through time.

Equations (vectors are 1-D arrays standing for columns; biases are stored as ``(n,)``)::

    h_t   = tanh(W h_{t-1} + U x_t + b)        W (n_h, n_h), U (n_h, n_x), b (n_h,)
    yhat_t = softmax(V h_t + c)                V (n_y, n_h), c (n_y,)
    L     = - sum_{t=1..T} log yhat_t[y_t]

Backward (``dh_t`` is the gradient of L in h_t, all terms that reach h_t)::

    dh_T   = V^T (yhat_T - e_{y_T})
    dh_t   = V^T (yhat_t - e_{y_t}) + W^T (dz_{t+1})
    dz_t   = (1 - h_t^2) o dh_t
    dW = sum_t dz_t h_{t-1}^T,  dU = sum_t dz_t x_t^T,  db = sum_t dz_t,  dh0 = W^T dz_1
    dV = sum_t (yhat_t - e_{y_t}) h_t^T,  dc = sum_t (yhat_t - e_{y_t})

API (shared with :mod:`lstm_notes.lstm` and :mod:`lstm_notes.attention_rnn`)::

    params = init_params(n_x, n_h, n_y, seed=0)
    loss, grads = loss_and_grads(params, x, y, h0=None)

``x`` is (T, n_x) with ``x[t-1]`` the input of step t; ``y`` is (T,) integer labels.
``grads`` has the keys of ``params`` plus ``"h0"``, each the gradient (same shape).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate
from .calculus import softmax

__all__ = ["PARAM_NAMES", "shapes", "init_params", "states", "forward", "loss", "loss_and_grads",
           "backward", "step_jacobian", "Cache"]

PARAM_NAMES = ("W", "U", "b", "V", "c")


def shapes(n_x: int, n_h: int, n_y: int) -> dict[str, tuple]:
    """The shape of every parameter."""
    return {"W": (n_h, n_h), "U": (n_h, n_x), "b": (n_h,), "V": (n_y, n_h), "c": (n_y,)}


def init_params(n_x: int, n_h: int, n_y: int, seed: int = 0, scale: float | None = None
                ) -> dict[str, np.ndarray]:
    """Seeded Gaussian weights (standard deviation ``scale``, default ``1/sqrt(n_h)``),
    small random biases."""
    rng = np.random.default_rng(seed)
    s = 1.0 / np.sqrt(n_h) if scale is None else scale
    return {
        "W": s * rng.standard_normal((n_h, n_h)),
        "U": s * rng.standard_normal((n_h, n_x)),
        "b": 0.1 * rng.standard_normal(n_h),
        "V": s * rng.standard_normal((n_y, n_h)),
        "c": 0.1 * rng.standard_normal(n_y),
    }


def sizes(params) -> tuple[int, int, int]:
    """(n_x, n_h, n_y) read off ``U`` and ``V``, after checking the parameter names."""
    _validate.keys(params, PARAM_NAMES)
    n_h, n_x = _validate.matrix_shape(params, "U")
    n_y = _validate.matrix_shape(params, "V")[0]
    return n_x, n_h, n_y


def validated(params, x, y, h0, allow_complex: bool):
    """Check everything the models take; returns (params, x, y, h0) as arrays."""
    n_x, n_h, n_y = sizes(params)
    p = _validate.params(params, shapes(n_x, n_h, n_y), allow_complex)
    x, y = _validate.sequence(x, y, n_x, n_y, allow_complex)
    dtype = np.result_type(*p.values(), x)
    h0 = _validate.state(h0, "h0", n_h, dtype, allow_complex)
    return p, x, y, h0


@dataclass
class Cache:
    """What the backward pass needs: ``h[t]`` for t = 0..T (``h[0] = h0``) and
    ``p[t-1] = yhat_t`` for t = 1..T."""

    h: np.ndarray
    p: np.ndarray


def states(params, x, h0=None) -> np.ndarray:
    """The recurrence ``h_t = tanh(W h_{t-1} + U x_t + b)`` alone: (T+1, n_h) with
    ``h[0] = h0`` (0 if None). Complex-safe. Shared by this model, the attention RNN
    (same parameters) and the vanishing-gradient experiments."""
    W, U, b = params["W"], params["U"], params["b"]
    h0 = np.zeros(W.shape[0]) if h0 is None else h0
    h = np.zeros((x.shape[0] + 1, W.shape[0]), dtype=np.result_type(W, U, b, x, h0))
    h[0] = h0
    inputs = x @ U.T + b                                  # U x_t + b for every t at once
    for t in range(1, x.shape[0] + 1):
        h[t] = np.tanh(W @ h[t - 1] + inputs[t - 1])
    return h


def forward(params, x, h0=None) -> Cache:
    """Run the recurrence over the whole sequence, then the outputs (complex-safe;
    ``h0`` defaults to 0)."""
    h = states(params, x, h0)
    return Cache(h, softmax(h[1:] @ params["V"].T + params["c"]))


def _loss_from(cache: Cache, y) -> float:
    return -np.sum(np.log(cache.p[np.arange(len(y)), y]))


def loss(params, x, y, h0=None):
    """The summed cross-entropy; accepts complex128 inputs for the complex step."""
    p, x, y, h0 = validated(params, x, y, h0, allow_complex=True)
    return _loss_from(forward(p, x, h0), y)


def backward(params, x, y, cache: Cache) -> dict[str, np.ndarray]:
    """Reverse-mode accumulation through time (the equations in the module docstring)."""
    W, U, b, V, c = (params[k] for k in PARAM_NAMES)
    T = x.shape[0]
    grads = {k: np.zeros_like(params[k]) for k in PARAM_NAMES}
    dz_next = np.zeros(W.shape[0])
    for t in range(T, 0, -1):
        dout = cache.p[t - 1].copy()
        dout[y[t - 1]] -= 1.0
        grads["V"] += np.outer(dout, cache.h[t])
        grads["c"] += dout
        dh = V.T @ dout + W.T @ dz_next
        dz = (1.0 - cache.h[t] ** 2) * dh
        grads["W"] += np.outer(dz, cache.h[t - 1])
        grads["U"] += np.outer(dz, x[t - 1])
        grads["b"] += dz
        dz_next = dz
    grads["h0"] = W.T @ dz_next
    return grads


def loss_and_grads(params, x, y, h0=None) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and the gradient of every parameter and of ``h0`` (float64 only)."""
    p, x, y, h0 = validated(params, x, y, h0, allow_complex=False)
    cache = forward(p, x, h0)
    return float(_loss_from(cache, y)), backward(p, x, y, cache)


def step_jacobian(W, h_t) -> np.ndarray:
    """``dh_t / dh_{t-1} = diag(1 - h_t^2) W`` (numerator layout: row i is output i)."""
    return (1.0 - h_t**2)[:, None] * W
