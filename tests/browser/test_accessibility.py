"""No serious accessibility finding on any page, in either colour scheme.

The scan is axe-core (axe-playwright-python, which bundles it) over every page of the built
site, light and dark, with every collapsed block (``<details>``) opened and every content tab
shown in turn, so that nothing a reader can reveal escapes it. Nothing is silenced: a finding is
fixed in the theme (``docs/stylesheets/convdocs.css``, ``overrides/``) or in the MkDocs hook.
"""

from __future__ import annotations

from tests.browser.conftest import TIMEOUT_MS, settle
from tests.browser.test_site_in_browser import site_pages

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


_START_AXE = """context => {
    window.__convdocsAxe = axe.run(context || document, {resultTypes: ["violations"]});
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


def _scan(page, where: str) -> list[str]:
    """Scan ``page`` with every ``<details>`` open, then again with each further content tab
    shown (the tab groups only); return the serious and critical findings."""
    page.evaluate(_OPEN_DETAILS)
    page.evaluate(_START_AXE, None)
    findings = _serious(page, where)
    tab = 1
    while page.evaluate(_SHOW_TAB, tab):  # the other tabs, one at a time
        page.evaluate(_START_AXE, ".tabbed-set")
        findings += _serious(page, f"{where} (tab {tab + 1} of its tab groups)")
        tab += 1
    page.evaluate(_SHOW_TAB, 0)
    return findings


def test_no_serious_accessibility_finding_on_any_page(browser, site_url, built_site):
    """Every page as it opens in a browser that prefers the light scheme, then after the reader
    switches to the dark one with the header's toggle (and back, for the next page)."""
    from axe_playwright_python.sync_playwright import Axe

    axe_source = Axe().axe_script  # axe-core, bundled with the package: nothing is downloaded
    context = browser.new_context(
        base_url=site_url, viewport={"width": 1280, "height": 900}, color_scheme="light"
    )
    context.set_default_timeout(TIMEOUT_MS)
    paths = site_pages(built_site)
    findings, scanned = [], set()

    def palette(page) -> str:
        return page.evaluate("document.body.getAttribute('data-md-color-scheme')")

    try:
        for path in paths:
            page = context.new_page()
            page.goto(path)
            settle(page)
            page.evaluate(axe_source)
            for scheme, switch in (("light", "Switch to dark mode"), ("dark", None)):
                assert palette(page) == SCHEMES[scheme], f"{path} shows {palette(page)}"
                findings += _scan(page, f"{scheme} {path}")
                scanned.add((scheme, path))
                if switch:
                    page.locator(f'label[title="{switch}"]').click()
            page.locator('label[title="Switch to light mode"]').click()  # as it was
            page.close()
    finally:
        context.close()
    assert len(scanned) == 2 * len(paths), "a page was not scanned in both schemes"
    assert not findings, "serious or critical axe-core findings:\n  " + "\n  ".join(findings)
