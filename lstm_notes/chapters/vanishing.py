"""Back-propagation through time written out, and why its products vanish or explode.

Tools for the part "Vanishing gradients and the constant error carousel", built on the
tanh RNN of :mod:`lstm_notes.models.rnn` (``h_t = tanh(W h_{t-1} + U x_t + b)``, steps
t = 1..T, ``h_0`` given, ``x[t-1]`` the input of step t). Vectors are 1-D arrays
standing for columns; Jacobians are in numerator layout (row i is output i). The loss
is J = sum_t J_t (the book's notation table).

Equations
---------
Step Jacobian::

    F_t = dh_t/dh_{t-1} = diag(1 - h_t^2) W                       (n_h, n_h)

Jacobian of h_t in h_k (k <= t), an ordered product, the latest step on the left::

    dh_t/dh_k = F_t F_{t-1} ... F_{k+1}          (the identity when k = t)

Immediate derivative of h_k in W (h_{k-1} held fixed), a 3-index array::

    d+h_k[i] / dW[p, q] = (1 - h_k[i]^2) [i = p] h_{k-1}[q]       (n_h, n_h, n_h)

The double sum of BPTT, with g_t = yhat_t - e_{y_t} and d_t = dJ_t/dh_t = V^T g_t::

    dJ/dW[p, q] = sum_{t=1..T} sum_{k=1..t} sum_{i,j}
                      d_t[i] (dh_t/dh_k)[i, j] d+h_k[j]/dW[p, q]
                = sum_{t=1..T} sum_{k=1..t} (D_k (dh_t/dh_k)^T d_t) h_{k-1}^T,
    D_k = diag(1 - h_k^2)

and the reverse-mode recursion that computes the same sum in O(T)::

    dh_T = d_T,   dh_k = d_k + F_{k+1}^T dh_{k+1},   dJ/dW = sum_k (D_k dh_k) h_{k-1}^T

(``dh_k`` is the book's delta h_k = dJ/dh_k.) Every function returns values; nothing is
stored between calls.
"""

from __future__ import annotations

import numpy as np

from ..blocks import chain, chains_to, dtanh, label_losses, output_error
from ..models import rnn

__all__ = [
    "step_jacobians",
    "run_steps",
    "immediate_dW",
    "output_grads",
    "bptt_terms",
    "bptt_term_outer",
    "bptt_recursion",
    "loss_with_offsets",
    "other_grads",
    "product_norms",
    "norm_bound",
    "scaled_to_spectral_norm",
    "rnn_product_norms",
    "lags",
    "power_norms",
    "tanh_rnn_states",
    "powers_by_eig",
    "real_block_diagonal",
    "source_003_T3_expansion",
    "source_003_T3_terms",
    "ordered_product",
    "inputs_for_states",
]


# --- back-propagation through time, term by term ------------------------------------


def step_jacobians(W, h) -> np.ndarray:
    """``F[t-1] = F_t = dh_t/dh_{t-1} = diag(1 - h_t^2) W`` for t = 1..T.

    ``h`` is (T+1, n_h) with ``h[0] = h_0``; returns (T, n_h, n_h).
    """
    return np.stack([rnn.step_jacobian(W, h[t]) for t in range(1, h.shape[0])])


def run_steps(params, x, h_k, k: int, t: int):
    """``h_t`` computed from ``h_k`` by steps k+1..t of the RNN (complex-safe)."""
    return h_k if t == k else rnn.states(params, x[k:t], h_k)[-1]


def immediate_dW(h_prev, h_k) -> np.ndarray:
    """``d+h_k[i]/dW[p, q] = (1 - h_k[i]^2) [i = p] h_{k-1}[q]``, shape (n_h, n_h, n_h).

    "Immediate": the derivative of ``h_k = tanh(W h_{k-1} + U x_k + b)`` in the W that
    appears in step k alone, with ``h_{k-1}`` held fixed (the earlier steps' W are the
    other terms of the sum).

    Checked as ``van-immediate`` (vanishing/bptt).
    """
    n = h_k.shape[0]
    return np.einsum("i,ip,q->ipq", dtanh(h_k), np.eye(n), h_prev)


def output_grads(params, cache: rnn.Cache, y) -> np.ndarray:
    """``d[t-1] = d_t = dJ_t/dh_t = V^T (yhat_t - e_{y_t})``: the gradient of the
    step-t loss alone in h_t (not through later steps); (T, n_h).

    Checked as ``van-output-grad`` (vanishing/bptt)."""
    return output_error(cache.y_hat, y) @ params["V"]


