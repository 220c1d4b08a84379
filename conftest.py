"""Collect every verified example: the pages in docs/, README.md and the package's docstrings."""

from pathlib import Path

from convdocs.verify.collect import examples

pytest_plugins = ["convdocs.verify.pytest_plugin"]
pytest_collect_file = examples(str(Path(__file__).parent)).pytest()
