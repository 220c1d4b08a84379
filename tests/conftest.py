"""Shared fixtures: the device every test runs on (``--device``), and the site built once.

The ``device`` fixture follows kornia's conftest: ``pytest --device cuda`` runs the package's
unit tests on the GPU, ``--device cpu`` (the default) on the CPU. Tests of the verification
machinery that describe CPU behaviour say so with ``--device cpu`` or ``Settings(device="cpu")``.
"""

from __future__ import annotations

import fcntl
import html
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from convdocs.verify.pytest_plugin import requested_device
from convdocs.verify.session import Session

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """On a GPU, import Triton's code generator before any test runs pytest in-process: such a
    run (pytester) puts sys.modules back as it found it, and Triton's C extension registers
    its submodules only once, so a Triton first imported inside it could not compile later."""
    if requested_device(config).startswith("cuda"):
        import importlib

        try:
            importlib.import_module("triton.compiler.code_generator")
        except ImportError:
            pass  # no Triton: the compiled pass says so itself (tests/test_compiled.py)


@pytest.fixture(autouse=True)
def _inner_runs_without_pytest_benchmark(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests that run pytest inside pytest (pytester) do so without pytest-benchmark, where a
    machine has it: under xdist it warns in every inner run, and the warning fails the run.
    Set after pytester starts, which clears PYTEST_ADDOPTS."""
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")
        monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:benchmark")


LANGUAGES = ("zh",)  # editions besides English, built under /<language>/ (mkdocs-static-i18n)


def page_addresses() -> list[str]:
    """The address of every page the site builds from docs/ (relative to the site), in English
    and in each other edition (a page without a translation is built there in English), and the
    404 page: known at collection, so that each page can be one test that xdist sends anywhere."""
    from convdocs.verify.translations import original_of

    addresses = ["404.html"]
    for source in sorted((ROOT / "docs").rglob("*")):
        if source.suffix in (".md", ".ipynb") and original_of(source) is None:
            addresses += [address_of(source, edition) for edition in (None, *LANGUAGES)]
    return addresses


def address_of(source: Path, edition: str | None = None) -> str:
    """Where the site shows a document of docs/ (relative to the site): ``cross-correlation/``
    for ``cross-correlation.md``, ``zh/cross-correlation/`` for ``cross-correlation.zh.md``, and
    for a page without a translation, where ``edition`` shows it in English (``zh/api/``)."""
    from convdocs.verify.translations import language_of, original_of

    language = language_of(source) or edition
    page = original_of(source) or source
    stem = page.relative_to(ROOT / "docs").with_suffix("").as_posix()
    path = "" if stem == "index" else f"{stem.removesuffix('/index')}/"
    return f"{language}/{path}" if language else path or "./"


def stamp_text(root: Path, documents: list[str]) -> str:
    """The stamp of ``documents`` as a screen reader reads it: the text of its HTML badge without
    the tags and the decorative marks (``aria-hidden``), e.g. ``2 examples · verified on CPU ...``."""
    from site_hooks.verification import stamp_html

    badge = re.sub(r'<span aria-hidden="true">[^<]*</span>', "", stamp_html(root, documents))
    return html.unescape(re.sub(r"<[^>]+>", "", badge))


@pytest.fixture(scope="session")
def device(pytestconfig: pytest.Config) -> torch.device:
    """The device this run tests on: ``--device``, else $CONVDOCS_DEVICE, else the CPU."""
    return torch.device(requested_device(pytestconfig))


@pytest.fixture(scope="session")
def float32_tolerance(device: torch.device) -> dict[str, float]:
    """``assert_close`` tolerances for float32 results computed by cuDNN or oneDNN on ``device``.

    On a GPU whose cuDNN may use TF32 for float32 convolutions (``allow_tf32``, the default),
    products keep 10 bits of mantissa: about 1e-3 relative, so allow 5e-3. On the CPU,
    torch's own float32 defaults.
    """
    if device.type == "cuda" and torch.backends.cudnn.allow_tf32:
        return {"rtol": 5e-3, "atol": 5e-3}
    return {"rtol": 1.3e-6, "atol": 1e-5}


def _build_site(site: Path) -> None:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", CONVDOCS_DEVICE="cpu")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    )


def _shared_site(factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Where the xdist workers share one build: the site, the file that says it is built, and
    the lock that the worker building it holds."""
    shared = factory.getbasetemp().parent  # the same folder for every worker
    return shared / "site", shared / "site.built", shared / "site.lock"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The browser tests last (in the same order on every worker, as xdist needs), and, under
    xdist, the site built in the background from the start: the workers run the other tests
    meanwhile instead of one building while the other waits for it (``built_site``)."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/browser/"))
    # Our own xdist_group marks (tests/test_pages.py), named as --dist loadgroup reads them:
    # pytest-xdist 3.8 names the group in item._nodeid, which pytest 9 no longer reads.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        for item in items:
            mark = item.get_closest_marker("xdist_group")
            if mark is not None and "@" not in item.nodeid:
                item._id = type(item._id).parse(f"{item.nodeid}@{mark.args[0]}")
    wanted = any("built_site" in getattr(item, "fixturenames", ()) for item in items)
    if not (wanted and os.environ.get("PYTEST_XDIST_WORKER")):
        return
    site, done, lock_path = _shared_site(config._tmp_path_factory)  # type: ignore[attr-defined]
    lock = open(lock_path, "w")  # held by the thread until the build ends
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # another worker builds it
        lock.close()
        return

    def build() -> None:
        try:
            if not done.exists():
                _build_site(site)
                done.touch()
        except BaseException:  # built_site builds again, and fails with the reason
            pass
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    threading.Thread(target=build, name="convdocs-site-build", daemon=True).start()


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the site strictly into a temporary folder and return that folder. Under xdist the
    workers share one build, started in the background at collection: the first to get the
    lock builds, the others wait and reuse it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        site = tmp_path_factory.mktemp("site")
        _build_site(site)
        return site
    site, done, lock_path = _shared_site(tmp_path_factory)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                _build_site(site)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return site


