"""The package's shape: one model API across the three models (DESIGN.md section 4), every
public model function refusing bad parameters, and the four layers importing one way."""

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from lstm_notes.blocks import softmax
from lstm_notes.models import attention_rnn as att
from lstm_notes.models import lstm, rnn

MODELS = {"rnn": rnn, "lstm": lstm, "attention_rnn": att}
STATES = {"rnn": ("h0",), "lstm": ("a0", "c0"), "attention_rnn": ("h0",)}
N_X, N_H, N_Y, T = 3, 5, 4, 6
PACKAGE = Path(__file__).resolve().parents[1] / "lstm_notes"


def _hidden(model) -> str:
    """The hidden size's name: source 001's ``n_a`` for the LSTM, ``n_h`` elsewhere."""
    return "n_a" if model is lstm else "n_h"


def _leading(fn, names):
    """Assert ``fn`` takes ``names`` first, in that order, positionally, with ``seed=0``
    among them, and that every later parameter has a default."""
    sig = list(inspect.signature(fn).parameters.values())
    assert [p.name for p in sig[: len(names)]] == list(names), (fn.__qualname__, sig)
    for p in sig[: len(names)]:
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, (fn.__qualname__, p)
    assert sig[len(names) - 1].name == "seed" and sig[len(names) - 1].default == 0
    for p in sig[len(names) :]:
        assert p.default is not inspect.Parameter.empty, (fn.__qualname__, p)


def test_one_api_across_the_three_models():
    for name, m in MODELS.items():
        hidden, states = _hidden(m), STATES[name]
        assert tuple(m.STATE_NAMES) == states, name

        # init_params(n_x, n_h, n_y, seed=0): the sizes in that position, seeded, float64
        _leading(m.init_params, ("n_x", hidden, "n_y", "seed"))
        params = m.init_params(N_X, N_H, N_Y, 0)
        assert tuple(params) == tuple(m.PARAM_NAMES), name
        assert m.sizes(params) == (N_X, N_H, N_Y), name
        for k, v in params.items():
            assert isinstance(v, np.ndarray) and v.dtype == np.float64, (name, k)
        again, other = (
            m.init_params(N_X, N_H, N_Y, seed=0),
            m.init_params(N_X, N_H, N_Y, seed=1),
        )
        assert all(np.array_equal(params[k], again[k]) for k in params), name
        assert not all(np.array_equal(params[k], other[k]) for k in params), name

        # example(n_x, n_h, n_y, T, seed=0) -> (params, x, y, state)
        _leading(m.example, ("n_x", hidden, "n_y", "T", "seed"))
        out = m.example(N_X, N_H, N_Y, T, 2)
        assert isinstance(out, tuple) and len(out) == 4, name
        params, x, y, state = out
        assert tuple(params) == tuple(m.PARAM_NAMES) and m.sizes(params) == (
            N_X,
            N_H,
            N_Y,
        )
        assert x.shape == (T, N_X) and x.dtype == np.float64, name
        assert y.shape == (T,) and np.issubdtype(y.dtype, np.integer), name
        assert np.all((0 <= y) & (y < N_Y)), name
        assert isinstance(state, dict) and tuple(state) == states, name
        for s in states:
            assert state[s].shape == (N_H,) and state[s].dtype == np.float64, (name, s)
            assert np.any(state[s] != 0.0), (name, s)  # a state gradient that matters
        again = m.example(N_X, N_H, N_Y, T, seed=2)
        assert np.array_equal(again[1], x) and np.array_equal(again[2], y), name
        assert all(np.array_equal(again[3][s], state[s]) for s in states), name

        # forward(params, x, **state) -> Cache with h, z_y, y_hat
        cache = m.forward(params, x, **state)
        assert isinstance(cache, m.Cache) and type(cache).__name__ == "Cache", name
        assert cache.h.shape == (T + 1, N_H), name
        np.testing.assert_array_equal(cache.h[0], state[states[0]])
        assert cache.z_y.shape == (T, N_Y) and cache.y_hat.shape == (T, N_Y), name
        np.testing.assert_allclose(cache.y_hat, softmax(cache.z_y), rtol=1e-14, atol=0)
        np.testing.assert_allclose(cache.y_hat.sum(axis=1), 1.0, rtol=1e-14)
        # missing initial states are zeros
        zeros = {s: np.zeros(N_H) for s in states}
        np.testing.assert_array_equal(
            m.forward(params, x).y_hat, m.forward(params, x, **zeros).y_hat
        )

        # backward(params, cache, x, y) -> every parameter and initial state, their shapes
        grads = m.backward(params, cache, x, y)
        assert isinstance(grads, dict), name
        assert set(grads) == set(params) | set(states), (name, sorted(grads))
        for k in params:
            assert grads[k].shape == params[k].shape and grads[k].dtype == np.float64, (
                name,
                k,
            )
        for s in states:
            assert grads[s].shape == state[s].shape and grads[s].dtype == np.float64, (
                name,
                s,
            )

        # loss_and_grads(params, x, y, **state) agrees with loss and backward
        loss, both = m.loss_and_grads(params, x, y, **state)
        assert isinstance(loss, float), name
        assert loss == pytest.approx(float(m.loss(params, x, y, **state)), rel=1e-14)
        assert set(both) == set(grads), name
        for k in grads:
            np.testing.assert_allclose(
                both[k], grads[k], rtol=1e-13, atol=1e-15, err_msg=f"{name}: {k}"
            )

        # and backward is the gradient: the complex step along one random direction of
        # every parameter and initial state at once
        rng = np.random.default_rng(7)
        point = {**params, **state}
        D = {k: rng.standard_normal(v.shape) for k, v in point.items()}
        moved = {k: v + 1e-20j * D[k] for k, v in point.items()}
        slope = (
            np.imag(
                m.loss(
                    {k: moved[k] for k in params}, x, y, **{s: moved[s] for s in states}
                )
            )
            / 1e-20
        )
        predicted = sum(np.sum(grads[k] * D[k]) for k in point)
        assert slope == pytest.approx(predicted, rel=1e-10), name


