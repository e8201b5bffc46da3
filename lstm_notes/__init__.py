"""lstm_notes: the numerics behind the verified book of LSTM and RNN gradients.

Four layers; imports flow one way, each layer using only those above it
(``tests/test_api.py::test_layers`` holds this):

``checking``  numerical differentiation, the book's one check (``check``, ``erratum``,
              ``holds``) and input validation; knows nothing of the models
``blocks``    the shared formulas: activations, softmax, cross-entropy, the output error
              ``ŷ - e_y``, outer-product sums, chains of step Jacobians (the only copies)
``models``    the three models, one API: ``rnn``, ``lstm`` (the 1997 carousel is its
              option without a forget gate) and ``attention_rnn``
``chapters``  the helpers of the book's parts: ``calculus``, ``stacked``, ``carousel``,
              ``vanishing``, ``experiments``, ``training``, ``timing``, ``plotting``

The checking API is re-exported here: ``from lstm_notes import check, central_grad``.
"""

from .checking.check import (
    TOLERANCES,
    CheckFailed,
    CheckResult,
    check,
    compare,
    erratum,
    exercise,
    holds,
)
from .checking.numdiff import (
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
    "holds",
    "exercise",
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
