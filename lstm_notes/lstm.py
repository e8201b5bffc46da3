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
    dc   = da o o o (1 - tanh²c) + f⁽ᵗ⁺¹⁾ o dc⁽ᵗ⁺¹⁾
    dz_o = da o tanh(c) o o (1 - o)        dz_u = dc o c~ o u (1 - u)
    dz_f = dc o c_prev o f (1 - f)         dz_c = dc o u o (1 - c~²)
    dW_*a = sum_t a_prev dz_*^T    dW_*x = sum_t x_t dz_*^T    db_* = sum_t dz_*
    dW_ya = sum_t a dz_y^T         db_y = sum_t dz_y
    dx_t  = sum_* W_*x dz_*        da0 = sum_* W_*a dz_*⁽¹⁾    dc0 = f⁽¹⁾ o dc⁽¹⁾

API::

    params = init_params(n_x, n_a, n_y, seed=0, forget_bias=0.0)
    loss, grads = loss_and_grads(params, x, y, a0=None, c0=None)   # grads: params + a0, c0
    dx = grads_x(params, x, y, a0=None, c0=None)                    # (T, n_x)
    a, c, cache = cell_forward(params, x_t, a_prev, c_prev)          # one step
    step_grads, da_prev, dc_prev, dx_t = cell_backward(params, da, dc, cache)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate
from .calculus import dsigmoid, dtanh, log_softmax, sigmoid, softmax

__all__ = ["PARAM_NAMES", "GATES", "STEP_NODES", "shapes", "init_params", "example", "sizes",
           "cell_forward", "cell_backward", "forward", "loss", "loss_and_grads",
           "backward", "grads_x", "step_loss", "step_grad", "numeric_grad", "Cache", "StepCache", "Backward"]

PARAM_NAMES = ("W_fa", "W_fx", "b_f", "W_ua", "W_ux", "b_u", "W_oa", "W_ox", "b_o",
               "W_ca", "W_cx", "b_c", "W_ya", "b_y")
#: The four gate blocks, in source 001's order of equations (forget, update, output, cell).
GATES = ("f", "u", "o", "c")
#: The quantities of one step that :func:`step_loss` can replace, in computation order.
STEP_NODES = ("a_prev", "c_prev", "x", "z_f", "f", "z_u", "u", "z_o", "o", "z_c",
              "c_tilde", "c", "a", "z_y")


def shapes(n_x: int, n_a: int, n_y: int) -> dict[str, tuple]:
    """The shape of every parameter (source 001, section 2)."""
    out = {}
    for g in GATES:
        out[f"W_{g}a"] = (n_a, n_a)
        out[f"W_{g}x"] = (n_x, n_a)
        out[f"b_{g}"] = (n_a,)
    out["W_ya"] = (n_a, n_y)
    out["b_y"] = (n_y,)
    return {k: out[k] for k in PARAM_NAMES}


def init_params(n_x: int, n_a: int, n_y: int, seed: int = 0,
                forget_bias: float = 0.0) -> dict[str, np.ndarray]:
    """Seeded Gaussian weights (standard deviation ``1/sqrt(n_a)``), biases ``0.1·N(0, 1)``
    except ``b_f``, which is exactly ``forget_bias`` everywhere (nothing random) so that
    experiments can set it."""
    rng = np.random.default_rng(seed)
    s = 1.0 / np.sqrt(n_a)
    params = {}
    for name, shape in shapes(n_x, n_a, n_y).items():
        if name == "b_f":
            params[name] = np.full(shape, float(forget_bias))
        elif name.startswith("b_"):
            params[name] = 0.1 * rng.standard_normal(shape)
        else:
            params[name] = s * rng.standard_normal(shape)
    return params


