"""Every page links its notebook: "Download the notebook" and "Open in Colab", in its language.

Every built page (both editions; the lecture notebook's and the API page included) holds the
two links, labelled in the page's language: the download link with a ``download`` attribute,
the Colab link to the same notebook's path in the repository. Each linked ``.ipynb`` is served
by the site, is valid nbformat, and is the committed notebook that Colab opens. That is read
from the served pages' HTML, every page; the browser then checks, on one page of each kind in
each edition, that the links are visible, drawn with inline icons (nothing requested from
another host), and that the download link downloads the notebook.
"""

from __future__ import annotations

import json
import re
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import nbformat
import pytest

from site_hooks.notebooks import COLAB, TEXT
from tests.browser.conftest import watch

ROOT = Path(__file__).resolve().parents[2]
# one page of each kind: the home page, a chapter page with figures in both editions, the
# lecture notebook, and the API page as the Chinese site shows it (in English, untranslated)
SAMPLE = ["./", "pooling/", "zh/pooling/", "notebook/", "zh/api/"]


class _Links(HTMLParser):
    """The notebook links of a page: each ``<a>`` inside ``[data-convdocs-notebook]``, with
    its attributes and words, and the page's language."""

    def __init__(self) -> None:
        super().__init__()
        self.lang = ""
        self.navs: list[dict[str, str]] = []
        self.links: list[dict[str, str]] = []
        self._depth = 0  # inside the links' <nav>
        self._link: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = found.get("lang", "")
        if "data-convdocs-notebook" in found:
            self.navs.append(found)
            self._depth = 1
        elif self._depth:
            self._depth += tag not in ("path", "img", "br")
            if tag == "a":
                self._link = {**found, "text": ""}
                self.links.append(self._link)

    def handle_endtag(self, tag: str) -> None:
        if self._depth and tag not in ("path", "img", "br"):
            self._depth -= 1
        if tag == "a":
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link["text"] += data


def _built_pages(site: Path) -> list[str]:
    """Every page of the built site (relative to it), but the 404 page."""
    return [
        "./" if index.parent == site else f"{index.parent.relative_to(site).as_posix()}/"
        for index in sorted(site.rglob("index.html"))
    ]


def _fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:  # the site on 127.0.0.1
        return int(response.status), response.read().decode("utf-8")


def test_every_page_links_its_notebook_and_colab(site_url, built_site):
    pages = _built_pages(built_site)
    assert {"./", "zh/", "notebook/", "zh/notebook/", "api/", "zh/api/"} <= set(pages), pages
    problems: list[str] = []
    served: dict[str, str] = {}
    for path in pages:
        _, text = _fetch(urljoin(site_url, path))
        parser = _Links()
        parser.feed(text)
        words = TEXT["zh" if parser.lang.startswith("zh") else "en"]
        if len(parser.navs) != 1 or len(parser.links) != 2:
            problems.append(f"{path}: {len(parser.navs)} notebook link groups, {parser.links}")
            continue
        if parser.navs[0].get("aria-label") != words["links"]:
            problems.append(f"{path}: the links are labelled {parser.navs[0].get('aria-label')!r}")
        download, colab = parser.links
        for name, link in (("download", download), ("colab", colab)):
            if link["text"].strip() != words[name]:
                problems.append(f"{path}: the {name} link reads {link['text'].strip()!r}")
        if "download" not in download:
            problems.append(f"{path}: the download link has no download attribute")
        target = urljoin(urljoin(site_url, path), download["href"])
        if not target.startswith(site_url) or not target.endswith(".ipynb"):
            problems.append(f"{path}: the download link leaves the site: {target}")
            continue
        in_repository = target[len(site_url) :]
        if colab["href"] != COLAB + in_repository:
            problems.append(f"{path}: Colab opens {colab['href']}, the page offers {in_repository}")
        served[path] = in_repository
    for in_repository in sorted(set(served.values())):
        _, text = _fetch(site_url + in_repository)
        nbformat.validate(nbformat.reads(text, as_version=4))
        committed = ROOT / in_repository
        if not committed.is_file() or json.loads(text) != json.loads(committed.read_text("utf-8")):
            problems.append(f"{in_repository}: the site serves what the repository does not hold")
    for path, in_repository in served.items():  # each edition links its own notebook
        language = re.match(r"^(zh)/", path)
        own = in_repository.startswith("notebooks/zh/")
        if path not in ("api/", "zh/api/") and bool(language) != own:
            problems.append(f"{path}: links {in_repository}, another edition's notebook")
    assert not problems, "\n".join(problems)


_SHOWN = """() => Array.from(document.querySelectorAll("[data-convdocs-notebook] a"), a => ({
    text: a.innerText.trim(),
    visible: a.checkVisibility() && a.getBoundingClientRect().width > 0,
    images: a.querySelectorAll("img").length,
    icons: a.querySelectorAll("svg[aria-hidden='true']").length,
}))"""


@pytest.mark.parametrize("path", SAMPLE)
def test_the_links_are_visible_buttons_and_download_the_notebook(context, path):
    page = context.new_page()
    traffic = watch(page)
    page.goto(path, wait_until="load")
    words = TEXT["zh" if path.startswith("zh/") else "en"]
    shown = page.evaluate(_SHOWN)
    assert [link["text"] for link in shown] == [words["download"], words["colab"]]
    for link in shown:
        assert link["visible"] and link["icons"] == 1 and link["images"] == 0, link
    traffic.assert_clean(path)
    with page.expect_download() as info:
        page.locator("[data-convdocs-notebook] a[download]").click()
    download = info.value
    assert download.suggested_filename.endswith(".ipynb")
    notebook = nbformat.read(download.path(), as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells[1].source.startswith("try:\n    import convdocs")
