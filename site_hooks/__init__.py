"""The site's MkDocs hooks (listed under ``hooks:`` in mkdocs.yml)."""
