"""The pytest plugin (entry point ``convdocs`` in the ``pytest11`` group).

A project opts in with a ``[tool.convdocs.verify]`` table in its pyproject.toml (see
``convdocs.verify.config``); pytest then collects the examples of the documents listed under
``paths``, and nothing else. Without the table the plugin adds its two options and does
nothing more. Options: ``--device`` (cpu, cuda, cuda:1; default $CONVDOCS_DEVICE, else cpu)
and ``--update-outputs`` (rewrite outputs from the code; refused when $CI is set).

Each pytest config gets its own ``Session`` in ``config.stash``, so nested runs (pytester)
never share state with the run around them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from convdocs.verify.config import DEVICE_ENV, ConfigError, Settings, device_named, load_project

if TYPE_CHECKING:
    from convdocs.verify.session import Session

SESSION = pytest.StashKey["Session"]()
"""Where a config keeps its verification session."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("convdocs", "convdocs verified examples")
    group.addoption(
        "--device",
        default=None,
        metavar="DEVICE",
        help=f"run the examples (and convdocs' own tests) on DEVICE, e.g. cpu, cuda or cuda:1 "
        f"(default: ${DEVICE_ENV}, else cpu)",
    )
    group.addoption(
        "--update-outputs",
        action="store_true",
        default=False,
        help="REWRITE FILES: replace each output that differs beyond tolerance with what the code "
        "prints now (a CPU run writes shared outputs, a GPU run only its own device tabs; "
        "refused when $CI is set)",
    )


def requested_device(config: pytest.Config) -> str:
    """The device this run asks for: ``--device``, else $CONVDOCS_DEVICE, else ``cpu``, checked
    against this torch (a ``UsageError`` names what is wrong); ``cuda`` comes back with its
    index (``cuda:0``), as the documents' processes report it. The CPU needs no torch here: this
    process never imports it for documents that do not (their own processes do, if they use it)."""
    wanted = config.getoption("device") or os.environ.get(DEVICE_ENV) or "cpu"
    try:
        device = device_named(wanted, "--device")
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None
    if device != "cpu":
        import torch

        if not torch.cuda.is_available():
            raise pytest.UsageError(
                f"--device {wanted}: this torch ({torch.__version__}) has no CUDA device"
            )
    return device


