"""Figures: the committed PNG must match what the page's code draws, within a pixel tolerance."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from convdocs.verify.child import _figures
from convdocs.verify.edits import EditQueue, FileWrite
from convdocs.verify.figures import Drawn, check_figure

PAGE_TEXT = "# Page\n\n![a diagonal line](figures/line.png)\n"


def capture_figures() -> Drawn:
    """What the document's process sends back of the open figures (and closes them)."""
    import base64

    found = _figures()
    return Drawn(found["count"], found["png"] and base64.b64decode(found["png"]))


def draw():
    _, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])


@pytest.fixture
def page(tmp_path):
    path = tmp_path / "page.md"
    path.write_text(PAGE_TEXT)
    yield path
    plt.close("all")


def check(page, update=False, text=PAGE_TEXT, tol=2.0, strict=True):
    """Check the drawn figure; when updating, write what was drawn as the update mode does (at the end)."""
    found = check_figure(
        "page.md", str(page), text, "figures/line.png", tol, capture_figures(), strict=strict
    )
    if update and found.failure is not None and found.drawn is not None:
        queue = EditQueue()
        queue.add(FileWrite(str(found.committed), found.drawn))
        assert queue.apply() == [str(found.committed)]
        return None
    return found.failure


def test_nothing_is_written_while_checking(page):
    draw()
    found = check_figure(
        "page.md", str(page), PAGE_TEXT, "figures/line.png", 2.0, capture_figures()
    )
    assert found.failure is not None and "is missing" in found.failure
    assert found.drawn is not None and found.drawn.startswith(b"\x89PNG")
    assert not (page.parent / "figures").exists()


def test_update_writes_then_check_passes(page):
    draw()
    assert "is missing" in check(page)
    draw()
    assert check(page, update=True) is None
    assert (page.parent / "figures/line.png").is_file()
    draw()
    assert check(page) is None


def test_an_altered_figure_fails(page):
    draw()
    check(page, update=True)
    committed = page.parent / "figures/line.png"
    pixels = np.array(Image.open(committed).convert("RGBA"))
    pixels[40:80, 60:120, :3] = 255 - pixels[40:80, 60:120, :3]
    Image.fromarray(pixels).save(committed)
    draw()
    failure = check(page)
    assert failure is not None and "no longer matches what the code draws (RMS" in failure
    draw()
    assert check(page, update=True) is None
    draw()
    assert check(page) is None


def test_changed_code_fails(page):
    draw()
    check(page, update=True)
    _, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    assert "no longer matches" in check(page)


def test_exactly_one_figure_and_alt_text(page):
    assert "it drew 0" in check(page)
    draw()
    draw()
    assert "it drew 2" in check(page)
    draw()
    assert "with alt text" in check(page, text="![](figures/line.png)")


def test_a_figure_of_another_size_fails_and_the_update_redraws_it(page):
    draw()
    check(page, update=True)
    _, ax = plt.subplots(figsize=(4, 2))  # wider than the committed one
    ax.plot([0, 1], [0, 1])
    failure = check(page)
    assert failure is not None and "no longer matches what the code draws" in failure
    assert "size" in failure
    _, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1], [0, 1])
    assert check(page, update=True) is None
    _, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1], [0, 1])
    assert check(page) is None


def test_a_changed_label_fails_where_the_rms_would_not_see_it(page):
    def labelled(label):
        _, ax = plt.subplots(figsize=(12, 8))  # large: one label is a small share of it
        ax.plot([0, 1, 2], [0.5, 0.8, 0.91])
        ax.set_title(f"test accuracy {label}")

    labelled("91%")
    check(page, update=True)
    labelled("99%")
    assert check(page, strict=False) is None  # the RMS alone stays under its tolerance
    labelled("99%")
    failure = check(page)
    assert failure is not None and "pixels changed colour" in failure
    labelled("91%")
    assert check(page) is None
