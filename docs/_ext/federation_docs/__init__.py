"""Sphinx extension of these docs: the generated reference, and runnable code blocks.

Each reference directive reads the code (settings TypedDicts and defaults,
check calls, command parsers, error codes, ``__all__``) at build time, and
reports what it cannot document as a warning, so that a build with ``-W``
fails instead of drifting.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from federation_docs import api, checks, commands, errors, runnable, settings


def setup(app: Sphinx) -> dict[str, Any]:
    for module in (settings, checks, commands, errors, api, runnable):
        module.setup(app)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
