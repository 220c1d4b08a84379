"""The site as a student of the chapter reads it, in both editions: a home page that starts the
path and links every section, navigation in the book's order (the language menu of every page is
checked in test_site_in_browser.py, from the pages it loads anyway), a Chinese font on Chinese pages, MathJax only where there is
math, search results without TeX, nothing that scrolls the page sideways on a phone, output
labels clear of the device tabs, and code blocks that fit or visibly scroll, never under the
copy button."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import pytest
import yaml

from tests.browser.conftest import (
    DESKTOP,
    LANGUAGES,
    PHONE,
    TIMEOUT_MS,
    Traffic,
    address_of,
    page_addresses,
    settle,
    watch,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EDITIONS = [None, *LANGUAGES]


def _nav_pages(nav: list) -> list[str]:
    pages: list[str] = []
    for entry in nav:
        for value in entry.values():
            pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


NAV = _nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])


def _address(page: str, edition: str | None) -> str:
    return address_of(DOCS / page, edition)


def _plain(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query="", fragment=""))


# --- the home page and the navigation ---------------------------------------------------------


_HOME = """() => {
    const article = document.querySelector("article");
    return {
        starts: Array.from(article.querySelectorAll("a.md-button--primary"),
                           a => [a.href, a.innerText]),
        hrefs: Array.from(article.querySelectorAll("a[href]"), a => a.href),
        text: article.innerText,
    };
}"""
_NAVIGATION = """() => {
    const links = Array.from(document.querySelectorAll("nav.md-nav--primary a.md-nav__link[href]"));
    return {
        hrefs: links.map(a => a.href),
        visible: links.filter(x => x.offsetParent !== null && x.getClientRects().length)
            .map(x => x.href),
    };
}"""


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_home_page_starts_the_path_and_links_every_section(tour, site_url, edition):
    home = _address("index.md", edition)
    seen = tour(home)
    shown = seen["readers"]["home"]  # the page as it opened, in the tour of every page
    assert len(shown["starts"]) == 1, "the home page has no single primary 'Start here' button"
    start_href, start_text = shown["starts"][0]
    assert _plain(start_href) == urljoin(site_url, _address("cross-correlation.md", edition)), (
        "'Start here' does not lead to Cross-correlation"
    )
    hrefs = {_plain(h) for h in shown["hrefs"]}
    missing = [
        p for p in NAV if p != "index.md" and urljoin(site_url, _address(p, edition)) not in hrefs
    ]
    assert not missing, f"the home page ({home}) does not link to {missing}"
    # the path comes before how verification works
    text = shown["text"]
    first = text.find(start_text)
    assert 0 <= first < len(text) // 3, "'Start here' is not near the top of the home page"
    Traffic(list(seen["requests"]), list(seen["problems"])).assert_clean(home)


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_navigation_is_the_learning_path_and_opens_on_the_home_page(tour, site_url, edition):
    links = tour(_address("index.md", edition))["readers"]["navigation"]
    hrefs = [_plain(h) for h in links["hrefs"]]
    order = list(dict.fromkeys(h for h in hrefs if h.startswith(site_url)))
    expected = [urljoin(site_url, _address(p, edition)) for p in NAV]
    assert order == expected, (
        f"navigation order:\n{order}\nexpected the nav of mkdocs.yml:\n{expected}"
    )
    # the chapter's first section is open: its first page's link is shown, not folded away
    first = urljoin(site_url, _address("cross-correlation.md", edition))
    assert first in {_plain(h) for h in links["visible"]}, (
        "the first section is folded on the home page"
    )


def test_every_page_is_in_the_navigation_before_the_reference():
    """Going further comes after the chapter and before the reference and the guide."""
    assert NAV.index("loop-to-fast.md") > NAV.index("lenet.md")
    assert NAV.index("notebook.ipynb") > NAV.index("lenet.md")
    assert NAV.index("api.md") > NAV.index("loop-to-fast.md")
    assert NAV.index("verification.md") > NAV.index("api.md")


# --- Chinese font, MathJax, search ------------------------------------------------------------


_CJK_PAGES = ["zh/", "zh/cross-correlation/", "zh/notebook/"]
_FONTS = """() => ({
    text: getComputedStyle(document.querySelector("article p, article h1")).fontFamily,
    code: getComputedStyle(document.querySelector("article code") || document.body).fontFamily,
})"""


@pytest.mark.parametrize("address", _CJK_PAGES)
def test_chinese_pages_name_a_cjk_font(tour, address):
    fonts = tour(address)["readers"]["fonts"]
    for kind, family in fonts.items():
        assert "Noto Sans CJK SC" in family, (
            f"{address}: the {kind} font names no CJK font: {family}"
        )
        assert family.index("Noto Sans CJK SC") > 0, (
            f"{address}: Latin text in a CJK font: {family}"
        )


def test_mathjax_loads_only_on_pages_with_math(built_site):
    """Every page of the built site: the bundled MathJax and its settings are on it exactly when
    it has a formula (an element pymdownx.arithmatex made)."""
    pages = sorted(built_site.rglob("*.html"))
    with_math, problems = 0, []
    for path in pages:
        html = path.read_text(encoding="utf-8")
        body = html.split("<article", 1)[-1]
        math = 'class="arithmatex"' in body
        with_math += math
        for script in ("assets/mathjax/tex-mml-chtml.js", "javascripts/mathjax-config.js"):
            if (script in html) != math:
                where = path.relative_to(built_site)
                problems.append(f"{where}: {'no ' if math else ''}{script}, math: {math}")
    assert 10 < with_math < len(pages), f"{with_math} of {len(pages)} pages have math"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("address", "math"),
    [("./", False), ("zh/get-started/", False), ("cross-correlation/", True)],
)
def test_mathjax_is_requested_only_where_there_is_math(tour, address, math):
    seen = tour(address)  # every request of the page, from its load to the end of its tour
    requested = any(url.endswith("/tex-mml-chtml.js") for url in seen["requests"])
    assert requested == math, f"{address}: MathJax requested: {requested}"
    assert seen["readers"]["mathjax"] == math
    Traffic(list(seen["requests"]), list(seen["problems"])).assert_clean(address)


# A formula's delimiters around something other than code (no quotes), or a TeX command.
_TEX = re.compile(
    r'\\\([^"\n]*?\\\)|\\\[[^"]*?\\\]'
    r"|\\(times|frac|tfrac|sum|cdot|mathrm|lfloor|rfloor|le|ge|partial|Delta|quad|qquad|begin|ldots)\b"
)


def test_the_search_indexes_hold_no_tex(built_site):
    for index in [built_site / "search", *(built_site / lang / "search" for lang in LANGUAGES)]:
        docs = json.loads((index / "search_index.json").read_text(encoding="utf-8"))["docs"]
        tex = [
            f"{d['location']}: {m.group()!r} in …{d['text'][max(0, m.start() - 30) : m.end() + 30]}…"
            for d in docs
            for m in [_TEX.search(d["title"] + " " + d["text"])]
            if m
        ]
        assert not tex, f"{index}: TeX in the search texts:\n  " + "\n  ".join(tex[:10])


@pytest.mark.parametrize(("address", "query"), [("./", "stride"), ("zh/", "步幅")])
def test_search_snippets_show_no_tex(context, address, query):
    page = context.new_page()
    traffic = watch(page)
    page.goto(address)
    page.locator("input.md-search__input").click()
    page.wait_for_function(
        """() => {
            const meta = document.querySelector(".md-search-result__meta");
            const ready = JSON.parse(document.getElementById("__config").textContent)
                .translations["search.result.placeholder"];
            return meta !== null && meta.textContent.trim() === ready;
        }""",
        timeout=4 * TIMEOUT_MS,
    )
    page.keyboard.type(query)
    page.keyboard.press("End")
    results = page.locator("li.md-search-result__item")
    results.first.wait_for()
    page.wait_for_timeout(300)
    text = "\n".join(results.all_inner_texts())
    assert text.strip()
    assert not _TEX.search(text), f"TeX in the search results for {query}: {_TEX.search(text)}"
    traffic.assert_clean(f"{address} while searching {query}")


# --- layout on a phone and on a desktop ---------------------------------------------------------


_WIDTH = "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
_TABLE_FITS = """() => {
    const table = Array.from(document.querySelectorAll(".convdocs-output pre > code"))
        .find(c => c.textContent.includes("picks auto/F"));
    return table ? table.scrollWidth <= table.clientWidth : null;
}"""
_WIDE_BLOCKS_PAGES = {_address("loop-to-fast.md", edition) for edition in EDITIONS}
_NOTEBOOK_PAGES = {_address("notebook.ipynb", edition) for edition in EDITIONS}
_HOME_PAGES = {_address("index.md", edition) for edition in EDITIONS}


def _notebook_button(page) -> dict:
    button = page.locator("a.convdocs-download[download]")
    count = button.count()
    return {
        "count": count,
        "text": button.inner_text().strip() if count == 1 else None,
        "visible": count == 1 and button.is_visible(),
        "prompts": page.locator(".jp-InputPrompt").evaluate_all(
            "prompts => prompts.filter(p => p.getClientRects().length > 0).length"
        ),
    }


def what_readers_see_as_it_opens(page, address: str) -> dict:
    """What this module's desktop checks need from ``page``, loaded and settled at ``address``
    at 1280 px (by the ``tour`` of every page), as it opens: nothing clicked or opened yet."""
    seen: dict = {"mathjax": page.evaluate("() => typeof window.MathJax !== 'undefined'")}
    if address in _HOME_PAGES:
        seen["home"] = page.evaluate(_HOME)
        seen["navigation"] = page.evaluate(_NAVIGATION)
        seen["label_gaps"] = page.evaluate(_LABEL_GAPS)
    if address in _CJK_PAGES:
        seen["fonts"] = page.evaluate(_FONTS)
    if address in _WIDE_BLOCKS_PAGES:
        page.wait_for_timeout(300)  # the wide-code marks (after the fonts)
        seen["blocks"] = page.evaluate(_BLOCKS)
        seen["table_fits"] = page.evaluate(_TABLE_FITS)
    if address in _NOTEBOOK_PAGES:
        seen["notebook"] = _notebook_button(page)
    return seen


# The page marks wide code (50 ms) and wide formulas (100 ms) on a timer after each resize
# event; a timer set later with the longest of these delays fires after both. It starts at the
# last resize event, so it waits for the marks of the size the page ends at.
_WATCH_RESIZE = """limit => {
    window.__convdocsResized = new Promise((done, fail) => {
        let timer = null;
        window.addEventListener("resize", () => {
            clearTimeout(timer);
            timer = setTimeout(() => requestAnimationFrame(() => done(innerWidth)), 100);
        });
        setTimeout(() => fail(new Error(`no resize event in ${limit} ms`)), limit);
    });
}"""


def what_a_phone_shows(page, address: str) -> dict:
    """``page`` (loaded at ``address`` by the ``tour`` of every page), resized to 390 px: how
    wide it is, and what the phone checks of the wide blocks (loop to fast) and of the
    notebook's download button need from their pages."""
    page.evaluate(_WATCH_RESIZE, 4 * TIMEOUT_MS)  # a loaded machine is slow, never this slow
    page.set_viewport_size(PHONE)
    width = page.evaluate("() => window.__convdocsResized")  # the marks of 390 px are set
    assert width == PHONE["width"], f"{address}: resized to {width} px"
    settle(page)
    seen: dict = {"width": page.evaluate(_WIDTH)}
    if address in _WIDE_BLOCKS_PAGES:
        seen["blocks"] = page.evaluate(_BLOCKS)
        seen["table_fits"] = page.evaluate(_TABLE_FITS)
    if address in _NOTEBOOK_PAGES:
        seen["notebook"] = _notebook_button(page)
    return seen


