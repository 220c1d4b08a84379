"""What a project asks of the checker (``[tool.convdocs.verify]`` in its pyproject.toml), and
the settings of one run (that, plus the device and the update mode).

<!-- convdocs: skip reason="a configuration file, read by the checker" -->
```toml
[tool.convdocs.verify]
paths = ["docs", "README.md"]   # Markdown files, notebooks, modules, and folders of them
rtol = 1e-6                     # the default tolerance for floats in outputs (at most 1e-2)
atol = 1e-8
timeout = 60                    # seconds a cell may run
outputs = ["text", "Output:"]   # the forms of an output block (see below)
unchecked = "fail"              # a block shown and not run fails ("skip": it is reported as skipped)
```

``outputs`` lists what an output block may look like, besides a ``text`` fence right after its
cell (which always is one): fence languages (``"output"``; ``""`` for a bare fence) and label
lines that may stand between the cell and its block (``"Output:"``, also written ``**Output**``).
The update mode writes a new block as a fence of the first language listed. The default,
``cells.OUTPUTS``, takes ``text``, ``output`` and bare fences, and the labels Output, Out,
Result, 输出 and 结果.

``unchecked`` says what a block shown and not run is (a block in another language than Python,
a ``text`` block after no cell, a code block the reader does not read, a notebook's markdown
cell with Python): ``"fail"``, a failure unless a skip marker says why, as the stamps need it,
so it is the default of a table that names a ``record``; ``"skip"``, the default otherwise, a
skipped example whose reason names the block, and a cell without an output block is run, and
what it prints is not compared (nothing shows it), as phmdoctest and sybil do.

A project without the table gets nothing collected: the plugin stays out of its way.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convdocs.verify.cells import OUTPUTS
from convdocs.verify.compare import DEFAULT_ATOL, DEFAULT_RTOL
from convdocs.verify.rules import ATOL_CEILING, RTOL_CEILING

DEVICE_ENV = "CONVDOCS_DEVICE"
"""The environment variable that names the device (``--device`` wins; the documents see it too)."""
TABLE = "[tool.convdocs.verify]"
KEYS = frozenset({"paths", "rtol", "atol", "timeout", "record", "outputs", "unchecked"})
DEFAULT_TIMEOUT = 60.0
TIMEOUT_CEILING = 24 * 3600.0
_OUTPUT = re.compile(r"[\w+#.-]*|[^\W_][^:\n]*:")  # a fence language, or a label line


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
    outputs: tuple[str, ...] = OUTPUTS
    unchecked: str = "fail"

    def covers(self, path: Path) -> bool:
        """Whether ``path`` is one of the listed files or lies in one of the listed folders."""
        path = Path(path).resolve()
        return any(path == p or p in path.parents for p in self.paths)


CEILINGS = {"rtol": RTOL_CEILING, "atol": ATOL_CEILING, "timeout": TIMEOUT_CEILING}


def number(where: str, name: str, value: Any) -> float:
    """``value`` as a float from 0 (above 0 for a ``timeout``) to its ``CEILINGS``.

    Raises:
        ConfigError: naming ``where`` (the table, or ``parsers()``), ``name`` and the value.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"{where}: {name} must be a finite number >= 0, got {value!r}")
    if value > (ceiling := CEILINGS[name]):
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


def unchecked_named(value: object, where: str) -> str:
    """``value`` as what a block shown and not run is: ``fail`` or ``skip``.

    Raises:
        ConfigError: naming ``where`` and what was given.
    """
    if value not in ("fail", "skip"):
        raise ConfigError(f"{where}: unchecked must be 'fail' or 'skip', got {value!r}")
    return str(value)


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
    where, root = f"{TABLE} in {pyproject}", Path(root).resolve()
    _require(isinstance(table, dict), f"{where} must be a table")
    unknown = ", ".join(sorted(set(table) - KEYS))
    _require(
        not unknown, f"{where} accepts {', '.join(sorted(KEYS))}; got unknown key(s) {unknown}"
    )
    names = table.get("paths")
    _require(
        isinstance(names, list) and names and all(isinstance(p, str) and p for p in names),
        f"{where}: paths must be a non-empty list of file or folder names, got {names!r}",
    )
    paths = tuple((root / name).resolve() for name in names)
    for name, path in zip(names, paths, strict=True):
        _require(path.exists(), f"{where}: paths lists {name!r}, which does not exist")
    name = table.get("record")
    record = None if name is None else (root / str(name)).resolve()
    _require(
        record is None
        or (isinstance(name, str) and name.endswith(".json") and root in record.parents),
        f"{where}: record must name a .json file inside the project, such as "
        f"'verification-record.json', got {name!r}",
    )
    outputs = table.get("outputs", OUTPUTS)
    _require(
        isinstance(outputs, (list, tuple))
        and all(isinstance(o, str) and _OUTPUT.fullmatch(o) for o in outputs),
        f"{where}: outputs must be a list of fence languages (such as 'output', or '' for a bare "
        f"fence) and label lines ending in ':' (such as 'Output:'), got {outputs!r}",
    )
    unchecked = unchecked_named(table.get("unchecked", "fail" if record else "skip"), where)
    return ProjectConfig(
        root,
        paths,
        number(where, "rtol", table.get("rtol", DEFAULT_RTOL)),
        number(where, "atol", table.get("atol", DEFAULT_ATOL)),
        number(where, "timeout", table.get("timeout", DEFAULT_TIMEOUT)),
        record,
        tuple(outputs),
        unchecked,
    )


def _require(holds: object, message: str) -> None:
    """Raise a ``ConfigError`` with ``message`` unless ``holds``."""
    if not holds:
        raise ConfigError(message)


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
    doctest_flags: int = 0
    """The doctest flags the pytest run sets for every session (its ``doctest_optionflags``)."""

    @property
    def device_kind(self) -> str:
        """``cpu`` or ``cuda`` (the device without its index)."""
        return self.device.split(":")[0]

    @property
    def writes_shared_outputs(self) -> bool:
        """Whether an update run may rewrite outputs shared by every device: only on the CPU.
        A run on another device rewrites only that device's tabs."""
        return self.update and self.device_kind == "cpu"
