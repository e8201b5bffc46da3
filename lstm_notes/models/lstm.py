"""The LSTM of source 001, its forward pass, and its backward pass through time.

Notation and orientation are those of source 001 (Vardhan, 2022): weights multiply by
their transpose, the gates are ``Γ_f, Γ_u, Γ_o``, the candidate is ``c̃``, the activation
``a``. Vectors are 1-D arrays standing for columns; biases are stored as ``(n,)``.

Equations (step t = 1..T; ``x[t-1]`` is x⁽ᵗ⁾)::

    z_f = W_fa^T a_prev + W_fx^T x_t + b_f      f  = sigmoid(z_f)      (eq. 1, 2)
    z_u = W_ua^T a_prev + W_ux^T x_t + b_u      u  = sigmoid(z_u)      (eq. 3, 4)
    z_o = W_oa^T a_prev + W_ox^T x_t + b_o      o  = sigmoid(z_o)      (eq. 5, 6)
    z_c = W_ca^T a_prev + W_cx^T x_t + b_c      c~ = tanh(z_c)         (eq. 7, 8)
    c   = u o c~ + f o c_prev                                          (eq. 9)
    a   = tanh(c) o o                                                  (eq. 10)
    z_y = W_ya^T a + b_y                        yhat = softmax(z_y)    (eq. 11, 12)
    J   = - sum_t log yhat⁽ᵗ⁾[y_t]

Shapes: ``W_*a`` (n_a, n_a), ``W_*x`` (n_x, n_a), ``b_*`` (n_a,), ``W_ya`` (n_a, n_y),
``b_y`` (n_y,); ``x`` (T, n_x), ``y`` (T,) integer labels, ``a0, c0`` (n_a,).

Backward (``da[t]``, ``dc[t]`` are the total gradients of J in a⁽ᵗ⁾, c⁽ᵗ⁾; gradients
in denominator layout, i.e. with the shape of the variable)::

    dz_y = yhat - e_y
    da   = W_ya dz_y + sum_{* in f,u,o,c} W_*a dz_*⁽ᵗ⁺¹⁾           (zero at t = T)
    dGo  = da o tanh(c)                                                (output gate)
    dc   = da o o o (1 - tanh²c) + f⁽ᵗ⁺¹⁾ o dc⁽ᵗ⁺¹⁾                    (carousel: f = 1)
    dGu  = dc o c~          dct = dc o u          dGf = dc o c_prev    (u, c~, f)
    dz_o = dGo o o (1 - o)                 dz_u = dGu o u (1 - u)
    dz_f = dGf o f (1 - f)                 dz_c = dct o (1 - c~²)
    dW_*a = sum_t a_prev dz_*^T    dW_*x = sum_t x_t dz_*^T    db_* = sum_t dz_*
    dW_ya = sum_t a dz_y^T         db_y = sum_t dz_y
    dx_t  = sum_* W_*x dz_*        da0 = sum_* W_*a dz_*⁽¹⁾    dc0 = f⁽¹⁾ o dc⁽¹⁾

The constant error carousel of Hochreiter and Schmidhuber (1997) is this model without
a forget gate: parameters without ``W_fa, W_fx, b_f`` (``init_params(...,
forget_gate=False)``) run the same lines with f = 1, so ``c = c_prev + u o c~``.

The code is written on rows (``a_prev @ W_fa`` is ``W_fa^T a_prev``), so that a batch
of sequences, ``x`` (T, B, n_x), runs through the same lines
(:func:`batch_loss_and_grads`).

API (that of the other models, DESIGN.md section 4)::

    params = init_params(n_x, n_a, n_y, seed=0, forget_bias=0.0, forget_gate=True)
    params, x, y, state = example()                                # state: a0, c0
    cache = forward(params, x, a0=None, c0=None)                    # Cache: a (= h), c, ...
    grads = backward(params, cache, x, y)                           # params + a0, c0
    loss, grads = loss_and_grads(params, x, y, a0=None, c0=None)
    record = bptt(params, cache, x, y)                  # da, dGo, dc, ..., dz_* per step
    a, c, step = cell_forward(params, x_t, a_prev, c_prev)          # one step
    back = cell_backward(params, da, dc, step)          # StepBackward: dGo, dc, ..., dz_*
    step_grads, da_prev, dc_prev, dx_t = back           # ... unpacks as its four results
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from ..blocks import (
    dsigmoid,
    dtanh,
    label_losses,
    outer_sum,
    output_error,
    sigmoid,
    softmax,
    sum_rows,
)
from ..checking import validate
from ..checking.numdiff import Estimate, central_grad, complex_step_grad

__all__ = [
    "PARAM_NAMES",
    "STATE_NAMES",
    "GATES",
    "STEP_NODES",
    "shapes",
    "init_params",
    "example",
    "sizes",
    "validated",
    "cell_forward",
    "stepper",
    "cell_backward",
    "forward",
    "loss",
    "backward",
    "bptt",
    "loss_and_grads",
    "batch_loss_and_grads",
    "grads_x",
    "step_loss",
    "step_grad",
    "numeric_grad",
    "Cache",
    "StepCache",
    "Backward",
    "GateGradients",
    "StepBackward",
]

PARAM_NAMES = (
    "W_fa",
    "W_fx",
    "b_f",
    "W_ua",
    "W_ux",
    "b_u",
    "W_oa",
    "W_ox",
    "b_o",
    "W_ca",
    "W_cx",
    "b_c",
    "W_ya",
    "b_y",
)
STATE_NAMES = ("a0", "c0")
#: The four gate blocks, in source 001's order of equations (forget, update, output, cell).
GATES = ("f", "u", "o", "c")
#: The quantities of one step that :func:`step_loss` can replace, in computation order.
STEP_NODES = (
    "a_prev",
    "c_prev",
    "x",
    "z_f",
    "f",
    "z_u",
    "u",
    "z_o",
    "o",
    "z_c",
    "c_tilde",
    "c",
    "a",
    "z_y",
)


def shapes(forget_gate: bool = True) -> dict[str, tuple]:
    """Every parameter's shape by size name (source 001, section 2); without the forget
    gate's three parameters for the carousel."""
    out = {}
    for g in GATES if forget_gate else GATES[1:]:
        out[f"W_{g}a"], out[f"W_{g}x"], out[f"b_{g}"] = (
            ("n_a", "n_a"),
            ("n_x", "n_a"),
            ("n_a",),
        )
    out["W_ya"], out["b_y"] = ("n_a", "n_y"), ("n_y",)
    return out


