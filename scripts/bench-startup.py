"""What having the checker installed costs a project that does not use it: pytest's start-up.

In a temporary project with one trivial test and no ``[tool.convdocs.verify]`` table, runs
``python -m pytest -q -p no:cacheprovider`` with the plugin loaded (as pip installs it: the
``pytest11`` entry point) and with it turned off (``-p no:convdocs``), alternated, and reports
the fastest and median wall time of each, their ratio, and which of torch, IPython and numpy the
run with the plugin imported (none, by design). For scale, the same with a table and one page of
two examples that import nothing: the plugin starts its session and the page's process, and
neither imports torch.

Usage: python scripts/bench-startup.py [--repeat 7] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from convdocs.verify.child import device_name  # noqa: E402

HEAVY = ("torch", "IPython", "numpy")
PROBE = """
import sys
def pytest_sessionfinish(session):
    print("\\nheavy:", ",".join(m for m in {heavy!r} if m in sys.modules) or "none")
"""


def _project(folder: Path, table: bool) -> Path:
    folder.mkdir()
    (folder / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    pyproject = '[project]\nname = "p"\n'
    if table:
        (folder / "docs").mkdir()
        (folder / "docs" / "page.md").write_text(
            "# A page\n\n```python\nprint(1 + 1)\n```\n\n```text\n2\n```\n"
        )
        pyproject += '[tool.convdocs.verify]\npaths = ["docs"]\n'
    (folder / "pyproject.toml").write_text(pyproject)
    (folder / "conftest.py").write_text(PROBE.format(heavy=HEAVY))
    return folder


def _run(folder: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    took = time.perf_counter() - start
    heavy = next(line for line in done.stdout.splitlines() if "heavy:" in line)
    return took, heavy.split("heavy:", 1)[1].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain = _project(Path(tmp) / "plain", table=False)
        tabled = _project(Path(tmp) / "tabled", table=True)
        methods = {
            "no table, plugin loaded": (plain, ()),
            "no table, -p no:convdocs": (plain, ("-p", "no:convdocs")),
            "with the table": (tabled, ()),
        }
        times: dict[str, list[float]] = {name: [] for name in methods}
        imported: dict[str, str] = {}
        for _ in range(args.repeat):
            for name, (folder, extra) in methods.items():  # alternated, repetition by repetition
                took, heavy = _run(folder, *extra)
                times[name].append(took)
                imported[name] = heavy
    base = min(times["no table, -p no:convdocs"])
    result = {
        "machine": device_name("cpu"),
        "python": platform.python_version(),
        "repeat": args.repeat,
        "methods": {
            name: {
                "fastest_s": round(min(values), 3),
                "median_s": round(statistics.median(values), 3),
                "ratio_to_plugin_off": round(min(values) / base, 2),
                "imports": imported[name],
            }
            for name, values in times.items()
        },
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