# ---------------------------------------------------------------------------------------
# Every public function of a model module refuses bad parameters, naming the culprit.


def _public_functions(m) -> set[str]:
    return {k for k in m.__all__ if inspect.isfunction(getattr(m, k))}


def _calls(m):
    """``{function name: call}``: each call takes a parameter dict and runs the function
    on the example problem (``None`` for the functions that take no parameters)."""
    params, x, y, state = m.example(N_X, N_H, N_Y, T, seed=1)
    xb = np.random.default_rng(0).standard_normal((T, 2, N_X))
    yb = np.random.default_rng(1).integers(0, N_Y, (T, 2))
    cache = m.forward(params, x, **state)
    calls = {
        "init_params": None,
        "example": None,  # they make parameters from sizes
        "sizes": lambda P: m.sizes(P),
        "forward": lambda P: m.forward(P, x, **state),
        "loss": lambda P: m.loss(P, x, y, **state),
        "backward": lambda P: m.backward(P, cache, x, y),
        "loss_and_grads": lambda P: m.loss_and_grads(P, x, y, **state),
    }
    if m is rnn or m is att:
        h0 = state["h0"]
        calls["states"] = lambda P: m.states(P, x, h0)
    if m is rnn:
        calls.update(
            {
                "validated": lambda P: rnn.validated(P, x, y, h0, allow_complex=False),
                "batch_loss_and_grads": lambda P: rnn.batch_loss_and_grads(P, xb, yb),
                # takes the one weight matrix it needs: W stands for the parameters
                "step_jacobian": lambda P: rnn.step_jacobian(P["W"], cache.h[2]),
                "recurrence_backward": lambda P: rnn.recurrence_backward(
                    P, x, cache.h, np.ones(cache.h.shape)
                ),
            }
        )
    if m is lstm:
        a0, c0 = state["a0"], state["c0"]
        step = cache.step(3, x)
        calls.update(
            {
                "shapes": None,  # sizes by name, no parameters
                "validated": lambda P: lstm.validated(
                    P, x, y, a0, c0, allow_complex=False
                ),
                "cell_forward": lambda P: lstm.cell_forward(P, x[0], a0, c0),
                "stepper": lambda P: lstm.stepper(P),
                "cell_backward": lambda P: lstm.cell_backward(
                    P, np.ones(N_H), np.ones(N_H), step
                ),
                "bptt": lambda P: lstm.bptt(P, cache, x, y),
                "batch_loss_and_grads": lambda P: lstm.batch_loss_and_grads(P, xb, yb),
                "grads_x": lambda P: lstm.grads_x(P, x, y, a0, c0),
                "step_loss": lambda P: lstm.step_loss(
                    P, x, y, 2, "c", cache.c[2], a0, c0
                ),
                "step_grad": lambda P: lstm.step_grad(P, x, y, 2, "b_u", a0, c0),
                "numeric_grad": lambda P: lstm.numeric_grad(P, x, y, "b_y", a0, c0),
            }
        )
    if m is att:
        direct = att.attention_backward(params, cache, y)[2]
        calls.update(
            {
                "attention": None,
                "attention_by_terms": None,  # take the states alone
                "attention_jacobian": None,  # takes a cache
                "every_path": None,  # takes step numbers
                "head": lambda P: att.head(P, cache.h),
                "step_losses": lambda P: att.step_losses(P, x, y, h0),
                "loss_of_states": lambda P: att.loss_of_states(P, cache.h, y),
                "attention_backward": lambda P: att.attention_backward(P, cache, y),
                "recurrence_backward": lambda P: att.recurrence_backward(
                    P, x, cache, direct
                ),
                "path_sum_grads": lambda P: att.path_sum_grads(P, x, y, h0),
                "path_terms": lambda P: att.path_terms(
                    P, x, y, att.every_path([2]), h0
                ),
                # takes the one weight matrix it needs: W stands for the parameters
                "denominator_path_sum": lambda P: att.denominator_path_sum(
                    P["W"], x, cache.h, lambda t, m_: np.eye(N_H), np.ones((T, N_H))
                ),
            }
        )
    return params, calls