def example(n_x: int = 3, n_a: int = 5, n_y: int = 4, T: int = 7, seed: int = 0):
    """The book's worked example: ``(params, x, y, a0, c0)``, seeded, with distinct sizes
    (so that a transposed or misindexed formula cannot pass) and non-zero initial states."""
    rng = np.random.default_rng(seed)
    params = init_params(n_x, n_a, n_y, seed=seed, forget_bias=0.5)
    x = rng.standard_normal((T, n_x))
    y = rng.integers(0, n_y, T)
    a0, c0 = 0.5 * rng.standard_normal(n_a), 0.5 * rng.standard_normal(n_a)
    return params, x, y, a0, c0


def sizes(params) -> tuple[int, int, int]:
    """(n_x, n_a, n_y) read off ``W_fx`` and ``W_ya``, after checking the names."""
    _validate.keys(params, PARAM_NAMES)
    n_x, n_a = _validate.matrix_shape(params, "W_fx")
    n_y = _validate.matrix_shape(params, "W_ya")[1]
    return n_x, n_a, n_y


def _checked_params(params, allow_complex: bool):
    n_x, n_a, n_y = sizes(params)
    return _validate.params(params, shapes(n_x, n_a, n_y), allow_complex), (n_x, n_a, n_y)


def _checked_inputs(params, x, a0, c0, allow_complex: bool):
    p, (n_x, n_a, _) = _checked_params(params, allow_complex)
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (T, n_x) = (T, {n_x}), got {x.shape}")
    x = _validate.array(x, "x", (x.shape[0], n_x), allow_complex)
    if x.shape[0] < 1:
        raise ValueError("x is empty: the sequence needs at least one step")
    dtype = np.result_type(*p.values(), x)
    a0 = _validate.state(a0, "a0", n_a, dtype, allow_complex)
    c0 = _validate.state(c0, "c0", n_a, dtype, allow_complex)
    return p, x, a0, c0


def validated(params, x, y, a0, c0, allow_complex: bool):
    """Check everything the model takes; returns (params, x, y, a0, c0) as arrays."""
    p, x, a0, c0 = _checked_inputs(params, x, a0, c0, allow_complex)
    x, y = _validate.sequence(x, y, x.shape[1], p["W_ya"].shape[1], allow_complex)
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


def _cell(p, x_t, a_prev, c_prev, replace=None):
    """One step, eq. 1 to 10; every quantity of the step named in the dict ``replace`` has
    its computed value replaced, and everything after it uses the replacement."""
    replace = replace or {}

    def at(name, computed):
        return replace.get(name, computed)

    a_prev, c_prev, x_t = at("a_prev", a_prev), at("c_prev", c_prev), at("x", x_t)

    def pre(g):
        return p[f"W_{g}a"].T @ a_prev + p[f"W_{g}x"].T @ x_t + p[f"b_{g}"]

    f = at("f", sigmoid(at("z_f", pre("f"))))
    u = at("u", sigmoid(at("z_u", pre("u"))))
    o = at("o", sigmoid(at("z_o", pre("o"))))
    c_tilde = at("c_tilde", np.tanh(at("z_c", pre("c"))))
    c = at("c", u * c_tilde + f * c_prev)
    a = at("a", np.tanh(c) * o)
    return StepCache(x_t, a_prev, c_prev, f, u, o, c_tilde, c, a)


def cell_forward(params, x_t, a_prev, c_prev):
    """One LSTM step, eq. 1 to 10 of source 001 (complex-safe).

    Parameters: ``x_t`` (n_x,), ``a_prev`` (n_a,), ``c_prev`` (n_a,).
    Returns ``(a, c, cache)`` with ``a``, ``c`` (n_a,) and a :class:`StepCache`.
    """
    p, (n_x, n_a, _) = _checked_params(params, allow_complex=True)
    x_t = _validate.array(x_t, "x_t", (n_x,), allow_complex=True)
    a_prev = _validate.array(a_prev, "a_prev", (n_a,), allow_complex=True)
    c_prev = _validate.array(c_prev, "c_prev", (n_a,), allow_complex=True)
    cache = _cell(p, x_t, a_prev, c_prev)
    return cache.a, cache.c, cache


