"""lstm_notes.plotting: plain text from TeX, alt text from a figure's data, SVG output."""

import re

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from lstm_notes.chapters import plotting  # noqa: E402
from lstm_notes.chapters.plotting import plain_text  # noqa: E402


@pytest.mark.parametrize(
    "tex, text",
    [
        (r"\partial \mathbf Z_t / \partial \mathbf h_m", "∂Zₜ / ∂hₘ"),
        (r"\partial \mathbf h_{j+1} / \partial \mathbf h_j", "∂hⱼ₊₁ / ∂hⱼ"),
        (r"\mathbf W^{\top}\mathbf a + \mathbf b", "Wᵀa + b"),
        (
            r"\mathbf M^n = \mathbf Q \boldsymbol\Lambda^n \mathbf Q^{-1}",
            "Mⁿ = Q Λⁿ Q⁻¹",
        ),
        (r"$\rho(\mathbf{W})^n$, $\rho = 0.9$", "ρ(W)ⁿ, ρ = 0.9"),
        (r"$h = \varepsilon^{1/3}$", "h = ε^(1/3)"),  # no superscript "/": written out
        (r"\partial C_t/\partial C_k \approx 1", "∂Cₜ/∂Cₖ ≈ 1"),
        (r"\frac{\partial J}{\partial x}", "∂J/∂x"),
        (r"\hat{\mathbf y}", "y\u0302"),
        (r"\|\mathbf{W}\|_2", "‖W‖₂"),
    ],
)
def test_plain_text_writes_tex_as_unicode(tex, text):
    assert plain_text(tex) == text


def test_plain_text_refuses_what_is_not_text():
    with pytest.raises(TypeError, match="plain_text needs a str, got bytes"):
        plain_text(b"\\partial")


def _figure():
    fig, ax = plotting.figure()
    lag = np.arange(101)
    ax.semilogy(lag, 0.5 ** (lag / 10), label=r"$\|\mathbf{W}\|_2 = 0.5$")
    ax.semilogy(lag, 1 + 60 * np.exp(-(((lag - 84) / 5.0) ** 2)), label="bump")
    ax.axhline(1.0, color="grey")
    ax.axhline(0.5, label="half")
    ax.set_xlabel("lag (steps)")
    ax.set_ylabel("gradient norm")
    ax.set_title(r"Test, $n_h = 8$")
    return fig


def test_the_description_says_what_the_plot_shows_from_its_data():
    fig = _figure()
    text = plotting.describe(fig)
    assert text.startswith("Plot: Test, nₕ = 8. Horizontal axis: lag (steps), from ")
    assert "Vertical axis: gradient norm, log scale" in text
    assert "3 labelled lines" in text
    assert "‖W‖₂ = 0.5: from 1 at 0 to 9.8e-04 at 100" in text
    assert "bump: from 1 at 0 to 1.0 at 100, with a peak of 61 at 84" in text
    assert "half: horizontal line at 0.50" in text
    assert "Also 1 unlabelled guide line." in text
    matplotlib.pyplot.close(fig)


def test_a_figure_without_data_cannot_be_described():
    fig, _ = plotting.figure()
    with pytest.raises(ValueError, match="no axes with data"):
        plotting.describe(fig)
    matplotlib.pyplot.close(fig)


def test_the_svg_carries_the_description_and_is_the_same_every_time():
    fig = _figure()
    text = plotting.describe(fig)
    first, second = plotting.svg(fig, text), plotting.svg(fig, text)
    assert first == second, "two renderings of one figure differ (a date or random ids)"
    found = re.search(r"<dc:description>(.*?)</dc:description>", first, re.S)
    assert found and "peak of 61 at 84" in found.group(1)
    assert "<dc:title>Test, nₕ = 8</dc:title>" in first
    matplotlib.pyplot.close(fig)
