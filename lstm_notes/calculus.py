"""The building blocks of part 1, "Matrix calculus for these derivations".

Vectors are 1-D numpy arrays standing for column vectors; ``np.outer(u, v)`` is
``u v^T``. Every function is complex-safe (usable with the complex step) and returns
derivatives in denominator layout (the gradient has the shape of the variable) unless
its name says ``jacobian`` (numerator layout: rows follow the output).

Equations
---------
``z = W^T a + b``  ->  ``dJ/dW = a g^T``, ``dJ/db = g``, ``dJ/da = W g``   (g = dJ/dz)
``z = W x``        ->  ``dJ/dW = g x^T``, ``dJ/dx = W^T g``
``w = x o y``      ->  ``dw/dx = diag(y)``
``p = softmax(z)`` ->  ``dp/dz = diag(p) - p p^T``
``J = -y . log p``  ->  ``dJ/dp = -y / p``
``J = -y . log softmax(z)``  ->  ``dJ/dz = (sum y) p - y``,  ``p - y`` when ``sum y = 1``
``h = tanh(W x)``  ->  ``dJ/dW = delta x^T``, ``delta = (1 - h^2) o g``   (g = dJ/dh)
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "sigmoid",
    "dsigmoid",
    "dtanh",
    "softmax",
    "softmax_jacobian",
    "cross_entropy",
    "cross_entropy_grad",
    "cross_entropy_of_probs",
    "cross_entropy_of_probs_grad",
    "affine_T",
    "affine_T_grads",
    "linear_grads",
    "tanh_layer_grads",
    "hadamard_jacobian",
    "elementwise_jacobian",
]


def sigmoid(z):
    """The logistic function ``1 / (1 + exp(-z))``, element-wise."""
    return 1.0 / (1.0 + np.exp(-z))


def dsigmoid(s):
    """``sigma'(z)`` written through ``s = sigma(z)``: ``s (1 - s)``."""
    return s * (1.0 - s)


def dtanh(t):
    """``tanh'(z)`` written through ``t = tanh(z)``: ``1 - t^2``."""
    return 1.0 - t * t


def softmax(z):
    """``exp(z_i) / sum_k exp(z_k)`` along the last axis, shifted by the largest entry
    so that no exponential overflows (equation ``calc-softmax-shift``)."""
    z = np.asarray(z)
    shifted = z - np.max(z.real, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(z):
    """``log softmax(z)`` along the last axis, ``z - m - log sum_k exp(z_k - m)`` with
    ``m`` the largest entry (equation ``calc-softmax-shift``): the one copy of the
    log-probabilities that every cross-entropy of the package uses."""
    z = np.asarray(z)
    shifted = z - np.max(z.real, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax_jacobian(p):
    """``d softmax(z) / dz = diag(p) - p p^T`` with ``p = softmax(z)`` (symmetric)."""
    return np.diag(p) - np.outer(p, p)


def cross_entropy(z, y):
    """``-sum_i y_i log softmax(z)_i`` for a target vector ``y`` (one-hot or not)."""
    return -np.sum(y * log_softmax(z))


def cross_entropy_grad(z, y):
    """Gradient of :func:`cross_entropy` in ``z``: ``(sum_i y_i) softmax(z) - y``."""
    return np.sum(y) * softmax(z) - y


def cross_entropy_of_probs(p, y):
    """``-sum_i y_i log p_i`` as a function of the probabilities ``p`` themselves."""
    return -np.sum(y * np.log(p))


def cross_entropy_of_probs_grad(p, y):
    """Gradient of :func:`cross_entropy_of_probs` in ``p``: ``-y / p``."""
    return -y / p


def affine_T(W, a, b):
    """``z = W^T a + b``: source 001's orientation (``W`` is (n_in, n_out))."""
    return W.T @ a + b


def affine_T_grads(W, a, g):
    """Gradients through ``z = W^T a + b`` given ``g = dJ/dz``: ``(a g^T, g, W g)``."""
    return np.outer(a, g), g, W @ g


def linear_grads(W, x, g):
    """Gradients through ``z = W x`` given ``g = dJ/dz``: ``(g x^T, W^T g)`` (equation
    ``calc-linear-grads``)."""
    return np.outer(g, x), W.T @ g


def tanh_layer_grads(W, x, g):
    """Through ``h = tanh(W x)`` given ``g = dJ/dh``: ``(delta x^T, delta)``, the
    gradient in ``W`` and the gradient ``delta = (1 - h^2) o g`` in ``z = W x``
    (equation ``calc-tanh-layer``)."""
    delta = dtanh(np.tanh(W @ x)) * g
    return np.outer(delta, x), delta


def hadamard_jacobian(y):
    """Jacobian of ``w = x o y`` in ``x``: ``diag(y)``."""
    return np.diag(y)


def elementwise_jacobian(fprime_values):
    """Jacobian of an element-wise map ``f(z)``: ``diag(f'(z))``."""
    return np.diag(fprime_values)
