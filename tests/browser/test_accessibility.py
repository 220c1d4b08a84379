"""No serious accessibility finding on any page, in either colour scheme.

The scan is axe-core (axe-playwright-python, which bundles it) over every page of the built
site, light and dark (the dark scheme on the default language's pages: the other editions share
its theme, stylesheet and components, and only their words differ), with every collapsed block (``<details>``) opened and every content tab
shown in turn, so that nothing a reader can reveal escapes it. Nothing is silenced: a finding is
fixed in the theme (``docs/stylesheets/convdocs.css``, ``overrides/``) or in the MkDocs hook.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from tests.browser.conftest import (
    DESKTOP,
    LANGUAGES,
    TIMEOUT_MS,
    computed_once,
    page_addresses,
    settle,
)
from tests.browser.test_site_in_browser import site_pages

ROOT = Path(__file__).resolve().parents[2]
SCHEMES = {"light": "default", "dark": "slate"}  # colour scheme -> Material's palette name
SERIOUS = {"serious", "critical"}

_OPEN_DETAILS = "() => document.querySelectorAll('details').forEach(d => { d.open = true; })"
_CLOSE_DETAILS = "() => document.querySelectorAll('details').forEach(d => { d.open = false; })"
# Material's toggle marks the body while it switches (``data-md-color-switching``: no
# transitions) and unmarks it a moment later; each costs the page a recalculation of every
# element's style that is rendered.
_SWITCHED = "() => !document.body.hasAttribute('data-md-color-switching')"
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


# Code blocks hold thousands of syntax-highlighting spans (5,275 elements on the channels page),
# and axe's colour-contrast rule measures each one: most of a scan's time. What the rule measures
# of a code span is fixed by its own text style and by what lies behind it, which inside a code
# block is its ancestors (their background colours, opacity, filters, blending). So, before each
# scan, a code span is marked when an earlier span, shown and unclipped in this same state of
# the page, has the same of all these (and, like it, letters or digits in its text, or none: axe
# passes over text of punctuation alone). The rule then skips the marked spans
# (``_SKIP_MARKED``); the first of each kind is measured as before, so a finding on any span is
# a finding on the first of its kind. A span is measured on its own, never marked, where what
# lies behind it may differ from place to place: under a box laid over the page (the copy
# button), or inside an element with a background image or a pseudo-element laid over its
# content. Prose, tables and everything else are measured one by one.
# ``test_a_low_contrast_code_token_is_still_found`` shows that nothing is hidden this way.
SAME_STYLE = "data-convdocs-same-style"
_MARK_SAME_STYLE = """mark => {
    document.querySelectorAll(`[${mark}]`).forEach(e => e.removeAttribute(mark));
    const laidOver = s => ["absolute", "fixed", "sticky"].includes(s.position);
    const overPseudo = s => !["none", "normal"].includes(s.content) && laidOver(s);
    const styles = new Map();  // element -> what of it lies behind its text, or null: it varies
    const behind = e => {
        if (!styles.has(e)) {
            const s = getComputedStyle(e);
            // a background image, or a pseudo-element laid over the content, can differ from
            // place to place
            const fixed = s.backgroundImage === "none" &&
                !overPseudo(getComputedStyle(e, "::before")) &&
                !overPseudo(getComputedStyle(e, "::after"));
            styles.set(e, fixed ? [s.opacity, s.backgroundColor, s.filter, s.mixBlendMode,
                                   s.overflow].join(" ") : null);
        }
        return styles.get(e);
    };
    // What is laid over other things (positioned boxes: the copy button, the header) may cover
    // some spans of a kind and not others: a span under one is measured on its own. The boxes
    // are filed by the bands of 100 px of the page's height that they cross, so that a span is
    // compared with those across its own bands only (hundreds of MathJax's are laid over
    // formulas far from any code).
    const band = y => Math.floor(y / 100);
    const overlays = new Map();  // band -> [element, box] of each box laid over it
    Array.from(document.querySelectorAll("body *"))
        .filter(e => laidOver(getComputedStyle(e)))
        .map(e => [e, e.getBoundingClientRect()])
        .filter(([, r]) => r.width && r.height)
        .forEach(([e, r]) => {
            for (let b = band(r.top); b <= band(r.bottom); b++) {
                if (!overlays.has(b)) overlays.set(b, []);
                overlays.get(b).push([e, r]);
            }
        });
    const covered = (e, r) => {
        for (let b = band(r.top); b <= band(r.bottom); b++) {
            if ((overlays.get(b) || []).some(([o, c]) => r.left < c.right && c.left < r.right &&
                    r.top < c.bottom && c.top < r.bottom && !o.contains(e))) {
                return true;
            }
        }
        return false;
    };
    const clips = new Map();  // element -> the box it clips its content to, or null: none
    const clip = a => {
        if (!clips.has(a)) {
            const s = getComputedStyle(a);
            const x = s.overflowX !== "visible", y = s.overflowY !== "visible";
            clips.set(a, x || y ? Object.assign(a.getBoundingClientRect().toJSON(), {x, y}) : null);
        }
        return clips.get(a);
    };
    const shown = (e, r) => {
        if (!r.width || !r.height || !e.checkVisibility({opacityProperty: true,
                                                         visibilityProperty: true})) {
            return false;
        }
        // Within every box around it that clips or scrolls (a code block scrolls sideways),
        // the page itself aside: axe scrolls the page to each element it measures.
        for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
            const c = clip(a);
            if (c && ((c.x && (r.left < c.left || r.right > c.right)) ||
                      (c.y && (r.top < c.top || r.bottom > c.bottom)))) {
                return false;
            }
        }
        return true;
    };
    const seen = new Set();
    let measured = 0, skipped = 0, alone = 0;
    for (const e of document.querySelectorAll("pre *, code, code *")) {
        const text = Array.from(e.childNodes, n => n.nodeType === Node.TEXT_NODE ? n.data : "")
            .join("");
        if (!text.trim()) continue;
        const r = e.getBoundingClientRect();
        const s = getComputedStyle(e);
        const parts = [s.color, s.fontSize, s.fontWeight, s.textShadow, s.webkitTextStrokeWidth,
                       s.webkitTextStrokeColor, /[\\p{L}\\p{N}]/u.test(text)];
        for (let a = e; a; a = a.parentElement) parts.push(behind(a));
        if (parts.includes(null) || !shown(e, r) || covered(e, r)) { alone += 1; continue; }
        const key = parts.join("|");
        if (seen.has(key)) { e.setAttribute(mark, ""); skipped += 1; }
        else { seen.add(key); measured += 1; }
    }
    return {measured, skipped, alone};
}"""
# MathJax writes each formula twice: as glyphs, whose letters are CSS content (no text for the
# rule to measure), and as MathML for screen readers (``mjx-assistive-mml``), clipped to nothing
# on the screen, so that the rule measures none of either, after deciding so element by element
# (thousands on a page of formulas). The rule skips all that is inside a formula
# (``mjx-container``) at once: ``test_axe_measures_no_text_of_mathjax_assistive_mathml`` and
# ``test_axe_measures_no_text_inside_a_mathjax_formula`` show that this skips nothing the rule would
# measure.
_SKIP_MARKED = """mark => axe.configure({
    rules: [{id: "color-contrast", selector: `*:not([${mark}]):not(mjx-container *)`}],
})"""


# Material eases colour changes (the scheme toggle fades colours for a moment): every scan waits
# until the page's finite animations and transitions have ended, so axe and the marks read final
# colours.
_ANIMATIONS_ENDED = """() => Promise.all(document.getAnimations()
    .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
    .map(a => a.finished.catch(() => null)))"""


# One scan of the page as it is now, in one call: once its animations have ended, the code
# spans marked and axe-core run (``_START_AXE``); axe's violations.
_SCAN_NOW = f"""async ([mark, context, colourOnly]) => {{
    await ({_ANIMATIONS_ENDED})();
    ({_MARK_SAME_STYLE})(mark);
    ({_START_AXE})([context, colourOnly]);
    return (await window.__convdocsAxe).violations;
}}"""


def _serious(page, where: str, context: str | None, colour_only: bool) -> list[str]:
    """The serious and critical findings of a scan of ``page`` as it is now (``_SCAN_NOW``),
    one line per rule."""
    violations = page.evaluate(_SCAN_NOW, [SAME_STYLE, context, colour_only])
    return [
        f"{where}: {v['id']} ({v['impact']}) on {len(v['nodes'])} element(s), e.g. "
        f"{v['nodes'][0]['target']}: {v['nodes'][0].get('failureSummary', '').splitlines()[-1]}"
        for v in violations
        if v["impact"] in SERIOUS
    ]


def _scan(page, where: str, colour_only: bool = False) -> list[str]:
    """Scan ``page`` with every ``<details>`` open, then again with each further content tab
    shown (the tab groups only); return the serious and critical findings. ``colour_only``:
    only the colour rules (color-contrast, link-in-text-block; not the AAA one, which axe
    leaves off by default)."""
    page.evaluate(_OPEN_DETAILS)
    findings = _serious(page, where, None, colour_only)
    tab = 1
    while page.evaluate(_SHOW_TAB, tab):  # the other tabs, one at a time
        where_now = f"{where} (tab {tab + 1} of its tab groups)"
        findings += _serious(page, where_now, ".tabbed-set", colour_only)
        tab += 1
    page.evaluate(_SHOW_TAB, 0)
    return findings


PAGES = page_addresses()


def _translated(path: str) -> bool:
    """Whether ``path`` is a page of another edition than the default (``zh/...``)."""
    return any(path.strip("/").split("/", 1)[0] == language for language in LANGUAGES)


def test_every_built_page_is_scanned(built_site):
    assert sorted(PAGES) == sorted(site_pages(built_site))


@pytest.fixture(scope="module")
def axe_source() -> str:
    return _axe_source()


@functools.cache
def _axe_source() -> str:
    from axe_playwright_python.sync_playwright import Axe

    return Axe().axe_script  # axe-core, bundled with the package: nothing is downloaded


def _palette(page) -> str:
    return page.evaluate("document.body.getAttribute('data-md-color-scheme')")


def scan_both_schemes(page, path: str) -> dict:
    """The serious findings on ``page`` (loaded at ``path`` in a browser that prefers the light
    scheme, by the ``tour`` of every page): every rule in the light scheme, then, on the default
    language's pages, the colour rules after the reader switches to the dark scheme with the
    header's toggle. Also the palettes seen, so that the test can tell that both were scanned."""
    page.evaluate(_SHOW_TAB, 0)  # the first tab of each group, as the page opens
    page.evaluate(_axe_source())
    page.evaluate(_SKIP_MARKED, SAME_STYLE)
    palettes = [_palette(page)]
    findings = _scan(page, f"light {path}")
    if not _translated(path):  # another edition's theme is the default's, scanned dark there
        # The reader switches with the collapsed blocks closed, as the page opens (the dark scan
        # opens them again): the style of what they hide is worked out once, in the dark scheme,
        # instead of twice by the switch (the channels page: 1 s of the renderer's CPU, not 2).
        page.evaluate(_CLOSE_DETAILS)
        page.locator('label[for="__palette_1"]').click()  # the header's toggle
        page.wait_for_function(_SWITCHED)
        palettes.append(_palette(page))
        findings += _scan(page, f"dark {path}", colour_only=True)
    return {"palettes": palettes, "findings": findings}


