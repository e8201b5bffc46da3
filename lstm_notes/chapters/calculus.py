"""The worked examples of part 1, "Matrix calculus for these derivations" (chapter layer).

Vectors are 1-D numpy arrays standing for column vectors; ``np.outer(u, v)`` is
``u v^T``. Every function is complex-safe (usable with the complex step) and returns
derivatives in denominator layout (the gradient has the shape of the variable) unless
its name says ``jacobian`` (numerator layout: rows follow the output).

Equations
---------
``z = W^T a + b``  ->  ``dJ/dW = a g^T``, ``dJ/db = g``, ``dJ/da = W g``   (g = dJ/dz)
``z = W x``        ->  ``dJ/dW = g x^T``, ``dJ/dx = W^T g``
``w = x o y``      ->  ``dw/dx = diag(y)``
``J = -y . log p``  ->  ``dJ/dp = -y / p``
``h = tanh(W x)``  ->  ``dJ/dW = delta x^T``, ``delta = (1 - h^2) o g``   (g = dJ/dh)
"""

from __future__ import annotations

import numpy as np

from ..blocks import dtanh

__all__ = [
    "cross_entropy_of_probs",
    "cross_entropy_of_probs_grad",
    "affine_T",
    "affine_T_grads",
    "linear_grads",
    "tanh_layer_grads",
    "hadamard_jacobian",
    "elementwise_jacobian",
]


def cross_entropy_of_probs(p, y):
    """``-sum_i y_i log p_i`` as a function of the probabilities ``p`` themselves."""
    return -np.sum(y * np.log(p))


def cross_entropy_of_probs_grad(p, y):
    """Gradient of :func:`cross_entropy_of_probs` in ``p``: ``-y / p``.

    Checked as ``calc-xent-dp`` (calculus/activations-softmax); ``err-001-dJ-dyhat``
    (errata/001-output-and-layout)."""
    return -y / p


def affine_T(W, a, b):
    """``z = W^T a + b``: source 001's orientation (``W`` is (n_in, n_out))."""
    return W.T @ a + b


def affine_T_grads(W, a, g):
    """Gradients through ``z = W^T a + b`` given ``g = dJ/dz``: ``(a g^T, g, W g)``.

    Checked as ``calc-affine-dW``, ``calc-affine-db-da`` (calculus/trace-method)."""
    return np.outer(a, g), g, W @ g


def linear_grads(W, x, g):
    """Gradients through ``z = W x`` given ``g = dJ/dz``: ``(g x^T, W^T g)`` (equation
    ``calc-linear-grads``).

    Checked as ``calc-linear-grads`` (calculus/trace-method)."""
    return np.outer(g, x), W.T @ g


def tanh_layer_grads(W, x, g):
    """Through ``h = tanh(W x)`` given ``g = dJ/dh``: ``(delta x^T, delta)``, the
    gradient in ``W`` and the gradient ``delta = (1 - h^2) o g`` in ``z = W x``
    (equation ``calc-tanh-layer``).

    Checked as ``calc-tanh-layer`` (calculus/trace-method)."""
    delta = dtanh(np.tanh(W @ x)) * g
    return np.outer(delta, x), delta


def hadamard_jacobian(y):
    """Jacobian of ``w = x o y`` in ``x``: ``diag(y)``.

    Checked as ``calc-hadamard-jacobian`` (calculus/activations-softmax)."""
    return np.diag(y)


def elementwise_jacobian(fprime_values):
    """Jacobian of an element-wise map ``f(z)``: ``diag(f'(z))``.

    Checked as ``calc-activation-jacobians`` (calculus/activations-softmax)."""
    return np.diag(fprime_values)
