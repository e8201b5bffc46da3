"""lstm_notes: the numerics behind the verified book of LSTM and RNN gradients.

``numdiff``   numerical differentiation (central differences, complex step, random
              directions, Jacobians), float64 throughout
``check``     the one check of the book: ``check(label, analytic, numeric)`` and
              ``erratum(label, as_written=..., corrected=..., numeric=...)``
``calculus``  the building blocks of part 1 (softmax, trace-method examples, ...)
"""

from .check import TOLERANCES, CheckFailed, CheckResult, check, compare, erratum
from .numdiff import (
    CENTRAL_STEP,
    COMPLEX_STEP,
    Estimate,
    central_grad,
    complex_step_grad,
    differential,
    directional,
    jacobian,
    wrt,
)

__version__ = "0.1.0"

__all__ = [
    "TOLERANCES",
    "CheckFailed",
    "CheckResult",
    "check",
    "compare",
    "erratum",
    "CENTRAL_STEP",
    "COMPLEX_STEP",
    "Estimate",
    "central_grad",
    "complex_step_grad",
    "differential",
    "directional",
    "jacobian",
    "wrt",
]