def _share_the_cores(workers: int) -> None:
    """Give each of ``workers`` xdist workers its share of the cores for torch's threads,
    unless the user chose (``OMP_NUM_THREADS``). Two workers that each run as many threads as
    there are cores oversubscribe the machine, and OpenMP's spinning threads then slow a
    training loop many times over (a 5 s cell hit its 60 s timeout on 2 cores)."""
    if workers < 2 or os.environ.get("OMP_NUM_THREADS"):
        return
    share = max(1, (os.cpu_count() or 1) // workers)
    os.environ["OMP_NUM_THREADS"] = str(share)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(share)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("device"):  # for a project's own Sybil too (parsers() reads it)
        config.stash[_DEVICE_BEFORE] = os.environ.get(DEVICE_ENV)
        os.environ[DEVICE_ENV] = config.getoption("device")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        _share_the_cores(int(workerinput.get("workercount", 1)))
    try:
        project = load_project(Path(config.rootpath))
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None
    if project is None:
        return
    os.environ.setdefault("MPLBACKEND", "Agg")  # figures are drawn off-screen
    update = bool(config.getoption("update_outputs"))
    if update and os.environ.get("CI"):
        raise pytest.UsageError(
            "--update-outputs rewrites files, so it refuses to run when CI is set"
        )
    # Only the table's reader before the table is found: without one, the plugin imports
    # nothing heavy (no torch, IPython or numpy), whatever project pytest runs in.
    from convdocs.verify import record
    from convdocs.verify.session import Session

    try:
        record.load(project.record)  # a broken record is a clear error now, not at the end
    except record.RecordError as error:
        raise pytest.UsageError(str(error)) from None
    session = Session(
        Settings(project, requested_device(config), update, doctest_flags=_doctest_flags(config))
    )
    for sybil in session.sybils.values():
        sybil.grouped = workerinput is not None
        if config.pluginmanager.has_plugin("doctest"):  # sessions see it, as pytest's doctests
            sybil.fixtures = ("doctest_namespace",)
    config.stash[SESSION] = session
    config.pluginmanager.register(_Hooks(session, config), "convdocs-verify-session")
    # A document's examples share its processes: on xdist workers their names end in
    # "@document" (Session), which --dist loadgroup keeps on one worker; other tests spread freely.
    dist = getattr(config.option, "dist", "no")
    if getattr(config.option, "numprocesses", None) and dist in ("no", "load"):
        config.option.dist = "loadgroup"


def _doctest_flags(config: pytest.Config) -> int:
    """The doctest flags of the run's ``doctest_optionflags`` (pytest's own reading of them)."""
    try:
        from _pytest.doctest import get_optionflags

        return get_optionflags(config)
    except (ImportError, ValueError):  # (pytest's doctest plugin turned off: no such setting)
        return 0


_DEVICE_BEFORE = pytest.StashKey["str | None"]()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Put $CONVDOCS_DEVICE back as it was (a run inside a run, pytester's, must not change it)."""
    if _DEVICE_BEFORE in config.stash:
        before = config.stash[_DEVICE_BEFORE]
        if before is None:
            os.environ.pop(DEVICE_ENV, None)
        else:
            os.environ[DEVICE_ENV] = before


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    session = parent.config.stash.get(SESSION, None)
    if session is None:
        return None
    return session.collect_file(file_path, parent)


def pytest_collection_finish(session: pytest.Session) -> None:
    """A run that names no files must collect every document the project lists: a page that
    pytest never walked (``testpaths``, ``norecursedirs``) is an error, not a silent pass."""
    verification = session.config.stash.get(SESSION, None)
    if verification is None or session.config.args_source == pytest.Config.ArgsSource.ARGS:
        return
    root = verification.settings.project.root
    missing = [p for p in verification.listed_documents() if p not in verification.collected]
    if missing:
        names = ", ".join(os.path.relpath(p, root) for p in missing[:5])
        raise pytest.UsageError(
            f"{len(missing)} document(s) listed under [tool.convdocs.verify] paths were not collected "
            f"({names}{', ...' if len(missing) > 5 else ''}): pytest did not walk them; check testpaths "
            "and norecursedirs, or run pytest on them by name"
        )


def pytest_report_header(config: pytest.Config) -> str | None:
    session = config.stash.get(SESSION, None)
    if session is None:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        torch = version("torch")  # read without importing torch
    except PackageNotFoundError:
        torch = "not installed"
    settings = session.settings
    root = settings.project.root
    paths = ", ".join(os.path.relpath(p, root) for p in settings.project.paths)
    return (
        f"convdocs: device {settings.device}, torch {torch}, "
        f"tolerance rtol={settings.project.rtol:g} atol={settings.project.atol:g}, paths {paths}"
        + (", UPDATING OUTPUTS" if settings.update else "")
    )


class _Hooks:
    """The per-config hooks of a session: count outcomes, then write the record or the edits."""

    def __init__(self, session: Session, config: pytest.Config) -> None:
        self.session, self.config = session, config

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        """Attach what a sybil example printed and read to its report (so that, under xdist,
        the controller that writes the record gets it from the workers)."""
        report = yield
        example = getattr(item, "example", None)
        if call.when == "call" and example is not None:
            key = (os.path.abspath(example.path), example.line)
            observation = self.session.observed.pop(key, None)
            if observation is not None:
                report.user_properties.append(("convdocs", observation))
        return report

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        """An example's document sees pytest's ``doctest_namespace`` as pytest's doctests do:
        after the project's autouse fixtures (its conftest.py's) have filled it."""
        if "doctest_namespace" in getattr(item, "fixturenames", ()) and hasattr(item, "example"):
            found = item.session._fixturemanager.getfixtureinfo(node=item, func=None, cls=None)
            item.request_fixtures(("doctest_namespace", *found.initialnames))  # type: ignore[attr-defined]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.session.note_outcome(report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.session.close()
        settings = self.session.settings
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if settings.update:
            changed = self.session.queue.apply()  # the update mode's edits
            if reporter is not None:
                reporter.line("")
                reporter.write_sep(
                    "-", f"convdocs --update-outputs: rewrote {len(changed)} file(s)"
                )
                for path in changed:
                    reporter.write_line(f"  {os.path.relpath(path)}")
        elif not hasattr(self.config, "workerinput") and self.session.outcomes:
            self.session.write_record()  # on xdist only the controller, which sees every report