def _has_forget_gate(params) -> bool:
    """Whether ``params`` has a forget gate (any of ``W_fa, W_fx, b_f``); without one the
    model is the carousel, f = 1."""
    return any(k in params for k in ("W_fa", "W_fx", "b_f"))


def _gates(p) -> tuple[str, ...]:
    return GATES if _has_forget_gate(p) else GATES[1:]


def init_params(
    n_x: int,
    n_a: int,
    n_y: int,
    seed: int = 0,
    *,
    forget_bias: float = 0.0,
    forget_gate: bool = True,
    scale: float | None = None,
    input_bias: float = 0.0,
) -> dict[str, np.ndarray]:
    """Seeded Gaussian weights (standard deviation ``scale``, default ``1/sqrt(n_a)``),
    biases ``0.1·N(0, 1)``, plus ``input_bias`` on the update gate's ``b_u``; ``b_f`` is
    exactly ``forget_bias`` everywhere (nothing random), so that experiments can set it.
    ``forget_gate=False`` leaves the forget gate out: the carousel."""
    if not forget_gate and forget_bias != 0.0:
        raise ValueError(f"forget_bias = {forget_bias} given without a forget gate")
    rng = np.random.default_rng(seed)
    s = 1.0 / np.sqrt(n_a) if scale is None else float(scale)
    n = {"n_x": n_x, "n_a": n_a, "n_y": n_y}
    params = {}
    for name, dims in shapes(forget_gate).items():
        shape = tuple(n[d] for d in dims)
        if name == "b_f":
            params[name] = np.full(shape, float(forget_bias))
        else:
            params[name] = (0.1 if name.startswith("b_") else s) * rng.standard_normal(
                shape
            )
    params["b_u"] = params["b_u"] + input_bias
    return params