@pytest.fixture(scope="module")
def on_a_phone(tour) -> dict[str, dict]:
    """What every page shows at 390 px (from its ``tour``, one load per page shared with the
    other browser checks and by the xdist workers)."""
    return {address: seen["phone"] for address, seen in tour.every(page_addresses()).items()}


def test_no_page_scrolls_sideways_on_a_phone(on_a_phone):
    assert sorted(on_a_phone) == sorted(page_addresses()), "the phone pass missed pages"
    problems = [
        f"{address}: {seen['width'][0]} px wide in {seen['width'][1]} px"
        for address, seen in on_a_phone.items()
        if seen["width"][0] > seen["width"][1]
    ]
    assert not problems, "pages that scroll sideways at 390 px:\n  " + "\n  ".join(problems)


_LABEL_GAPS = """() => Array.from(document.querySelectorAll(".tabbed-set"), set => {
    const labels = set.querySelector(".tabbed-labels").getBoundingClientRect();
    const output = set.querySelector(".tabbed-block .convdocs-output");
    const label = getComputedStyle(output, "::before");
    return [output.getBoundingClientRect().top - labels.bottom, label.content];
})"""


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_output_label_sits_below_the_device_tabs(tour, edition):
    gaps = tour(_address("index.md", edition))["readers"]["label_gaps"]
    assert gaps, "no CPU/GPU tabs on the home page"
    for gap, content in gaps:
        assert content not in ("none", ""), "the output in a tab has no label"
        assert gap >= 0, f"the output label overlaps the tab bar by {-gap:.1f} px"


