"""Source 004's tanh RNN whose output attends over its own past states; its gradients.

Equations (vectors are 1-D arrays standing for columns; biases are stored as ``(n,)``)::

    h_t       = tanh(W h_{t-1} + U x_t + b)   t = 1..T, h_0 given
                                            W (n_h, n_h), U (n_h, n_x), b (n_h,)
    A_{t,i}   = h_i . h_t                     i = 1..t (i = 0..t with attend_to_h0=True)
    alpha_t   = softmax(A_{t,.})
    Z_t       = sum_i alpha_{t,i} h_i
    Omega_t   = V Z_t + c                     V (n_y, n_h), c (n_y,)
    yhat_t    = softmax(Omega_t)
    J         = sum_t J_t,   J_t = -log yhat_t[y_t]

Backward, reverse mode (``g_t = yhat_t - e_{y_t}``, ``d_t = V^T g_t``; ``direct_i`` is
d+J/dh_i, the immediate derivative: the gradient reaching h_i through the attention with
the other states held fixed; ``delta_t`` is dJ/dh_t, the whole gradient in h_t)::

    dV = sum_t g_t Z_t^T,   dc = sum_t g_t,   dZ_t = d_t = V^T g_t
    dalpha_{t,i} = h_i . d_t
    dA_{t,i}     = alpha_{t,i} (dalpha_{t,i} - sum_k alpha_{t,k} dalpha_{t,k})
    direct_i     = sum_t alpha_{t,i} d_t  +  sum_t dA_{t,i} h_t  +  sum_k dA_{i,k} h_k
                   (value)                   (key)                   (query, h_i = h_t)
    delta_T = direct_T,   ds_t = (1 - h_t^2) o delta_t,
    delta_{t-1} = direct_{t-1} + W^T ds_t                 (t = T, ..., 1)
    dW = sum_t ds_t h_{t-1}^T,  dU = sum_t ds_t x_t^T,  db = sum_t ds_t,  dh0 = delta_0

The same gradients as a sum over paths (source 004, eq. 12 and 14, 16), numerator
layout, row vectors on the left, the chain with the latest step on the left::

    dJ/dW = sum_t sum_m sum_{k<=m}
                dJ_t/dZ_t  dZ_t/dh_m  (F_m F_{m-1} ... F_{k+1})  d+h_k/dW
    dZ_t/dh_m     = alpha_{t,m} (I + (h_m - Z_t) h_t^T)
                    + [m = t] sum_i alpha_{t,i} (h_i - Z_t) h_i^T
    F_j = dh_j/dh_{j-1} = diag(1 - h_j^2) W

API (shared with :mod:`lstm_notes.models.rnn`, whose parameters, ``init_params`` and recurrence
this model reuses)::

    params = init_params(n_x, n_h, n_y, seed=0)
    loss, grads = loss_and_grads(params, x, y, h0=None, attend_to_h0=False)
    grads_paths = path_sum_grads(params, x, y, h0=None, attend_to_h0=False)

and, for checking the displayed formulas one term at a time: :func:`attention_by_terms`
(the scores, weights and contexts), :func:`path_terms` with :func:`every_path` (the path
sum term by term, every chain formed from scratch) and :func:`denominator_path_sum`
(source 004's eq. 13, 15 and 17 read right to left, in denominator layout).

``x`` is (T, n_x) with ``x[t-1]`` the input of step t; ``y`` is (T,) integer labels.
``grads`` has the keys of ``params`` plus ``"h0"``, each the gradient (same shape).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blocks import dtanh, label_losses, outer_sum, output_error, softmax
from ..checking import validate
from . import rnn
from .rnn import PARAM_NAMES, SHAPES, STATE_NAMES, init_params, sizes, states  # noqa: F401

__all__ = [
    "PARAM_NAMES",
    "STATE_NAMES",
    "SHAPES",
    "init_params",
    "example",
    "sizes",
    "Cache",
    "states",
    "attention",
    "attention_by_terms",
    "head",
    "forward",
    "step_losses",
    "loss",
    "loss_of_states",
    "attention_backward",
    "recurrence_backward",
    "backward",
    "loss_and_grads",
    "attention_jacobian",
    "path_sum_grads",
    "every_path",
    "path_terms",
    "denominator_path_sum",
    "FORMS",
]


@dataclass
class Cache:
    """Everything the forward pass computed, for the backward pass and the pages.

    ``h``      (T+1, n_h)  ``h[t]`` = h_t, ``h[0]`` = h_0
    ``A``      (T, S)      ``A[t-1, j]`` = A_{t, j+first} (zero where not attended)
    ``alpha``  (T, S)      attention weights, zero where not attended; rows sum to 1
    ``Z``      (T, n_h)    ``Z[t-1]`` = Z_t
    ``z_y``    (T, n_y)    ``z_y[t-1]`` = Omega_t = V Z_t + c, the output pre-activation
    ``y_hat``  (T, n_y)    ``y_hat[t-1]`` = ŷ_t
    ``first``  0 or 1      the first attended state (1: h_1..h_t; 0: h_0..h_t);
                           S = T + 1 - first
    """

    h: np.ndarray
    A: np.ndarray
    alpha: np.ndarray
    Z: np.ndarray
    z_y: np.ndarray
    y_hat: np.ndarray
    first: int

    @property
    def mask(self) -> np.ndarray:
        """(T, S) booleans: step t attends to state j + first when j + first <= t."""
        T, S = self.A.shape
        return np.arange(S)[None, :] + self.first <= np.arange(1, T + 1)[:, None]


def _first(attend_to_h0) -> int:
    if not isinstance(attend_to_h0, (bool, np.bool_)):
        raise ValueError(f"attend_to_h0 must be True or False, got {attend_to_h0!r}")
    return 0 if attend_to_h0 else 1


def _params_and_states(params, h, allow_complex: bool = True):
    """The checked parameters, and the states ``h`` (T+1, n_h) checked against them."""
    p, n = validate.params(params, SHAPES, allow_complex)
    if np.ndim(h) != 2:
        raise ValueError(
            f"h must have shape (T+1, n_h) = (T+1, {n['n_h']}), got {np.shape(h)}"
        )
    return p, validate.array(h, "h", (np.shape(h)[0], n["n_h"]), allow_complex), n


def _cache(cache, n: dict, T: int | None = None) -> Cache:
    """The forward pass a backward pass is given, checked against the sizes ``n`` (and
    the number of steps ``T`` of the caller's ``x``, when given): each field named."""
    if not isinstance(cache, Cache):
        raise ValueError(
            f"cache must be the Cache of attention_rnn.forward, got "
            f"{type(cache).__name__}"
        )
    T = len(cache.Z) if T is None else T
    if cache.first not in (0, 1):
        raise ValueError(f"cache.first must be 0 or 1, got {cache.first!r}")
    S = T + 1 - cache.first
    validate.array(cache.h, "cache.h", (T + 1, n["n_h"]))
    for name, shape in [
        ("A", (T, S)),
        ("alpha", (T, S)),
        ("Z", (T, n["n_h"])),
        ("z_y", (T, n["n_y"])),
        ("y_hat", (T, n["n_y"])),
    ]:
        validate.array(getattr(cache, name), f"cache.{name}", shape)
    return cache


def attention(h, attend_to_h0: bool = False):
    """Scores, weights and contexts of every step from the states ``h`` (T+1, n_h).

    Returns ``(A, alpha, Z)`` with shapes (T, S), (T, S), (T, n_h) (see :class:`Cache`).
    Complex-safe: the score is the plain product ``h_i @ h_t`` (no conjugation).
    """
    first = _first(attend_to_h0)
    T = h.shape[0] - 1
    H = h[first:]  # the attended states, (S, n_h)
    mask = np.arange(H.shape[0])[None, :] + first <= np.arange(1, T + 1)[:, None]
    A = (h[1:] @ H.T) * mask  # A[t-1, j] = h_t . h_{j+first}
    alpha = softmax(np.where(mask, A, -np.inf))  # over the attended states only
    return A, alpha, alpha @ H


def attention_by_terms(
    h, attend_to_h0: bool = False, *, denominator_from_0: bool = False
):
    """The scores, weights and contexts as displayed (att-model-scores, att-model-alpha,
    att-model-Z; att-model-h0 with ``attend_to_h0``), one term at a time in plain
    loops, to check the vectorised :func:`attention` against::

        A_{t,i} = h_i . h_t,
        alpha_{t,i} = exp A_{t,i} / sum_{k=first}^{t} exp(h_k . h_t),
        Z_t = sum_{i=first}^{t} alpha_{t,i} h_i   (first = 0 with attend_to_h0, else 1)

    ``denominator_from_0`` is source 004's eq. 3 as written (err-004-ranges): the
    numerators for i = first..t, the denominator from k = 0 all the same.

    ``h`` (T+1, n_h), float64. Returns ``(A, alpha, Z)`` in the layout of :class:`Cache`
    (column ``i - first`` holds state i; zero where step t does not attend).

    Checked as ``err-004-ranges`` (errata/004-attention-gradients).
    """
    first = _first(attend_to_h0)
    below = 0 if denominator_from_0 else first  # where the denominator's sum starts
    T = h.shape[0] - 1
    A, alpha = np.zeros((T, T + 1 - first)), np.zeros((T, T + 1 - first))
    Z = np.zeros((T, h.shape[1]))
    for t in range(1, T + 1):
        for i in range(first, t + 1):
            A[t - 1, i - first] = h[i] @ h[t]
        for i in range(first, t + 1):
            denominator = sum(np.exp(h[k] @ h[t]) for k in range(below, t + 1))
            alpha[t - 1, i - first] = np.exp(A[t - 1, i - first]) / denominator
        for i in range(first, t + 1):
            Z[t - 1] += alpha[t - 1, i - first] * h[i]
    return A, alpha, Z


def head(params, h, attend_to_h0: bool = False):
    """After the recurrence: ``(A, alpha, Z, Omega, yhat)``, from the states.

    Checked as ``att-model-Omega``, ``att-model-Z``, ``att-model-alpha``,
    ``att-model-scores`` (attention/model)."""
    params, h, _ = _params_and_states(params, h)
    A, alpha, Z = attention(h, attend_to_h0)
    Omega = Z @ params["V"].T + params["c"]
    return A, alpha, Z, Omega, softmax(Omega)


def forward(params, x, h0=None, attend_to_h0: bool = False) -> Cache:
    """The forward pass (complex-safe): the recurrence, then attention and output.

    Checked as ``att-model-h``, ``att-model-h0`` (attention/model); ``err-004-t1``
    (errata/004-attention-gradients)."""
    p, x, _, h0 = rnn.validated(params, x, None, h0, allow_complex=True, labels=False)
    h = states(p, x, h0)
    return Cache(h, *head(p, h, attend_to_h0), _first(attend_to_h0))


def step_losses(params, x, y, h0=None, attend_to_h0: bool = False) -> np.ndarray:
    """``J_t = -log yhat_t[y_t]`` for t = 1..T, shape (T,); complex-safe.

    Checked as ``att-model-loss`` (attention/model)."""
    p, x, y, h0 = rnn.validated(params, x, y, h0, allow_complex=True)
    return label_losses(forward(p, x, h0, attend_to_h0).z_y, y)


def loss(params, x, y, h0=None, attend_to_h0: bool = False):
    """The summed cross-entropy ``J``; accepts complex128 inputs (complex step).

    Checked as ``att-model-loss`` (attention/model)."""
    return np.sum(step_losses(params, x, y, h0, attend_to_h0))


def loss_of_states(params, h, y, attend_to_h0: bool = False):
    """``J`` computed from given states ``h`` (T+1, n_h), each an independent variable
    (the recurrence is not re-run): its gradient is the immediate derivative d+J/dh_i,
    ``direct`` of :func:`attention_backward`."""
    _, h, n = _params_and_states(params, h)
    y = validate.sequence(np.zeros((h.shape[0] - 1, n["n_x"])), y, n["n_x"], n["n_y"])[
        1
    ]
    return np.sum(label_losses(head(params, h, attend_to_h0)[3], y))


def attention_backward(params, cache: Cache, y):
    """The output and attention layers in reverse, all steps at once (O(T^2 n_h)).

    Returns ``(dV, dc, direct)`` with ``direct`` (T+1, n_h): ``direct[i]`` is d+J/dh_i,
    the gradient of J in h_i through the attention alone (value, key and query paths),
    the other states held fixed.

    Checked as ``att-e`` (attention/attention-layer).
    """
    params, n = validate.params(params, SHAPES, allow_complex=False)
    cache = _cache(cache, n)
    y = validate.sequence(np.zeros((len(cache.Z), n["n_x"])), y, n["n_x"], n["n_y"])[1]
    return _attention_backward(params, cache, y)


def _attention_backward(params, cache: Cache, y):
    h, alpha, mask, first = cache.h, cache.alpha, cache.mask, cache.first
    H = h[first:]
    g = output_error(cache.y_hat, y)  # g_t = ŷ_t - e_{y_t}
    d = g @ params["V"]  # row t-1: d_t = V^T g_t
    dalpha = (d @ H.T) * mask  # h_i . d_t
    dA = alpha * (dalpha - np.sum(alpha * dalpha, axis=1, keepdims=True))
    direct = np.zeros(h.shape)
    direct[first:] += alpha.T @ d + dA.T @ h[1:]  # value and key paths
    direct[1:] += dA @ H  # query path
    return outer_sum(g, cache.Z), g.sum(axis=0), direct


def recurrence_backward(params, x, cache: Cache, direct):
    """The recurrence in reverse: ``delta_T = direct_T``, ``ds_t = (1 - h_t^2) o
    delta_t``, ``delta_{t-1} = direct_{t-1} + W^T ds_t``; the weight gradients sum
    ``ds_t`` (the gradient in step t's pre-activation s_t) once per step. ``direct``
    (T+1, n_h) holds d+J/dh_i (:func:`attention_backward`).

    Returns ``(grads, delta)``: grads of ``W, U, b, h0`` and delta (T+1, n_h), the whole
    gradient of J in each state (``delta[0]`` = dJ/dh0). The plain RNN's
    :func:`lstm_notes.models.rnn.recurrence_backward`, the recurrence being the same.

    Checked as ``att-rec-delta`` (attention/weights)."""
    p, n = validate.params(params, SHAPES, allow_complex=False)
    x = validate.sequence(x, None, n["n_x"], None)[0]
    return rnn.recurrence_backward(p, x, _cache(cache, n, len(x)).h, direct)


def _backward(p, cache: Cache, x, y) -> dict[str, np.ndarray]:
    """:func:`attention_backward`, then :func:`recurrence_backward`, on inputs already
    checked (the cache is checked once, by :func:`backward`, or is ``forward``'s own)."""
    dV, dc, direct = _attention_backward(p, cache, y)
    grads, _ = rnn.recurrence_backward(p, x, cache.h, direct)
    return {"V": dV, "c": dc, **grads}


def backward(params, cache: Cache, x, y) -> dict[str, np.ndarray]:
    """Reverse mode: :func:`attention_backward`, then :func:`recurrence_backward`; the
    gradient of every parameter and of ``h0``.

    Checked as ``att-dV``, ``att-dc`` (attention/output)."""
    p, x, y, _ = rnn.validated(params, x, y, None, allow_complex=False)
    n = {"n_x": x.shape[1], "n_h": p["W"].shape[0], "n_y": p["V"].shape[0]}
    return _backward(p, _cache(cache, n, len(x)), x, y)


def loss_and_grads(
    params, x, y, h0=None, attend_to_h0: bool = False
) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and the gradient of every parameter and of ``h0`` (float64 only).

    Checked as ``att-dV``, ``att-dc`` (attention/output); ``att-rec-U``, ``att-rec-W``,
    ``att-rec-attend-h0``, ``att-rec-b``, ``att-rec-h0`` (attention/weights)."""
    p, x, y, h0 = rnn.validated(params, x, y, h0, allow_complex=False)
    cache = forward(p, x, h0, attend_to_h0)
    return float(np.sum(label_losses(cache.z_y, y))), _backward(p, cache, x, y)


#: The seeded problem of the attention pages, the plain RNN's (same parameters).
example = rnn.example


def attention_jacobian(
    cache: Cache,
    t: int,
    m: int,
    *,
    score_for_weight: bool = False,
    value_path_only: bool = False,
) -> np.ndarray:
    """``dZ_t / dh_m`` (n_h, n_h), numerator layout, every other state held fixed::

        alpha_{t,m} (I + (h_m - Z_t) h_t^T)
        +  [m = t] sum_i alpha_{t,i} (h_i - Z_t) h_i^T

    (value and key paths of h_m; the second term is h_t's path as the query). Zero when
    step t does not attend to h_m (m > t, or m = 0 without attend_to_h0).

    The flags are source 004's defects in "dZ_t/dh_m = A_{t,m}" (err-004-dZ-dh,
    err-004-eq13): ``score_for_weight`` puts the score A_{t,m} where the weight
    alpha_{t,m} belongs, ``value_path_only`` drops the key and query terms (the weights
    taken as constants). Both on: A_{t,m} I, the source's factor.

    Checked as ``att-dZ-dh`` (attention/attention-layer); ``err-004-dZ-dh``
    (errata/004-attention-gradients).
    """
    h, first = cache.h, cache.first
    n, T = h.shape[1], h.shape[0] - 1
    if not (1 <= t <= T and 0 <= m <= T):
        raise ValueError(
            f"need 1 <= t <= T and 0 <= m <= T (T = {T}), got t={t}, m={m}"
        )
    if m < first or m > t:
        return np.zeros((n, n))
    a = cache.alpha[t - 1]
    weight = (cache.A if score_for_weight else cache.alpha)[t - 1, m - first]
    Zt, J, paths = cache.Z[t - 1], np.zeros((n, n)), not value_path_only
    J += weight * (np.eye(n) + paths * np.outer(h[m] - Zt, h[t]))
    if m == t and paths:
        H = h[first : t + 1]
        J += (a[: t + 1 - first, None] * (H - Zt)).T @ H
    return J


def path_sum_grads(
    params, x, y, h0=None, attend_to_h0: bool = False
) -> dict[str, np.ndarray]:
    """The gradients as the sum over paths of source 004's eq. 12, 14 and 16
    (att-paths-W, att-paths-U, att-paths-b, att-paths-h0)::

        dJ/dtheta = sum_t sum_{m<=t} sum_{k<=m} r_t D_{t,m} P_{m,k} d+h_k/dtheta
        r_t = (yhat_t - e_{y_t})^T V,  D_{t,m} = dZ_t/dh_m,
        P_{m,k} = F_m F_{m-1} ... F_{k+1}   (the latest step on the left)

    and ``dJ/dh0 = sum_t sum_m r_t D_{t,m} P_{m,0}``. Every path term is formed and
    added on its own; the product P is extended by one factor as k decreases, so the
    cost is O(T^3) products of n_h x n_h matrices (:func:`path_terms` forms every chain
    from scratch instead). Returns a dict with ``W, U, b, h0``.

    Checked as ``att-paths-U``, ``att-paths-W``, ``att-paths-b``, ``att-paths-h0``
    (attention/weights).
    """
    p, x, y, h0 = rnn.validated(params, x, y, h0, allow_complex=False)
    cache = forward(p, x, h0, attend_to_h0)
    W, V, h = p["W"], p["V"], cache.h
    T, n = x.shape[0], W.shape[0]
    g = output_error(cache.y_hat, y)
    step_jac = [None] + [rnn.step_jacobian(W, h[j]) for j in range(1, T + 1)]
    grads = {
        "W": np.zeros((n, n)),
        "U": np.zeros_like(p["U"]),
        "b": np.zeros(n),
        "h0": np.zeros(n),
    }
    for t in range(1, T + 1):
        r = g[t - 1] @ V  # dJ_t/dZ_t, a row
        for m in range(cache.first, t + 1):
            s = r @ attention_jacobian(cache, t, m)  # dJ_t/dh_m along h_m -> Z_t
            P = np.eye(n)  # dh_m/dh_k, k = m: empty product
            for k in range(m, 0, -1):
                ds = (s @ P) * dtanh(h[k])  # times d+h_k/dtheta
                grads["W"] += np.outer(ds, h[k - 1])
                grads["U"] += np.outer(ds, x[k - 1])
                grads["b"] += ds
                P = P @ step_jac[k]  # one factor more: dh_m/dh_{k-1}
            grads["h0"] += s @ P
    return grads


def every_path(steps):
    """Every path term of ``J_t`` for t in ``steps``, as ``(t, m, chain, k)`` for
    :func:`path_terms`: 1 <= k <= m <= t, and the chain dh_m/dh_k as the factors
    ``F_{j+1} = dh_{j+1}/dh_j`` for j = m-1 down to k, the latest step on the left, as
    in att-chain and err-004-eq12."""
    return [
        (t, m, [(j + 1, j) for j in range(m - 1, k - 1, -1)], k)
        for t in steps
        for m in range(1, t + 1)
        for k in range(1, m + 1)
    ]


def path_terms(
    params, x, y, terms, h0=None, attend_to_h0: bool = False
) -> dict[str, np.ndarray]:
    """The path sum of att-paths-W, U, b (err-004-t1 to t4, err-004-eq12, 14, 16) over
    explicitly listed terms, each formed from scratch as written. A term ``(t, m, chain,
    k)`` is ``dJ_t/dZ_t dZ_t/dh_m``, then the factors ``dh_a/dh_b`` for ``(a, b)`` in
    ``chain`` multiplied in the order listed (numerator layout; ``a == b`` is the
    identity), then the immediate d+h_k/dW, d+h_k/dU, d+h_k/db (h_{k-1} held fixed).
    Evaluating all of :func:`every_path` forms T(T+1)(T+2)/6 terms and
    (T+2)(T+1)T(T-1)/24 vector-matrix products of the chains.
    Returns a dict with ``W, U, b``, each the sum of its terms.

    Checked as ``err-004-eq12``, ``err-004-eq14``, ``err-004-eq16``, ``err-004-t1``,
    ``err-004-t2``, ``err-004-t3``, ``err-004-t4`` (errata/004-attention-gradients)."""
    p, x, y, h0 = rnn.validated(params, x, y, h0, allow_complex=False)
    cache = forward(p, x, h0, attend_to_h0)
    W, V, h = p["W"], p["V"], cache.h
    g = output_error(cache.y_hat, y)
    out = {k: np.zeros_like(p[k]) for k in ("W", "U", "b")}
    for t, m, chain, k in terms:
        s = g[t - 1] @ V @ attention_jacobian(cache, t, m)
        for a, b in chain:
            if a == b + 1:
                s = s @ rnn.step_jacobian(W, h[a])
            elif a != b:
                raise ValueError(f"dh_{a}/dh_{b} is not a one-step factor")
        ds = s * dtanh(h[k])
        out["W"] += np.outer(ds, h[k - 1])
        out["U"] += np.outer(ds, x[k - 1])
        out["b"] += ds
    return out


def denominator_path_sum(W, x, h, factor, d) -> dict[str, np.ndarray]:
    """Source 004's eq. 13, 15 and 17 read right to left (err-004-eq13, eq15, eq17): the
    path sum in denominator layout, columns multiplied from the right, one term at a
    time::

        sum_{t=1}^{T} sum_{m=1}^{t} sum_{k=1}^{m} diag(1 - h_k^2)
            (prod_{j=k}^{m-1} W^T diag(1 - h_{j+1}^2)) factor(t, m) d_t
            times h_{k-1}^T (for W), x_k^T (for U), 1 (for b)

    with the product formed from scratch for every term, j increasing from left to
    right.
    ``W`` (n_h, n_h), ``x`` (T, n_x), ``h`` (T+1, n_h) the states; ``factor(t, m)`` an
    (n_h, n_h) matrix standing for (dZ_t/dh_m)^T; ``d`` (T, n_h) with ``d[t-1]`` = d_t.
    Returns a dict with ``W, U, b``.

    Checked as ``err-004-eq13``, ``err-004-eq15``, ``err-004-eq17``
    (errata/004-attention-gradients)."""
    W = validate.array(W, "W", (np.shape(W)[0],) * 2)
    x = validate.array(x, "x", (np.shape(x)[0], np.shape(x)[-1]))
    h = validate.array(h, "h", (x.shape[0] + 1, W.shape[0]))
    d = validate.array(d, "d", (x.shape[0], W.shape[0]))
    T, n = x.shape[0], W.shape[0]
    out = {"W": np.zeros((n, n)), "U": np.zeros((n, x.shape[1])), "b": np.zeros(n)}
    for t in range(1, T + 1):
        for m in range(1, t + 1):
            for k in range(1, m + 1):
                product = np.eye(n)
                for j in range(k, m):
                    product = product @ W.T @ np.diag(dtanh(h[j + 1]))
                column = np.diag(dtanh(h[k])) @ product @ factor(t, m) @ d[t - 1]
                out["W"] += np.outer(column, h[k - 1])
                out["U"] += np.outer(column, x[k - 1])
                out["b"] += column
    return out


#: The two forms of the weight gradients, as (params, x, y) -> grads.
FORMS = {
    "reverse-mode recursion": lambda p, x, y: loss_and_grads(p, x, y)[1],
    "sum over paths": path_sum_grads,
    "sum over paths, products recomputed": lambda p, x, y: path_terms(
        p, x, y, every_path(range(1, len(x) + 1))
    ),
}
