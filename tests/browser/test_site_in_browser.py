"""The built site works in a real browser: clean loads, offline assets, math, images, search, copy.

Every page is discovered from the built site (its ``index.html`` files and ``404.html``), so a
new page is checked without editing this file. Set ``CONVDOCS_SHOTS=DIR`` to also save a
full-page screenshot of every page to ``DIR``.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import pytest
import yaml

from convdocs.verify.cells import iter_fences, read_cells
from convdocs.verify.translations import translation_of
from tests.browser.conftest import (
    LANGUAGES,
    TIMEOUT_MS,
    Traffic,
    address_of,
    is_local,
    page_addresses,
    watch,
)

ROOT = Path(__file__).resolve().parents[2]
CROSS_CORRELATION = "cross-correlation/"
CROSS_CORRELATION_MD = ROOT / "docs" / "cross-correlation.md"

_JUPYTER_WRAPPER = re.compile(r"""<div[^>]*\bclass=["'][^"']*\bjupyter-wrapper\b""")

_IMAGES = """async () => {
    const images = Array.from(document.images);
    images.forEach(img => { img.loading = "eager"; });
    await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
        img.addEventListener("load", done);
        img.addEventListener("error", done);
    })));
    return images.map(img => ({src: img.currentSrc || img.src, alt: img.getAttribute("alt"),
                               width: img.naturalWidth}));
}"""

_READ_CLIPBOARD = """async sentinel => {
    for (let i = 0; i < 100; i++) {
        const text = await navigator.clipboard.readText();
        if (text !== sentinel) return text;
        await new Promise(done => setTimeout(done, 20));
    }
    return sentinel;
}"""


def folder_path(site: Path, folder: Path) -> str:
    """The address of a folder of the built site, relative to the site: ``./`` or
    ``cross-correlation/``."""
    relative = folder.relative_to(site).as_posix()
    return "./" if relative == "." else f"{relative}/"


def site_pages(site: Path) -> list[str]:
    """The address of every HTML page of the built site, relative to the site: ``./``,
    ``cross-correlation/``, ..., ``404.html``."""
    pages = [folder_path(site, index.parent) for index in sorted(site.rglob("index.html"))]
    if (site / "404.html").is_file():
        pages.append("404.html")
    return pages


_LINKS = """() => ({
    hrefs: Array.from(document.querySelectorAll("a[href]"), a => a.href),
    ids: Array.from(document.querySelectorAll("[id], a[name]"), e => e.id || e.getAttribute("name")),
})"""


_HIDDEN_CODE = """() => {
    // Every code block a reader can reach: folded details opened, each block's tab chosen.
    document.querySelectorAll("details").forEach(d => { d.open = true; });
    const hidden = [];
    const blocks = document.querySelectorAll("article pre");
    for (const pre of blocks) {
        const block = pre.closest(".tabbed-block");
        if (block) {
            const set = block.closest(".tabbed-set");
            const index = Array.prototype.indexOf.call(block.parentElement.children, block);
            const input = set.querySelectorAll(":scope > input")[index];
            if (input) input.checked = true;
        }
        const box = pre.getBoundingClientRect();
        const shown = pre.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})
            && box.width > 0 && box.height > 0;
        if (!shown) hidden.push(pre.textContent.trim().slice(0, 60));
    }
    return {count: blocks.length, hidden: hidden};
}"""


_MATH = """() => {
    const spans = Array.from(document.querySelectorAll(".arithmatex"));
    return {
        total: spans.length,
        typeset: spans.filter(e => e.querySelector("mjx-container")).length,
        display: document.querySelectorAll('div.arithmatex > mjx-container').length,
        errors: document.querySelectorAll("mjx-merror").length,
    };
}"""

_NOTEBOOK_DOWNLOADS = """() => Array.from(document.querySelectorAll("a[href][download]"), a => a.href)
    .filter(h => new URL(h).pathname.endsWith(".ipynb"))"""


_LANGUAGE_MENU = """() => Array.from(
    document.querySelectorAll(".md-header__option .md-select__link"), a => [a.hreflang, a.href])"""


@dataclass(frozen=True)
class Visit:
    """One page as the browser saw it: its traffic, its images, the absolute URL of every link on
    it and every anchor (``id`` or ``<a name>``) a link can point into, its code blocks, and its
    language menu (``[hreflang, href]`` of each entry)."""

    path: str
    traffic: Traffic
    images: list[dict]
    hrefs: list[str]
    ids: set[str]
    code_blocks: int
    hidden_code: list[str]
    languages: list[list[str]]


def what_the_site_checks_see(page, path: str) -> dict:
    """What this module's checks need from ``page``, loaded and settled at ``path`` (by the
    ``tour`` of every page): its images, links and anchors, language menu and code blocks."""
    shots = os.environ.get("CONVDOCS_SHOTS")
    math = page.evaluate(_MATH) if path == CROSS_CORRELATION else None
    downloads = page.evaluate(_NOTEBOOK_DOWNLOADS)
    images = page.evaluate(_IMAGES)
    links = page.evaluate(_LINKS)
    languages = page.evaluate(_LANGUAGE_MENU)
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        name = path.strip("/").replace("/", "-").removesuffix(".html") or "index"
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)
    code = page.evaluate(_HIDDEN_CODE)
    return {
        "images": images,
        "hrefs": links["hrefs"],
        "ids": links["ids"],
        "code_blocks": code["count"],
        "hidden_code": code["hidden"],
        "languages": languages,
        "math": math,
        "notebook_downloads": downloads,
    }