def _cell_backward(params, da, dc, cache: StepCache):
    """:func:`cell_backward`, also returning the step's ``dz`` (per gate) and total ``dc``."""
    tanh_c = np.tanh(cache.c)
    dc = dc + da * cache.o * dtanh(tanh_c)                        # 3.4, both components
    dz = {
        "f": dc * cache.c_prev * dsigmoid(cache.f),               # 3.6, 3.8
        "u": dc * cache.c_tilde * dsigmoid(cache.u),              # 3.6, 3.7
        "o": da * tanh_c * dsigmoid(cache.o),                     # 3.4, 3.5
        "c": dc * cache.u * dtanh(cache.c_tilde),                 # 3.6, 3.9
    }
    step_grads = {}
    for g in GATES:
        step_grads[f"W_{g}a"] = np.outer(cache.a_prev, dz[g])
        step_grads[f"W_{g}x"] = np.outer(cache.x, dz[g])
        step_grads[f"b_{g}"] = dz[g]
    da_prev = sum(params[f"W_{g}a"] @ dz[g] for g in GATES)       # 3.10
    dx = sum(params[f"W_{g}x"] @ dz[g] for g in GATES)            # 3.10
    dc_prev = dc * cache.f                                        # 3.6
    return step_grads, da_prev, dc_prev, dx, dz, dc


def cell_backward(params, da, dc, cache: StepCache):
    """The backward pass of one step (source 001, sections 3.4 to 3.10).

    ``da`` (n_a,) is the total gradient of J in a⁽ᵗ⁾ (from the output at step t and from
    step t+1); ``dc`` (n_a,) is the gradient reaching c⁽ᵗ⁾ from step t+1
    (``f⁽ᵗ⁺¹⁾ o dc⁽ᵗ⁺¹⁾``, zero at t = T). The path c⁽ᵗ⁾ -> a⁽ᵗ⁾ is added here.

    Returns ``(step_grads, da_prev, dc_prev, dx)``: ``step_grads`` holds this step's
    contributions to ``W_*a``, ``W_*x``, ``b_*`` for * in f, u, o, c (each with its
    parameter's shape); ``da_prev`` (n_a,) is the part of the gradient in a⁽ᵗ⁻¹⁾ that flows
    through step t's gates, ``dc_prev`` (n_a,) the gradient reaching c⁽ᵗ⁻¹⁾ from step t,
    ``dx`` (n_x,) the gradient in x⁽ᵗ⁾.
    """
    return _cell_backward(params, da, dc, cache)[:4]


@dataclass
class Cache:
    """The forward pass over a sequence: ``a[t]``, ``c[t]`` for t = 0..T (``a[0] = a0``),
    and for t = 1..T at row t-1: the gates ``f, u, o``, the candidate ``c_tilde``
    (T, n_a), the output pre-activation ``z_y`` and ``y_hat`` (T, n_y)."""

    a: np.ndarray
    c: np.ndarray
    f: np.ndarray
    u: np.ndarray
    o: np.ndarray
    c_tilde: np.ndarray
    z_y: np.ndarray
    y_hat: np.ndarray

    def step(self, t: int, x) -> StepCache:
        """The :class:`StepCache` of step t (1..T), for :func:`cell_backward`."""
        i = t - 1
        return StepCache(x[i], self.a[t - 1], self.c[t - 1], self.f[i], self.u[i],
                         self.o[i], self.c_tilde[i], self.c[t], self.a[t])


def _forward(p, x, a0, c0, t_node=None, replace=None) -> Cache:
    T = x.shape[0]
    n_a, n_y = p["W_ya"].shape
    replace = replace or {}
    dtype = np.result_type(*p.values(), x, a0, c0, *replace.values())
    a = np.zeros((T + 1, n_a), dtype=dtype)
    c = np.zeros((T + 1, n_a), dtype=dtype)
    gates = {k: np.zeros((T, n_a), dtype=dtype) for k in ("f", "u", "o", "c_tilde")}
    z_y = np.zeros((T, n_y), dtype=dtype)
    y_hat = np.zeros((T, n_y), dtype=dtype)
    a[0], c[0] = a0, c0
    for t in range(1, T + 1):
        here = replace if t == t_node else {}
        q = {**p, **{k: v for k, v in here.items() if k in PARAM_NAMES}}
        s = _cell(q, x[t - 1], a[t - 1], c[t - 1], here)
        a[t], c[t] = s.a, s.c
        for k in gates:
            gates[k][t - 1] = getattr(s, k)
        z = q["W_ya"].T @ a[t] + q["b_y"]                          # eq. 11
        z_y[t - 1] = here.get("z_y", z)
        y_hat[t - 1] = softmax(z_y[t - 1])                            # eq. 12
    return Cache(a, c, gates["f"], gates["u"], gates["o"], gates["c_tilde"], z_y, y_hat)