_BLOCKS = """() => {
    const covered = [], wide = [], hidden = [];
    for (const code of document.querySelectorAll(".md-typeset .highlight > pre > code")) {
        const text = code.textContent.split("\\n")[0].slice(0, 50);
        if (code.scrollWidth > code.clientWidth + 1) {
            wide.push(text);
            const bar = getComputedStyle(code);
            if (bar.overflowX === "hidden" || bar.scrollbarWidth === "none"
                || !code.classList.contains("convdocs-code-scrolls")) hidden.push(text);
        }
        const button = code.parentElement.querySelector(".md-code__button");
        if (!button) continue;
        const box = button.getBoundingClientRect();
        const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
        const range = document.createRange();
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!node.textContent.trim()) continue;
            range.selectNodeContents(node);
            if (Array.from(range.getClientRects()).some(r => r.right > box.left
                    && r.left < box.right && r.bottom > box.top && r.top < box.bottom)) {
                covered.push(text);
                break;
            }
        }
    }
    return {covered, wide, hidden};
}"""


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_wide_blocks_fit_or_scroll_visibly_and_the_copy_button_covers_no_text(
    tour, edition, viewport
):
    """From loop to fast, the page of wide blocks: on a desktop the benchmark table fits whole
    and almost every block fits; a block that does not shows its scroll bar; no copy button
    lies over any text. Both as the page's tour saw it: as it opened at 1280 px, and at 390 px
    (the phone pass)."""
    address = _address("loop-to-fast.md", edition)
    seen = tour(address)["phone" if viewport == PHONE else "readers"]
    found, fits = seen["blocks"], seen["table_fits"]
    assert fits is not None, f"{address} has no benchmark table"
    assert not found["covered"], f"text under the copy button: {found['covered']}"
    assert not found["hidden"], (
        f"blocks that scroll without a visible scroll bar: {found['hidden']}"
    )
    if viewport["width"] >= 1280:
        assert fits, "the benchmark table does not fit on a desktop"
        assert len(found["wide"]) <= 3, f"blocks that scroll on a desktop: {found['wide']}"


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_notebook_page_has_a_labelled_download_button_and_no_prompts_on_a_phone(tour, edition):
    words = {None: "Download the notebook", "zh": "下载笔记本"}
    seen = tour(_address("notebook.ipynb", edition))  # as it opened at 1280 px, and at 390 px
    shown = {"desktop": seen["readers"]["notebook"], "phone": seen["phone"]["notebook"]}
    for name, button in shown.items():
        assert button["count"] == 1, f"the notebook page has no download button ({name})"
        assert button["text"] == words[edition], f"{name}: {button['text']!r}"
        assert button["visible"], f"the download button is hidden on a {name}"
    assert shown["desktop"]["prompts"] > 0, "no In [n] prompts on a desktop"
    assert shown["phone"]["prompts"] == 0, (
        f"{shown['phone']['prompts']} In [n] prompts take room on a phone"
    )


def test_the_notebook_pages_share_jupyterlabs_stylesheet(built_site):
    """Each notebook page links JupyterLab's stylesheet instead of carrying its 570 kB."""
    for edition in EDITIONS:
        html = built_site / _address("notebook.ipynb", edition) / "index.html"
        size = html.stat().st_size
        assert size < 200_000, f"{html.relative_to(built_site)} weighs {size} bytes"
        links = re.findall(
            r'<link rel="stylesheet" href="([^"]*jupyter-[0-9a-f]+\.css)">', html.read_text()
        )
        assert len(links) == 1, f"{html}: {links}"
        assert (html.parent / links[0]).resolve().is_file()
