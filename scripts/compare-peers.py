"""What convdocs and its peers check, from runs: each tool runs on each case of
``benchmarks/peer-corpus`` twice, as written (right: it should pass) and with its expected
outputs changed (``42`` made ``41``: it should fail), and the outcome of each run is recorded.

Outcomes, from pytest's summary line: ``passes`` / ``fails`` (the right case fails: a false
failure) / ``catches`` / ``misses`` (the changed case passes: an output nobody compared) /
``-`` (the tool collects nothing there). The peers run in their own environment (``--peers``, a
virtual environment with sybil, nbval, phmdoctest, pytest-examples and ipykernel), convdocs in
this one. Writes ``convdocs/data/checkers.json``, which "How examples are verified" shows.

Usage: python scripts/compare-peers.py --peers /path/to/venv
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "benchmarks" / "peer-corpus"
OUT = ROOT / "convdocs" / "data" / "checkers.json"
INI = "[tool.pytest.ini_options]\naddopts = ['-p', 'no:cacheprovider']\n"
SYBIL = """from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser
from sybil.parsers.rest import DocTestParser

pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(), DocTestParser()], patterns=["*.md", "*.py"]
).pytest()
"""
EXAMPLES = """import pytest
from pytest_examples import CodeExample, EvalExample, find_examples


@pytest.mark.parametrize("example", find_examples("."), ids=str)
def test_docs(example: CodeExample, eval_example: EvalExample):
    eval_example.run_print_check(example)
"""


def _tools(peers: Path) -> dict[str, tuple[str, str, list[str]]]:
    """Each tool: the Python it runs under, the files it adds (name, text), its pytest args."""
    ours, theirs = sys.executable, str(peers / "bin" / "python")
    return {
        "convdocs": (ours, "pyproject.toml", [INI + '[tool.convdocs.verify]\npaths = ["."]\n']),
        "doctest": (theirs, "pyproject.toml", [INI, "--doctest-glob=*.md", "--doctest-modules"]),
        "sybil": (theirs, "conftest.py", [SYBIL]),
        "phmdoctest": (theirs, "", []),
        "pytest-examples": (theirs, "test_examples.py", [EXAMPLES]),
        "nbval": (theirs, "pyproject.toml", [INI, "--nbval"]),
    }


def _outcome(summary: str) -> dict[str, int]:
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|errors?)", summary)}


def _run(python: str, folder: Path, tool: str, extra: list[str]) -> dict[str, int]:
    if tool == "phmdoctest":  # writes a test file per Markdown page, which pytest runs
        for page in folder.glob("*.md"):
            subprocess.run(
                [
                    str(Path(python).parent / "phmdoctest"),
                    str(page),
                    "--outfile",
                    str(folder / f"test_{page.stem}.py"),
                ],
                cwd=folder,
                capture_output=True,
                check=False,
            )
    done = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    return _outcome(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=Path, required=True)
    args = parser.parse_args()
    tools = _tools(args.peers)
    results: dict[str, dict[str, dict[str, str]]] = {}
    for case in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        results[case.name] = {}
        for tool, (python, added, settings) in tools.items():
            seen = {}
            for variant in ("right", "changed"):
                with tempfile.TemporaryDirectory() as tmp:
                    folder = Path(tmp) / case.name
                    shutil.copytree(case, folder)
                    if variant == "changed":
                        for path in folder.iterdir():
                            path.write_text(path.read_text().replace("42", "41"))
                    if added:
                        (folder / added).write_text(settings[0])
                    counts = _run(python, folder, tool, settings[1:])
                failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
                ran = failed + counts.get("passed", 0)
                if not ran:
                    seen[variant] = "-"
                elif variant == "right":
                    seen[variant] = "fails" if failed else "passes"
                else:
                    seen[variant] = "catches" if failed else "misses"
            results[case.name][tool] = seen
    versions = {name: version(name) for name in ("sybil", "pytest")}
    peers = subprocess.run(
        [
            str(args.peers / "bin" / "python"),
            "-c",
            "from importlib.metadata import version as v; import json; print(json.dumps("
            "{n: v(n) for n in ('nbval', 'phmdoctest', 'pytest-examples')}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    data = {"versions": {**versions, **json.loads(peers.stdout)}, "cases": results}
    OUT.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(json.dumps(data, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
