"""A project's own Sybil, with convdocs's readers added for its Markdown pages."""

from sybil import Sybil
from sybil.parsers.rest import DocTestParser

from convdocs.verify import parsers

pytest_collect_file = (
    Sybil(parsers=[DocTestParser()], patterns=["*.rst"])
    + Sybil(parsers=parsers(rtol=1e-6), patterns=["docs/*.md"])
).pytest()
