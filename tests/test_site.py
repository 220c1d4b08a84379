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
        stem = page.rsplit(".", 1)[0]
        html = "index.html" if stem == "index" else f"{stem}/index.html"
        assert (built_site / html).is_file(), f"{page} was not built"


def test_math_is_rendered_from_the_bundled_mathjax(built_site):
    html = (built_site / "cross-correlation" / "index.html").read_text()
    assert 'class="arithmatex"' in html
    assert "assets/mathjax/tex-mml-chtml.js" in html
    assert "cdn." not in html and "fonts.googleapis" not in html
    assert (built_site / "assets/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff").is_file()


def test_notebook_page_has_a_download_button_and_its_file(built_site):
    html = (built_site / "notebook" / "index.html").read_text()
    assert 'href="notebook.ipynb" download' in html
    assert (built_site / "notebook" / "notebook.ipynb").is_file()


def test_every_page_has_its_stamp(built_site):
    pages = [p for p in built_site.rglob("index.html") if p.parent.name not in ("search",)]
    stamped = [p for p in pages if "data-convdocs-stamp" in p.read_text()]
    assert len(stamped) >= 7
    assert "GPU: not yet verified for this version of the page" in stamped[0].read_text() or "verified on GPU" in stamped[0].read_text()


def test_api_page_names_the_public_functions(built_site):
    html = (built_site / "api" / "index.html").read_text()
    for name in ("corr2d", "Conv2D", "detect_edges", "learn_kernel", "default_device", "compare_outputs"):
        assert f'id="convdocs.{name}"' in html or f'id="convdocs.verify.{name}"' in html, name