def forward(params, x, a0=None, c0=None) -> Cache:
    """Run eq. 1 to 12 over the whole sequence (complex-safe); returns a :class:`Cache`."""
    p, x, a0, c0 = _checked_inputs(params, x, a0, c0, allow_complex=True)
    return _forward(p, x, a0, c0)


def _loss_from(cache: Cache, y):
    return -np.sum(log_softmax(cache.z_y)[np.arange(len(y)), y])


def loss(params, x, y, a0=None, c0=None):
    """The summed cross-entropy ``J``; accepts complex128 inputs for the complex step."""
    p, x, y, a0, c0 = validated(params, x, y, a0, c0, allow_complex=True)
    return _loss_from(_forward(p, x, a0, c0), y)


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
    if not 1 <= t <= x.shape[0]:
        raise ValueError(f"step t = {t} is out of range 1..{x.shape[0]}")
    replace = dict(node) if isinstance(node, dict) else {node: value}
    for name in replace:
        if name not in STEP_NODES and name not in PARAM_NAMES:
            raise ValueError(f"unknown node {name!r}; known: {STEP_NODES + PARAM_NAMES}")
    cache = _forward(p, x, a0, c0, t, replace)
    return _loss_from(cache, y)


def _stacked(estimates):
    from .numdiff import Estimate

    first = estimates[0]
    return Estimate(np.stack([e.value for e in estimates]), first.method, first.step)


def _grad_fn(method: str):
    from .numdiff import central_grad, complex_step_grad

    if method not in ("central", "complex-step"):
        raise ValueError(f"unknown method {method!r}; use 'central' or 'complex-step'")
    return {"central": central_grad, "complex-step": complex_step_grad}[method]


def step_grad(params, x, y, t, node, a0=None, c0=None, method: str = "central"):
    """∂J/∂(``node`` at step ``t``) by numerical differentiation of :func:`step_loss`.

    ``node`` is a name, or a list of names of equal shape; ``t`` is a step, or a list of
    steps. Lists are stacked along new leading axes (names first, then steps). ``method``
    is ``"central"`` or ``"complex-step"``. Returns an
    :class:`~lstm_notes.numdiff.Estimate` for :func:`~lstm_notes.check.check`.
    """
    if not isinstance(node, str):
        return _stacked([step_grad(params, x, y, t, n, a0, c0, method) for n in node])
    if not isinstance(t, (int, np.integer)):
        return _stacked([step_grad(params, x, y, k, node, a0, c0, method) for k in t])
    grad = _grad_fn(method)
    cache = forward(params, x, a0, c0)
    x_t = np.asarray(x)[t - 1]
    point = {"a_prev": cache.a[t - 1], "c_prev": cache.c[t - 1], "x": x_t,
             "f": cache.f[t - 1], "u": cache.u[t - 1], "o": cache.o[t - 1],
             "c_tilde": cache.c_tilde[t - 1], "c": cache.c[t], "a": cache.a[t],
             "z_y": cache.z_y[t - 1]}
    for g in GATES:
        point[f"z_{g}"] = (params[f"W_{g}a"].T @ cache.a[t - 1] + params[f"W_{g}x"].T @ x_t
                           + params[f"b_{g}"])
    start = params[node] if node in PARAM_NAMES else point[node]
    return grad(lambda v: step_loss(params, x, y, t, node, v, a0, c0), start)