def example(n_x: int = 3, n_a: int = 5, n_y: int = 4, T: int = 7, seed: int = 0):
    """The book's worked example: ``(params, x, y, {"a0": a0, "c0": c0})``, seeded, with
    distinct sizes (so that a transposed or misindexed formula cannot pass), forget-gate
    bias 0.5 and non-zero initial states."""
    rng = np.random.default_rng([seed, 1])  # a stream of its own: x is not a copy of W
    params = init_params(n_x, n_a, n_y, seed=seed, forget_bias=0.5)
    x = rng.standard_normal((T, n_x))
    y = rng.integers(0, n_y, T)
    a0, c0 = 0.5 * rng.standard_normal(n_a), 0.5 * rng.standard_normal(n_a)
    return params, x, y, {"a0": a0, "c0": c0}


def _params(params, allow_complex: bool):
    if not isinstance(params, Mapping):
        raise ValueError(
            f"params must be a dict of arrays, got {type(params).__name__}"
        )
    return validate.params(params, shapes(_has_forget_gate(params)), allow_complex)


def sizes(params) -> tuple[int, int, int]:
    """``(n_x, n_a, n_y)``, read off the parameters (checked)."""
    n = _params(params, allow_complex=True)[1]
    return n["n_x"], n["n_a"], n["n_y"]


def validated(
    params,
    x,
    y,
    a0,
    c0,
    allow_complex: bool,
    *,
    labels: bool = True,
    batch: bool = False,
):
    """Check everything the model takes (names, shapes, dtypes, finite values, labels);
    returns the arrays. ``labels=False``: no labels (``y`` is None); a missing state is
    zeros; ``batch=True`` takes a batch, x (T, B, n_x)."""
    p, n = _params(params, allow_complex)
    x, y = validate.model_inputs(
        x, y, n["n_x"], n["n_y"], allow_complex, labels=labels, batch=batch
    )
    dtype = np.result_type(*p.values(), x)
    shape = (*x.shape[1:-1], n["n_a"])
    a0 = validate.state(a0, "a0", shape, dtype, allow_complex)
    c0 = validate.state(c0, "c0", shape, dtype, allow_complex)
    return p, x, y, a0, c0


@dataclass
class StepCache:
    """Everything one step computed (the values the step's backward pass needs)."""

    x: np.ndarray
    a_prev: np.ndarray
    c_prev: np.ndarray
    f: np.ndarray
    u: np.ndarray
    o: np.ndarray
    c_tilde: np.ndarray
    c: np.ndarray
    a: np.ndarray


def _stages(p) -> tuple:
    """One step, eq. 1 to 11 of source 001, in order: each quantity from the parameters
    ``p`` and the quantities before it (``v``), on rows (``a @ W`` is ``W^T a``). Without
    a forget gate z_f is absent and f = 1: the carousel."""

    def pre(g):  # eq. 1, 3, 5, 7: W_ga^T a⁽ᵗ⁻¹⁾ + W_gx^T x⁽ᵗ⁾ + b_g
        return lambda v: (
            v["a_prev"] @ p[f"W_{g}a"] + v["x"] @ p[f"W_{g}x"] + p[f"b_{g}"]
        )

    return (
        ("z_f", pre("f") if "W_fa" in p else lambda v: None),
        (
            "f",
            lambda v: (
                np.ones_like(v["c_prev"]) if v["z_f"] is None else sigmoid(v["z_f"])
            ),
        ),
        ("z_u", pre("u")),
        ("u", lambda v: sigmoid(v["z_u"])),
        ("z_o", pre("o")),
        ("o", lambda v: sigmoid(v["z_o"])),
        ("z_c", pre("c")),
        ("c_tilde", lambda v: np.tanh(v["z_c"])),
        ("c", lambda v: v["u"] * v["c_tilde"] + v["f"] * v["c_prev"]),
        ("a", lambda v: np.tanh(v["c"]) * v["o"]),
        ("z_y", lambda v: v["a"] @ p["W_ya"] + p["b_y"]),
    )


def _step(p, x_t, a_prev, c_prev, replace=None) -> dict:
    """Every quantity of one step (:func:`_stages`); a quantity named in ``replace``
    takes the given value, and everything after it is computed from it."""
    v = {"a_prev": a_prev, "c_prev": c_prev, "x": x_t}
    if replace:
        v.update((k, replace[k]) for k in v if k in replace)
    for name, stage in _stages(p):
        v[name] = replace[name] if replace and name in replace else stage(v)
    return v


