"""Input checks shared by the three models: one error style, each naming the culprit."""

from __future__ import annotations

from typing import Mapping

import numpy as np

ALLOWED_DTYPES = (np.float64, np.complex128)


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


def params(given: Mapping, shapes: Mapping[str, tuple], allow_complex: bool = False) -> dict:
    """Check a parameter dict against the expected names and shapes."""
    keys(given, shapes)
    return {k: array(given[k], k, shapes[k], allow_complex) for k in shapes}


def sequence(x, y, n_x: int, n_y: int, allow_complex: bool = False):
    """Check inputs ``x`` (T, n_x) and integer labels ``y`` (T,) in ``range(n_y)``."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (T, n_x) = (T, {n_x}), got {x.shape}")
    x = array(x, "x", (x.shape[0], n_x), allow_complex)
    if x.shape[0] < 1:
        raise ValueError("x is empty: the sequence needs at least one step")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of class indices, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class indices, got dtype {y.dtype}")
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"x and y have different lengths: x has {x.shape[0]} steps, y has {y.shape[0]}"
        )
    out = (y < 0) | (y >= n_y)
    if out.any():
        t = int(np.argmax(out))
        raise ValueError(f"label y[{t}] = {int(y[t])} is out of range(0, {n_y})")
    return x, y


def keys(given: Mapping, names) -> None:
    """Refuse unknown and missing parameter names before anything else is looked at."""
    if not isinstance(given, Mapping):
        raise ValueError(f"params must be a dict of arrays, got {type(given).__name__}")
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(f"unknown parameter name(s) {unknown}; expected {sorted(names)}")
    missing = sorted(set(names) - set(given))
    if missing:
        raise ValueError(f"missing parameter(s) {missing}")


def matrix_shape(given: Mapping, name: str) -> tuple[int, int]:
    """The shape of a 2-D parameter, used to infer the model's sizes."""
    shape = np.shape(given[name])
    if len(shape) != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {shape}")
    return shape


def state(value, name: str, n: int, dtype, allow_complex: bool = False) -> np.ndarray:
    """An initial state: zeros when missing, else a checked (n,) vector."""
    if value is None:
        return np.zeros(n, dtype=dtype)
    return array(value, name, (n,), allow_complex)