@pytest.fixture(scope="module")
def visits(tour, built_site) -> list[Visit]:
    """Every page of the site as its ``tour`` saw it (one load per page, shared with the
    accessibility scan and the phone checks, and by the xdist workers)."""
    found = tour.every(site_pages(built_site)).values()
    return [
        Visit(
            v["path"],
            Traffic(list(v["requests"]), list(v["problems"])),
            v["images"],
            v["hrefs"],
            set(v["ids"]),
            v["code_blocks"],
            v["hidden_code"],
            v["languages"],
        )
        for v in found
    ]


def test_every_code_block_is_visible(visits):
    """What runs is what readers see: every code block of every page (the checked cells and
    their outputs among them) is visible once its details are opened and its tab chosen, so no
    CSS, attribute or theme class can hide code that runs."""
    hidden = {visit.path: visit.hidden_code for visit in visits if visit.hidden_code}
    assert not hidden
    assert sum(visit.code_blocks for visit in visits) > 500  # the check saw the pages' blocks


def test_every_sitemap_page_is_a_built_page(built_site):
    tree = ElementTree.parse(built_site / "sitemap.xml")
    tag = "{http://www.sitemaps.org/schemas/sitemap/0.9}loc"
    locs = [loc.text or "" for loc in tree.iter(tag)]
    assert locs, "sitemap.xml lists no page"
    published = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["site_url"]
    elsewhere = [loc for loc in locs if not loc.startswith(published)]
    assert not elsewhere, f"sitemap.xml lists pages outside site_url {published}: {elsewhere}"
    missing = {loc[len(published) :] or "./" for loc in locs} - set(site_pages(built_site))
    assert not missing, f"pages in sitemap.xml but not built as index.html: {sorted(missing)}"


def test_every_page_loads_without_errors(visits):
    assert sorted(v.path for v in visits) == sorted(page_addresses()), (
        "expected every page of each edition and the 404 page"
    )
    failures = {visit.path: visit.traffic.problems for visit in visits if visit.traffic.problems}
    assert not failures, "pages with console errors, page errors or failed requests:\n" + "\n".join(
        f"  {path}:\n    " + "\n    ".join(problems) for path, problems in failures.items()
    )


def test_no_request_leaves_127_0_0_1(visits):
    assert all(visit.traffic.requests for visit in visits), "a page made no request at all"
    foreign = {visit.path: visit.traffic.foreign for visit in visits if visit.traffic.foreign}
    assert not foreign, (
        f"requests to hosts other than 127.0.0.1 (the site must work offline): {foreign}"
    )