def parse_problems(path: Path, text: str) -> list[str]:
    """What the checker finds wrong in a document before running anything, each as its failing
    test reports it: ``docs/page.md:3: message``. These are the ``Problem`` examples of
    ``read_source`` and the faults of its cells (a cell with a fault fails without running).
    ``path`` is read as ``text``; its place is named from its project root (pyproject.toml)."""
    from convdocs.verify.cells import Cell, Problem
    from convdocs.verify.documents import project_root_of, read_source

    where = path.resolve().relative_to(project_root_of(path)).as_posix()
    found = []
    for example in read_source(path, text).examples:
        if isinstance(example, Problem):
            found.append((example.line, example.message))
        elif isinstance(example, Cell):
            found.extend(example.faults)
    return [f"{where}:{line}: {message}" for line, message in found]


def assert_refused(path: Path, text: str, *patterns: str) -> list[str]:
    """Check that ``text`` read as ``path`` has a parse-time problem matching each of
    ``patterns`` (fnmatch, as pytester's ``fnmatch_lines``); return every problem found."""
    from fnmatch import fnmatchcase

    found = parse_problems(path, text)
    for pattern in patterns:
        assert any(fnmatchcase(problem, pattern) for problem in found), (pattern, found)
    return found


def judged(
    root: Path,
    path: Path,
    *,
    device: str = "cpu",
    update: bool = False,
    shadow: bool = True,
    text: str | None = None,
) -> list[tuple[str, str]]:
    """Each example of the document at ``path`` judged in order, in-process, by a session of its
    own on the project at ``root`` (its pyproject.toml table), as a pytest run of that project
    would report it: ``("passed", "")``, ``("failed", message)`` or ``("skipped", reason)``. The
    document still runs in processes of its own; only pytest's collection and reports are left
    out. In update mode the session's edits are applied afterwards, as the plugin applies them
    at the end of its run."""
    from convdocs.verify.config import Settings, load_project
    from convdocs.verify.session import Session

    project = load_project(root)
    assert project is not None, f"{root} has no [tool.convdocs.verify] table"
    session = Session(Settings(project, device, update, shadow))
    try:
        found = session.judge_each(path, text)
    finally:
        session.close()
    if update:
        session.queue.apply()
    return found


def failures_of(session: Session, path: Path, text: str | None = None) -> list[str]:
    """The failure messages of ``session.judge_each`` (a skipped example is no failure)."""
    return [message for outcome, message in session.judge_each(path, text) if outcome == "failed"]


def counted(found: list[tuple[str, str]]) -> dict[str, int]:
    """How many examples of ``judged`` passed, failed and were skipped (pytest's outcomes)."""
    return {
        outcome: n
        for outcome in ("passed", "failed", "skipped")
        if (n := sum(o == outcome for o, _ in found))
    }


def failure_lines(found: list[tuple[str, str]], *patterns: str) -> str:
    """Check that examples of ``judged`` failed and that their messages hold ``patterns``
    (fnmatch, in order, as pytester's ``fnmatch_lines`` reads a run's output); return the text."""
    text = "\n".join(message for outcome, message in found if outcome == "failed")
    assert text, f"nothing failed: {found}"
    pytest.LineMatcher(text.splitlines()).fnmatch_lines(list(patterns))
    return text


_RUNS_SCRIPT = """\
import json, sys
import pytest


class Outcomes:
    def __init__(self):
        self.counts = {}

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            self.counts[report.outcome] = self.counts.get(report.outcome, 0) + 1


runs = []
for args in json.loads(sys.argv[1]):
    print("=== convdocs test run", len(runs) + 1, flush=True)
    outcomes = Outcomes()
    code = pytest.main(["-p", "no:cacheprovider", *args], plugins=[outcomes])
    runs.append([int(code), outcomes.counts])
print("=== convdocs test runs", json.dumps(runs), flush=True)
"""


def runs_in_a_fresh_process(
    pytester: pytest.Pytester, *runs: list[str]
) -> tuple[list[tuple[int, dict[str, int]]], pytest.RunResult]:
    """Run pytest in ``pytester``'s project once per argument list of ``runs``, one after the
    other in one new Python process (each run a pytest of its own: its config, its plugins
    loaded from their entry points; the first in a process that has imported nothing yet).
    Returns each run's exit code and outcomes (``passed`` counts calls; ``failed`` and
    ``skipped`` count any phase), and the process's output, in which ``=== convdocs test run N``
    opens run N's."""
    import json

    script = pytester.path.parent / f"{pytester.path.name}-runs.py"
    script.write_text(_RUNS_SCRIPT)
    result = pytester.run(sys.executable, str(script), json.dumps(list(runs)))
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    line = next(line for line in result.outlines if line.startswith("=== convdocs test runs "))
    found = json.loads(line.removeprefix("=== convdocs test runs "))
    return [(code, counts) for code, counts in found], result
