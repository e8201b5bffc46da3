"""The plain tanh RNN with a softmax output, and its backward pass through time.

Equations (vectors are 1-D arrays standing for columns; biases are stored as ``(n,)``)::

    h_t    = tanh(W h_{t-1} + U x_t + b)       W (n_h, n_h), U (n_h, n_x), b (n_h,)
    ŷ_t    = softmax(V h_t + c)                V (n_y, n_h), c (n_y,)
    J      = - sum_{t=1..T} log ŷ_t[y_t]

Backward (``g_t = ŷ_t - e_{y_t}``; ``ds_t`` the gradient in the pre-activation s_t)::

    dh_T = V^T g_T,   dh_t = V^T g_t + W^T ds_{t+1},   ds_t = (1 - h_t^2) o dh_t
    dW = sum_t ds_t h_{t-1}^T,  dU = sum_t ds_t x_t^T,  db = sum_t ds_t,  dh0 = W^T ds_1
    dV = sum_t g_t h_t^T,  dc = sum_t g_t

The code is written on rows (``h @ W.T`` is ``W h``), so that a batch of sequences,
``x`` (T, B, n_x), runs through the same lines (:func:`batch_loss_and_grads`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..blocks import dtanh, label_losses, outer_sum, output_error, softmax, sum_rows
from ..checking import validate

__all__ = [
    "PARAM_NAMES",
    "STATE_NAMES",
    "SHAPES",
    "init_params",
    "example",
    "sizes",
    "validated",
    "states",
    "recurrence_backward",
    "forward",
    "loss",
    "backward",
    "loss_and_grads",
    "batch_loss_and_grads",
    "step_jacobian",
    "Cache",
]

PARAM_NAMES = ("W", "U", "b", "V", "c")
STATE_NAMES = ("h0",)
#: Every parameter's shape, by size name.
SHAPES = {
    "W": ("n_h", "n_h"),
    "U": ("n_h", "n_x"),
    "b": ("n_h",),
    "V": ("n_y", "n_h"),
    "c": ("n_y",),
}


def init_params(
    n_x: int, n_h: int, n_y: int, seed: int = 0, scale: float | None = None
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


def example(n_x: int = 3, n_h: int = 5, n_y: int = 4, T: int = 7, seed: int = 0):
    """A seeded problem ``(params, x, y, {"h0": h0})`` with distinct sizes (so that a
    transposed formula cannot pass) and a non-zero initial state."""
    # seed + 1: not the stream of this seed's parameters, though it is the stream of
    # init_params(seed=seed + 1); kept so that the pages' numbers stay as they are.
    rng = np.random.default_rng(seed + 1)
    return (
        init_params(n_x, n_h, n_y, seed=seed),
        rng.standard_normal((T, n_x)),
        rng.integers(0, n_y, T),
        {"h0": 0.5 * rng.standard_normal(n_h)},
    )


def sizes(params) -> tuple[int, int, int]:
    """``(n_x, n_h, n_y)``, read off the parameters (checked)."""
    n = validate.params(params, SHAPES, allow_complex=True)[1]
    return n["n_x"], n["n_h"], n["n_y"]


def validated(
    params, x, y, h0, allow_complex: bool, *, labels: bool = True, batch: bool = False
):
    """Check everything the model takes (names, shapes, dtypes, finite values, labels);
    returns the arrays. ``labels=False``: no labels (``y`` is None); a missing state is
    zeros; ``batch=True`` takes a batch, x (T, B, n_x)."""
    p, n = validate.params(params, SHAPES, allow_complex)
    x, y = validate.model_inputs(
        x, y, n["n_x"], n["n_y"], allow_complex, labels=labels, batch=batch
    )
    dtype = np.result_type(*p.values(), x)
    h0 = validate.state(h0, "h0", (*x.shape[1:-1], n["n_h"]), dtype, allow_complex)
    return p, x, y, h0


@dataclass
class Cache:
    """The forward pass: ``h[t]`` for t = 0..T (``h[0] = h0``), and at row t-1 for step
    t the output pre-activation ``z_y`` = V h_t + c and ``y_hat`` = ŷ_t."""

    h: np.ndarray
    z_y: np.ndarray
    y_hat: np.ndarray


def _states(p, x, h0) -> np.ndarray:
    W = p["W"]
    h = np.zeros(
        (x.shape[0] + 1, *h0.shape), dtype=np.result_type(W, p["U"], p["b"], x, h0)
    )
    h[0] = h0
    inputs = x @ p["U"].T + p["b"]  # U x_t + b for every t at once
    for t in range(1, x.shape[0] + 1):
        h[t] = np.tanh(h[t - 1] @ W.T + inputs[t - 1])  # tanh(W h_{t-1} + U x_t + b)
    return h


def _with_outputs(params):
    """The recurrence's parameters completed with a zero output layer (``V, c``, sized
    by ``W``) when they have none, so that the one parameter check takes them and names
    only what the recurrence lacks."""
    if not isinstance(params, Mapping):
        return params
    n_h = (np.shape(params.get("W", ())) or (0,))[0]
    return {"V": np.zeros((1, n_h)), "c": np.zeros(1), **params}


def states(params, x, h0=None) -> np.ndarray:
    """The recurrence ``h_t = tanh(W h_{t-1} + U x_t + b)`` alone: (T+1, n_h) with
    ``h[0] = h0`` (0 if None); the output parameters ``V, c`` may be left out.
    Complex-safe. The attention RNN and the vanishing-gradient chapter run it too."""
    p, x, _, h0 = validated(
        _with_outputs(params), x, None, h0, allow_complex=True, labels=False
    )
    return _states(p, x, h0)


def _forward(p, x, h0) -> Cache:
    h = _states(p, x, h0)
    z_y = h[1:] @ p["V"].T + p["c"]
    return Cache(h, z_y, softmax(z_y))


def forward(params, x, h0=None) -> Cache:
    """The recurrence over the whole sequence, then the outputs (complex-safe)."""
    p, x, _, h0 = validated(params, x, None, h0, allow_complex=True, labels=False)
    return _forward(p, x, h0)


def loss(params, x, y, h0=None):
    """The summed cross-entropy ``J``; accepts complex128 inputs for the complex step.

    Checked as ``van-rnn-forward`` (vanishing/bptt)."""
    p, x, y, h0 = validated(params, x, y, h0, allow_complex=True)
    return np.sum(label_losses(_forward(p, x, h0).z_y, y))


def _recurrence_backward(p, x, h, direct):
    T = x.shape[0]
    delta, ds = np.zeros(h.shape), np.zeros(h.shape)  # ds[t]: step t's pre-activation
    delta[T] = direct[T]
    for t in range(T, 0, -1):
        ds[t] = dtanh(h[t]) * delta[t]
        delta[t - 1] = direct[t - 1] + ds[t] @ p["W"]  # direct + W^T ds_t
    grads = {
        "W": outer_sum(ds[1:], h[:-1]),  # sum_t ds_t h_{t-1}^T
        "U": outer_sum(ds[1:], x),  # sum_t ds_t x_t^T
        "b": sum_rows(ds[1:]),
        "h0": delta[0],
    }
    return grads, delta


def recurrence_backward(params, x, h, direct):
    """The recurrence in reverse, given ``direct[t]`` = d+J/dh_t, the gradient reaching
    each state other than through the next step (from this model's output, or from the
    attention RNN's attention)::

        delta_T = direct_T,  ds_t = (1 - h_t^2) o delta_t,  delta_{t-1} = direct_{t-1} + W^T ds_t
        dW = sum_t ds_t h_{t-1}^T,  dU = sum_t ds_t x_t^T,  db = sum_t ds_t,  dh0 = delta_0

    ``h`` and ``direct`` are (T+1, n_h), or (T+1, B, n_h) for a batch. Returns
    ``(grads, delta)``: the gradients of ``W, U, b, h0`` and ``delta[t]`` = dJ/dh_t."""
    p, n = validate.params(_with_outputs(params), SHAPES)
    x = validate.sequence(x, None, n["n_x"], None)[0]
    shape = (x.shape[0] + 1, *x.shape[1:-1], n["n_h"])
    h = validate.array(h, "h", shape)
    direct = validate.array(direct, "direct", shape)
    return _recurrence_backward(p, x, h, direct)


def _backward(p, cache: Cache, x, y) -> dict[str, np.ndarray]:
    g = output_error(cache.y_hat, y)  # g_t = ŷ_t - e_{y_t}
    direct = np.zeros(cache.h.shape)
    direct[1:] = g @ p["V"]  # V^T g_t: the output's gradient in h_t
    grads, _ = _recurrence_backward(p, x, cache.h, direct)
    return {**grads, "V": outer_sum(g, cache.h[1:]), "c": sum_rows(g)}


def _cache(cache, x, n) -> Cache:
    """The forward pass a backward pass is given, checked against ``x`` and the sizes."""
    if not isinstance(cache, Cache):
        raise ValueError(
            f"cache must be the Cache of rnn.forward, got {type(cache).__name__}"
        )
    lead = x.shape[:-1]
    validate.array(cache.h, "cache.h", (lead[0] + 1, *lead[1:], n["n_h"]))
    validate.array(cache.y_hat, "cache.y_hat", (*lead, n["n_y"]))
    return cache


def backward(params, cache: Cache, x, y) -> dict[str, np.ndarray]:
    """Reverse-mode accumulation through time (the equations in the module docstring):
    the gradient of every parameter and of ``h0``."""
    p, x, y, _ = validated(params, x, y, None, allow_complex=False)
    n = dict(zip(("n_x", "n_h", "n_y"), sizes(p), strict=True))
    return _backward(p, _cache(cache, x, n), x, y)


def loss_and_grads(params, x, y, h0=None) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and the gradient of every parameter and of ``h0`` (float64 only).

    Checked as ``calc-central``, ``calc-richardson``, ``calc-complex-step``
    (calculus/checking);
    ``van-bptt-recursion``, ``van-rnn-grads`` (vanishing/bptt)."""
    p, x, y, h0 = validated(params, x, y, h0, allow_complex=False)
    cache = _forward(p, x, h0)
    return float(np.sum(label_losses(cache.z_y, y))), _backward(p, cache, x, y)


def batch_loss_and_grads(params, x, y, h0=None):
    """The summed loss and gradients of a batch: ``x`` (T, B, n_x), ``y`` (T, B), ``h0``
    (B, n_h) (zeros if None). Returns ``(loss, grads, y_hat)``, ``grads["h0"]`` (B, n_h),
    ``y_hat`` (T, B, n_y): the same lines as :func:`loss_and_grads`, on rows.

    Checked as ``van-batch-grads`` (vanishing/experiments)."""
    p, x, y, h0 = validated(params, x, y, h0, allow_complex=False, batch=True)
    if x.ndim != 3:
        raise ValueError(f"x must be a batch (T, B, n_x), got shape {x.shape}")
    cache = _forward(p, x, h0)
    return (
        float(np.sum(label_losses(cache.z_y, y))),
        _backward(p, cache, x, y),
        cache.y_hat,
    )


def step_jacobian(W, h_t) -> np.ndarray:
    """``F_t = dh_t / dh_{t-1} = diag(1 - h_t^2) W`` (numerator layout: row i is
    output i).

    Checked as ``att-step-jacobian`` (attention/recurrence); ``van-step-jacobian``
    (vanishing/bptt)."""
    W = validate.array(W, "W", (np.shape(W)[0],) * 2, allow_complex=True)
    h_t = validate.array(h_t, "h_t", W.shape[:1], allow_complex=True)
    return dtanh(h_t)[:, None] * W