def test_every_image_loads_and_has_alt_text(visits):
    images = [(visit.path, image) for visit in visits for image in visit.images]
    assert images, "no <img> on any page: the image check found nothing to check"
    broken = [f"{path}: {image['src']}" for path, image in images if image["width"] == 0]
    no_alt = [
        f"{path}: {image['src']}" for path, image in images if not (image["alt"] or "").strip()
    ]
    assert not (broken or no_alt), (
        "images that did not load (naturalWidth 0):\n  "
        + "\n  ".join(broken or ["(none)"])
        + "\nimages without alt text:\n  "
        + "\n  ".join(no_alt or ["(none)"])
    )


def test_every_internal_link_and_anchor_resolves(visits, site_url, built_site):
    """Every link to the site itself leads to a page or file that exists, and its ``#fragment``
    to an element of that page (as the browser saw the page, after its scripts ran)."""
    pages = {urljoin(site_url, visit.path): visit for visit in visits}
    broken, checked = [], 0
    for visit in visits:
        for href in visit.hrefs:
            parts = urlsplit(href)
            if (
                parts.scheme not in {"http", "https"}
                or parts.hostname != urlsplit(site_url).hostname
            ):
                continue  # another site, or mailto:/javascript:
            checked += 1
            address = urlunsplit(parts._replace(query="", fragment=""))
            if not address.startswith(site_url):
                broken.append(f"{visit.path}: {href} (outside the site at {site_url})")
                continue
            target = pages.get(address) or pages.get(address + "/")
            if target is None:
                file = built_site / unquote(address[len(site_url) :])
                if not (file.is_file() or (file / "index.html").is_file()):
                    broken.append(f"{visit.path}: {href} (no such page or file)")
                continue
            fragment = unquote(parts.fragment)
            if fragment and fragment not in target.ids:
                broken.append(f"{visit.path}: {href} (no element with id {fragment!r})")
    assert checked > 100, f"only {checked} internal links found: the link check saw too little"
    assert not broken, "internal links that do not resolve:\n  " + "\n  ".join(broken)


def test_mathjax_typesets_the_cross_correlation_page(tour):
    seen = tour(CROSS_CORRELATION)  # the page as it opened, in the tour of every page
    math = seen["math"]
    assert math["total"] > 0, "no .arithmatex element on the cross-correlation page"
    assert math["typeset"] == math["total"], f"math left untypeset by MathJax: {math}"
    assert math["display"] == CROSS_CORRELATION_MD.read_text().count("\\["), (
        f"display equations typeset: {math}"
    )
    assert math["errors"] == 0, f"MathJax reported TeX errors: {math}"
    Traffic(list(seen["requests"]), list(seen["problems"])).assert_clean(CROSS_CORRELATION)


_SEARCH_READY = """() => {
    const meta = document.querySelector(".md-search-result__meta");
    const ready = JSON.parse(document.getElementById("__config").textContent)
        .translations["search.result.placeholder"];
    return meta !== null && meta.textContent.trim() === ready;
}"""


def _open_search(page) -> None:
    """Open the search and wait until its worker has indexed the site (the results say "Type to
    start searching" in the page's language): a query typed earlier may be answered by nothing."""
    page.locator("input.md-search__input").click()
    page.wait_for_function(_SEARCH_READY, timeout=4 * TIMEOUT_MS)


