"""Sphinx configuration of the django-federated-fk documentation.

Build: ``sphinx-build -W --keep-going -b html docs docs/build/html`` (``build/``
is git-ignored). ``tests/test_docs.py`` builds it the same way, checks every
internal link and runs every ``runnable`` code block.
"""

import os
import sys
from pathlib import Path

import django

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS.parent), str(DOCS / "_ext")]
os.environ["DJANGO_SETTINGS_MODULE"] = "docs_settings"
django.setup()

project = "django-federated-fk"
author = "django-federated-fk contributors"
copyright = "django-federated-fk contributors"
release = "0.1.0"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "federation_docs",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["build", "_ext", "WRITING.md", "Thumbs.db", ".DS_Store"]
root_doc = "index"

myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    # Each model has its own; documenting them makes ``DoesNotExist`` ambiguous.
    "exclude-members": "DoesNotExist, MultipleObjectsReturned",
}
# Django's docstrings of overridden methods are not all reST; ours are documented.
autodoc_inherit_docstrings = False
# Type hints name Django's and strawberry's classes, which have no inventory
# here (the build is offline): they are shown as text, not links.
nitpicky = False
suppress_warnings = ["myst.header"]

# Messages, help texts and settings quote with ' and write --options: keep them as written.
smartquotes = False

html_theme = "furo"
html_title = "django-federated-fk"
html_static_path = []
