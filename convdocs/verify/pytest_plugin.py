"""pytest options of the verification: ``--device``, ``--update-outputs``; pages kept together."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from convdocs.devices import ENV_VAR, default_device
from convdocs.verify import record, rewrite
from convdocs.verify.settings import current, site_tolerance


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("convdocs", "convdocs verified examples")
    group.addoption(
        "--device", default=None, metavar="DEVICE",
        help=f"run the examples on DEVICE, e.g. cpu or cuda (default: ${ENV_VAR}, else cpu)",
    )
    group.addoption(
        "--update-outputs", action="store_true", default=False,
        help="REWRITE FILES: replace each output block that differs beyond tolerance with "
             "what the code prints now (CPU only; refused when $CI is set)",
    )


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")  # figures are drawn off-screen
    device = config.getoption("device") or os.environ.get(ENV_VAR) or "cpu"
    os.environ[ENV_VAR] = device
    try:
        current.device = str(default_device())
    except ValueError as error:
        raise pytest.UsageError(f"--device {device}: {error}") from None
    current.update = bool(config.getoption("update_outputs"))
    if current.update and os.environ.get("CI"):
        raise pytest.UsageError("--update-outputs rewrites files, so it refuses to run when CI is set")
    if current.update and current.device != "cpu":
        raise pytest.UsageError(
            f"--update-outputs writes the CPU form of every output; run it with --device cpu, "
            f"not {current.device}"
        )
    try:
        current.rtol, current.atol = site_tolerance(Path(config.rootpath) / "pyproject.toml")
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    config.pluginmanager.register(RecordKeeper(config), "convdocs-record")
    # Examples of one page share a namespace: keep each file on one xdist worker.
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", "no") in ("no", "load"):
        config.option.dist = "loadfile"


def pytest_report_header(config: pytest.Config) -> str:
    import torch

    return (f"convdocs: device {current.device}, torch {torch.__version__}, "
            f"site tolerance rtol={current.rtol:g} atol={current.atol:g}"
            + (", UPDATING OUTPUTS" if current.update else ""))


class RecordKeeper:
    """Counts each document's outcomes in one session and writes the verification record.

    One instance per pytest config, so nested sessions (pytester) keep their own counts. On
    xdist, the controller sees every worker's reports and is the only one that writes.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.outcomes: dict[str, dict[str, int]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        path, _, name = report.nodeid.partition("::")
        if not name.startswith("sybil:"):
            return
        counts = self.outcomes.setdefault(path, {"passed": 0, "failed": 0, "skipped": 0})
        if report.failed:
            counts["failed"] += 1
        elif report.when == "call" and report.passed:
            counts["passed"] += 1
        elif report.skipped:
            counts["skipped"] += 1

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not hasattr(self.config, "workerinput") and not current.update and self.outcomes:
            _write_record(Path(self.config.rootpath), self.outcomes)


def _cpu_name() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it, else the machine type."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine() + " CPU"


def _write_record(root: Path, outcomes: dict[str, dict[str, int]]) -> None:
    """Record every document whose examples all ran here and none failed."""
    import torch

    device = current.device
    name = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else _cpu_name()
    book = record.load(root)
    for path, counts in sorted(outcomes.items()):
        page = root / path
        if counts["failed"] or not page.is_file():
            continue
        if counts["passed"] + counts["skipped"] != record.example_count(page) or not counts["passed"]:
            continue
        record.note_pass(book, path, record.fingerprint(page), device, torch.__version__,
                         counts["passed"], name)
    record.save(root, book)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if current.update:
        from convdocs.verify import notebook

        changed = rewrite.apply_all() + notebook.apply_pending()
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("-", f"convdocs --update-outputs: rewrote {len(changed)} file(s)")
            for path in changed:
                reporter.write_line(f"  {path}")
