"""A matplotlib backend for pages run by ``execution``: figures become cell outputs.

Selected with ``matplotlib.use("module://verified_book.inline_figures")`` in the process
that runs the pages. As under a Jupyter kernel's inline backend, ``plt.show()`` shows
every open figure and closes them, and the figures still open when a cell ends are shown
after it (``execution`` calls :func:`flush`). A figure is a PNG drawn as IPython draws it
(``bbox_inches="tight"``, the figure's own dpi and colours), with its ``repr`` as text.
"""

from __future__ import annotations

import base64
import io

from matplotlib import colors
from matplotlib._pylab_helpers import Gcf
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase

#: The weights of a colour's lightness (matplotlib-inline's rule).
LUMA = (0.299, 0.587, 0.114)


def figure_output(fig) -> dict | None:
    """The ``display_data`` output of a figure, or None for an empty one (as IPython)."""
    if not fig.axes and not fig.lines:
        return None
    buffer = io.BytesIO()
    fig.canvas.print_figure(
        buffer,
        format="png",
        facecolor=fig.get_facecolor(),
        edgecolor=fig.get_edgecolor(),
        dpi=fig.dpi,
        bbox_inches="tight",
    )
    return {
        "output_type": "display_data",
        "data": {
            "image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
            "text/plain": repr(fig),
        },
        "metadata": _background(fig),
    }


def _background(fig) -> dict:
    """IPython's hint for a transparent figure: which background its ticks need."""
    if colors.to_rgba(fig.get_facecolor())[3] != 0:
        return {}
    light = {
        bool(
            sum(
                w * c
                for w, c in zip(LUMA, colors.to_rgb(label.get_color()), strict=True)
            )
            > 0.5
        )
        for ax in fig.axes
        for axis in (ax.xaxis, ax.yaxis)
        for label in axis.get_ticklabels()
    }
    if len(light) != 1:
        return {}
    return {"needs_background": "dark" if light.pop() else "light"}


def flush() -> None:
    """Show every open figure, then close them all."""
    managers = Gcf.get_all_fig_managers()
    try:
        for manager in managers:
            out = figure_output(manager.canvas.figure)
            if out is not None:
                from .execution import emit

                emit(out)
    finally:
        if managers:
            import matplotlib.pyplot as plt

            plt.close("all")


def show(*args, **kwargs) -> None:
    flush()