def _step_cache(v) -> StepCache:
    return StepCache(
        v["x"],
        v["a_prev"],
        v["c_prev"],
        v["f"],
        v["u"],
        v["o"],
        v["c_tilde"],
        v["c"],
        v["a"],
    )


def cell_forward(params, x_t, a_prev, c_prev):
    """One LSTM step, eq. 1 to 10 of source 001 (complex-safe).

    Parameters: ``x_t`` (n_x,), ``a_prev`` (n_a,), ``c_prev`` (n_a,).
    Returns ``(a, c, cache)`` with ``a``, ``c`` (n_a,) and a :class:`StepCache`.
    """
    return stepper(params)(x_t, a_prev, c_prev)


def stepper(params):
    """:func:`cell_forward` with ``params`` checked once: a function
    ``(x_t, a_prev, c_prev) -> (a, c, cache)`` for a loop that runs many steps with the
    same parameters (checking them costs more than a step of a small LSTM). Each step
    still checks its three vectors. Complex-safe."""
    p, n = _params(params, allow_complex=True)

    def step(x_t, a_prev, c_prev):
        x_t = validate.array(x_t, "x_t", (n["n_x"],), allow_complex=True)
        a_prev = validate.array(a_prev, "a_prev", (n["n_a"],), allow_complex=True)
        c_prev = validate.array(c_prev, "c_prev", (n["n_a"],), allow_complex=True)
        cache = _step_cache(_step(p, x_t, a_prev, c_prev))
        return cache.a, cache.c, cache

    return step


@dataclass(kw_only=True)
class GateGradients:
    """The gradients in the quantities of a step, in the order the computation graph is
    walked back: ``da`` the total in a⁽ᵗ⁾, ``dGo`` the output gate's, ``dc`` the total in
    c⁽ᵗ⁾ (from a⁽ᵗ⁾ and from step t+1), ``dGu``, ``dct``, ``dGf`` the update gate's, the
    candidate's and the forget gate's, ``dz_f, dz_u, dz_o, dz_c`` the pre-activations'
    (``dGf`` and ``dz_f`` are None without a forget gate). One step's are (n_a,)
    (:class:`StepBackward`), a sequence's (T, n_a) with step t at row t-1
    (:class:`Backward`)."""

    da: np.ndarray
    dGo: np.ndarray
    dc: np.ndarray
    dGu: np.ndarray
    dct: np.ndarray
    dGf: np.ndarray | None
    dz_f: np.ndarray | None
    dz_u: np.ndarray
    dz_o: np.ndarray
    dz_c: np.ndarray


@dataclass(kw_only=True)
class StepBackward(GateGradients):
    """The backward pass of one step (:func:`cell_backward`): the gradients in its
    quantities (:class:`GateGradients`, each (n_a,); ``da`` is the one it was given), then
    what the step returns: ``step_grads`` (its contributions to ``W_*a``, ``W_*x``,
    ``b_*``), ``da_prev`` and ``dc_prev`` (what flows back to a⁽ᵗ⁻¹⁾ and c⁽ᵗ⁻¹⁾ through
    step t) and ``dx``. Unpacks as ``step_grads, da_prev, dc_prev, dx``."""

    step_grads: dict
    da_prev: np.ndarray
    dc_prev: np.ndarray
    dx: np.ndarray

    def __iter__(self):
        return iter((self.step_grads, self.da_prev, self.dc_prev, self.dx))


