"""Central differences extrapolated (issue 13, target 4): the central-difference
gradient combines the steps h and 2h so that their h^2 error terms cancel, which lets
the step grow to eps^(1/5) and brings the error to about 1e-12 relative, far below a
single central difference at its best step (the book's checks then sit below 1e-9)."""

import numpy as np

from lstm_notes.checking import numdiff
from lstm_notes.checking.numdiff import (
    CENTRAL_STEP,
    EXTRAPOLATED_STEP,
    central_grad,
    central_steps,
    jacobian,
)


def f(x):
    return np.sum(np.exp(np.sin(x)) * x**3) + np.prod(np.cos(x[:3]))


def grad_f(x):
    g = np.exp(np.sin(x)) * (np.cos(x) * x**3 + 3 * x**2)
    c = np.cos(x[:3])
    for i in range(3):
        g[i] -= np.sin(x[i]) * np.prod(np.delete(c, i))
    return g


def single_central(fun, x):
    """One central difference per entry at eps^(1/3), the rule of calc-central."""
    h = central_steps(x)
    out = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h[i]
        out[i] = (fun(x + e) - fun(x - e)) / (2 * h[i])
    return out


def test_extrapolated_central_differences_are_far_more_accurate(rng):
    x = rng.standard_normal(12)
    exact = grad_f(x)
    est = central_grad(f, x)
    assert est.method == "central" and est.step == EXTRAPOLATED_STEP
    rel = np.max(np.abs(est.value - exact) / np.maximum(np.abs(exact), 1e-2))
    single = single_central(f, x)
    rel_single = np.max(np.abs(single - exact) / np.maximum(np.abs(exact), 1e-2))
    assert rel < 1e-9
    assert rel_single > 30 * rel  # what the extrapolation buys over calc-central's rule


def test_the_h2_terms_cancel_exactly_on_a_quartic():
    """D(h) of a quartic is f' + c h^2 exactly: the combination is exact up to
    rounding, whatever the step (one difference alone is off by c h^2)."""
    a = np.array([0.3, -1.7, 2.5])

    def quartic(x):
        return np.sum(a * x**4 + x**3 - 2 * x)

    x = np.array([1.5, -0.75, 3.0])
    exact = 4 * a * x**3 + 3 * x**2 - 2
    est = jacobian(lambda v: quartic(v), x, "central").value
    assert np.allclose(est, exact, rtol=1e-10, atol=0)
    one = numdiff._extrapolated(quartic, x, (0,), 0.5)
    assert abs(one - exact[0]) < 1e-10 * abs(exact[0])


def test_the_step_rules():
    x = np.array([0.0, 2.0, -1e3])
    assert np.allclose(
        numdiff.extrapolated_steps(x), EXTRAPOLATED_STEP * np.maximum(1, np.abs(x))
    )
    assert EXTRAPOLATED_STEP > 100 * CENTRAL_STEP
    # the rule of calc-central stays that of a single central difference
    assert np.allclose(central_steps(x), CENTRAL_STEP * np.maximum(1, np.abs(x)))


def test_the_directional_central_difference_is_extrapolated_too():
    x = np.linspace(-1.5, 2.0, 12)
    g = grad_f(x)
    est = numdiff.directional(f, x, k=8, seed=1)
    exact = np.array([g @ v for v in est.directions])
    rel = np.max(np.abs(est.value - exact) / np.abs(exact))
    assert est.step == EXTRAPOLATED_STEP * 2.0
    h = CENTRAL_STEP * 2.0  # one difference at its best step, for comparison
    single = np.array([(f(x + h * v) - f(x - h * v)) / (2 * h) for v in est.directions])
    assert rel < 1e-11 and rel < np.max(np.abs(single - exact) / np.abs(exact)) / 10
