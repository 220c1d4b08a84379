"""No serious accessibility finding on any page, in either colour scheme.

The scan is axe-core (axe-playwright-python, which bundles it) over every page of the built
site, light and dark, with every collapsed block (``<details>``) opened and every content tab
shown in turn, so that nothing a reader can reveal escapes it. Nothing is silenced: a finding is
fixed in the theme (``docs/stylesheets/convdocs.css``, ``overrides/``) or in the MkDocs hook.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import TIMEOUT_MS, page_addresses, settle
from tests.browser.test_site_in_browser import site_pages

ROOT = Path(__file__).resolve().parents[2]
SCHEMES = {"light": "default", "dark": "slate"}  # colour scheme -> Material's palette name
SERIOUS = {"serious", "critical"}

_OPEN_DETAILS = "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"
# Show the n-th tab of every tab group that has one; returns how many groups have one.
_SHOW_TAB = """n => {
    let shown = 0;
    document.querySelectorAll(".tabbed-set").forEach(set => {
        const inputs = set.querySelectorAll(":scope > input");
        if (inputs.length > n) { inputs[n].click(); shown += 1; }
    });
    return shown;
}"""


_START_AXE = """([context, colourOnly]) => {
    // The dark scheme changes colours only (Material swaps CSS variables; the DOM stays): its
    // scan runs the rules of axe's "cat.color" category that run by default.
    const options = {resultTypes: ["violations"]};
    if (colourOnly) {
        options.runOnly = {type: "rule", values: axe.getRules(["cat.color"])
            .map(rule => rule.ruleId).filter(id => id !== "color-contrast-enhanced")};
    }
    window.__convdocsAxe = axe.run(context || document, options);
}"""


def _serious(page, where: str) -> list[str]:
    """The serious and critical findings of the axe-core run started on ``page`` (by
    ``_START_AXE``, so that the tabs' scans run side by side), one line per rule."""
    response = page.evaluate("() => window.__convdocsAxe")
    return [
        f"{where}: {v['id']} ({v['impact']}) on {len(v['nodes'])} element(s), e.g. "
        f"{v['nodes'][0]['target']}: {v['nodes'][0].get('failureSummary', '').splitlines()[-1]}"
        for v in response["violations"]
        if v["impact"] in SERIOUS
    ]


def _scan(page, where: str, colour_only: bool = False) -> list[str]:
    """Scan ``page`` with every ``<details>`` open, then again with each further content tab
    shown (the tab groups only); return the serious and critical findings. ``colour_only``:
    only the colour rules (color-contrast, link-in-text-block; not the AAA one, which axe
    leaves off by default)."""
    page.evaluate(_OPEN_DETAILS)
    page.evaluate(_START_AXE, [None, colour_only])
    findings = _serious(page, where)
    tab = 1
    while page.evaluate(_SHOW_TAB, tab):  # the other tabs, one at a time
        page.evaluate(_START_AXE, [".tabbed-set", colour_only])
        findings += _serious(page, f"{where} (tab {tab + 1} of its tab groups)")
        tab += 1
    page.evaluate(_SHOW_TAB, 0)
    return findings


PAGES = page_addresses()


def test_every_built_page_is_scanned(built_site):
    assert sorted(PAGES) == sorted(site_pages(built_site))


@pytest.fixture(scope="module")
def axe_source() -> str:
    from axe_playwright_python.sync_playwright import Axe

    return Axe().axe_script  # axe-core, bundled with the package: nothing is downloaded


@pytest.mark.parametrize("path", PAGES)
def test_no_serious_accessibility_finding(browser, site_url, axe_source, path):
    """The page as it opens in a browser that prefers the light scheme (every rule), then after
    the reader switches to the dark one with the header's toggle (the colour rules)."""
    context = browser.new_context(
        base_url=site_url, viewport={"width": 1280, "height": 900}, color_scheme="light"
    )
    context.set_default_timeout(TIMEOUT_MS)
    findings = []

    def palette() -> str:
        return page.evaluate("document.body.getAttribute('data-md-color-scheme')")

    try:
        page = context.new_page()
        page.goto(path)
        settle(page)
        page.evaluate(axe_source)
        assert palette() == SCHEMES["light"], f"{path} opens in {palette()}"
        findings += _scan(page, f"light {path}")
        page.locator('label[for="__palette_1"]').click()  # the header's toggle, any language
        assert palette() == SCHEMES["dark"], f"{path}: the toggle shows {palette()}"
        findings += _scan(page, f"dark {path}", colour_only=True)
    finally:
        context.close()
    assert not findings, "serious or critical axe-core findings:\n  " + "\n  ".join(findings)
