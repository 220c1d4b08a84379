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
    LANGUAGES,
    TIMEOUT_MS,
    address_of,
    page_addresses,
    settle,
    watch,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EDITIONS = [None, *LANGUAGES]
PHONE = {"width": 390, "height": 844}


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


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_home_page_starts_the_path_and_links_every_section(context, site_url, edition):
    page = context.new_page()
    traffic = watch(page)
    home = _address("index.md", edition)
    page.goto(home)
    article = page.locator("article")
    start = article.locator("a.md-button--primary")
    assert start.count() == 1, "the home page has no single primary 'Start here' button"
    assert _plain(start.evaluate("a => a.href")) == urljoin(
        site_url, _address("cross-correlation.md", edition)
    ), "'Start here' does not lead to Cross-correlation"
    hrefs = {_plain(h) for h in article.locator("a[href]").evaluate_all("a => a.map(x => x.href)")}
    missing = [
        p for p in NAV if p != "index.md" and urljoin(site_url, _address(p, edition)) not in hrefs
    ]
    assert not missing, f"the home page ({home}) does not link to {missing}"
    # the path comes before how verification works
    text = article.inner_text()
    first = text.find(start.inner_text())
    assert 0 <= first < len(text) // 3, "'Start here' is not near the top of the home page"
    traffic.assert_clean(home)


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_navigation_is_the_learning_path_and_opens_on_the_home_page(context, site_url, edition):
    page = context.new_page()
    page.goto(_address("index.md", edition))
    links = page.locator("nav.md-nav--primary a.md-nav__link[href]")
    hrefs = [_plain(h) for h in links.evaluate_all("a => a.map(x => x.href)")]
    order = list(dict.fromkeys(h for h in hrefs if h.startswith(site_url)))
    expected = [urljoin(site_url, _address(p, edition)) for p in NAV]
    assert order == expected, (
        f"navigation order:\n{order}\nexpected the nav of mkdocs.yml:\n{expected}"
    )
    # the chapter's first section is open: its first page's link is shown, not folded away
    first = urljoin(site_url, _address("cross-correlation.md", edition))
    visible = links.evaluate_all(
        "a => a.filter(x => x.offsetParent !== null && x.getClientRects().length).map(x => x.href)"
    )
    assert first in {_plain(h) for h in visible}, "the first section is folded on the home page"


def test_every_page_is_in_the_navigation_before_the_reference():
    """Going further comes after the chapter and before the reference and the guide."""
    assert NAV.index("loop-to-fast.md") > NAV.index("lenet.md")
    assert NAV.index("notebook.ipynb") > NAV.index("lenet.md")
    assert NAV.index("api.md") > NAV.index("loop-to-fast.md")
    assert NAV.index("verification.md") > NAV.index("api.md")


# --- Chinese font, MathJax, search ------------------------------------------------------------


@pytest.mark.parametrize("address", ["zh/", "zh/cross-correlation/", "zh/notebook/"])
def test_chinese_pages_name_a_cjk_font(context, address):
    page = context.new_page()
    page.goto(address)
    fonts = page.evaluate(
        """() => ({
            text: getComputedStyle(document.querySelector("article p, article h1")).fontFamily,
            code: getComputedStyle(document.querySelector("article code") || document.body).fontFamily,
        })"""
    )
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
def test_mathjax_is_requested_only_where_there_is_math(context, address, math):
    page = context.new_page()
    traffic = watch(page)
    page.goto(address)
    page.wait_for_load_state("networkidle")
    requested = any(url.endswith("/tex-mml-chtml.js") for url in traffic.requests)
    assert requested == math, f"{address}: MathJax requested: {requested}"
    assert page.evaluate("() => typeof window.MathJax !== 'undefined'") == math
    traffic.assert_clean(address)


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


def what_a_phone_shows(page, address: str) -> dict:
    """``page`` (loaded at ``address`` by the ``tour`` of every page, then resized to 390 px):
    how wide it is, and what the phone checks of the wide blocks (loop to fast) and of the
    notebook's download button need from their pages."""
    page.wait_for_timeout(150)  # the resize marks wide formulas and code again
    settle(page)
    page.wait_for_timeout(150)  # the wide-formula and wide-code marks (after typesetting)
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
    return {address: tour(address)["phone"] for address in page_addresses()}


def test_no_page_scrolls_sideways_on_a_phone(on_a_phone):
    assert sorted(on_a_phone) == sorted(page_addresses()), "the phone pass missed pages"
    problems = [
        f"{address}: {seen['width'][0]} px wide in {seen['width'][1]} px"
        for address, seen in on_a_phone.items()
        if seen["width"][0] > seen["width"][1]
    ]
    assert not problems, "pages that scroll sideways at 390 px:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_output_label_sits_below_the_device_tabs(context, edition):
    page = context.new_page()
    page.goto(_address("index.md", edition))
    gaps = page.evaluate(
        """() => Array.from(document.querySelectorAll(".tabbed-set"), set => {
            const labels = set.querySelector(".tabbed-labels").getBoundingClientRect();
            const output = set.querySelector(".tabbed-block .convdocs-output");
            const label = getComputedStyle(output, "::before");
            return [output.getBoundingClientRect().top - labels.bottom, label.content];
        })"""
    )
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
@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, PHONE], ids=["desktop", "phone"]
)
def test_wide_blocks_fit_or_scroll_visibly_and_the_copy_button_covers_no_text(
    browser, site_url, edition, viewport, request
):
    """From loop to fast, the page of wide blocks: on a desktop the benchmark table fits whole
    and almost every block fits; a block that does not shows its scroll bar; no copy button
    lies over any text. On a phone, the page as the module's phone pass saw it."""
    address = _address("loop-to-fast.md", edition)
    if viewport == PHONE:
        seen = request.getfixturevalue("on_a_phone")[address]
        found, fits = seen["blocks"], seen["table_fits"]
    else:
        context = browser.new_context(base_url=site_url, viewport=viewport)
        try:
            page = context.new_page()
            page.goto(address)
            settle(page)
            page.wait_for_timeout(300)
            found = page.evaluate(_BLOCKS)
            fits = page.evaluate(_TABLE_FITS)
        finally:
            context.close()
    assert fits is not None, f"{address} has no benchmark table"
    assert not found["covered"], f"text under the copy button: {found['covered']}"
    assert not found["hidden"], (
        f"blocks that scroll without a visible scroll bar: {found['hidden']}"
    )
    if viewport["width"] >= 1280:
        assert fits, "the benchmark table does not fit on a desktop"
        assert len(found["wide"]) <= 3, f"blocks that scroll on a desktop: {found['wide']}"


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_notebook_page_has_a_labelled_download_button_and_no_prompts_on_a_phone(
    browser, site_url, edition, on_a_phone
):
    words = {None: "Download the notebook", "zh": "下载笔记本"}
    address = _address("notebook.ipynb", edition)
    shown = {"phone": on_a_phone[address]["notebook"]}  # the module's pass at 390 px
    context = browser.new_context(base_url=site_url, viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(address)
        shown["desktop"] = _notebook_button(page)
    finally:
        context.close()
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