def _cell_backward(p, da, dc_next, s: StepCache) -> StepBackward:
    """:func:`cell_backward` without the validation; line by line the backward pass
    through eq. 10, 9, then 2, 4, 6, 8, then 1, 3, 5, 7 of source 001."""
    forget = _has_forget_gate(p)
    tanh_c = np.tanh(s.c)
    dGo = da * tanh_c  # a = tanh(c) o Γ_o
    dc = dc_next + da * s.o * dtanh(tanh_c)  # ... and from step t+1
    dGu, dct = dc * s.c_tilde, dc * s.u  # c = Γ_u o c~ + Γ_f o c_prev
    dGf = dc * s.c_prev if forget else None
    dz = {
        "u": dGu * dsigmoid(s.u),
        "o": dGo * dsigmoid(s.o),
        "c": dct * dtanh(s.c_tilde),
    }
    if forget:
        dz["f"] = dGf * dsigmoid(s.f)
    gates = _gates(p)
    step_grads = {}
    for g in gates:
        step_grads[f"W_{g}a"] = outer_sum(s.a_prev, dz[g])
        step_grads[f"W_{g}x"] = outer_sum(s.x, dz[g])
        step_grads[f"b_{g}"] = sum_rows(dz[g])
    return StepBackward(
        da=da,
        dGo=dGo,
        dc=dc,
        dGu=dGu,
        dct=dct,
        dGf=dGf,
        dz_f=dz.get("f"),
        dz_u=dz["u"],
        dz_o=dz["o"],
        dz_c=dz["c"],
        step_grads=step_grads,
        da_prev=sum(dz[g] @ p[f"W_{g}a"].T for g in gates),  # sum_* W_*a dz_*
        dc_prev=dc * s.f,  # Γ_f o dc
        dx=sum(dz[g] @ p[f"W_{g}x"].T for g in gates),  # sum_* W_*x dz_*
    )


def cell_backward(params, da, dc, cache: StepCache) -> StepBackward:
    """The backward pass of one step (source 001, sections 3.4 to 3.10).

    ``da`` (n_a,) is the total gradient of J in a⁽ᵗ⁾ (from the output at step t and from
    step t+1); ``dc`` (n_a,) is the gradient reaching c⁽ᵗ⁾ from step t+1
    (``f⁽ᵗ⁺¹⁾ o dc⁽ᵗ⁺¹⁾``, zero at t = T). The path c⁽ᵗ⁾ -> a⁽ᵗ⁾ is added here.

    Returns a :class:`StepBackward`, which unpacks as ``(step_grads, da_prev, dc_prev,
    dx)``: ``step_grads`` holds this step's contributions to ``W_*a``, ``W_*x``, ``b_*``
    for every gate (each with its parameter's shape); ``da_prev`` (n_a,) is the part of
    the gradient in a⁽ᵗ⁻¹⁾ that flows through step t's gates, ``dc_prev`` (n_a,) the
    gradient reaching c⁽ᵗ⁻¹⁾ from step t, ``dx`` (n_x,) the gradient in x⁽ᵗ⁾; its other
    fields are the gradients in the step's gates, candidate, cell state and
    pre-activations.

    Checked as ``lstm-step-dGo``, ``lstm-step-dc``, ``lstm-step-dzo``,
    ``lstm-step-dWoa``, ``lstm-step-dWox``, ``lstm-step-dbo``, ``lstm-step-dGu``,
    ``lstm-step-dct``, ``lstm-step-dGf``, ``lstm-step-dcprev``, ``lstm-step-dzu``,
    ``lstm-step-dzf``, ``lstm-step-dzc``, ``lstm-step-dWa``, ``lstm-step-dWx``,
    ``lstm-step-db``, ``lstm-step-daprev``, ``lstm-step-dx`` (lstm/backward-step).
    """
    p, n = _params(params, allow_complex=False)
    da = validate.array(da, "da", (n["n_a"],))
    dc = validate.array(dc, "dc", (n["n_a"],))
    if not isinstance(cache, StepCache):
        raise ValueError(
            f"cache must be the StepCache of one step (lstm.cell_forward), got "
            f"{type(cache).__name__}"
        )
    for field in fields(StepCache):
        size = n["n_x"] if field.name == "x" else n["n_a"]
        validate.array(getattr(cache, field.name), f"cache.{field.name}", (size,))
    return _cell_backward(p, da, dc, cache)


@dataclass
class Cache:
    """The forward pass over a sequence: ``a[t]``, ``c[t]`` for t = 0..T (``a[0] = a0``),
    and for t = 1..T at row t-1: the gates ``f, u, o``, the candidate ``c_tilde``
    (T, n_a), the output pre-activation ``z_y`` and ``y_hat`` (T, n_y). ``h`` is ``a``,
    the hidden state under the name every model's cache uses."""

    a: np.ndarray
    c: np.ndarray
    f: np.ndarray
    u: np.ndarray
    o: np.ndarray
    c_tilde: np.ndarray
    z_y: np.ndarray
    y_hat: np.ndarray

    @property
    def h(self) -> np.ndarray:
        """The hidden states a⁽ᵗ⁾, under the name every model's cache uses."""
        return self.a

    def step(self, t: int, x) -> StepCache:
        """The :class:`StepCache` of step t (1..T), for :func:`cell_backward`."""
        i = validate.step(t, self.f.shape[0]) - 1
        return StepCache(
            x[i],
            self.a[i],
            self.c[i],
            self.f[i],
            self.u[i],
            self.o[i],
            self.c_tilde[i],
            self.c[i + 1],
            self.a[i + 1],
        )