@pytest.mark.parametrize("path", PAGES)
def test_no_serious_accessibility_finding(tour, path):
    """The page as it opens in a browser that prefers the light scheme (every rule), then, on the
    default language's pages, after the reader switches to the dark one with the header's toggle
    (the colour rules)."""
    seen = tour(path)["accessibility"]
    expected = [SCHEMES["light"]] + ([] if _translated(path) else [SCHEMES["dark"]])
    assert seen["palettes"] == expected, f"{path}: scanned in {seen['palettes']}"
    assert not seen["findings"], "serious or critical axe-core findings:\n  " + "\n  ".join(
        seen["findings"]
    )


# Ways to give code spans too little contrast, each where measuring only the first span of each
# kind would miss it if the kinds were drawn too wide: one kind of token everywhere, one span
# among many of its kind, and one whole code block set on another background.
_LAST_SHOWN = (
    "sel => Array.from(document.querySelectorAll(sel)).filter(e => e.checkVisibility()).at(-1)"
)
# Each change keeps a way to undo it (``window.__convdocsUndo``), so that one load of the page
# serves them all, one after another.
_LOW_CONTRAST = {
    "a kind of token": """() => { const s = document.createElement("style");
        s.textContent = ".md-typeset .highlight .n { color: #e8e8e8 !important; }";
        document.head.append(s);
        window.__convdocsUndo = () => s.remove(); }""",
    "the last span of a kind": f"""() => {{ const last = ({_LAST_SHOWN})("pre .n");
        const before = last.style.color;
        last.style.color = "#e8e8e8";
        window.__convdocsUndo = () => {{ last.style.color = before; }}; }}""",
    "the last code block's background": f"""() => {{ const last = ({_LAST_SHOWN})("pre > code");
        const before = last.style.background;
        last.style.background = "#8a8a8a";
        window.__convdocsUndo = () => {{ last.style.background = before; }}; }}""",
}
# The colours of every code block and everything in it (computed): the same as when the page was
# first scanned (``keep``: remember them as they are now).
_CODE_COLOURS_AS_BUILT = """keep => {
    const now = Array.from(document.querySelectorAll("pre, pre *"), e => {
        const s = getComputedStyle(e);
        return [s.color, s.backgroundColor, s.backgroundImage, s.opacity].join(" ");
    }).join("|");
    if (keep) window.__convdocsColours = now;
    return now === window.__convdocsColours;
}"""


