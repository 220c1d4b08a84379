"""The checker's side of the process boundary: a warm zygote, and one process per document.

``Zygote`` starts ``python -m convdocs.verify.child`` once per pytest process, lazily, with the
third-party modules the documents import; ``Zygote.fork`` gives a ``DocumentProcess``, a fresh
child with its own namespace, seed, working folder and environment. Requests go out and plain
data comes back (``child.send``/``child.receive``); a child that runs past its timeout is killed,
and one that ends (``os._exit``, a signal, a crash) is reported, never waited for.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from convdocs.verify.child import receive, send
from convdocs.verify.config import DEVICE_ENV

STARTUP_TIMEOUT = 300.0
"""Seconds the zygote may take to import the documents' modules, and a child to start its
device, before its first answer (a cell's own timeout starts after that)."""


class ProcessEnded(Exception):
    """The document's process is gone (it ended itself, or ran past its timeout and was killed)."""


class Zygote:
    """A warm process that forks one child per document. Start-up pays for the imports once."""

    def __init__(self, preload: Iterable[str] = ()) -> None:
        self.preload = sorted(set(preload))
        self._control: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def _start(self) -> socket.socket:
        if self._control is not None and self._process is not None and self._process.poll() is None:
            return self._control
        self.close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fd = theirs.fileno()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "convdocs.verify.child", str(fd), json.dumps(self.preload)],
            pass_fds=[fd],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "MPLBACKEND": "Agg"},
        )
        theirs.close()
        self._control = ours
        return ours

    def fork(
        self,
        *,
        root: Path,
        device: str,
        seed: int,
        environment: dict[str, str],
        timeout: float,
        workdir: str | None = None,
        path: tuple[str, ...] = (),
    ) -> DocumentProcess:
        """A new child for one document, working in ``workdir`` (a notebook's folder), else in
        a new, empty temporary folder, removed with the child; ``path``: folders its imports
        look in first, before this process's ``sys.path``."""
        control = self._start()
        temporary = workdir is None
        workdir = tempfile.mkdtemp(prefix="convdocs-document-") if workdir is None else workdir
        ours, theirs = socket.socketpair()
        start = {
            "root": str(root),
            "device": device,
            "seed": seed,
            "workdir": workdir,
            "environment": environment,
            "path": [*path, *(os.path.abspath(entry) for entry in sys.path)],
        }
        try:
            socket.send_fds(control, [json.dumps(start).encode("utf-8")], [theirs.fileno()])
            control.settimeout(STARTUP_TIMEOUT)
            reply = control.recv(1 << 16)
        except OSError:
            reply = b""
        finally:
            theirs.close()
        if not reply:
            ours.close()
            self.close()
            raise ProcessEnded("could not start: the checker's zygote process did not answer")
        return DocumentProcess(
            ours, int(json.loads(reply)["pid"]), workdir if temporary else None, timeout
        )

    def close(self) -> None:
        """End the zygote (closing its control socket ends it; its children end with their
        documents)."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


_warm: list[Zygote] = []
"""The zygotes this process has started: a later session (a nested pytest run, or the next
``Session.evaluate``) reuses one whose imports cover its own. Each document still gets a fresh
child, so sharing the zygote shares nothing a document could change."""


@atexit.register
def _close_warm() -> None:
    for zygote in _warm:
        zygote.close()


def zygote_for(preload: Iterable[str]) -> Zygote:
    """A warm zygote that has imported at least ``preload`` (started if none has)."""
    wanted = set(preload)
    for zygote in _warm:
        process = zygote._process  # not started yet, or still running
        if wanted <= set(zygote.preload) and (process is None or process.poll() is None):
            return zygote
    zygote = Zygote(wanted | {name for z in _warm for name in z.preload})
    _warm.append(zygote)
    return zygote


_GONE = "ended its process (os._exit, a signal or a crash), which an example may not do"


class DocumentProcess:
    """One document's child: ``request`` sends a request and returns the child's answer."""

    def __init__(self, sock: socket.socket, pid: int, workdir: str | None, timeout: float) -> None:
        self.sock, self.pid, self.workdir, self.timeout = sock, pid, workdir, timeout
        self.stream = sock.makefile("rb")
        self._hello: dict[str, Any] | None = None
        self.ended: str | None = None
        """Why the process is gone, once it is."""

    @property
    def hello(self) -> dict[str, Any]:
        """What the child said of itself (device, versions) before any example ran."""
        if self._hello is None:
            self._hello = self._receive(STARTUP_TIMEOUT)
        return self._hello

    def _end(self, why: str) -> ProcessEnded:
        """Kill the process, which is gone for ``why``; the error to raise."""
        self.kill()
        self.ended = why
        return ProcessEnded(why)

    def _receive(self, timeout: float) -> dict[str, Any]:
        self.sock.settimeout(timeout)
        try:
            reply = receive(self.stream)
        except TimeoutError:
            raise self._end(
                f"ran longer than its timeout of {timeout:g} s and was stopped"
            ) from None
        except (OSError, ValueError) as error:
            raise self._end(f"{_GONE} ({error})") from None
        if reply is None:
            raise self._end(_GONE)
        return reply

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send ``message``; the reply within the document's timeout, or ``ProcessEnded``."""
        if self.ended is not None:
            raise ProcessEnded(self.ended)
        self.hello  # noqa: B018 (the greeting comes first on the socket)
        try:
            send(self.sock, message)
        except OSError:
            raise self._end(_GONE) from None
        return self._receive(self.timeout)

    def kill(self) -> None:
        self.stream.close()
        self.sock.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        self.kill()
        if self.workdir is not None:  # the temporary folder it worked in
            shutil.rmtree(self.workdir, ignore_errors=True)


