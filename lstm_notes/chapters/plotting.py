"""The book's plots: one style that stays legible on a phone, SVG output, and an alt text
made from the data each plot draws.

A page draws on ``fig, ax = plotting.figure()`` and ends with ``plotting.show(fig)``.
``show`` renders the figure as SVG (sharp at any size), writes :func:`describe`'s text into
the SVG's ``dc:description`` (the site's build copies it into the image's ``alt``) and
closes the figure so that the notebook does not show it a second time as a PNG.

``plain_text`` turns a snippet of TeX (a mathtext label, a page title with math) into
Unicode text; the alt texts use it, and so do the site's plain-text page titles.

matplotlib is imported only by the functions that draw (the package itself needs numpy
only); ``plain_text`` and ``describe`` need no display.
"""

from __future__ import annotations

import io
import math

import numpy as np

#: The book's plot style. A figure 5.2 in wide is shown about 360 px wide on a phone, so
#: 1 pt is about 0.95 px there: 10 pt text stays about 9 px tall at 390 px, and 13 px on a
#: wide screen, where the SVG is shown at its natural size (500 px).
STYLE = {
    "figure.figsize": (5.2, 3.6),
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "font.size": 10.0,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10.0,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 8.5,
    "lines.linewidth": 1.8,
    # Reproducible SVG: the same figure gives the same file (and file name) every build.
    "svg.hashsalt": "lstm-notes",
}

_SUB = dict(
    zip(
        "0123456789+-=()aehijklmnoprstuvxβγρφχ",
        "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ",
        strict=True,
    )
)
_SUP = dict(
    zip(
        "0123456789+-−=()abcdefghijklmnoprstuvwxyzT⊤",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᵀᵀ",
        strict=True,
    )
)
_SYMBOLS = {
    "partial": "∂",
    "nabla": "∇",
    "ne": "≠",
    "neq": "≠",
    "approx": "≈",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "propto": "∝",
    "sim": "∼",
    "to": "→",
    "infty": "∞",
    "cdot": "·",
    "times": "×",
    "circ": "∘",
    "odot": "⊙",
    "top": "⊤",
    "ell": "ℓ",
    "sum": "Σ",
    "prod": "Π",
    "|": "‖",
    "{": "{",
    "}": "}",
    "%": "%",
    "ldots": "…",
    "dots": "…",
    "cdots": "⋯",
    "in": "∈",
    "pm": "±",
    "mid": "|",
    "varepsilon": "ε",
    "epsilon": "ε",
    "vartheta": "θ",
    "varphi": "φ",
}
_SYMBOLS.update(
    zip(
        "alpha beta gamma delta zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau "
        "upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi "
        "Omega".split(),
        "αβγδζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΥΦΨΩ",
        strict=True,
    )
)
#: Commands whose argument is shown as it is (fonts, text), and commands that only space.
_FONTS = {
    "mathbf",
    "boldsymbol",
    "bm",
    "mathcal",
    "mathrm",
    "mathit",
    "mathsf",
    "mathtt",
    "mathbb",
    "text",
    "textrm",
    "textit",
    "textbf",
    "operatorname",
}
#: Accents, as combining characters after a one-character argument (\hat y -> ŷ).
_ACCENTS = {
    "hat": "\u0302",
    "widehat": "\u0302",
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "bar": "\u0304",
    "overline": "\u0305",
    "vec": "\u20d7",
    "dot": "\u0307",
}
#: Relations and operators, written with a space on each side.
_SPACED = {
    "ne",
    "neq",
    "approx",
    "le",
    "leq",
    "ge",
    "geq",
    "propto",
    "sim",
    "to",
    "in",
    "pm",
    "times",
    "mid",
}
_SILENT = {
    "left",
    "right",
    "big",
    "Big",
    "bigg",
    "Bigg",
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "biggl",
    "biggr",
    "displaystyle",
    "limits",
    "nolimits",
    "!",
}
_SPACES = {",", ";", ":", "quad", "qquad", " "}


