"""The site's own MkDocs hooks (i18n/hooks.py) on small inputs: search texts without TeX, and
a notebook's printout in one block per stream."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


def _load_hooks() -> Any:
    """i18n/hooks.py as MkDocs loads it: from its file (the folder is no package)."""
    path = Path(__file__).resolve().parents[1] / "i18n" / "hooks.py"
    spec = importlib.util.spec_from_file_location("convdocs_site_hooks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _load_hooks()
without_tex = hooks.without_tex
one_block_per_stream = hooks.one_block_per_stream
_STREAM = hooks._STREAM


def test_formulas_in_search_texts_become_plain_text():
    text = r"An \(n_h \times n_w\) input; \[\frac{a}{b} \le \sum_{i=0}^{k-1} x_i\] ok"
    plain = "An n_h × n_w input; a/b ≤ ∑_(i=0)^(k-1) x_i ok"  # noqa: RUF001
    assert without_tex(text) == plain
    code = r'print(re.search(r"loadu\(in_ptr0|\.store\(", line))'  # code keeps its backslashes
    assert without_tex(code) == code


def _block(text: str, mime: str = "text/plain") -> str:
    return _STREAM.format(mime=mime, text=text)


def test_adjacent_outputs_of_one_stream_are_one_block():
    html = _block("epoch 1\n") + _block("epoch 2\n") + _block("epoch 3\n")
    assert one_block_per_stream(html) == _block("epoch 1\nepoch 2\nepoch 3\n")


def test_outputs_of_different_streams_stay_apart():
    stderr = "application/vnd.jupyter.stderr"
    html = _block("out\n") + _block("warning\n", stderr) + _block("more\n")
    assert one_block_per_stream(html) == html
