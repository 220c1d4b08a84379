"""Figures drawn by a page's code: render the cell's matplotlib figure and check the committed PNG.

A cell preceded by ``<!-- convdocs: figure figures/name.png -->`` must draw exactly one
matplotlib figure. The suite renders it (Agg, fixed DPI) and compares it with the committed
image, pixel by pixel, with matplotlib's RMS image comparison (tolerance ``tol``, in 0-255
units, default ``DEFAULT_TOL``); the update mode writes the PNG instead. The page must show
the image with alt text: ``![what it shows](figures/name.png)``.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TOL = 2.0
"""RMS difference (0-255) above which a committed figure no longer matches its code."""
DPI = 100


def image_reference(page_text: str, target: str) -> str | None:
    """The alt text of the first ``![alt](target)`` in the page, or None when it is missing."""
    m = re.search(r"!\[([^\]]*)\]\(" + re.escape(target) + r"(?:\s+\"[^\"]*\")?\)", page_text)
    return None if m is None else m.group(1)


def render_current_figure(out: Path) -> int:
    """Save the one open matplotlib figure to ``out`` and close every figure; return how many were open."""
    import matplotlib.pyplot as plt

    numbers = plt.get_fignums()
    if len(numbers) == 1:
        plt.figure(numbers[0]).savefig(out, dpi=DPI, metadata={"Software": None})
    plt.close("all")
    return len(numbers)


@dataclass(frozen=True)
class FigureCheck:
    """What ``check_figure`` found: a failure (or None), where the figure is committed, and
    the PNG the cell drew (None when it drew no single figure)."""

    failure: str | None
    committed: Path
    drawn: bytes | None


def check_figure(page: str, page_path: str, page_text: str, target: str, tol: float) -> FigureCheck:
    """Compare the figure the cell just drew with the committed PNG; write nothing."""
    from matplotlib.testing.compare import compare_images

    committed = Path(page_path).parent / target
    alt = image_reference(page_text, target)
    with tempfile.TemporaryDirectory() as tmp:
        drawn = Path(tmp) / committed.name
        count = render_current_figure(drawn)
        if count != 1:
            return FigureCheck(
                f"{page}: the figure cell for {target} must draw exactly one figure, it drew {count}",
                committed,
                None,
            )
        data = drawn.read_bytes()
        if alt is None or not alt.strip():
            return FigureCheck(
                f"{page}: the page must show {target} with alt text: ![what it shows]({target})",
                committed,
                None,
            )
        if not committed.is_file():
            return FigureCheck(
                f"{page}: {target} is missing; run pytest --update-outputs to draw it",
                committed,
                data,
            )
        difference = compare_images(str(committed), str(drawn), tol=tol, in_decorator=True)
        if difference is None:
            return FigureCheck(None, committed, data)
        return FigureCheck(
            f"{page}: {target} no longer matches what the code draws "
            f"(RMS {difference['rms']:.2f} > tol {tol:g}); run `pytest --update-outputs` to redraw it",
            committed,
            data,
        )