def bptt_terms(params, x, y, h0=None) -> dict[tuple[int, int], np.ndarray]:
    """Every term of the double sum, ``{(t, k): d_t . dh_t/dh_k . d+h_k/dW}`` for
    1 <= k <= t <= T, each contracted per entry (``einsum``) to an (n_h, n_h) array.

    Checked as ``err-002-simplified`` (errata/002-vanishing-note); ``err-003-1b``,
    ``err-003-1b-k0`` (errata/003-homework); ``van-bptt-sum`` (vanishing/bptt)."""
    p, x, y, h0 = rnn.validated(params, x, y, h0, allow_complex=False)
    cache = rnn.forward(p, x, h0)
    g, J, h = output_grads(p, cache, y), step_jacobians(p["W"], cache.h), cache.h
    T = x.shape[0]
    return {
        (t, k): np.einsum(
            "i,ij,jpq->pq", g[t - 1], chain(J, t, k), immediate_dW(h[k - 1], h[k])
        )
        for t in range(1, T + 1)
        for k in range(1, t + 1)
    }


def bptt_term_outer(d_t, P_tk, h_k, h_prev) -> np.ndarray:
    """One term in outer-product form: ``(D_k (dh_t/dh_k)^T d_t) h_{k-1}^T``.

    Checked as ``van-bptt-outer`` (vanishing/bptt)."""
    return np.outer(dtanh(h_k) * (P_tk.T @ d_t), h_prev)


def bptt_recursion(params, x, y, h0=None) -> tuple[np.ndarray, np.ndarray]:
    """Reverse mode: ``delta[k-1] = dJ/dh_k`` (all later losses) for k = 1..T, and
    dJ/dW.

    Checked as ``van-bptt-delta``, ``van-bptt-recursion`` (vanishing/bptt)."""
    p, x, y, h0 = rnn.validated(params, x, y, h0, allow_complex=False)
    cache = rnn.forward(p, x, h0)
    g, J, h = output_grads(p, cache, y), step_jacobians(p["W"], cache.h), cache.h
    T = x.shape[0]
    delta = np.zeros_like(g)
    delta[T - 1] = g[T - 1]
    for k in range(T - 1, 0, -1):
        delta[k - 1] = g[k - 1] + J[k].T @ delta[k]
    dW = sum(np.outer(dtanh(h[k]) * delta[k - 1], h[k - 1]) for k in range(1, T + 1))
    return delta, dW


def loss_with_offsets(params, x, y, E, h0=None):
    """The loss when ``E[k-1]`` is added to ``h_k`` right after step k computes it
    (k = 1..T); its gradient in ``E[k-1]`` at E = 0 is ``dJ/dh_k`` with every later
    step re-run, i.e. ``delta_k``. Complex-safe."""
    h = [
        np.zeros(params["W"].shape[0], dtype=np.result_type(params["W"], E))
        if h0 is None
        else h0
    ]
    for t in range(1, x.shape[0] + 1):  # one step of the recurrence, then the offset
        h.append(rnn.states(params, x[t - 1 : t], h[-1])[-1] + E[t - 1])
    return np.sum(label_losses(np.array(h[1:]) @ params["V"].T + params["c"], y))


def other_grads(params, x, cache: rnn.Cache, y, delta) -> dict[str, np.ndarray]:
    """Equation ``van-rnn-grads`` as displayed, one term per step, from
    ``delta[k-1] = delta_k`` (:func:`bptt_recursion`) and ``D_k = diag(1 - h_k^2)``::

        dJ/dU = sum_k (D_k delta_k) x_k^T        dJ/db = sum_k D_k delta_k
        dJ/dh_0 = F_1^T delta_1                  (F_1 = D_1 W, the step Jacobian)
        dJ/dV = sum_t (yhat_t - e_{y_t}) h_t^T   dJ/dc = sum_t (yhat_t - e_{y_t})

    Checked as ``van-rnn-grads`` (vanishing/bptt).
    """
    h, err, T = cache.h, output_error(cache.y_hat, y), x.shape[0]
    dz = [dtanh(h[k]) * delta[k - 1] for k in range(1, T + 1)]  # D_k delta_k
    return {
        "U": sum(np.outer(dz[k - 1], x[k - 1]) for k in range(1, T + 1)),
        "b": sum(dz[k - 1] for k in range(1, T + 1)),
        "h0": rnn.step_jacobian(params["W"], h[1]).T @ delta[0],
        "V": sum(np.outer(err[t - 1], h[t]) for t in range(1, T + 1)),
        "c": sum(err[t - 1] for t in range(1, T + 1)),
    }


