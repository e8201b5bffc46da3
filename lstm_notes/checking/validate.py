"""Input checks of every public entry point (checking layer): one error style, each
message naming the culprit.

Models declare their parameters' shapes with size names (``{"W": ("n_h", "n_h"),
"U": ("n_h", "n_x"), ...}``); :func:`params` reads each size off the parameters, takes
the value most of them agree on, and names the parameter that disagrees with the rest.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = [
    "finite_float64",
    "array",
    "keys",
    "params",
    "sequence",
    "model_inputs",
    "state",
    "step",
]


def finite_float64(value, name: str, allow_complex: bool = False) -> np.ndarray:
    """``value`` as a float64 (or, if allowed, complex128) array with finite entries only.

    The one place where the package refuses float32, integers, NaN and infinities; the
    message starts with ``name``."""
    arr = np.asarray(value)
    ok = (np.float64, np.complex128) if allow_complex else (np.float64,)
    if arr.dtype.type not in ok:
        raise ValueError(
            f"{name} has dtype {arr.dtype}; float64 is required "
            f"(convert with np.asarray(..., dtype=np.float64))"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        where = [int(i) for i in np.argwhere(bad)[0]]
        raise ValueError(
            f"{name} has {int(bad.sum())} non-finite entr{'y' if bad.sum() == 1 else 'ies'} "
            f"(first at index {where})"
        )
    return arr


def array(value, name: str, shape: tuple, allow_complex: bool = False) -> np.ndarray:
    """``value`` as an array of exactly ``shape``, float64 (or complex128 if allowed), finite."""
    arr = finite_float64(value, name, allow_complex)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} has shape {arr.shape}, expected {tuple(shape)}")
    return arr


def keys(given: Mapping, names) -> None:
    """Refuse unknown and missing parameter names before anything else is looked at."""
    if not isinstance(given, Mapping):
        raise ValueError(f"params must be a dict of arrays, got {type(given).__name__}")
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(
            f"unknown parameter name(s) {unknown}; expected {sorted(names)}"
        )
    missing = sorted(set(names) - set(given))
    if missing:
        raise ValueError(f"missing parameter(s) {missing}")


def _sizes(given: Mapping, shapes: Mapping[str, tuple]) -> dict[str, int]:
    """Every size name's value, the one most parameters agree on; a tie is an error that
    names the parameters on each side, and so is a parameter with a wrong number of axes."""
    votes: dict[str, dict[int, list[str]]] = {}
    for name, dims in shapes.items():
        shape = np.shape(given[name])
        if len(shape) != len(dims):
            raise ValueError(
                f"{name} must have {len(dims)} ax{'is' if len(dims) == 1 else 'es'} "
                f"{tuple(dims)}, got shape {shape}"
            )
        for dim, n in zip(dims, shape, strict=True):
            votes.setdefault(dim, {}).setdefault(n, []).append(name)
    sizes = {}
    for dim, by_value in votes.items():
        ranked = sorted(by_value.items(), key=lambda kv: -len(kv[1]))
        if len(ranked) > 1 and len(ranked[0][1]) == len(ranked[1][1]):
            said = "; ".join(
                f"{dim} = {n} from {', '.join(names)}" for n, names in ranked
            )
            raise ValueError(f"the parameters disagree on {dim}: {said}")
        sizes[dim] = ranked[0][0]
    return sizes


def params(given: Mapping, shapes: Mapping[str, tuple], allow_complex: bool = False):
    """Check a parameter dict against its names and size-named shapes.

    Returns ``(checked, sizes)``: the arrays, and the value of every size name. When a
    parameter's shape disagrees with the sizes the others give, the message names it."""
    keys(given, shapes)
    sizes = _sizes(given, shapes)
    checked = {}
    for name, dims in shapes.items():
        expected = tuple(sizes[d] for d in dims)
        if np.shape(given[name]) != expected:
            said = ", ".join(f"{d} = {sizes[d]}" for d in dict.fromkeys(dims))
            raise ValueError(
                f"{name} has shape {np.shape(given[name])}, expected {expected}: "
                f"the other parameters give {said}"
            )
        checked[name] = array(given[name], name, expected, allow_complex)
    return checked, sizes


def sequence(x, y, n_x: int, n_y: int | None, allow_complex: bool = False):
    """Check inputs ``x`` (T, n_x), or a batch (T, B, n_x), and integer labels ``y``
    (T,), or (T, B), in ``range(n_y)``; ``y = None`` skips the labels."""
    x = np.asarray(x)
    if x.ndim not in (2, 3) or x.shape[-1] != n_x:
        raise ValueError(
            f"x must have shape (T, n_x) = (T, {n_x}) or (T, B, {n_x}), got {x.shape}"
        )
    x = array(x, "x", x.shape, allow_complex)
    if x.shape[0] < 1:
        raise ValueError("x is empty: the sequence needs at least one step")
    if y is None:
        return x, None
    y = np.asarray(y)
    if y.shape != x.shape[:-1]:
        raise ValueError(
            f"y must hold one class index per step{' and sequence' if x.ndim == 3 else ''}"
            f": shape {x.shape[:-1]} for x of shape {x.shape}, got {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class indices, got dtype {y.dtype}")
    out = (y < 0) | (y >= n_y)
    if out.any():
        where = tuple(int(i) for i in np.argwhere(out)[0])
        raise ValueError(
            f"label y{list(where)} = {int(y[where])} is out of range(0, {n_y})"
        )
    return x, y


def model_inputs(
    x, y, n_x: int, n_y: int, allow_complex: bool, *, labels: bool, batch: bool
):
    """A model's ``x`` and ``y`` (:func:`sequence`): labels required unless ``labels`` is
    False, and a batch (T, B, n_x) refused unless ``batch`` is True (it goes to the
    model's ``batch_loss_and_grads``)."""
    if labels and y is None:
        raise ValueError("y, the labels (one class index per step), is required")
    if np.ndim(x) == 3 and not batch:
        raise ValueError(
            f"x has shape {np.shape(x)}: a sequence is (T, n_x); a batch (T, B, n_x) goes to "
            "batch_loss_and_grads"
        )
    return sequence(x, y, n_x, n_y, allow_complex)


def state(
    value, name: str, shape: tuple, dtype, allow_complex: bool = False
) -> np.ndarray:
    """An initial state of ``shape`` ((n,), or (B, n) for a batch): zeros when missing,
    else a checked array."""
    if value is None:
        return np.zeros(shape, dtype=dtype)
    return array(value, name, shape, allow_complex)


def step(t: int, T: int) -> int:
    """A step number t in 1..T."""
    if not isinstance(t, (int, np.integer)) or not 1 <= t <= T:
        raise ValueError(f"step t = {t!r} is out of range 1..{T}")
    return int(t)