def plain_text(tex: str) -> str:
    """``tex`` (TeX or matplotlib mathtext, ``$`` delimiters allowed) as plain Unicode
    text: font commands dropped, symbols as characters, sub- and superscripts as Unicode
    where every character has one (``h_{j+1}`` -> ``hⱼ₊₁``, ``W^{\\top}`` -> ``Wᵀ``), else
    written out (``x^{1/3}`` -> ``x^(1/3)``)."""
    if not isinstance(tex, str):
        raise TypeError(f"plain_text needs a str, got {type(tex).__name__}")
    text, _ = _group(tex.replace("$", ""), 0)
    return " ".join(text.split())


def _group(s: str, i: int) -> tuple[str, int]:
    """Read ``s`` from ``i`` up to a closing brace (or the end); return text and index."""
    out = []
    while i < len(s) and s[i] != "}":
        piece, i = _atom(s, i)
        out.append(piece)
    return "".join(out), i + 1


def _atom(s: str, i: int) -> tuple[str, int]:
    """One unit of ``s`` at ``i``: a character, a {group}, a command with its argument,
    or a sub- or superscript."""
    c = s[i]
    if c == "{":
        return _group(s, i + 1)
    if c in "_^":
        arg, i = _atom(s, _skip_spaces(s, i + 1)) if i + 1 < len(s) else ("", i + 1)
        return _script(arg.replace(" ", ""), _SUB if c == "_" else _SUP, c), i
    if c == "~":
        return " ", i + 1
    if c != "\\":
        return c, i + 1
    j = i + 1
    if j < len(s) and s[j].isalpha():
        while j < len(s) and s[j].isalpha():
            j += 1
        # A control word ends at the spaces after it, as in TeX, unless an operator
        # follows ("\\rho = 0.9" keeps its space before "=").
        name, rest = s[i + 1 : j], _skip_spaces(s, j)
        if rest > j and rest < len(s) and not (s[rest].isalnum() or s[rest] in "\\{"):
            rest = j
    else:
        name, rest = s[j : j + 1], j + 1
    if name in _FONTS:
        return _atom(s, rest) if rest < len(s) else ("", rest)
    if name in _ACCENTS:
        arg, rest = _atom(s, rest) if rest < len(s) else ("", rest)
        return (arg + _ACCENTS[name] if len(arg) == 1 else arg), rest
    if name == "frac":
        num, rest = _atom(s, rest)
        den, rest = _atom(s, _skip_spaces(s, rest))
        wrap = lambda t: f"({t})" if any(c in t for c in " +-=/") else t  # noqa: E731
        return f"{wrap(num)}/{wrap(den)}", rest
    if name == "sqrt":
        arg, rest = _atom(s, rest)
        return f"√({arg})" if len(arg) > 1 else f"√{arg}", rest
    if name in _SILENT or name in _SPACES:
        return (" " if name in _SPACES else ""), rest
    symbol = _SYMBOLS.get(name, name)
    return (f" {symbol} " if name in _SPACED else symbol), rest


def _skip_spaces(s: str, i: int) -> int:
    while i < len(s) and s[i] == " ":
        i += 1
    return i


def _script(text: str, table: dict, mark: str) -> str:
    if text and all(ch in table for ch in text):
        return "".join(table[ch] for ch in text)
    return f"{mark}{text}" if len(text) == 1 else f"{mark}({text})"


# --- alt text from the data -------------------------------------------------------------


def _num(value: float) -> str:
    """A number for the alt text: whole numbers as they are, others with two significant
    digits, in exponent form outside [0.001, 10000) as the book prints errors."""
    if not math.isfinite(value):
        return f"{value:g}"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.{max(0, 1 - math.floor(math.log10(abs(value))))}f}"
    return f"{value:.1e}"


def _axis(ax, which: str) -> str:
    label = plain_text(getattr(ax, f"get_{which}label")()) or f"{which} values"
    low, high = sorted(getattr(ax, f"get_{which}lim")())
    scale = getattr(ax, f"get_{which}scale")()
    return (
        f"{label}{', log scale' if scale == 'log' else ''}, from {_num(low)} "
        f"to {_num(high)}"
    )


