"""The building blocks of part 1 against numerical differentiation, and the helpers'
refusals of bad input: the shared formulas (softmax, cross-entropy) of lstm_notes.blocks
and part 1's worked examples of lstm_notes.chapters.calculus."""

import numpy as np
import pytest

from lstm_notes import (
    CheckFailed,
    check,
    complex_step_grad,
    differential,
    directional,
    jacobian,
    wrt,
)
from lstm_notes.blocks import (
    cross_entropy,
    cross_entropy_grad,
    softmax,
    softmax_jacobian,
)
from lstm_notes.chapters import calculus as C


def test_softmax_is_stable_and_complex_safe(rng):
    z = np.array([1000.0, 1001.0, 999.0])
    p = softmax(z)
    assert np.isfinite(p).all() and abs(p.sum() - 1) < 1e-15
    z = rng.standard_normal(4)
    check(
        "t-softmax-jac",
        softmax_jacobian(softmax(z)),
        jacobian(softmax, z, "complex-step"),
    )


def test_cross_entropy_gradient_general_target(rng):
    z, y = rng.standard_normal(5), np.array([0.0, 2.0, 0.0, 1.0, 0.5])
    check(
        "t-xent",
        cross_entropy_grad(z, y),
        complex_step_grad(lambda v: cross_entropy(v, y), z),
    )
    with pytest.raises(CheckFailed):
        check(
            "t-xent-short",
            softmax(z) - y,
            complex_step_grad(lambda v: cross_entropy(v, y), z),
        )


def test_affine_and_linear_gradients(rng):
    W, a, b = (
        rng.standard_normal((5, 4)),
        rng.standard_normal(5),
        rng.standard_normal(4),
    )
    y = np.eye(4)[0]
    p = {"W": W, "a": a, "b": b}
    J = lambda q: cross_entropy(C.affine_T(q["W"], q["a"], q["b"]), y)
    dW, db, da = C.affine_T_grads(W, a, cross_entropy_grad(C.affine_T(W, a, b), y))
    for name, g in {"W": dW, "b": db, "a": da}.items():
        check(f"t-affine-{name}", g, complex_step_grad(wrt(J, p, name), p[name]))
    W2, x = rng.standard_normal((4, 3)), rng.standard_normal(3)
    g = rng.standard_normal(4)
    dW2, dx = C.linear_grads(W2, x, g)
    check("t-linear-W", dW2, complex_step_grad(lambda w: g @ (w @ x), W2))
    check("t-linear-x", dx, complex_step_grad(lambda v: g @ (W2 @ v), x))
    dW3, delta = C.tanh_layer_grads(W2, x, g)
    check("t-tanh-W", dW3, complex_step_grad(lambda w: g @ np.tanh(w @ x), W2))
    check("t-tanh-z", delta, complex_step_grad(lambda z: g @ np.tanh(z), W2 @ x))


def test_differential_of_a_matrix_product(rng):
    A, dA = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    B = rng.standard_normal((4, 2))
    for method in ["central", "complex-step"]:
        check("t-diff", dA @ B, differential(lambda X: X @ B, A, dA, method))
    with pytest.raises(ValueError, match="dx has shape"):
        differential(lambda X: X @ B, A, dA.T)


def test_wrt_refuses_an_unknown_parameter_name():
    with pytest.raises(ValueError, match="unknown parameter name 'Q'"):
        wrt(lambda p: 0.0, {"W": np.ones(2)}, "Q")


def test_estimate_apply_keeps_the_method(rng):
    z = rng.standard_normal(4)
    est = jacobian(softmax, z, "complex-step")
    assert est.apply(np.transpose).method == "complex-step"


def test_along_directions_keeps_the_method_and_needs_directions(rng):
    W = rng.standard_normal((3, 2))
    est = directional(lambda w: np.sum(np.tanh(w)), W, k=3, seed=2)
    alone = est.along_directions()
    assert alone.method == "directional" and alone.directions is None
    np.testing.assert_array_equal(alone.value, est.value)
    with pytest.raises(ValueError, match="random-direction"):
        jacobian(softmax, rng.standard_normal(3)).along_directions()
