"""Numerical differentiation in float64.

The estimators, each returning an :class:`Estimate` that :func:`lstm_notes.checking.check.check`
compares with an analytic result:

``central_grad``
    Central differences, ``D(h) = (f(x + h e_i) - f(x - h e_i)) / (2 h)`` for every
    entry of ``x``, extrapolated (Richardson): ``D(h) = f' + c h^2 + O(h^4)``, so
    ``(4 D(h) - D(2h)) / 3`` cancels the ``h^2`` term. The truncation error falls to
    ``O(h^4)`` and the step can grow to ``h = eps^(1/5) ~ 7e-4`` (scaled by
    ``max(1, |x_i|)``), where the rounding error ``O(eps |f| / h)`` is about
    ``3e-13`` times the function's scale. Four evaluations per entry instead of two buy
    10 to 100 times the accuracy of a single central difference at its best step
    ``eps^(1/3)`` (``CENTRAL_STEP``, equation ``calc-central``: the rule of
    :func:`central_steps`); the book's central checks measure at most about ``3e-10``
    relative, against ``2e-8`` with a single difference (equation
    ``calc-richardson``).
``complex_step_grad``
    ``Im f(x + i h e_i) / h`` with ``h = 1e-20``: no subtraction, hence no cancellation,
    and an error near machine precision. Only valid when every operation in ``f`` is
    analytic (no ``abs``, no ``maximum``, no writing into a float buffer).
``directional``
    Derivatives along ``k`` random unit directions ``v``: the central difference
    ``(f(x + h v) - f(x - h v)) / 2h`` extrapolated in the same way (or the complex
    step along ``v``). The cost is ``4k`` (or ``k``) evaluations whatever
    the size of ``x``; the analytic gradient ``g`` is compared through ``<g, v>``.
``differential``
    The derivative of any (scalar, vector or matrix valued) ``f`` along one direction
    ``dx``: the first-order change ``df`` that the differential rules predict.
``jacobian``
    The full Jacobian of a vector- or matrix-valued map, by central differences or the
    complex step, with shape ``f(x).shape + x.shape`` (numerator layout, generalised).

Every function takes the point ``x`` explicitly and calls ``f`` with a perturbed copy:
no closure that ignores its argument, no array mutated behind ``f``'s back.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .validate import finite_float64

__all__ = [
    "CENTRAL_STEP",
    "EXTRAPOLATED_STEP",
    "COMPLEX_STEP",
    "Estimate",
    "central_grad",
    "complex_step_grad",
    "directional",
    "jacobian",
    "differential",
    "central_steps",
    "extrapolated_steps",
    "direction_step",
    "step_study",
    "as_float64",
    "wrt",
]

#: Relative step of central differences: the cube root of float64's machine epsilon.
CENTRAL_STEP = float(np.finfo(np.float64).eps ** (1.0 / 3.0))
#: Relative base step of the extrapolated central differences of :func:`jacobian` and
#: :func:`central_grad`: the fifth root of float64's machine epsilon, where the O(h^4)
#: truncation error and the O(eps / h) rounding error balance.
EXTRAPOLATED_STEP = float(np.finfo(np.float64).eps ** (1.0 / 5.0))
#: Step of the complex-step method; any h <= 1e-8 gives the same result to rounding.
COMPLEX_STEP = 1e-20

METHOD_NAMES = {
    "central": "central differences",
    "central-single": "one central difference",
    "complex-step": "complex step",
    "directional": "random directions (central)",
    "directional-complex": "random directions (complex step)",
    "exact": "two exact forms",
    "fit": "theory (fitted slopes)",
}


@dataclass(frozen=True)
class Estimate:
    """A numerical derivative and how it was obtained.

    ``value`` has the shape of the quantity it estimates, except for the random-direction
    methods, where it holds one directional derivative per row of ``directions``.
    """

    value: np.ndarray
    method: str
    step: float
    directions: np.ndarray | None = None

    @property
    def method_name(self) -> str:
        return METHOD_NAMES[self.method]

    def along_directions(self) -> Estimate:
        """The derivatives along the random directions alone, ``value[j]`` along
        ``directions[j]``, to compare with ``<G, v_j> = tr(G^T v_j)`` evaluated by hand
        (equation ``calc-directional``) rather than by :func:`~lstm_notes.checking.check.check`."""
        if self.directions is None:
            raise ValueError("only a random-direction estimate has directions")
        return replace(self, directions=None)

    def apply(self, fn: Callable[[np.ndarray], np.ndarray]) -> Estimate:
        """The same estimate rearranged (transposed, reshaped, a block taken), still
        carrying its method and so its tolerances."""
        if self.directions is not None:
            raise ValueError("a random-direction estimate cannot be rearranged")
        return replace(self, value=np.asarray(fn(self.value)))


def as_float64(x, name: str = "x") -> np.ndarray:
    """Return ``x`` as a float64 array, refusing float32, integers and non-finite entries:
    derivatives are taken in float64."""
    return finite_float64(x, name)


def wrt(
    f: Callable[[dict], float], params: dict, name: str
) -> Callable[[np.ndarray], float]:
    """``f(params)`` as a function of ``params[name]`` alone.

    The returned function builds a new dict with the perturbed value in place of
    ``params[name]`` (the others untouched), so the perturbation is passed explicitly.
    """
    if name not in params:
        raise ValueError(f"unknown parameter name {name!r}; known: {sorted(params)}")

    def of(value):
        return f({**params, name: value})

    of.__name__ = f"{getattr(f, '__name__', 'f')}_wrt_{name}"
    return of


def central_steps(x: np.ndarray) -> np.ndarray:
    """Per-entry central-difference steps ``eps^(1/3) * max(1, |x_i|)``, rounded so that
    ``x + h`` is exact (equation ``calc-central``)."""
    h = CENTRAL_STEP * np.maximum(1.0, np.abs(x))
    return (x + h) - x


def extrapolated_steps(x: np.ndarray) -> np.ndarray:
    """Per-entry base steps of the extrapolated central differences,
    ``eps^(1/5) * max(1, |x_i|)``, rounded so that ``x + h`` is exact."""
    h = EXTRAPOLATED_STEP * np.maximum(1.0, np.abs(x))
    return (x + h) - x


def _scalar_valued(f):
    """``f``, refusing to go on if it returns anything but a scalar."""
    return lambda v: _scalar(f(v), "f")


def _scalar(value, what: str) -> float | complex:
    out = np.asarray(value)
    if out.shape != ():
        raise ValueError(f"{what} must return a scalar, got shape {out.shape}")
    return out[()]


def central_grad(f: Callable[[np.ndarray], float], x) -> Estimate:
    """Gradient of the scalar function ``f`` at ``x`` by central differences,
    extrapolated (see the module's notes): the :func:`jacobian` of a scalar, which has
    the shape of ``x``."""
    return jacobian(_scalar_valued(f), x, "central")


def _complex_call(f, z: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            out = np.asarray(f(z))
        except np.exceptions.ComplexWarning as err:
            raise ValueError(
                "the function is not complex-safe: it dropped an imaginary part "
                f"({err}); allocate buffers with the input's dtype"
            ) from None
    if not np.iscomplexobj(out):
        raise ValueError(
            "the function is not complex-safe: it returned a real result for a "
            "complex input, so the complex step cannot be used"
        )
    return out


def complex_step_grad(
    f: Callable[[np.ndarray], complex], x, h: float = COMPLEX_STEP
) -> Estimate:
    """Gradient of the scalar function ``f`` at ``x`` by the complex step."""
    return jacobian(_scalar_valued(f), x, "complex-step", h)


def directional(
    f: Callable[[np.ndarray], float],
    x,
    k: int = 6,
    seed: int = 0,
    complex_step: bool = False,
) -> Estimate:
    """Derivatives of ``f`` along ``k`` seeded random unit directions.

    Returns an :class:`Estimate` whose ``value[j]`` is the derivative along
    ``directions[j]``; compare an analytic gradient ``g`` through ``<g, directions[j]>``.
    """
    x = as_float64(x)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    rng = np.random.default_rng(seed)
    dirs = rng.standard_normal((k,) + x.shape)
    dirs /= np.sqrt(np.sum(dirs.reshape(k, -1) ** 2, axis=1)).reshape(
        (k,) + (1,) * x.ndim
    )
    scalar = _scalar_valued(f)
    along = [
        differential(scalar, x, d, "complex-step" if complex_step else "central")
        for d in dirs
    ]
    method = "directional-complex" if complex_step else "directional"
    return Estimate(np.array([e.value for e in along]), method, along[0].step, dirs)


def direction_step(x: np.ndarray) -> float:
    """The base step of the extrapolated central difference along a direction at ``x``:
    ``eps^(1/5) * max(1, max_i |x_i|)`` (equation ``calc-directional``)."""
    return EXTRAPOLATED_STEP * max(1.0, float(np.max(np.abs(x), initial=0.0)))


def jacobian(
    f: Callable[[np.ndarray], np.ndarray],
    x,
    method: str = "central",
    h: float = COMPLEX_STEP,
) -> Estimate:
    """Jacobian of ``f`` at ``x``: ``J[i..., j...] = d f(x)[i...] / d x[j...]``.

    The result has shape ``f(x).shape + x.shape``; for a vector ``f`` of a vector ``x``
    that is the ``(m, n)`` Jacobian matrix, the derivative in numerator layout.
    ``method`` is ``"central"`` or ``"complex-step"`` (with step ``h``).
    """
    x = as_float64(x)
    out_shape = np.asarray(f(x)).shape
    jac = np.empty(out_shape + x.shape)
    if method == "central":
        steps = extrapolated_steps(x)
        for i in np.ndindex(x.shape):
            jac[(...,) + i] = _extrapolated(f, x, i, steps[i])
        return Estimate(jac, "central", EXTRAPOLATED_STEP)
    if method == "complex-step":
        for i in np.ndindex(x.shape):
            z = x.astype(np.complex128)
            z[i] += 1j * h
            jac[(...,) + i] = np.imag(_complex_call(f, z)) / h
        return Estimate(jac, "complex-step", h)
    raise ValueError(f"unknown method {method!r}; use 'central' or 'complex-step'")


def _richardson(difference, h: float) -> np.ndarray:
    """The one copy of the extrapolated central difference (``calc-richardson``).

    ``difference(s)`` returns ``(f(x + s u) - f(x - s u), span)`` for a step ``s`` along
    a direction ``u``, with ``span`` the distance between the two points actually taken
    (``2s``, or what rounding left of it). The quotients at the steps ``h`` and ``2h``
    are combined with weights from the squared spans so that their ``h^2`` error terms
    cancel: ``(4 D(h) - D(2h)) / 3`` when the spans are exactly ``2h`` and ``4h``, and no
    rounding of a step enters the result when they are not."""
    quotients, squares = [], []
    for step in (h, 2 * h):
        change, span = difference(step)
        quotients.append(np.asarray(change) / span)
        squares.append(span**2)
    (d1, d2), (s1, s2) = quotients, squares
    return (s2 * d1 - s1 * d2) / (s2 - s1)


def _extrapolated(f, x: np.ndarray, i: tuple, h: float) -> np.ndarray:
    """``d f / d x_i`` by :func:`_richardson`, each difference divided by the step
    actually taken (``x_i + 2h`` need not be exact when ``x_i + h`` is)."""

    def difference(step):
        xp, xm = x.copy(), x.copy()
        xp[i] += step
        xm[i] -= step
        return np.asarray(f(xp)) - np.asarray(f(xm)), xp[i] - xm[i]

    return _richardson(difference, h)


def differential(
    f: Callable[[np.ndarray], np.ndarray], x, dx, method: str = "complex-step"
) -> Estimate:
    """The derivative of ``f`` at ``x`` along ``dx``: ``lim (f(x + h dx) - f(x)) / h``.

    ``f`` may return a scalar, a vector or a matrix; the result has ``f(x)``'s shape. It
    is what a differential rule such as ``d(AB) = dA B + A dB`` predicts for ``df``.
    ``method`` is ``"complex-step"`` (one evaluation, no cancellation) or ``"central"``.
    """
    x = as_float64(x)
    dx = as_float64(dx, "dx")
    if dx.shape != x.shape:
        raise ValueError(f"dx has shape {dx.shape}, x has shape {x.shape}")
    if method == "complex-step":
        value = np.imag(_complex_call(f, x + 1j * COMPLEX_STEP * dx)) / COMPLEX_STEP
        return Estimate(
            np.asarray(value, dtype=np.float64), "complex-step", COMPLEX_STEP
        )
    if method == "central":  # extrapolated (_richardson), along dx
        h = direction_step(x)
        value = _richardson(
            lambda s: (np.asarray(f(x + s * dx)) - np.asarray(f(x - s * dx)), 2 * s), h
        )
        return Estimate(np.asarray(value, dtype=np.float64), "central", h)
    raise ValueError(f"unknown method {method!r}; use 'central' or 'complex-step'")


def step_study(f: Callable[[float], float], x: float, steps) -> dict:
    """The central difference and the complex step of a scalar function of one variable
    at ``x``, for each step size in ``steps``: the estimates whose errors draw the
    V-shaped curve of the checking page."""
    steps = np.asarray(steps, dtype=np.float64)
    return {
        "steps": steps,
        "central": np.array([(f(x + h) - f(x - h)) / (2 * h) for h in steps]),
        "complex-step": np.array([np.imag(f(x + 1j * h)) / h for h in steps]),
    }