@pytest.fixture(scope="module")
def low_contrast_scans(browser, site_url, axe_source, tmp_path_factory) -> dict:
    """One load of the cross-correlation page (once per run, shared by the xdist workers): the
    same-style marks' counts, its scan as built, and its scan after each change of
    ``_LOW_CONTRAST`` in turn, each undone before the next, with whether the code's colours
    were those of the page as built when the change was made."""
    return computed_once(
        tmp_path_factory,
        site_url,
        "low-contrast",
        lambda: _low_contrast_scans(browser, site_url, axe_source),
    )


def _low_contrast_scans(browser, site_url: str, axe_source: str) -> dict:
    context = browser.new_context(base_url=site_url, viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("cross-correlation/")
        settle(page)
        page.evaluate(axe_source)
        page.evaluate(_SKIP_MARKED, SAME_STYLE)
        seen: dict = {"counts": page.evaluate(_MARK_SAME_STYLE, SAME_STYLE)}
        seen["as built"] = _scan(page, "as built")
        page.evaluate(_CODE_COLOURS_AS_BUILT, True)
        seen["changes"] = {}
        for change, script in _LOW_CONTRAST.items():
            as_built = page.evaluate(_CODE_COLOURS_AS_BUILT, False)
            page.evaluate(script)
            seen["changes"][change] = {"as built before": as_built, "findings": _scan(page, change)}
            page.evaluate("() => window.__convdocsUndo()")
    finally:
        context.close()
    return seen


@pytest.mark.parametrize("change", _LOW_CONTRAST)
def test_a_low_contrast_code_token_is_still_found(low_contrast_scans, change):
    """Measuring the first code span of each kind hides no finding on the others."""
    counts = low_contrast_scans["counts"]
    assert counts["skipped"] > 10 * counts["measured"] > 0, counts  # the shortcut is in use
    assert low_contrast_scans["as built"] == []
    seen = low_contrast_scans["changes"][change]
    assert seen["as built before"], "an earlier change was not undone"
    assert any("color-contrast (serious)" in line for line in seen["findings"]), seen


_ASSISTIVE = "mjx-assistive-mml"  # the MathML of a formula, for screen readers
_FORMULA = "mjx-container"  # a whole formula: its glyphs and its assistive MathML
_CONTRAST_ON = """async where => {
    // axe's own colour-contrast rule, as axe ships it: every element, none skipped
    axe.reset();
    const found = await axe.run({include: [[where]]}, {
        runOnly: {type: "rule", values: ["color-contrast"]},
    });
    return ["passes", "incomplete", "violations"].map(k => found[k].flatMap(r => r.nodes).length);
}"""


def _measured_in_formulas(page, where: str) -> list[list[int]]:
    """What axe's colour-contrast rule, unchanged, measures in ``where`` (a selector of MathJax's
    elements) and inside it, on the cross-correlation page: the count of each result type, as
    built and then with every formula's text and glyphs made unreadable."""
    page.goto("cross-correlation/")
    settle(page)
    page.evaluate(_axe_source())
    texts = page.evaluate(
        """sel => Array.from(document.querySelectorAll(`${sel} *`))
            .filter(e => Array.from(e.childNodes).some(n => n.nodeType === 3 && n.data.trim()))
            .length""",
        _ASSISTIVE,
    )
    assert texts > 100, f"only {texts} elements with text in MathJax's assistive MathML"
    assert page.evaluate("sel => document.querySelectorAll(`${sel} *`).length", where) > 100
    assert page.evaluate(_CONTRAST_ON, "article")[0] > 50  # the rule measures the prose
    as_built = page.evaluate(_CONTRAST_ON, where)
    page.evaluate(
        """sel => { const s = document.createElement("style");
            s.textContent = `${sel}, ${sel} * { color: #f4f4f4 !important; }`;
            document.head.append(s); }""",
        _FORMULA,
    )
    return [as_built, page.evaluate(_CONTRAST_ON, where)]


def test_axe_measures_no_text_of_mathjax_assistive_mathml(context):
    """axe's colour-contrast rule, unchanged, measures no element inside MathJax's assistive
    MathML (every result type empty), even where its text is made unreadable: the scans skip
    nothing by leaving it out."""
    page = context.new_page()
    assert _measured_in_formulas(page, _ASSISTIVE) == [[0, 0, 0], [0, 0, 0]]


def test_axe_measures_no_text_inside_a_mathjax_formula(context):
    """Nor any element of the glyphs MathJax draws (whose letters are CSS content, not text), nor
    any other inside a formula (every result type empty), even where the glyphs are made
    unreadable: the scans skip nothing by leaving out every formula's insides."""
    page = context.new_page()
    assert _measured_in_formulas(page, _FORMULA) == [[0, 0, 0], [0, 0, 0]]
