"""What a project asks of the checker (``[tool.convdocs.verify]`` in its pyproject.toml), and
the settings of one run (that, plus the device and the update mode).

<!-- convdocs: skip reason="a configuration file, read by the checker" -->
```toml
[tool.convdocs.verify]
paths = ["docs", "README.md"]   # Markdown files, notebooks, modules, and folders of them
rtol = 1e-6                     # the default tolerance for floats in outputs (at most 1e-2)
atol = 1e-8
timeout = 60                    # seconds a cell may run
```

A project without the table gets nothing collected: the plugin stays out of its way.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convdocs.verify.compare import DEFAULT_ATOL, DEFAULT_RTOL
from convdocs.verify.rules import ATOL_CEILING, RTOL_CEILING

DEVICE_ENV = "CONVDOCS_DEVICE"
"""The environment variable that names the device (``--device`` wins; the documents see it too)."""
TABLE = "[tool.convdocs.verify]"
KEYS = frozenset({"paths", "rtol", "atol", "timeout", "record"})
DEFAULT_TIMEOUT = 60.0
TIMEOUT_CEILING = 24 * 3600.0


class ConfigError(ValueError):
    """The project's ``[tool.convdocs.verify]`` table is not what the checker expects."""


@dataclass(frozen=True)
class ProjectConfig:
    """A project's table: its root, the documents to check, its default tolerance, and the
    verification record's file, if it names one (a run writes a record only then)."""

    root: Path
    paths: tuple[Path, ...]
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    timeout: float = DEFAULT_TIMEOUT
    record: Path | None = None

    def covers(self, path: Path) -> bool:
        """Whether ``path`` is one of the listed files or lies in one of the listed folders."""
        path = Path(path).resolve()
        return any(path == p or p in path.parents for p in self.paths)


def number(where: str, name: str, value: Any, ceiling: float) -> float:
    """``value`` as a float from 0 (above 0 for a ``timeout``) to ``ceiling``.

    Raises:
        ConfigError: naming ``where`` (the table, or ``parsers()``), ``name`` and the value.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"{where}: {name} must be a finite number >= 0, got {value!r}")
    if value > ceiling:
        raise ConfigError(f"{where}: {name} must be at most {ceiling:g}, got {value!r}")
    if name == "timeout" and value == 0:
        raise ConfigError(f"{where}: timeout must be more than 0 seconds, got 0")
    return float(value)


def device_named(name: object, where: str) -> str:
    """``name`` as a document's process names its device: ``cpu``, or ``cuda:N`` (``cuda`` is
    ``cuda:0``, where a fresh process starts).

    Raises:
        ConfigError: naming ``where`` and what was given.
    """
    if not (isinstance(name, str) and re.fullmatch(r"cpu|cuda(:\d+)?", name)):
        raise ConfigError(f"{where} expects cpu, cuda or cuda:N, got {name!r}")
    return "cuda:0" if name == "cuda" else name


def load_project(root: Path) -> ProjectConfig | None:
    """Read ``root/pyproject.toml``'s table; None when the file or the table is missing.

    Raises:
        ConfigError: for an unknown key, a bad tolerance or timeout, or a path that does not exist.
    """
    pyproject = Path(root) / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{pyproject} is not valid TOML: {error}") from None
    table = data.get("tool", {}).get("convdocs", {}).get("verify")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{TABLE} in {pyproject} must be a table")
    unknown = set(table) - KEYS
    if unknown:
        raise ConfigError(
            f"{TABLE} in {pyproject} accepts {', '.join(sorted(KEYS))}; "
            f"got unknown key(s) {', '.join(sorted(unknown))}"
        )
    raw_paths = table.get("paths")
    if not (
        isinstance(raw_paths, list)
        and raw_paths
        and all(isinstance(p, str) and p for p in raw_paths)
    ):
        raise ConfigError(
            f"{TABLE} in {pyproject}: paths must be a non-empty list of file or folder names, got {raw_paths!r}"
        )
    paths = []
    for name in raw_paths:
        path = (Path(root) / name).resolve()
        if not path.exists():
            raise ConfigError(f"{TABLE} in {pyproject}: paths lists {name!r}, which does not exist")
        paths.append(path)
    name = table.get("record")
    record = None if name is None else (Path(root) / str(name)).resolve()
    if record is not None and not (
        isinstance(name, str) and name.endswith(".json") and Path(root).resolve() in record.parents
    ):
        raise ConfigError(
            f"{TABLE} in {pyproject}: record must name a .json file inside the project, "
            f"such as 'verification-record.json', got {name!r}"
        )
    where = f"{TABLE} in {pyproject}"
    return ProjectConfig(
        Path(root).resolve(),
        tuple(paths),
        number(where, "rtol", table.get("rtol", DEFAULT_RTOL), RTOL_CEILING),
        number(where, "atol", table.get("atol", DEFAULT_ATOL), ATOL_CEILING),
        number(where, "timeout", table.get("timeout", DEFAULT_TIMEOUT), TIMEOUT_CEILING),
        record,
    )


@dataclass(frozen=True)
class Settings:
    """One run: the project's table, the device the examples run on and whether outputs are rewritten."""

    project: ProjectConfig
    device: str = "cpu"
    update: bool = False
    shadow: bool = True
    """Whether each document also runs under the hidden seed (``runner.DocumentRun``). Only a
    caller that checks something else than seeds turns it off (the mutation tests do); the
    pytest plugin never does."""

    @property
    def device_kind(self) -> str:
        """``cpu`` or ``cuda`` (the device without its index)."""
        return self.device.split(":")[0]

    @property
    def writes_shared_outputs(self) -> bool:
        """Whether an update run may rewrite outputs shared by every device: only on the CPU.
        A run on another device rewrites only that device's tabs."""
        return self.update and self.device_kind == "cpu"