def _forward(p, x, a0, c0, t_node=None, replace=None) -> Cache:
    T = x.shape[0]
    replace = replace or {}
    dtype = np.result_type(*p.values(), x, a0, c0, *replace.values())
    a = np.zeros((T + 1, *a0.shape), dtype=dtype)
    c = np.zeros((T + 1, *a0.shape), dtype=dtype)
    gates = {
        k: np.zeros((T, *a0.shape), dtype=dtype) for k in ("f", "u", "o", "c_tilde")
    }
    z_y = np.zeros((T, *a0.shape[:-1], p["W_ya"].shape[1]), dtype=dtype)
    a[0], c[0] = a0, c0
    for t in range(1, T + 1):
        here = replace if t == t_node else None
        q = {**p, **{k: v for k, v in here.items() if k in p}} if here else p
        v = _step(q, x[t - 1], a[t - 1], c[t - 1], here)
        a[t], c[t], z_y[t - 1] = v["a"], v["c"], v["z_y"]
        for k in gates:
            gates[k][t - 1] = v[k]
    return Cache(
        a, c, gates["f"], gates["u"], gates["o"], gates["c_tilde"], z_y, softmax(z_y)
    )  # eq. 12


def forward(params, x, a0=None, c0=None) -> Cache:
    """Run eq. 1 to 12 over the whole sequence (complex-safe); returns a :class:`Cache`."""
    p, x, _, a0, c0 = validated(
        params, x, None, a0, c0, allow_complex=True, labels=False
    )
    return _forward(p, x, a0, c0)


def loss(params, x, y, a0=None, c0=None):
    """The summed cross-entropy ``J``; accepts complex128 inputs for the complex step.

    Checked as ``van-cec-cell`` (vanishing/carousel)."""
    p, x, y, a0, c0 = validated(params, x, y, a0, c0, allow_complex=True)
    return np.sum(label_losses(_forward(p, x, a0, c0).z_y, y))


def step_loss(params, x, y, t: int, node, value=None, a0=None, c0=None):
    """``J`` with one quantity of step ``t`` replaced by ``value`` (complex-safe).

    ``node`` is one of :data:`STEP_NODES` (``"a_prev"`` and ``"c_prev"`` are a⁽ᵗ⁻¹⁾ and
    c⁽ᵗ⁻¹⁾ as step t reads them) or a parameter name (the copy step t uses, the others
    untouched); or a dict ``{name: value}`` replacing several at once (``value`` unused).
    Everything computed from them is recomputed, everything else is unchanged, so the
    derivative of ``step_loss`` in ``value`` is ∂J/∂(that quantity at step t): for a
    parameter, step t's contribution to its gradient.
    """
    p, x, y, a0, c0 = validated(params, x, y, a0, c0, allow_complex=True)
    validate.step(t, x.shape[0])
    replace = dict(node) if isinstance(node, dict) else {node: value}
    n_x, n_a, n_y = x.shape[1], a0.shape[0], p["b_y"].shape[0]
    for name in replace:
        if name in p:
            shape = p[name].shape
        elif name in STEP_NODES:
            shape = {"x": (n_x,), "z_y": (n_y,)}.get(name, (n_a,))
        else:
            raise ValueError(f"unknown node {name!r}; known: {STEP_NODES + tuple(p)}")
        replace[name] = validate.array(
            replace[name], f"the value of {name}", shape, allow_complex=True
        )
    return np.sum(label_losses(_forward(p, x, a0, c0, t, replace).z_y, y))


def _stacked(estimates) -> Estimate:
    first = estimates[0]
    return Estimate(np.stack([e.value for e in estimates]), first.method, first.step)


