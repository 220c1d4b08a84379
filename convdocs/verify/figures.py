"""Figures drawn by a page's code: render the cell's matplotlib figure and check the committed PNG.

A cell preceded by ``<!-- convdocs: figure figures/name.png -->`` must draw exactly one
matplotlib figure. The suite renders it (Agg, fixed DPI) and compares it with the committed
image, pixel by pixel, with matplotlib's RMS image comparison (tolerance ``tol``, in 0-255
units, default ``DEFAULT_TOL``); the update mode writes the PNG instead. A translation's
figure is its own ``figures/name.zh.png`` where it has one, as mkdocs-static-i18n serves it.
The page must show the image with alt text: ``![what it shows](figures/name.png)``.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from convdocs.verify.documents import figure_file

DEFAULT_TOL = 2.0
"""RMS difference (0-255) above which a committed figure no longer matches its code."""
STRONG = 64
"""A pixel whose colour moved by more than this (0-255, in any channel) has changed, not
shifted by anti-aliasing."""
STRONG_ALLOWED = 10
"""How many pixels may change strongly where the committed image was drawn (the CPU, where
drawing the same numbers gives the same pixels): a changed digit of a label changes dozens,
while the RMS over a large figure may stay under its tolerance."""


def image_difference(expected: bytes, drawn: bytes, tol: float, strict: bool) -> str | None:
    """Why the image ``drawn`` is not ``expected`` (PNG, or any format Pillow reads), or None:
    another size, an RMS difference (matplotlib's image comparison) above ``tol``, or, when
    ``strict`` (where the expected image was drawn, on the CPU), more strongly changed pixels
    than anti-aliasing makes, as a changed label or number does where the RMS stays low."""
    import io

    import numpy
    from matplotlib.testing.compare import compare_images
    from matplotlib.testing.exceptions import ImageComparisonFailure
    from PIL import Image

    images = [Image.open(io.BytesIO(data)) for data in (expected, drawn)]
    with tempfile.TemporaryDirectory() as tmp:
        files = os.path.join(tmp, "expected.png"), os.path.join(tmp, "drawn.png")
        for file, image in zip(files, images, strict=True):
            image.save(file, format="png")
        try:
            difference = compare_images(*files, tol, in_decorator=True)
        except ImageComparisonFailure as failure:  # another size: nothing to compare pixel by pixel
            return str(failure)
    if difference is not None:
        return f"RMS {difference['rms']:.2f} > tol {tol:g}"
    old, new = (numpy.asarray(image.convert("RGB"), dtype=int) for image in images)
    changed = int((numpy.abs(old - new).max(axis=2) > STRONG).sum()) if strict else 0
    if changed <= STRONG_ALLOWED:
        return None
    return (
        f"{changed} pixels changed colour, more than the {STRONG_ALLOWED} anti-aliasing may "
        "move; a label or a number differs?"
    )


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


def figure_problem(
    page: str, page_path: str, page_text: str, target: str, drawn: Drawn
) -> str | None:
    """What no redrawing fixes (None when all is well): the cell must draw exactly one figure,
    and the page must show it with alt text."""
    shown = os.path.relpath(figure_file(page_path, target), Path(page_path).parent)
    if drawn.count != 1 or drawn.png is None:
        return f"{page}: the figure cell for {shown} must draw exactly one figure, it drew {drawn.count}"
    if not (image_reference(page_text, target) or "").strip():  # no alt text, or no image
        return f"{page}: the page must show {shown} with alt text: ![what it shows]({shown})"
    return None


def figure_difference(
    page: str, page_path: str, target: str, tol: float, png: bytes, strict: bool
) -> str | None:
    """Why the committed image (a translation's own, if any) is not what the cell drew
    (``png``), or None; nothing is written. ``strict``: see ``image_difference``."""
    committed = figure_file(page_path, target)
    target = os.path.relpath(committed, Path(page_path).parent)
    if not committed.is_file():
        return f"{page}: {target} is missing; run pytest --update-outputs to draw it"
    if (reason := image_difference(committed.read_bytes(), png, tol, strict)) is None:
        return None
    return f"{page}: {target} no longer matches what the code draws ({reason}); run `pytest --update-outputs` to redraw it"
