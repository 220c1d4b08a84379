"""Browser fixtures: the built site served on 127.0.0.1, and one headless chromium per session.

The browser is Debian's ``chromium-headless-shell``, Chromium's headless build (which Playwright
also runs headless by default: Chromium's engine without the browser's UI, whose own pages cost
every browser context CPU); ``scripts/ensure-chromium.sh`` installs it, and
``playwright install`` is never needed. Each test opens its own context from the shared browser
and watches its pages with ``watch``: every request URL, and every console error, page error,
failed request and HTTP error response.
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import json
import multiprocessing
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import LANGUAGES, address_of, page_addresses  # noqa: F401 (for the browser tests)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/lib/chromium/chromium-headless-shell")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL_HOST = "127.0.0.1"
TIMEOUT_MS = 10_000
DESKTOP = {"width": 1280, "height": 900}  # the viewport of every test but the phone's
PHONE = {"width": 390, "height": 844}


class PagesHandler(http.server.SimpleHTTPRequestHandler):
    """Serve the built site as GitHub Pages does: under the path of its ``site_url`` (``prefix``,
    e.g. ``/convdocs/``), with the site's ``404.html`` for anything missing; log nothing."""

    prefix = "/"

    def translate_path(self, path: str) -> str:
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / "\0outside-the-site")  # never a file: a 404
        return super().translate_path("/" + path[len(self.prefix) :])

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    """A threading server that ignores clients hanging up (the browser checks statuses itself)."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def site_prefix() -> str:
    """The path the site is published under: that of ``site_url`` in mkdocs.yml (``/convdocs/``)."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    path = urlsplit(config["site_url"]).path or "/"
    return path if path.endswith("/") else path + "/"


def _serve(directory: str, prefix: str, ports: Any) -> None:
    """Serve ``directory`` under ``prefix`` at a free port of 127.0.0.1 (put on ``ports``)."""
    handler = type("SiteHandler", (PagesHandler,), {"prefix": prefix})
    server = QuietServer((LOCAL_HOST, 0), functools.partial(handler, directory=directory))
    ports.put(server.server_address[1])
    server.serve_forever()