def numeric_grad(params, x, y, name, a0=None, c0=None, method: str = "central"):
    """∂J/∂``name`` of the whole sequence's loss, numerically: ``name`` is a parameter,
    ``"a0"``, ``"c0"`` or ``"x"``, or a list of names of equal shape (stacked)."""
    if not isinstance(name, str):
        return _stacked([numeric_grad(params, x, y, n, a0, c0, method) for n in name])
    n_a = sizes(params)[1]
    point = {**params, "x": np.asarray(x),
             "a0": np.zeros(n_a) if a0 is None else a0,
             "c0": np.zeros(n_a) if c0 is None else c0}
    if name not in point:
        raise ValueError(f"unknown name {name!r}; known: {sorted(point)}")

    def J(v):
        q = {**point, name: v}
        p = {k: q[k] for k in PARAM_NAMES}
        return loss(p, q["x"], y, q["a0"], q["c0"])

    return _grad_fn(method)(J, point[name])


@dataclass
class Backward:
    """The backward pass over a sequence: ``grads`` (every parameter, ``a0``, ``c0``) and,
    at row t-1 for step t, the total gradients ``da`` and ``dc`` in a⁽ᵗ⁾ and c⁽ᵗ⁾ (T, n_a),
    the gate pre-activation gradients ``dz_f, dz_u, dz_o, dz_c`` (T, n_a), ``dz_y``
    (T, n_y) and ``dx`` (T, n_x)."""

    grads: dict
    da: np.ndarray
    dc: np.ndarray
    dz_f: np.ndarray
    dz_u: np.ndarray
    dz_o: np.ndarray
    dz_c: np.ndarray
    dz_y: np.ndarray
    dx: np.ndarray


def backward(params, x, y, cache: Cache) -> Backward:
    """Back-propagation through time, chaining :func:`cell_backward` from t = T to 1."""
    T, n_x = x.shape
    n_a = cache.a.shape[1]
    grads = {k: np.zeros_like(v, dtype=np.float64) for k, v in params.items()}
    out = {k: np.zeros((T, n_a)) for k in ("da", "dc", "dz_f", "dz_u", "dz_o", "dz_c")}
    dz_y = cache.y_hat.copy()
    dz_y[np.arange(T), y] -= 1.0                                   # eq. 11, 12 with J
    dx = np.zeros((T, n_x))
    da_next, dc_next = np.zeros(n_a), np.zeros(n_a)
    for t in range(T, 0, -1):
        da = params["W_ya"] @ dz_y[t - 1] + da_next               # 3.3: Comp-2 + Comp-1
        step, da_next, dc_next, dx[t - 1], dz, dc = _cell_backward(params, da, dc_next,
                                                                   cache.step(t, x))
        for k, v in step.items():
            grads[k] += v
        out["da"][t - 1], out["dc"][t - 1] = da, dc
        for g in GATES:
            out[f"dz_{g}"][t - 1] = dz[g]
    grads["W_ya"] = cache.a[1:].T @ dz_y
    grads["b_y"] = dz_y.sum(axis=0)
    grads["a0"], grads["c0"] = da_next, dc_next
    return Backward(grads, dz_y=dz_y, dx=dx, **out)


def loss_and_grads(params, x, y, a0=None, c0=None) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and the gradient of every parameter and of ``a0``, ``c0`` (float64 only).

    The gradients have the shapes of their variables (denominator layout). The gradient
    in the inputs is :func:`grads_x`.
    """
    p, x, y, a0, c0 = validated(params, x, y, a0, c0, allow_complex=False)
    cache = _forward(p, x, a0, c0)
    return float(_loss_from(cache, y)), backward(p, x, y, cache).grads


def grads_x(params, x, y, a0=None, c0=None) -> np.ndarray:
    """The gradient of ``J`` in the inputs, (T, n_x): row t-1 is ∂J/∂x⁽ᵗ⁾ (float64 only)."""
    p, x, y, a0, c0 = validated(params, x, y, a0, c0, allow_complex=False)
    return backward(p, x, y, _forward(p, x, a0, c0)).dx
