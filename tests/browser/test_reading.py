"""What a reader meets in the browser: outputs that look like outputs (marked, labelled,
tinted, copied alone), on the pages and in the notebook, and the stamp as a badge."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from convdocs.verify.cells import read_cells
from convdocs.verify.translations import translation_of
from tests.browser.conftest import LANGUAGES, Traffic, address_of

ROOT = Path(__file__).resolve().parents[2]
CROSS_CORRELATION = "cross-correlation/"
# What the site calls an output, in each edition (the stylesheet's label).
OUTPUT_LABEL = {None: "Output", "zh": "输出"}
EDITIONS = [None, *LANGUAGES]


def _source(name: str, language: str | None) -> Path:
    """docs/<name> in English, or its translation (``cross-correlation.zh.md``)."""
    path = ROOT / "docs" / name
    return translation_of(path, language) if language else path


_BLOCKS = """() => {
    const style = (el, pseudo) => el ? getComputedStyle(el, pseudo || null) : null;
    const visible = el => !!el && el.getClientRects().length > 0
        && getComputedStyle(el).visibility !== "hidden";
    const code = Array.from(document.querySelectorAll("article div.highlight:not(.convdocs-output) pre > code"));
    const outputs = Array.from(document.querySelectorAll("article .convdocs-output"));
    return {
        code: code.map(c => style(c).backgroundColor),
        outputs: outputs.map(o => ({
            text: o.querySelector("pre > code").textContent,
            background: style(o.querySelector("pre > code")).backgroundColor,
            label: style(o, "::before").content,
            labelShown: style(o, "::before").display !== "none",
            numbers: Array.from(o.querySelectorAll(".linenos, .linenodiv")).filter(visible).length,
            hasCopy: !!o.querySelector('button.md-code__button[data-md-type="copy"]'),
        })),
    };
}"""


@pytest.mark.parametrize("language", EDITIONS)
def test_outputs_on_the_cross_correlation_page_look_like_outputs(tour, language):
    source = _source("cross-correlation.md", language)
    markdown = source.read_text(encoding="utf-8")
    expected = [fence.body for fence in read_cells(markdown).output_fences()]
    seen = tour(address_of(source))  # the page as it opened, in the tour of every page
    blocks = seen["reading"]["blocks"]
    assert len(expected) >= 3 and blocks["code"], "the page should show code and outputs"
    shown = [output["text"] for output in blocks["outputs"]]
    assert [t.rstrip("\n") for t in shown] == [t.rstrip("\n") for t in expected], (
        "the blocks marked as output are not the page's output blocks"
    )
    code_backgrounds = set(blocks["code"])
    for n, output in enumerate(blocks["outputs"]):
        assert output["background"] not in code_backgrounds, (
            f"output {n} has the code blocks' background {output['background']}"
        )
        assert output["label"] == f'"{OUTPUT_LABEL[language]}"' and output["labelShown"], (
            f"output {n} is not labelled: {output}"
        )
        assert output["numbers"] == 0, f"output {n} shows line numbers"
    Traffic(list(seen["requests"]), list(seen["problems"])).assert_clean(address_of(source))


def test_an_output_copy_button_copies_the_output_alone(context, site_url):
    markdown = (ROOT / "docs" / "cross-correlation.md").read_text(encoding="utf-8")
    expected = [fence.body for fence in read_cells(markdown).output_fences()]
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site_url)
    page = context.new_page()
    page.goto(CROSS_CORRELATION)
    outputs = page.locator("article .convdocs-output")
    assert outputs.count() == len(expected)
    for n, text in enumerate(expected):
        button = outputs.nth(n).locator('button.md-code__button[data-md-type="copy"]')
        if button.count() == 0:
            continue  # an output without a copy button is allowed; one with must copy it alone
        sentinel = f"(nothing copied from output {n})"
        page.evaluate("text => navigator.clipboard.writeText(text)", sentinel)
        button.click()
        copied = page.evaluate(
            """async sentinel => {
                for (let i = 0; i < 100; i++) {
                    const text = await navigator.clipboard.readText();
                    if (text !== sentinel) return text;
                    await new Promise(done => setTimeout(done, 20));
                }
                return sentinel;
            }""",
            sentinel,
        )
        assert copied.rstrip("\n") == text.rstrip("\n"), f"output {n} copied {copied!r}"


def test_every_page_marks_every_output_block_as_output(built_site):
    """The HTML of every Markdown page has as many ``convdocs-output`` blocks as the page has
    output blocks (shared or per device), and nothing else is marked so."""
    counted = 0
    for source in sorted((ROOT / "docs").rglob("*.md")):
        expected = len(read_cells(source.read_text(encoding="utf-8")).output_fences())
        html = built_site / address_of(source) / "index.html"
        marked = html.read_text(encoding="utf-8").count('class="convdocs-output highlight"')
        assert marked == expected, f"{source.name}: {marked} marked as output, {expected} outputs"
        counted += expected
    assert counted > 50, f"only {counted} output blocks on the whole site"


_NOTEBOOK = """() => {
    const style = (el, pseudo) => getComputedStyle(el, pseudo || null);
    const inputs = Array.from(document.querySelectorAll(".jp-CodeCell .highlight-ipynb pre"));
    const outputs = Array.from(document.querySelectorAll(".jp-OutputArea-child"));
    return {
        inputs: inputs.map(i => style(i).backgroundColor),
        outputs: outputs.map(o => {
            const area = o.querySelector(".jp-OutputArea-output");
            const pre = area && area.querySelector("pre");
            return {
                classes: area ? area.className : "",
                background: pre ? style(pre).backgroundColor : null,
                label: style(o, "::before").content,
            };
        }),
    };
}"""


_BLOCKS_PAGES = {address_of(_source("cross-correlation.md", language)) for language in EDITIONS}
_NOTEBOOK_PAGES = {address_of(_source("notebook.ipynb", language)) for language in EDITIONS}


def what_reading_sees_as_it_opens(page, address: str) -> dict:
    """What this module's checks of outputs need from ``page``, loaded and settled at
    ``address`` (by the ``tour`` of every page), as it opens: nothing clicked or opened yet."""
    seen: dict = {}
    if address in _BLOCKS_PAGES:
        seen["blocks"] = page.evaluate(_BLOCKS)
    if address in _NOTEBOOK_PAGES:
        seen["notebook"] = page.evaluate(_NOTEBOOK)
    return seen


@pytest.mark.parametrize("language", EDITIONS)
def test_the_notebook_page_marks_and_labels_its_outputs(tour, language):
    source = _source("notebook.ipynb", language)
    notebook = nbformat.read(source, as_version=4)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    text_outputs = sum(1 for o in outputs if "image/png" not in o.get("data", {}))
    seen = tour(address_of(source))  # the page as it opened, in the tour of every page
    shown = seen["reading"]["notebook"]
    assert len(shown["outputs"]) == len(outputs), (
        f"the notebook has {len(outputs)} outputs, the page {len(shown['outputs'])}"
    )
    inputs = set(shown["inputs"])
    assert inputs, "no code cell found on the notebook page"
    tinted = [o for o in shown["outputs"] if o["background"] is not None]
    assert len(tinted) == text_outputs, json.dumps(shown["outputs"], indent=1)
    for n, output in enumerate(shown["outputs"]):
        assert "output" in output["classes"].lower(), f"notebook output {n}: {output}"
        label = f'"{OUTPUT_LABEL[language]}"'
        assert output["label"] == label, f"notebook output {n} is not labelled: {output}"
        if output["background"] is not None:
            assert output["background"] not in inputs, f"notebook output {n} looks like code"
    Traffic(list(seen["requests"]), list(seen["problems"])).assert_clean(address_of(source))


# The stamp's words in each edition: verified; not verified (the CPU), an earlier version or
# none yet (another device); the link to the checks.
STAMP_WORDS = {
    None: (
        ("verified on", "with torch "),
        ("not yet verified for this version", "for an earlier version", "not run on one yet"),
        "How examples are verified",
    ),
    "zh": (
        ("已在", "上用 torch", "验证"),
        ("本页的这一版本尚未验证", "较早版本", "尚未在其上运行"),
        "示例如何验证",
    ),
}


@pytest.mark.parametrize("language", EDITIONS)
def test_the_stamp_is_a_badge_with_both_devices_and_a_link_to_the_checks(context, language):
    verified_words, unverified_words, guide_words = STAMP_WORDS[language]
    page = context.new_page()
    page.goto(address_of(_source("cross-correlation.md", language)))
    stamp = page.locator("article .convdocs-stamp")
    assert stamp.count() == 1
    runs = stamp.locator(".convdocs-stamp__run")
    texts = runs.all_inner_texts()
    assert len(texts) == 2 and texts[0].startswith(("✓", "✗")), texts
    assert "CPU" in texts[0] and "GPU" in texts[1], texts
    assert "✗" not in texts[1], texts  # never red for a device the site is not built on
    for text in texts:
        verified = all(word in text for word in verified_words)
        assert verified or any(words in text for words in unverified_words), text
    guide = stamp.locator("a.convdocs-stamp__guide")
    assert guide.inner_text() == guide_words
    guide.click()
    page.wait_for_load_state()
    assert page.url.endswith("/verification/"), page.url
