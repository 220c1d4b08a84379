"""Figures drawn by a page's code: render the cell's matplotlib figure and check the committed PNG.

A cell preceded by ``<!-- convdocs: figure figures/name.png -->`` must draw exactly one
matplotlib figure. The suite renders it (Agg, fixed DPI) and compares it with the committed
image, pixel by pixel, with matplotlib's RMS image comparison (tolerance ``tol``, in 0-255
units, default ``DEFAULT_TOL``); the update mode writes the PNG instead. The page must show
the image with alt text: ``![what it shows](figures/name.png)``.
"""

from __future__ import annotations

import io
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TOL = 2.0
"""RMS difference (0-255) above which a committed figure no longer matches its code."""
DPI = 100


def image_reference(page_text: str, target: str) -> str | None:
    """The alt text of the first ``![alt](target)`` in the page, or None when it is missing."""
    from convdocs.verify.rules import ALT_TEXT

    m = re.search(rf"!\[({ALT_TEXT})\]\(" + re.escape(target) + r"(?:\s+\"[^\"]*\")?\)", page_text)
    return None if m is None else m.group(1)


@dataclass(frozen=True)
class Drawn:
    """What a cell drew: how many matplotlib figures were open, and the PNG of the one figure
    (None unless exactly one was open)."""

    count: int
    png: bytes | None


def capture_figures() -> Drawn:
    """Save the one open matplotlib figure as PNG (Agg, ``DPI``) and close every figure."""
    if "matplotlib.pyplot" not in sys.modules:
        return Drawn(0, None)
    import matplotlib.pyplot as plt

    numbers = plt.get_fignums()
    png = None
    if len(numbers) == 1:
        buffer = io.BytesIO()
        plt.figure(numbers[0]).savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        png = buffer.getvalue()
    plt.close("all")
    return Drawn(len(numbers), png)


@dataclass(frozen=True)
class FigureCheck:
    """What ``check_figure`` found: a failure (or None), where the figure is committed, and
    the PNG the cell drew (None when it drew no single figure)."""

    failure: str | None
    committed: Path
    drawn: bytes | None


def check_figure(
    page: str, page_path: str, page_text: str, target: str, tol: float, drawn: Drawn
) -> FigureCheck:
    """Compare what the cell drew with the committed PNG; write nothing."""
    from matplotlib.testing.compare import compare_images
    from matplotlib.testing.exceptions import ImageComparisonFailure

    committed = Path(page_path).parent / target
    alt = image_reference(page_text, target)
    if drawn.count != 1 or drawn.png is None:
        return FigureCheck(
            f"{page}: the figure cell for {target} must draw exactly one figure, it drew {drawn.count}",
            committed,
            None,
        )
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
            drawn.png,
        )
    with tempfile.TemporaryDirectory() as tmp:
        new = Path(tmp) / committed.name
        new.write_bytes(drawn.png)
        try:
            difference = compare_images(str(committed), str(new), tol=tol, in_decorator=True)
        except ImageComparisonFailure as failure:  # another size: nothing to compare pixel by pixel
            return FigureCheck(
                f"{page}: {target} no longer matches what the code draws ({failure}); "
                "run `pytest --update-outputs` to redraw it",
                committed,
                drawn.png,
            )
    if difference is None:
        return FigureCheck(None, committed, drawn.png)
    return FigureCheck(
        f"{page}: {target} no longer matches what the code draws "
        f"(RMS {difference['rms']:.2f} > tol {tol:g}); run `pytest --update-outputs` to redraw it",
        committed,
        drawn.png,
    )