WEIGHT_ONLY = {"step_jacobian", "denominator_path_sum"}


def _word(name: str) -> str:
    return rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])"


def _wrongly_sized(shapes):
    """``{parameter: axis}`` for every parameter with an axis whose size name at least two
    other axes of the parameters also give, so that the rest outvote it when it is cut
    short (with only two axes giving a size, neither is "the one that disagrees")."""
    votes = {}
    for dims in shapes.values():
        for d in dims:
            votes[d] = votes.get(d, 0) + 1
    out = {}
    for k, dims in shapes.items():
        for axis, d in enumerate(dims):
            if votes[d] >= 3:
                out[k] = axis
                break
    return out


def _bad_versions(params, shapes, weight_only: bool):
    """``(what, culprit, bad params, culprit alone?)`` for every parameter: float32, one
    NaN, one axis a size short, and (with a dict) an unknown name."""
    names = ("W",) if weight_only else tuple(params)
    short = _wrongly_sized(shapes)
    for k in names:
        v = params[k]
        yield "float32", k, {**params, k: v.astype(np.float32)}, True
        nan = v.copy()
        nan.flat[v.size // 2] = np.nan
        yield "NaN", k, {**params, k: nan}, True
        if k in short:
            cut = [slice(None)] * v.ndim
            cut[short[k]] = slice(0, v.shape[short[k]] - 1)
            yield "wrongly sized", k, {**params, k: v[tuple(cut)]}, True
    if not weight_only:
        yield "unknown name", "W_extra", {**params, "W_extra": params[names[0]]}, False


def test_every_public_model_function_refuses_bad_parameters_naming_them():
    problems = {}  # "model.function" -> what went wrong
    for name, m in MODELS.items():
        params, calls = _calls(m)
        public = _public_functions(m)
        # every public function is listed, so that a new one is checked too
        assert public == set(calls), (name, sorted(public ^ set(calls)))
        shapes = lstm.shapes() if m is lstm else m.SHAPES
        for fn, call in sorted(calls.items()):
            if call is None:
                continue
            call(params)  # the good call runs
            for what, culprit, bad, alone in _bad_versions(
                params, shapes, fn in WEIGHT_ONLY
            ):
                case = f"{what} {culprit}"
                try:
                    call(bad)
                except ValueError as e:
                    msg = str(e)
                    others = [
                        k for k in params if k != culprit and re.search(_word(k), msg)
                    ]
                    if not re.search(_word(culprit), msg):
                        problem = f"{case} refused without naming it: {msg!r}"
                    elif alone and others:
                        problem = f"{case} refused naming {others} too: {msg!r}"
                    else:
                        continue
                except Exception as e:  # noqa: BLE001 - any other error is a failure too
                    problem = f"{case} raised {type(e).__name__}, not ValueError: {e}"
                else:
                    problem = f"{case} accepted"
                problems.setdefault(f"{name}.{fn}", []).append(problem)
    assert not problems, (
        "public functions that do not refuse bad parameters:\n"
        + "\n".join(f"{fn}: " + "; ".join(p) for fn, p in problems.items())
    )


# ---------------------------------------------------------------------------------------
# The layers (lstm_notes/__init__.py): checking <- blocks <- models <- chapters.

LAYERS = ("checking", "blocks", "models", "chapters")
#: For each layer, the layers its modules may import from; '' is the package itself,
#: which re-exports the checking API and may import nothing else (so, above checking, it
#: counts as checking; checking itself may not import it: a cycle).
ALLOWED = {
    "checking": {"checking"},
    "blocks": {"checking", ""},
    "models": {"checking", "", "blocks", "models"},
    "chapters": {"checking", "", "blocks", "models", "chapters"},
    "": {"checking"},
}


def _module_name(path: Path) -> str:
    parts = ("lstm_notes",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    """``checking``, ``blocks``, ``models``, ``chapters``, or '' for the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_module(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (
        PACKAGE / rel / "__init__.py"
    ).is_file()


def _imports(tree: ast.AST, module: str, is_package: bool):
    """``(line, imported module, imported name or None, local name)`` for every import
    of the package's own modules, relative imports resolved; the local name is the one
    the import binds (None for ``import a.b`` without ``as``, which binds ``a``)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "lstm_notes":
                    yield node.lineno, a.name, None, a.asname
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "lstm_notes":
                continue
            for a in node.names:
                sub = f"{source}.{a.name}"
                if _is_module(sub):  # a module, imported by name
                    yield node.lineno, sub, None, a.asname or a.name
                else:
                    yield node.lineno, source, a.name, None


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_layers():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 15
    edges, problems = set(), []
    for path in files:
        module = _module_name(path)
        layer = _layer(module)
        where = path.relative_to(PACKAGE.parent)
        if layer not in ALLOWED:
            problems.append(f"{where}: module {module} is in no layer {LAYERS}")
            continue
        tree = ast.parse(path.read_text(), str(path))
        modules = {}  # local name -> own module it stands for
        for line, target, name, local in _imports(
            tree, module, path.name == "__init__.py"
        ):
            edges.add((module, target))
            if local:
                modules[local] = target
            to = _layer(target)
            if to not in ALLOWED[layer]:
                problems.append(
                    f"{where}:{line}: {layer or 'the package'} imports {target} "
                    f"({to or 'the package'})"
                )
            own = target.startswith(module + ".")  # a package's own submodule
            for part in target.split(".")[1:] + ([name] if name else []):
                if _private(part) and not own:
                    problems.append(
                        f"{where}:{line}: imports the private {part} of {target}"
                    )
        # nor reaches one through a module it imported: ``validate._sizes(...)``
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and _private(node.attr)
            ):
                problems.append(
                    f"{where}:{node.lineno}: uses the private "
                    f"{node.attr} of {modules[node.value.id]}"
                )
    # the parser sees the imports it should (else the test would pass vacuously)
    for edge in [
        ("lstm_notes.models.lstm", "lstm_notes.blocks"),
        ("lstm_notes.models.rnn", "lstm_notes.checking.validate"),
        ("lstm_notes.models.attention_rnn", "lstm_notes.models.rnn"),
        ("lstm_notes.chapters.carousel", "lstm_notes.models.lstm"),
        ("lstm_notes.checking.check", "lstm_notes.checking.validate"),
        ("lstm_notes", "lstm_notes.checking.check"),
    ]:
        assert edge in edges, edge
    assert not problems, "\n".join(problems)