def source_003_T3_terms(
    *, dropped_22: bool = False, h0_for_hk: bool = False, extra_32: bool = False
) -> list[tuple[int, int, int]]:
    """The terms ``(t, k, i)``, ``dl_t/dh_t . dh_t/dh_k . d+h_i/dW``, of source 003's
    expansion for T = 3 in its steps 0..3 (:func:`source_003_T3_expansion`): the ten
    right ones, ``i = k`` for every ``0 <= k <= t <= 3``, with each defect of the
    source switched on by its flag:

    - ``dropped_22``: the first form's t = 2 line repeats ``(2, 0, 0)`` in place of
      ``(2, 2, 2)``;
    - ``h0_for_hk``: the second form writes ``dh_0/dW`` after the products that start
      at h_1, h_2 and h_3: ``(2, 1)``, ``(3, 1)``, ``(3, 2)`` and ``(3, 3)`` get i = 0;
    - ``extra_32``: the second form has the ``(3, 2)`` term twice (eleven terms).
    """
    wrong_i = {(2, 1), (3, 1), (3, 2), (3, 3)} if h0_for_hk else set()
    terms = [
        (t, k, 0 if (t, k) in wrong_i else k) for t in range(4) for k in range(t + 1)
    ]
    if dropped_22:
        terms[terms.index((2, 2, 2))] = (2, 0, 0)
    if extra_32:
        terms.append(next(term for term in terms if term[:2] == (3, 2)))
    return terms


def source_003_T3_expansion(d, J, Imm, terms, one_diagonal: bool = False) -> np.ndarray:
    """The BPTT sum for source 003's Exercise 2(a), in its own indices s = 0..3: the sum
    over ``terms`` ``(t, k, i)`` of ``d[t] . dh_t/dh_k . Imm[i]``, an (n_h, n_h) array.

    Its ``h_0`` depends on W, so its steps s = 0..3 are the book's steps 1..4 (T = 4):
    ``d[s]``, ``J[s]`` (= dh_s/dh_{s-1} = diag(1 - h_s^2) W) and ``Imm[s]`` (= d+h_s/dW)
    belong to the source's step s, which is exactly how :func:`output_grads`,
    :func:`step_jacobians` and :func:`immediate_dW` index a four-step sequence.

    The right sum is ``terms = source_003_T3_terms()`` with ``dh_t/dh_k = J[t] J[t-1]
    ... J[k+1]``; the source's defects are the flags of :func:`source_003_T3_terms` and
    ``one_diagonal`` (its second form's ``[diag(sigma') W]^(t-k)``, read as
    ``J[t]^(t-k)``: the loss step's diagonal in every factor).

    Checked as ``err-003-2a-first``, ``err-003-2a-second`` (errata/003-homework).
    """
    total = np.zeros(J.shape[1:])
    for t, k, i in terms:
        F = (
            np.broadcast_to(J[t], J.shape) if one_diagonal else J
        )  # J[s] = dh_s/dh_{s-1}
        P = chain(F[1:], t, k)  # dh_t/dh_k, F[1:][s-1] = J[s]
        total = total + np.einsum("i,ij,jpq->pq", d[t], P, Imm[i])
    return total


def ordered_product(
    W, h, t: int, k: int, *, one_diagonal: bool = False, diagonals_first: bool = False
) -> np.ndarray:
    """``prod_{i=k+1..t} diag(1 - h_i^2) W``, ordered, the latest step on the left: the
    Jacobian dh_t/dh_k of the tanh RNN written with its diagonals (``h`` is (T+1, n_h)).

    The flags are source 003's two defects in Exercise 2(c):
    ``one_diagonal`` puts the last step's ``diag(1 - h_t^2)`` in every factor, and
    ``diagonals_first`` moves the diagonals out in front of ``W^(t-k)``. With both on
    it is the source's ``diag(sigma')^n W^n``.

    Checked as ``err-003-2c-product`` (errata/003-homework).
    """
    D = [dtanh(h[t if one_diagonal else i]) for i in range(1, t + 1)]  # D[i-1]: step i
    if diagonals_first:
        return np.diag(np.prod(D[k:], axis=0)) @ np.linalg.matrix_power(W, t - k)
    return chain(np.array([d[:, None] * W for d in D]), t, k)


def inputs_for_states(W, h) -> np.ndarray:
    """The inputs ``x[t-1] = artanh(h_t) - W h_{t-1}`` (t = 1..T) that make the tanh RNN
    of :func:`tanh_rnn_states` (``U = I``, no bias), started at ``h[0]``, visit the
    states ``h[1..T]``; ``h`` is (T+1, n_h) with every entry in (-1, 1)."""
    h = np.asarray(h, dtype=float)
    return np.arctanh(h[1:]) - h[:-1] @ W.T


