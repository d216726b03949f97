"""Code blocks that the tests run: ``runnable``, ``runnable-output`` and ``runnable-page``.

A page's runnable blocks make one scenario, run top to bottom in a fresh
directory by ``tests/test_docs.py``; ``docs/WRITING.md`` tells authors how to
write them. This module renders the blocks (as ``code-block`` does, with the
file name as caption), records them in the environment, writes them to
``_runnable.json`` in the output directory, and warns about any Python or
shell block that is neither runnable nor marked ``:class: not-run``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.directives.code import CodeBlock
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

#: The languages a runnable block may have.
LANGUAGES = ("python", "sh")
#: Languages of blocks that must be runnable or marked ``not-run``.
CHECKED_LANGUAGES = {"python", "py", "python3", "sh", "bash", "shell", "console"}
#: Where the scenarios are written, relative to the output directory.
OUTPUT = "_runnable.json"


def _blocks(env: BuildEnvironment) -> dict[str, list[dict[str, Any]]]:
    if not hasattr(env, "runnable_blocks"):
        env.runnable_blocks = {}  # type: ignore[attr-defined]
    return env.runnable_blocks  # type: ignore[attr-defined]


def _pages(env: BuildEnvironment) -> dict[str, dict[str, Any]]:
    if not hasattr(env, "runnable_pages"):
        env.runnable_pages = {}  # type: ignore[attr-defined]
    return env.runnable_pages  # type: ignore[attr-defined]


class Runnable(CodeBlock):
    """A code block the tests run: ``python`` (a file, or code for ``manage.py shell``) or ``sh``.

    :file: write the block to this path (relative to the scenario's directory)
    :append: add the block at the end of that file instead
    """

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {
        **CodeBlock.option_spec,
        "file": directives.unchanged_required,
        "append": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        language = self.arguments[0]
        if language not in LANGUAGES:
            raise self.error(f"a runnable block is one of {', '.join(LANGUAGES)}, not {language!r}")
        if "append" in self.options and "file" not in self.options:
            raise self.error(":append: needs :file:")
        if "file" in self.options and language != "python":
            raise self.error(":file: is for python blocks")
        path = self.options.get("file")
        if path and "caption" not in self.options:
            self.options["caption"] = path + (
                " (add at the end)" if "append" in self.options else ""
            )
        _blocks(self.env).setdefault(self.env.docname, []).append(
            {
                "language": language,
                "code": "\n".join(self.content) + "\n",
                "file": path,
                "append": "append" in self.options,
                "expect": None,
                "line": self.lineno,
            }
        )
        result = super().run()
        for node in result:
            for block in node.findall(nodes.literal_block):
                block["runnable"] = True
        return result


class RunnableOutput(SphinxDirective):
    """What the runnable block above prints: shown, and checked line by line, in order."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        blocks = _blocks(self.env).get(self.env.docname)
        if not blocks or blocks[-1]["expect"] is not None:
            raise self.error("runnable-output follows a runnable block (one per block)")
        text = "\n".join(self.content)
        blocks[-1]["expect"] = [line for line in self.content if line.strip()]
        block = nodes.literal_block(text, text, language="text", runnable=True)
        block["classes"].append("runnable-output")
        caption = nodes.caption("", "Output")
        container = nodes.container("", caption, block, literal_block=True)
        self.set_source_info(container)
        return [container]


class RunnablePage(SphinxDirective):
    """How the page's scenario runs (shows nothing).

    :continues: a page whose scenario runs first, in the same directory
    :shops: the demo's shops run during the scenario (``SHOP_B_URL``, ``SHOP_B_TOKEN``)
    """

    option_spec: ClassVar[dict[str, Any]] = {
        "continues": directives.unchanged_required,
        "shops": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        _pages(self.env)[self.env.docname] = {
            "continues": self.options.get("continues"),
            "shops": "shops" in self.options,
        }
        return []


def check_blocks(app: Sphinx, doctree: nodes.document) -> None:
    """Warn about Python and shell blocks that are neither runnable nor marked not-run."""
    for block in doctree.findall(nodes.literal_block):
        language = block.get("language", "")
        if language in CHECKED_LANGUAGES and not block.get("runnable"):
            if "not-run" not in block["classes"]:
                logger.warning(
                    "a %s block that the tests do not run: make it a runnable block, or "
                    "give it ':class: not-run' if it cannot run",
                    language,
                    location=block,
                )


def purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _blocks(env).pop(docname, None)
    _pages(env).pop(docname, None)


def merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    for name in docnames:
        if name in _blocks(other):
            _blocks(env)[name] = _blocks(other)[name]
        if name in _pages(other):
            _pages(env)[name] = _pages(other)[name]


def check_continues(app: Sphinx, env: BuildEnvironment) -> None:
    for name, page in _pages(env).items():
        if page["continues"] and page["continues"] not in env.found_docs:
            logger.warning("%s continues %r, which is no page", name, page["continues"])


def write(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None:
        return
    env = app.env
    scenarios = {
        name: {
            "source": str(Path(env.doc2path(name)).relative_to(app.srcdir)),
            **_pages(env).get(name, {"continues": None, "shops": False}),
            "blocks": blocks,
        }
        for name, blocks in sorted(_blocks(env).items())
    }
    (Path(app.outdir) / OUTPUT).write_text(json.dumps(scenarios, indent=1))


def setup(app: Sphinx) -> None:
    app.add_directive("runnable", Runnable)
    app.add_directive("runnable-output", RunnableOutput)
    app.add_directive("runnable-page", RunnablePage)
    app.connect("doctree-read", check_blocks)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-check-consistency", check_continues)
    app.connect("build-finished", write)
