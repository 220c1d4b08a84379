"""The site builds strictly and contains every page of the navigation."""

from __future__ import annotations

import yaml


def _nav_pages(nav):
    for entry in nav:
        for value in entry.values():
            if isinstance(value, list):
                yield from _nav_pages(value)
            else:
                yield value


def test_strict_build_has_every_page(built_site):
    from tests.conftest import ROOT

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    pages = list(_nav_pages(config["nav"]))
    assert len(pages) >= 6
    for page in pages:
        html = page[:-3] + "/index.html" if page != "index.md" else "index.html"
        assert (built_site / html).is_file(), f"{page} was not built"


def test_math_is_rendered_from_the_bundled_mathjax(built_site):
    html = (built_site / "cross-correlation" / "index.html").read_text()
    assert 'class="arithmatex"' in html
    assert "assets/mathjax/tex-mml-chtml.js" in html
    assert "cdn." not in html and "fonts.googleapis" not in html
    assert (built_site / "assets/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff").is_file()