def _grad_fn(method: str):
    if method not in ("central", "complex-step"):
        raise ValueError(f"unknown method {method!r}; use 'central' or 'complex-step'")
    return {"central": central_grad, "complex-step": complex_step_grad}[method]


def step_grad(params, x, y, t, node, a0=None, c0=None, method: str = "central"):
    """∂J/∂(``node`` at step ``t``) by numerical differentiation of :func:`step_loss`.

    ``node`` is a name, or a list of names of equal shape; ``t`` is a step, or a list of
    steps. Lists are stacked along new leading axes (names first, then steps). ``method``
    is ``"central"`` or ``"complex-step"``. Returns an
    :class:`~lstm_notes.checking.numdiff.Estimate` for :func:`~lstm_notes.checking.check.check`.
    """
    if not isinstance(node, str):
        return _stacked([step_grad(params, x, y, t, n, a0, c0, method) for n in node])
    if not isinstance(t, (int, np.integer)):
        return _stacked([step_grad(params, x, y, k, node, a0, c0, method) for k in t])
    grad = _grad_fn(method)
    p, xs, _, a_0, c_0 = validated(params, x, y, a0, c0, allow_complex=False)
    cache = _forward(p, xs, a_0, c_0)
    t = validate.step(t, xs.shape[0])
    point = _step(p, xs[t - 1], cache.a[t - 1], cache.c[t - 1])
    if node not in point and node not in p:
        raise ValueError(f"unknown node {node!r}; known: {STEP_NODES + tuple(p)}")
    start = p[node] if node in p else point[node]
    return grad(lambda v: step_loss(params, x, y, t, node, v, a0, c0), start)


def numeric_grad(params, x, y, name, a0=None, c0=None, method: str = "central"):
    """∂J/∂``name`` of the whole sequence's loss, numerically: ``name`` is a parameter,
    ``"a0"``, ``"c0"`` or ``"x"``, or a list of names of equal shape (stacked)."""
    if not isinstance(name, str):
        return _stacked([numeric_grad(params, x, y, n, a0, c0, method) for n in name])
    p, xs, _, a_0, c_0 = validated(params, x, y, a0, c0, allow_complex=False)
    point = {**p, "x": xs, "a0": a_0, "c0": c_0}
    if name not in point:
        raise ValueError(f"unknown name {name!r}; known: {sorted(point)}")

    def J(v):
        q = {**point, name: v}
        return loss({k: q[k] for k in p}, q["x"], y, q["a0"], q["c0"])

    return _grad_fn(method)(J, point[name])


@dataclass(kw_only=True)
class Backward(GateGradients):
    """The backward pass over a sequence: ``grads`` (every parameter, ``a0``, ``c0``),
    and at row t-1 for step t the gradients in the step's quantities
    (:class:`GateGradients`, each (T, n_a)), ``dz_y`` (T, n_y) and ``dx`` (T, n_x)."""

    grads: dict
    dz_y: np.ndarray
    dx: np.ndarray


def _bptt(p, cache: Cache, x, y) -> Backward:
    T, state = x.shape[0], cache.a.shape[1:]
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    record = {
        k: None
        if k in ("dGf", "dz_f") and not _has_forget_gate(p)
        else np.zeros((T, *state))
        for k in (f.name for f in fields(GateGradients))
    }
    dz_y = output_error(cache.y_hat, y)  # eq. 11, 12 with J
    dx = np.zeros(x.shape)
    da_next, dc_next = np.zeros(state), np.zeros(state)
    for t in range(T, 0, -1):
        da = dz_y[t - 1] @ p["W_ya"].T + da_next  # 3.3: Comp-2 + Comp-1
        step = _cell_backward(p, da, dc_next, cache.step(t, x))
        for k, v in step.step_grads.items():
            grads[k] += v
        for k, rows in record.items():
            if rows is not None:
                rows[t - 1] = getattr(step, k)
        da_next, dc_next, dx[t - 1] = step.da_prev, step.dc_prev, step.dx
    grads["W_ya"] = outer_sum(cache.a[1:], dz_y)
    grads["b_y"] = sum_rows(dz_y)
    grads["a0"], grads["c0"] = da_next, dc_next
    return Backward(grads=grads, dz_y=dz_y, dx=dx, **record)


