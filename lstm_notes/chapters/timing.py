"""Timing of the attention RNN's gradient forms, for the cost page and `make bench`.

It measures; it computes no formula of the book (the forms it times are checked on their
own pages), so `make mutants` leaves it alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from ..models import attention_rnn as att

__all__ = ["time_backward"]


def time_backward(
    T_values,
    repeats: int = 3,
    seed: int = 0,
    forms=tuple(att.FORMS),
    n_x: int = 3,
    n_h: int = 5,
    n_y: int = 4,
    single_thread: bool = True,
) -> dict[str, np.ndarray]:
    """Seconds per gradient computation (forward pass included) of each form in
    ``forms``
    for each sequence length in ``T_values``: the minimum over ``repeats`` runs, timed
    with ``time.perf_counter`` on seeded random data. Returns {form: array of seconds}.

    With ``single_thread`` (the default) the runs happen in a fresh Python process whose
    BLAS uses one thread: on a small machine a multi-threaded BLAS makes the T x T
    products of the attention erratic, and the fitted slopes with them.
    """
    args = dict(
        T_values=[int(T) for T in T_values],
        repeats=int(repeats),
        seed=int(seed),
        forms=list(forms),
        n_x=n_x,
        n_h=n_h,
        n_y=n_y,
    )
    if single_thread:
        env = {**os.environ, **{v: "1" for v in _THREAD_VARIABLES}}
        code = (
            "import json, sys; "
            "from lstm_notes.chapters.timing import time_backward as f; "
            "r = f(**json.loads(sys.argv[1]), single_thread=False); "
            "print(json.dumps({k: v.tolist() for k, v in r.items()}))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, json.dumps(args)],
            env=env,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:  # the timing process's own error, not only its status
            raise RuntimeError(f"the timing process failed:\n{out.stderr[-2000:]}")
        return {k: np.array(v) for k, v in json.loads(out.stdout).items()}
    rng = np.random.default_rng(seed)
    params = att.init_params(n_x, n_h, n_y, seed=seed)
    result = {f: np.empty(len(T_values)) for f in forms}
    for i, T in enumerate(args["T_values"]):
        x = rng.standard_normal((T, n_x))
        y = rng.integers(0, n_y, T)
        for f in forms:
            runs = []
            for _ in range(repeats):
                start = time.perf_counter()
                att.FORMS[f](params, x, y)
                runs.append(time.perf_counter() - start)
            result[f][i] = min(runs)
    return result


_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
