"""The verification settings of one test run: device, update mode and the site's tolerance."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from convdocs.verify.compare import DEFAULT_ATOL, DEFAULT_RTOL


@dataclass
class Settings:
    """What the harness was asked for; the pytest plugin fills it in at start-up."""

    device: str = "cpu"
    update: bool = False
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL


current = Settings()
"""The settings in force for this process."""


def applicable_tolerance(tolerances) -> tuple[float, float, int] | None:
    """The first tolerance (a mapping with rtol/atol/device) that applies on this run's device.

    Returns ``(rtol, atol, index)``, a missing rtol or atol taken from the site's default,
    or None when none applies. A tolerance without ``device`` applies everywhere.
    """
    for index, options in enumerate(tolerances):
        device = options.get("device")
        if device is None or str(device).split(":")[0] == current.device.split(":")[0]:
            return float(options.get("rtol", current.rtol)), float(options.get("atol", current.atol)), index
    return None


def site_tolerance(pyproject: Path) -> tuple[float, float]:
    """Read ``[tool.convdocs.verify]`` ``rtol``/``atol`` from a pyproject.toml, else the defaults."""
    if not pyproject.is_file():
        return DEFAULT_RTOL, DEFAULT_ATOL
    table = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    section = table.get("tool", {}).get("convdocs", {}).get("verify", {})
    unknown = set(section) - {"rtol", "atol"}
    if unknown:
        raise ValueError(
            f"[tool.convdocs.verify] in {pyproject} accepts rtol and atol, got {sorted(unknown)}"
        )
    return float(section.get("rtol", DEFAULT_RTOL)), float(section.get("atol", DEFAULT_ATOL))
