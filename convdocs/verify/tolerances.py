"""Which tolerance a cell's output is compared with, on a given device.

The first that applies wins: the cell's own ``tolerance`` marker, then the page's
``page-tolerance`` marker (or a notebook's metadata), then the project's default from
``[tool.convdocs.verify]``. A tolerance with ``device=cuda`` applies on that device only.
One function answers for the checks, the record and the stamps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from convdocs.verify.cells import Cell
from convdocs.verify.config import ProjectConfig


@dataclass(frozen=True)
class Tolerance:
    """An rtol/atol pair and where it comes from (for messages and for the page's notes)."""

    rtol: float
    atol: float
    origin: str
    reason: str = ""


def first_applicable(
    candidates: Iterable[tuple[Mapping[str, object], str]], device_kind: str, project: ProjectConfig
) -> Tolerance:
    """The first ``(options, origin)`` whose ``device`` (if any) is ``device_kind``, else the project's."""
    for options, origin in candidates:
        device = options.get("device")
        if device is None or str(device).split(":")[0] == device_kind:
            return Tolerance(
                float(options.get("rtol", project.rtol)),  # type: ignore[arg-type]
                float(options.get("atol", project.atol)),  # type: ignore[arg-type]
                f"rtol/atol from {origin}",
                str(options.get("reason", "")),
            )
    return Tolerance(project.rtol, project.atol, "the project's default rtol/atol")


def for_cell(cell: Cell, device_kind: str, project: ProjectConfig) -> Tolerance:
    """The tolerance of a page's or docstring's cell on ``device_kind``."""
    candidates = [
        (m.options, f"the {m.directive} marker at line {m.line}")
        for m in (*cell.markers, *cell.page_markers)
        if m.directive in ("tolerance", "page-tolerance")
    ]
    return first_applicable(candidates, device_kind, project)


def for_notebook(
    tolerances: Iterable[Mapping[str, object]], device_kind: str, project: ProjectConfig
) -> Tolerance:
    """The tolerance of a notebook's cells on ``device_kind`` (from its metadata)."""
    return first_applicable(
        ((t, "the notebook's metadata") for t in tolerances), device_kind, project
    )