def _curve(x: np.ndarray, y: np.ndarray, log: bool) -> str:
    """Where a curve starts and ends, and its extreme between when that stands out."""
    keep = np.isfinite(x) & np.isfinite(y) & ((y > 0) if log else True)
    x, y = x[keep], y[keep]
    if len(y) == 0:
        return "no points in view"
    if len(y) == 1:
        return f"one point, {_num(y[0])} at {_num(x[0])}"
    scale = (lambda v: np.log10(v)) if log else (lambda v: v)
    span = max(np.ptp(scale(y)), 1e-300)
    text = f"from {_num(y[0])} at {_num(x[0])} to {_num(y[-1])} at {_num(x[-1])}"
    if np.ptp(scale(y)) < 1e-9 * max(1.0, abs(scale(y[0]))):
        return f"constant at {_num(y[0])}, from {_num(x[0])} to {_num(x[-1])}"
    for k, word in ((int(np.argmax(y)), "peak"), (int(np.argmin(y)), "low")):
        ends = scale(y[[0, -1]])
        sticks_out = (
            scale(y[k]) - ends.max() if word == "peak" else ends.min() - scale(y[k])
        )
        if 0 < k < len(y) - 1 and sticks_out > 0.2 * span:
            text += f", with a {word} of {_num(y[k])} at {_num(x[k])}"
    return text


def describe(fig) -> str:
    """A text alternative of ``fig`` made from what it draws: per axes its title, the two
    axes (label, scale, range shown) and every labelled line (start, end, a peak or low
    that stands out); unlabelled lines are counted, horizontal and vertical reference
    lines given by their value."""
    parts = []
    for ax in fig.axes:
        if not ax.has_data():
            continue
        title = plain_text(ax.get_title())
        head = (
            f"Plot{': ' + title if title else ''}. Horizontal axis: {_axis(ax, 'x')}. "
            f"Vertical axis: {_axis(ax, 'y')}."
        )
        lines, unlabelled = [], 0
        for line in ax.get_lines():
            label = line.get_label()
            x = np.asarray(line.get_xdata(), dtype=float)
            y = np.asarray(line.get_ydata(), dtype=float)
            if label.startswith("_"):
                unlabelled += 1
                continue
            name = plain_text(label)
            if len(x) == 2 and x[0] == x[1]:
                lines.append(f"{name}: vertical line at {_num(x[0])}")
            elif len(y) == 2 and y[0] == y[1] and tuple(x) == (0.0, 1.0):
                lines.append(f"{name}: horizontal line at {_num(y[0])}")
            else:
                lines.append(f"{name}: {_curve(x, y, ax.get_yscale() == 'log')}")
        body = (
            f" {len(lines)} labelled line{'s' if len(lines) != 1 else ''}: "
            + "; ".join(lines)
            + "."
            if lines
            else ""
        )
        extra = (
            f" Also {unlabelled} unlabelled guide line{'s' if unlabelled > 1 else ''}."
            if unlabelled
            else ""
        )
        parts.append(head + body + extra)
    if not parts:
        raise ValueError("describe: the figure has no axes with data to describe")
    return " ".join(parts)


# --- drawing ----------------------------------------------------------------------------


def figure(**subplots):
    """``fig, ax`` in the book's style (:data:`STYLE`, constrained layout); keyword
    arguments go to ``plt.subplots``."""
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    mpl.rcParams.update(STYLE)
    return plt.subplots(layout="constrained", **subplots)


def svg(fig, description: str) -> str:
    """``fig`` as SVG text, ``description`` in its metadata (``dc:description``) and the
    first axes' title as its ``dc:title``; no date, so a rebuild gives the same file."""
    metadata = {"Description": description, "Date": None}
    title = plain_text(fig.axes[0].get_title()) if fig.axes else ""
    if title:
        metadata["Title"] = title
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata=metadata)
    return buffer.getvalue()


def show(fig) -> None:
    """Show ``fig`` in the page as SVG with its :func:`describe` text, then close it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    description = describe(fig)
    image = svg(fig, description)
    plt.close(fig)
    display({"image/svg+xml": image, "text/plain": description}, raw=True)