def bptt(params, cache: Cache, x, y) -> Backward:
    """Back-propagation through time, chaining the step's backward pass from t = T to 1;
    the whole record (:class:`Backward`).

    Checked as ``lstm-bptt-dzy``, ``lstm-bptt-da``, ``lstm-bptt-dGo``, ``lstm-bptt-dc``,
    ``lstm-bptt-dGu-dct-dGf``, ``lstm-bptt-dz``, ``lstm-bptt-db`` (lstm/bptt); the total
    gradient in a⁽ᵗ⁾ that the block at step t is given, ``lstm-step-da``
    (lstm/backward-step)."""
    p, x, y, _, _ = validated(params, x, y, None, None, allow_complex=False)
    return _bptt(p, _cache(p, cache, x), x, y)


def _cache(p, cache, x) -> Cache:
    """The forward pass a backward pass is given, checked against ``x`` and ``p``: the
    shapes, float64, finite values, and f = 1 for parameters without a forget gate."""
    if not isinstance(cache, Cache):
        raise ValueError(
            f"cache must be the Cache of lstm.forward, got {type(cache).__name__}"
        )
    n_a, n_y = p["W_ya"].shape
    lead = x.shape[:-1]
    for name in ("a", "c"):
        validate.array(
            getattr(cache, name), f"cache.{name}", (lead[0] + 1, *lead[1:], n_a)
        )
    for name in ("f", "u", "o", "c_tilde"):
        validate.array(getattr(cache, name), f"cache.{name}", (*lead, n_a))
    validate.array(cache.y_hat, "cache.y_hat", (*lead, n_y))
    if not _has_forget_gate(p) and not np.all(cache.f == 1.0):
        raise ValueError(
            "cache.f is not 1: the cache is of an LSTM with a forget gate, "
            "the parameters are the carousel's"
        )
    return cache


def backward(params, cache: Cache, x, y) -> dict[str, np.ndarray]:
    """The gradient of every parameter and of ``a0``, ``c0`` (denominator layout)."""
    return bptt(params, cache, x, y).grads


def loss_and_grads(
    params, x, y, a0=None, c0=None
) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and the gradient of every parameter and of ``a0``, ``c0`` (float64 only).

    The gradients have the shapes of their variables (denominator layout). The gradient
    in the inputs is :func:`grads_x`.

    Checked as ``lstm-bptt-a0``, ``lstm-bptt-dWa``, ``lstm-bptt-dWx``,
    ``lstm-bptt-dWya``, ``lstm-bptt-db`` (lstm/bptt); ``lstm-lay-transpose``
    (lstm/layout).
    """
    p, x, y, a0, c0 = validated(params, x, y, a0, c0, allow_complex=False)
    cache = _forward(p, x, a0, c0)
    return float(np.sum(label_losses(cache.z_y, y))), _bptt(p, cache, x, y).grads


def batch_loss_and_grads(params, x, y, a0=None, c0=None):
    """The summed loss and gradients of a batch (equation ``van-batch-grads``): ``x``
    (T, B, n_x), ``y`` (T, B) labels, ``a0``, ``c0`` (B, n_a) (zeros if None). Returns
    ``(loss, grads, y_hat)``: ``grads`` has every parameter and ``a0``, ``c0`` (B, n_a);
    ``y_hat`` (T, B, n_y). The same lines as :func:`loss_and_grads`, on rows.

    Checked as ``van-batch-grads`` (vanishing/experiments)."""
    p, x, y, a0, c0 = validated(params, x, y, a0, c0, allow_complex=False, batch=True)
    if x.ndim != 3:
        raise ValueError(f"x must be a batch (T, B, n_x), got shape {x.shape}")
    cache = _forward(p, x, a0, c0)
    return (
        float(np.sum(label_losses(cache.z_y, y))),
        _bptt(p, cache, x, y).grads,
        cache.y_hat,
    )


def grads_x(params, x, y, a0=None, c0=None) -> np.ndarray:
    """The gradient of ``J`` in the inputs, (T, n_x): row t-1 is ∂J/∂x⁽ᵗ⁾ (float64 only).

    Checked as ``lstm-bptt-dx`` (lstm/bptt)."""
    p, x, y, a0, c0 = validated(params, x, y, a0, c0, allow_complex=False)
    return _bptt(p, _forward(p, x, a0, c0), x, y).dx
