"""Sphinx extension of these docs: the generated reference, and runnable code blocks.

Each reference directive reads the code (settings TypedDicts and defaults,
check calls, command parsers, error codes, ``__all__``) at build time, and
reports what it cannot document as a warning, so that a build with ``-W``
fails instead of drifting.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx

from federation_docs import api, checks, commands, errors, runnable, settings

#: The object types these directives define (``{setting}`` and so on).
OBJECT_TYPES = ("setting", "check", "command", "graphql-error")


def label_anchors(app: Sphinx, doctree: nodes.document) -> None:
    """Make each object's anchor a label too, so that Markdown links to it resolve.

    MyST checks ``[text](../reference/settings.md#setting-FEDERATION.CACHE)``
    against the target document's headings and labels only.
    """
    anonlabels = app.env.domaindata["std"]["anonlabels"]
    for desc in doctree.findall(addnodes.desc):
        if desc.get("domain") == "std" and desc.get("objtype") in OBJECT_TYPES:
            for signature in desc.findall(addnodes.desc_signature):
                for node_id in signature["ids"]:
                    anonlabels[node_id] = (app.env.docname, node_id)


def setup(app: Sphinx) -> dict[str, Any]:
    for module in (settings, checks, commands, errors, api, runnable):
        module.setup(app)
    app.connect("doctree-read", label_anchors)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