# --- products of Jacobians: bounds, norms against lag --------------------------------


def product_norms(J) -> np.ndarray:
    """``N[t, k] = ||dh_t/dh_k||_2`` for 0 <= k <= t <= T (NaN above the diagonal).

    Checked as ``van-chain`` (vanishing/bptt)."""
    T = J.shape[0]
    N = np.full((T + 1, T + 1), np.nan)
    for t in range(T + 1):
        N[t, : t + 1] = np.linalg.norm(chains_to(J, t), 2, axis=(1, 2))
    return N


def norm_bound(h, W) -> np.ndarray:
    """``B[t, k] = prod_{i=k+1..t} ||D_i||_2 ||W||_2``, ``D_i = diag(1 - h_i^2)``, for
    0 <= k <= t <= T (1 on the diagonal, NaN above it): the middle of the norm bound
    of the page "Why gradients vanish or explode", one factor at a time. ``h`` is
    (T+1, n_h).

    Checked as ``van-norm-bound`` (vanishing/why)."""
    T, w = h.shape[0] - 1, np.linalg.norm(W, 2)
    B = np.full((T + 1, T + 1), np.nan)
    for t in range(T + 1):
        for k in range(t + 1):
            B[t, k] = np.prod(
                [
                    np.linalg.norm(np.diag(dtanh(h[i])), 2) * w
                    for i in range(k + 1, t + 1)
                ]
            )
    return B


def rnn_product_norms(W, x, U=None) -> np.ndarray:
    """``||dh_t/dh_k||_2`` (see :func:`product_norms`) along the tanh RNN's own states."""
    return product_norms(step_jacobians(W, tanh_rnn_states(W, x, U=U)))


def lags(T: int) -> np.ndarray:
    """``t - k`` for 0 <= k, t <= T, an array shaped like :func:`product_norms`."""
    return np.subtract.outer(np.arange(T + 1), np.arange(T + 1))


def scaled_to_spectral_norm(n: int, norm: float, seed: int = 0) -> np.ndarray:
    """A seeded Gaussian (n, n) matrix rescaled so that its largest singular value is ``norm``."""
    A = np.random.default_rng(seed).standard_normal((n, n))
    return A * (norm / np.linalg.norm(A, 2))


def power_norms(M, n_max: int) -> np.ndarray:
    """``||M^n||_2`` for n = 0..n_max, each power by ``numpy.linalg.matrix_power``."""
    return np.array(
        [np.linalg.norm(np.linalg.matrix_power(M, n), 2) for n in range(n_max + 1)]
    )


def tanh_rnn_states(W, x, h0=None, U=None) -> np.ndarray:
    """States ``h[0..T]`` of ``h_t = tanh(W h_{t-1} + U x_t)`` (no bias; U = I if None)."""
    n = W.shape[0]
    U = np.eye(n) if U is None else U
    return rnn.states({"W": W, "U": U, "b": np.zeros(n)}, x, h0)


def powers_by_eig(M, n: int) -> tuple[np.ndarray, float]:
    """``Q Lambda^n Q^{-1}`` from ``numpy.linalg.eig`` (real part), and cond(Q).

    Checked as ``van-eig-power`` (vanishing/why)."""
    lam, Q = np.linalg.eig(M)
    out = Q @ np.diag(lam**n) @ np.linalg.inv(Q)
    return np.real(out), float(np.linalg.cond(Q))


def real_block_diagonal(lam) -> np.ndarray:
    """A real matrix whose eigenvalues are ``lam`` (equation ``err-003-2c-limit``): a
    1x1 block ``[lam_j]`` for a real entry, a 2x2 block ``[[a, -b], [b, a]]`` for a
    pair ``a + ib, a - ib`` given next to each other (b > 0 first). Column j of its
    n-th power has norm ``|lam_j|^n``: the 2x2 block is ``|lam| R``, R a rotation, so
    its powers are ``|lam|^n R^n``."""
    lam = np.asarray(lam, dtype=complex)
    M = np.zeros((lam.size, lam.size))
    j = 0
    while j < lam.size:
        a, b = lam[j].real, lam[j].imag
        if b == 0:
            M[j, j] = a
            j += 1
            continue
        if b < 0 or j + 1 == lam.size or lam[j + 1] != np.conj(lam[j]):
            raise ValueError(f"eigenvalue {lam[j]} must be followed by its conjugate")
        M[j : j + 2, j : j + 2] = [[a, -b], [b, a]]
        j += 2
    return M
