"""The package as a reader installs it: a wheel, in a fresh virtual environment outside the
repository, runs the pages' code and prints what the pages show.

The wheel is built from a copy of the package's sources (``pip wheel --no-deps
--no-build-isolation``), so that nothing is written into the repository, and installed with
``pip install --no-deps`` into a virtual environment made in a temporary folder. Its
dependencies (torch, numpy) are not downloaded again: a ``.pth`` line puts the site-packages of
the environment running the tests at the end of the new one's path. A line of a ``.pth`` file
adds a folder without running the ``.pth`` files inside it, so the repository's editable
install stays out, and the test checks that ``convdocs`` is imported from the new environment.
The pages' cells run there with ``python -I`` (no PYTHONPATH, no current folder on the path),
in a temporary working folder, and each output is compared with the page's output block.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from convdocs.verify import compare_outputs
from convdocs.verify.cells import read_cells

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# Every cell of the first page runs, and the cell of "From loop to fast" that reads the
# benchmark results the package ships (the page's other cells take it a minute on a CPU).
LOOP_TO_FAST_CELL = 'resources.files("convdocs")'

# Run in the new environment: read a list of cells on stdin, run them in order in one
# namespace, print a JSON list of what each printed (plus the repr of a last expression's
# value, as Jupyter shows it), then where convdocs came from.
RUNNER = r"""
import ast, contextlib, io, json, sys
cells = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
outputs = []
for code in cells:
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(tree, "<cell>", "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
            if value is not None:
                print(repr(value))
    outputs.append(buffer.getvalue())
import convdocs
print(json.dumps({"outputs": outputs, "convdocs": convdocs.__file__}))
"""


def _cells(page: str, only: str | None = None) -> list[tuple[str, str]]:
    """The (code, shown output on a CPU) of the cells of a page that the checker runs."""
    cells = read_cells((DOCS / page).read_text(encoding="utf-8")).cells
    chosen = []
    for cell in cells:
        if cell.marker("skip") is not None or cell.marker("source") is not None:
            continue  # not run by the checker either (a source cell is compared with the package)
        if only is not None and only not in cell.code.body:
            continue
        output = cell.output_for("cpu")
        chosen.append((cell.code.body, "" if output is None else output.body))
    return chosen


def _the_loop_to_fast_cell() -> list[tuple[str, str]]:
    found = _cells("loop-to-fast.md", LOOP_TO_FAST_CELL)
    assert len(found) == 1, f"expected one cell of loop-to-fast.md reading {LOOP_TO_FAST_CELL}"
    return found


def _sources(tmp: Path) -> Path:
    """A copy of what the wheel is built from: pyproject.toml, the README and the package."""
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for licence in ROOT.glob("LICEN[CS]E*"):
        shutil.copy2(licence, source / licence.name)
    shutil.copytree(
        ROOT / "convdocs", source / "convdocs", ignore=shutil.ignore_patterns("__pycache__")
    )
    return source


def _run(*command: str | Path, cwd: Path, **kwargs) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        **kwargs,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh virtual environment, outside the repository, with the wheel in it."""
    tmp = tmp_path_factory.mktemp("wheel")
    assert ROOT not in tmp.parents
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--disable-pip-version-check", "--quiet", "-w", tmp / "dist", _sources(tmp),
        cwd=tmp,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("convdocs-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ("digits.csv.gz", "bench-cpu.json", "peers-cpu.json", "peers-cuda.json"):
        assert f"convdocs/data/{data}" in names, f"the wheel lacks convdocs/data/{data}"

    venv = tmp / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    assert made.returncode == 0, made.stdout + made.stderr
    python = venv / "bin" / "python"
    purelib = _run(
        python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "zz-dependencies-of-the-tests.pth").write_text("\n".join(sorted(ours)) + "\n")
    put = _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
        "--no-index", "--disable-pip-version-check", "--quiet", wheel,
        cwd=tmp,
    )  # fmt: skip
    assert put.returncode == 0, put.stdout + put.stderr
    return python


def test_the_wheel_runs_the_pages_code_outside_the_repository(installed: Path, tmp_path: Path):
    cells = _cells("cross-correlation.md") + _the_loop_to_fast_cell()
    assert len(cells) > 5
    for code, _ in cells:
        ast.parse(code)
    ran = _run(installed, "-I", "-c", RUNNER, cwd=tmp_path, input=json.dumps([c for c, _ in cells]))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    result = json.loads(ran.stdout.splitlines()[-1])
    where = Path(result["convdocs"]).resolve()
    assert installed.parent.parent in where.parents, f"convdocs imported from {where}"
    assert ROOT not in where.parents, f"convdocs imported from the repository: {where}"
    assert len(result["outputs"]) == len(cells)
    for (code, shown), printed in zip(cells, result["outputs"], strict=True):
        comparison = compare_outputs(shown, printed)
        assert comparison, f"{code}\n{comparison}"