@pytest.fixture(scope="session")
def site_url(built_site: Path):
    """The strictly built site, served on 127.0.0.1 at a free port under the path it is published
    at: ``http://127.0.0.1:PORT/convdocs/``. Pages are addressed relative to it (``"./"``,
    ``"cross-correlation/"``). The server runs in its own process, so that serving never waits
    for the tests' Python (nor they for it)."""
    spawn = multiprocessing.get_context("spawn")
    ports = spawn.Queue()
    server = spawn.Process(
        target=_serve, args=(str(built_site), site_prefix(), ports), name="convdocs-site"
    )
    server.start()
    try:
        port = ports.get(timeout=60)
        yield f"http://{LOCAL_HOST}:{port}{site_prefix()}"
    finally:
        server.terminate()
        server.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        where = "in CI (CI is set)" if os.environ.get("CI") else "on this machine"
        pytest.fail(
            f"{CHROMIUM} is missing {where}; the browser tests need Debian's chromium-headless-shell. "
            "Run `bash scripts/ensure-chromium.sh` (apt-get install chromium-headless-shell "
            "fonts-liberation). "
            "Do not run `playwright install`.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser, site_url):
    """A fresh browser context for one test, with relative URLs resolved against the site."""
    context = browser.new_context(base_url=site_url, viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


def is_local(url: str) -> bool:
    """Whether a request stays on this machine: 127.0.0.1, or an in-page data:/blob: URL."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname == LOCAL_HOST


@dataclass
class Traffic:
    """What one page did: every request URL, and everything that went wrong."""

    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def foreign(self) -> list[str]:
        """Requests to any host other than 127.0.0.1."""
        return [url for url in self.requests if not is_local(url)]

    def assert_clean(self, where: str) -> None:
        """Fail with every problem and every foreign request seen on ``where``."""
        __tracebackhide__ = True
        lines = self.problems + [f"request to another host: {url}" for url in self.foreign]
        if lines:
            pytest.fail(f"{where}:\n  " + "\n  ".join(lines), pytrace=False)


def watch(page) -> Traffic:
    """Record ``page``'s requests, console errors, page errors, failed requests and responses >= 400."""
    traffic = Traffic()
    page.on("request", lambda request: traffic.requests.append(request.url))
    page.on(
        "requestfailed",
        lambda request: traffic.problems.append(
            f"request failed ({request.failure}): {request.url}"
        ),
    )

    def on_response(response: Any) -> None:
        if response.status >= 400:
            traffic.problems.append(f"HTTP {response.status}: {response.url}")

    def on_console(message: Any) -> None:
        if message.type == "error":
            traffic.problems.append(
                f"console error: {message.text} (at {message.location.get('url')})"
            )

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda error: traffic.problems.append(f"page error: {error}"))
    return traffic


def settle(page) -> None:
    """Wait until MathJax has typeset the page and its web fonts are loaded."""
    page.evaluate(
        """async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
                await MathJax.startup.promise;
            }
            await document.fonts.ready;
        }"""
    )


# What ``computed_once`` has computed or read in this process, by name and site: a value is
# computed (or read from the worker that computed it) once per run, however many tests ask.
_COMPUTED: dict[tuple[str, str], Any] = {}


def computed_once(
    tmp_path_factory: pytest.TempPathFactory,
    site_url: str,
    name: str,
    compute: Callable[[], Any],
    *,
    wait: bool = True,
) -> Any:
    """``compute()`` once per run, shared by the tests of a process and by the xdist workers as
    JSON: the first worker to ask computes it under a lock while the others wait and read it, so
    that a module-scoped pass over every page is not paid once per worker (xdist may send a
    module's tests to both workers). Each worker serves the site at its own port: a reader gets
    the URLs in it at its own ``site_url``. ``wait=False``: return ``BUSY`` at once, instead of
    waiting, while another worker computes it."""
    key = (name, site_url)
    if key in _COMPUTED:
        return _COMPUTED[key]
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        _COMPUTED[key] = compute()
        return _COMPUTED[key]
    shared = tmp_path_factory.getbasetemp().parent  # the same folder for every worker
    done = shared / f"{name}.json"
    if not done.exists():  # written whole (renamed into place): no lock needed to read it
        with open(shared / f"{name}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return BUSY
            try:
                if not done.exists():
                    partial = done.with_suffix(".partial")
                    found = {"site_url": site_url, "value": compute()}
                    partial.write_text(json.dumps(found), encoding="utf-8")
                    partial.replace(done)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    found = json.loads(done.read_text(encoding="utf-8"))
    if found["site_url"] != site_url:
        old, new = (
            f"{urlsplit(url).scheme}://{urlsplit(url).netloc}/"
            for url in (found["site_url"], site_url)
        )
        found = json.loads(json.dumps(found).replace(old, new))
    _COMPUTED[key] = found["value"]
    return _COMPUTED[key]


BUSY = object()  # what ``computed_once(..., wait=False)`` returns while another worker computes


@dataclass
class Tour:
    """``tour(path)``: what the browser checks need from the page at ``path``, from its one
    tour (``_tour``); ``tour.every(paths)``: the same of each page, in the order of ``paths``."""

    browser: Any
    site_url: str
    tmp_path_factory: pytest.TempPathFactory

    def _visit(self, path: str, wait: bool = True) -> Any:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "home"
        return computed_once(
            self.tmp_path_factory,
            self.site_url,
            f"tour-{slug}",
            lambda: _tour(self.browser, self.site_url, path),
            wait=wait,
        )

    def __call__(self, path: str) -> dict:
        return self._visit(path)

    def every(self, paths: list[str]) -> dict[str, dict]:
        """Each page's tour. Under xdist another worker may be touring some of them: this one
        tours (or reads) every page that no worker is touring, and waits only when each page
        left is being toured elsewhere, so that two workers that want every page share the work
        instead of queueing page by page behind each other."""
        found: dict[str, dict] = {}
        left = list(paths)
        while left:
            busy = [path for path in left if not self._take(path, found)]
            if len(busy) == len(left):  # every page left is being toured elsewhere
                found[busy[0]] = self._visit(busy[0])
                busy = busy[1:]
            left = busy
        return {path: found[path] for path in paths}

    def _take(self, path: str, found: dict[str, dict]) -> bool:
        seen = self._visit(path, wait=False)
        if seen is BUSY:
            return False
        found[path] = seen
        return True


@pytest.fixture(scope="session")
def tour(browser, site_url, tmp_path_factory) -> Tour:
    """``tour(path)``: everything the per-page browser checks need from one page, from one load
    of it, computed once per run and shared by the xdist workers (a lock per page, so that the
    workers tour different pages side by side). Loading a page (MathJax typesetting, fonts,
    images) is much of what a check of it costs, so the page is loaded once, at 1280 px in the
    light scheme, and then, in this order:

    - what the checks of the page as it opens read (``test_readers``, ``test_reading``), before
      anything on it is opened or clicked;
    - what the site checks read (``test_site_in_browser``): its requests and problems, images,
      links and anchors, language menu, and whether every code block is visible;
    - the accessibility scan (``test_accessibility``): light, then dark after the header's
      toggle on the default language's pages;
    - the phone checks (``test_readers``): the same page resized to 390 px;
    - its requests and problems, once every request is done (``networkidle``: by then those
      of its load are long since done, so the wait costs nothing).

    ``tour.every(paths)`` gives each page's (the checks of every page use it).
    """
    return Tour(browser, site_url, tmp_path_factory)


def _tour(browser, site_url: str, path: str) -> dict:
    from tests.browser import test_accessibility as accessibility
    from tests.browser import test_readers as readers
    from tests.browser import test_reading as reading
    from tests.browser import test_site_in_browser as site

    context = browser.new_context(base_url=site_url, viewport=DESKTOP, color_scheme="light")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        traffic = watch(page)
        page.goto(path)
        settle(page)
        seen: dict[str, Any] = {
            "path": path,
            "readers": readers.what_readers_see_as_it_opens(page, path),
            "reading": reading.what_reading_sees_as_it_opens(page, path),
            **site.what_the_site_checks_see(page, path),
        }
        seen["accessibility"] = accessibility.scan_both_schemes(page, path)
        seen["phone"] = readers.what_a_phone_shows(page, path)
        # every request of the page done (those its load started long since): then its traffic
        page.wait_for_load_state("networkidle")
        seen["requests"], seen["problems"] = traffic.requests, traffic.problems
    finally:
        context.close()
    return seen