Files = dict[str, tuple[int, int]]  # size and modification time, by path from the project's root


def project_files(root: Path) -> Files:
    """Size and modification time of every file of the project (not in dot-folders, caches or
    the environment), to see whether an example changed any, by whatever means."""
    found: Files = {}
    prefixes = {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix)}
    folders = [(str(root), "")]
    while folders:
        folder, relative = folders.pop()
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if not entry.is_dir(follow_symlinks=True):
                        info = entry.stat()
                        found[relative + entry.name] = (info.st_size, info.st_mtime_ns)
                    elif not (  # a link to a folder is not followed, as os.walk does
                        entry.is_symlink()
                        or entry.name.startswith(".")
                        or entry.name == "__pycache__"
                        or os.path.abspath(entry.path) in prefixes
                    ):
                        folders.append((entry.path, f"{relative}{entry.name}{os.sep}"))
    return found


def changed_files(before: Files, after: Files) -> list[str]:
    """The files created, changed or deleted between two ``project_files``."""
    return sorted({name for name, _ in before.items() ^ after.items()})


VISIBLE_SEED = 0
"""The seed every document starts with (documents that draw random numbers seed visibly anyway)."""
HIDDEN_SEED = 20261127
"""The seed of the shadow run, which no output may depend on."""


class DocumentRun:
    """A document's two processes: the one whose outputs are compared with the page, and its
    shadow, seeded with ``HIDDEN_SEED``, which must print the same."""

    def __init__(
        self,
        zygote: Zygote,
        *,
        root: Path,
        device: str,
        timeout: float,
        shadow: bool = True,
        workdir: str | None = None,
        path: tuple[str, ...] = (),
    ) -> None:
        environment = {DEVICE_ENV: device}
        options: dict[str, Any] = dict(
            root=root,
            device=device,
            environment=environment,
            timeout=timeout,
            workdir=workdir,
            path=path,
        )
        self.visible = zygote.fork(seed=VISIBLE_SEED, **options)
        self.shadow: DocumentProcess | None = (
            zygote.fork(seed=HIDDEN_SEED, **options) if shadow else None
        )
        self.shadow_broken = False
        self.prepared: set[str] = set()
        """The namespaces given what a doctest sees beside its own names (its module's names,
        pytest's ``doctest_namespace``: ``evaluate._doctest_globals``)."""
        self.reads: set[str] = set()
        """The project files the document's process has read or imported (``Guard.loaded``)."""

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """A request to the visible process alone."""
        reply = self.visible.request(message)
        self.reads.update(reply.get("reads", ()))
        return reply

    def request_both(self, message: dict[str, Any]) -> list[dict[str, Any] | ProcessEnded]:
        """Send ``message`` to the visible process, then to the shadow (one after the other:
        two processes that each use every core slow each other down many times over); each
        reply, or the ``ProcessEnded`` of its process. The shadow is left out once it has failed."""
        processes = [self.visible]
        if self.shadow is not None and not self.shadow_broken:
            processes.append(self.shadow)
        replies: list[dict[str, Any] | ProcessEnded] = []
        for process in processes:
            try:
                replies.append(process.request(message))
            except ProcessEnded as ended:
                replies.append(ended)
            if not isinstance(replies[0], dict) or replies[0].get("error"):
                break  # the shadow follows the visible run only while it succeeds
        if isinstance(replies[0], dict):
            self.reads.update(replies[0].get("reads", ()))
        return replies

    def close(self) -> None:
        self.visible.close()
        if self.shadow is not None:
            self.shadow.close()