def test_search_finds_corr2d(context, site_url):
    page = context.new_page()
    traffic = watch(page)
    page.goto("./")
    _open_search(page)
    page.keyboard.type("corr2d")
    links = page.locator("li.md-search-result__item a.md-search-result__link")
    links.first.wait_for()
    hrefs = links.evaluate_all("links => links.map(a => a.href)")
    found = {urlunsplit(urlsplit(href)._replace(query="", fragment="")) for href in hrefs}
    assert urljoin(site_url, CROSS_CORRELATION) in found, (
        f"searching corr2d does not find {CROSS_CORRELATION}; results: {hrefs}"
    )
    assert any(url.endswith("/search/search_index.json") for url in traffic.requests)
    traffic.assert_clean("the home page while searching")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("互相关", "zh/cross-correlation/"),
        ("感受野", "zh/receptive-field/"),
        ("汇聚", "zh/pooling/"),
    ],
)
def test_search_in_chinese_finds_the_chinese_page(context, site_url, query, expected):
    """Material segments Chinese text with jieba when it builds the index; a reader of /zh/ who
    types a d2l-zh term finds the Chinese page about it."""
    page = context.new_page()
    traffic = watch(page)
    page.goto("zh/")
    _open_search(page)
    page.keyboard.type(query)  # Chinese characters arrive as text input, without key events:
    page.keyboard.press("End")  # a key that Material's search listens to runs the query
    links = page.locator("li.md-search-result__item a.md-search-result__link")
    links.first.wait_for()
    hrefs = links.evaluate_all("links => links.map(a => a.href)")
    found = [urlunsplit(urlsplit(href)._replace(query="", fragment="")) for href in hrefs]
    assert found[0] == urljoin(site_url, expected), f"searching {query}: {hrefs}"
    assert all("/zh/" in url for url in found), f"searching {query} on /zh/: {hrefs}"
    traffic.assert_clean(f"/zh/ while searching {query}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_language_switch_leads_to_the_same_page(context, site_url, language):
    """From a page in one edition, a click on the header's language menu leads to the same page
    in the other (the menu's links of every page, both ways, are checked by
    ``test_the_language_switch_leads_to_the_same_page_everywhere``): the menu opens on hover and
    its entry takes the reader there."""
    page = context.new_page()
    traffic = watch(page)
    page.goto(CROSS_CORRELATION)
    # the page's own requests done first (the search index's scripts among them): a click that
    # leaves it earlier aborts them, which the traffic check would count as failed requests
    page.wait_for_load_state("networkidle")
    page.locator(".md-header__option .md-select").hover()
    page.locator(f'.md-header__option .md-select__link[hreflang="{language}"]').click()
    there = urljoin(site_url, f"{language}/{CROSS_CORRELATION}")
    page.wait_for_url(lambda url: urlunsplit(urlsplit(url)._replace(fragment="")) == there)
    assert page.evaluate("document.documentElement.lang") == language
    traffic.assert_clean(f"{CROSS_CORRELATION} and its {language} twin, reached by a click")


def test_the_language_switch_leads_to_the_same_page_everywhere(visits, site_url):
    """From every page of every edition, notebooks included, the language menu leads to the same
    page in each edition (the menu as the browser saw it on each page of ``visits``)."""
    editions = [None, *LANGUAGES]

    def twin(address: str, edition: str | None) -> str:
        for language in LANGUAGES:
            address = address.removeprefix(f"{language}/")
        address = "" if address == "./" else address
        return urljoin(site_url, f"{edition}/{address}" if edition else address or "./")

    seen = [visit for visit in visits if visit.path != "404.html"]
    assert sorted(v.path for v in seen) == sorted(a for a in page_addresses() if a != "404.html")
    problems = []
    for visit in seen:
        for edition in editions:
            language = edition or "en"
            hrefs = [
                urlunsplit(urlsplit(h)._replace(query="", fragment=""))
                for lang, h in visit.languages
                if lang == language
            ]
            if hrefs != [twin(visit.path, edition)]:
                problems.append(
                    f"{visit.path}: {language} -> {hrefs}, not {twin(visit.path, edition)}"
                )
    assert not problems, "language menus that lead elsewhere:\n  " + "\n  ".join(problems)


def _section_ids(built_site: Path, address: str) -> list[str]:
    html = (built_site / address / "index.html").read_text(encoding="utf-8")
    article = html.split("<article", 1)[1].split("</article>", 1)[0]
    return re.findall(r'<h[2-6] id="([^"]+)"', article)


def test_every_translation_keeps_the_section_anchors(built_site):
    from convdocs.verify.translations import original_of

    for source in sorted((ROOT / "docs").glob("*.zh.md")):
        original = original_of(source)
        assert original is not None
        stem = original.stem
        english = "" if stem == "index" else f"{stem}/"
        assert _section_ids(built_site, f"zh/{english}") == _section_ids(
            built_site, english or "."
        ), (
            f"{source.name}: its headings' anchors differ from {original.name}'s (give each "
            "heading its English twin's id, as in `## 标题 {#english-id}`)"
        )


@pytest.mark.parametrize("language", [None, *LANGUAGES])
def test_copy_button_copies_the_code_not_its_output(context, site_url, language):
    source = CROSS_CORRELATION_MD
    address = CROSS_CORRELATION
    if language:
        source = translation_of(source, language)
        address = f"{language}/{CROSS_CORRELATION}"
    markdown = source.read_text(encoding="utf-8")
    fences = list(iter_fences(markdown))  # every fenced block, as the machinery reads them
    by_start = {cell.code.start: cell for cell in read_cells(markdown).cells}
    cells = [(n, fence) for n, fence in enumerate(fences) if fence.start in by_start]
    example = next(
        i for i, (_, fence) in enumerate(cells) if not by_start[fence.start].marker("source")
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url)
    page = context.new_page()
    traffic = watch(page)
    page.goto(address)
    # Each fence becomes one div.highlight, in order (the HTML does not name the language).
    blocks = page.locator("article div.highlight")
    assert blocks.count() == len(fences), (
        f"{source.name} has {len(fences)} fences, the page {blocks.count()} code blocks"
    )
    outputs_checked = 0
    for i, (n, fence) in enumerate(cells):
        sentinel = f"(nothing copied from python fence {i})"
        page.evaluate("text => navigator.clipboard.writeText(text)", sentinel)
        blocks.nth(n).locator('button.md-code__button[data-md-type="copy"]').click()
        copied = page.evaluate(_READ_CLIPBOARD, sentinel)
        assert copied != sentinel, f"the copy button of python fence {i} copied nothing"
        assert copied.rstrip("\n") == fence.body.rstrip("\n"), f"python fence {i} copied wrongly"
        output = by_start[fence.start].output
        if output is not None:
            outputs_checked += 1
            for line in filter(str.strip, output.body.splitlines()):
                assert line.strip() not in copied, f"python fence {i} copied its output {line!r}"
        if i == example:
            assert output is not None, (
                "the page's first example (not a source listing) has no output"
            )
    assert outputs_checked, "no python fence with an output block: the output check found nothing"
    traffic.assert_clean(address)


def test_notebook_download_link_serves_the_notebook(tour, built_site):
    # mkdocs-jupyter wraps every notebook page it renders in <div class="jupyter-wrapper">.
    notebook_pages = [
        folder_path(built_site, html.parent)
        for html in sorted(built_site.rglob("index.html"))
        if _JUPYTER_WRAPPER.search(html.read_text(encoding="utf-8", errors="replace"))
    ]
    notebooks = sorted(address_of(p) for p in (ROOT / "docs").rglob("*.ipynb"))
    loose = sorted(nb.relative_to(built_site).as_posix() for nb in built_site.rglob("*.ipynb"))
    assert sorted(p.strip("/") + "/" for p in notebook_pages) == notebooks, (
        f"every notebook in docs/ must be a page rendered by mkdocs-jupyter; rendered {notebook_pages}, "
        f"notebooks {notebooks}, .ipynb files in the site {loose}"
    )
    for path in notebook_pages:
        hrefs = tour(path)["notebook_downloads"]  # as the page opened, in its tour
        assert hrefs, (
            f"{path} is a notebook page without a download link to its .ipynb: set mkdocs-jupyter's "
            "include_source: true and add the download button in overrides/main.html"
        )
        for href in hrefs:
            assert is_local(href), f"{path}: the notebook link leaves 127.0.0.1: {href}"
            with urllib.request.urlopen(href, timeout=TIMEOUT_MS / 1000) as response:
                assert response.status == 200, f"{href}: HTTP {response.status}"
                notebook = json.loads(response.read())
            assert isinstance(notebook, dict) and isinstance(notebook.get("cells"), list), (
                f"{href} is not a notebook (JSON with a 'cells' list)"
            )
            assert notebook["cells"], f"{href} is a notebook without cells"


@pytest.mark.parametrize(
    ("missing", "language", "heading"),
    [("no-such-page/", "en", "404 - Not found"), ("zh/no-such-page/", "zh", "404 - 找不到页面")],
)
def test_the_404_page_speaks_the_language_of_the_address(context, missing, language, heading):
    """GitHub Pages answers every missing address with the one 404.html: under /zh/ it reads in
    Chinese."""
    page = context.new_page()
    response = page.goto(missing)
    assert response is not None and response.status == 404
    assert page.evaluate("document.documentElement.lang") == language
    assert page.locator("article h1:visible").inner_text() == heading
