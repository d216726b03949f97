"""Screenshots of the documentation site and of the demo, for docs/_static/screenshots/.

Run from the repository's root (not by the tests: it takes a minute)::

    .venv/bin/python -m tests.docs_screenshots

It builds the site (``sphinx-build``, as ``tests/test_docs.py`` does), starts the
demo shops on free loopback ports with fresh databases (``tests.servers.DemoShops``,
as the browser tests do), and photographs them in Debian's chromium through
Playwright. Nothing leaves 127.0.0.1: the site is read from its files.

Pictures: the tutorial, the settings reference and the admin how-to (the site);
shop_a's /books/, the admin's target picker searching "dun", and the debug
toolbar's remote requests panel (the demo).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.servers import ROOT, DemoShops, UvicornProcess

OUT = ROOT / "docs" / "_static" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PASSWORD = "screenshots-pw-3c7a"
#: The site's pages to photograph: file name, page (and section), viewport height.
SITE_PAGES = [
    ("site-tutorial.png", "tutorial/index.html", 1000),
    ("site-settings-reference.png", "reference/settings.html#federation", 1000),
    ("site-howto-admin.png", "howto/admin.html#pick-a-target", 1000),
]
FORGET_DUNE = """
from books.models import Reference
from federated_fk.models import GenericContentType
ct = GenericContentType.objects.get_by_natural_key("shop_b", "books", "book")
print(Reference.objects.filter(content_type=ct, object_id="{pk}").delete()[0])
"""
LOADED = (
    "() => document.querySelectorAll('.select2-results__option').length > 0"
    " && !document.querySelector('.select2-results__option.loading-results')"
)


def build_site(folder: Path) -> Path:
    """Build the site into ``folder``; return the built HTML's directory."""
    out = folder / "html"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    command = [sys.executable, "-m", "sphinx", "-E", "-q", "-b", "html", "docs", str(out)]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=300)
    return out


def shoot_site(browser, html: Path) -> None:
    """Photograph the top of each of SITE_PAGES, in the light theme."""
    for name, page_path, height in SITE_PAGES:
        context = browser.new_context(
            viewport={"width": 1280, "height": height}, color_scheme="light"
        )
        page = context.new_page()
        path, _, fragment = page_path.partition("#")
        page.goto((html / path).as_uri())
        page.wait_for_load_state("load")
        if fragment:
            # The section's heading at the top (at once: the theme scrolls smoothly).
            page.locator(f"#{fragment}").evaluate(
                "e => e.scrollIntoView({block: 'start', behavior: 'instant'})"
            )
        save(page, name)
        context.close()


def shoot_books_and_panel(browser, shops: DemoShops, folder: Path) -> None:
    """/books/ of shop_a, then the toolbar's panel on a second shop_a with SHOP_A_DEBUG=1."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{shops.url}/books/")
    page.locator("section.book").first.wait_for()
    save(page, "books.png")
    context.close()
    env = {**shops.env, "SHOP_A_DEBUG": "1"}
    debug = UvicornProcess("shop_a.asgi:application", ROOT / "shop_a", env, folder / "debug.log")
    debug.launch()
    try:
        context = browser.new_context(viewport={"width": 1200, "height": 640})
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{debug.port}/books/")
        link = page.locator("#djdt-RemoteRequestsPanel")
        link.wait_for(timeout=15000)
        link.locator("a, .djDebugPanelButton").first.click()
        page.locator("#RemoteRequestsPanel table.federated-fk-requests tbody tr").first.wait_for(
            timeout=15000
        )
        save(page, "remote-requests-panel.png")
        context.close()
    finally:
        debug.stop()


def shoot_picker(browser, shops: DemoShops) -> None:
    """The admin's add page of a reference, its target picker searching "dun"."""
    shops.manage("shop_a", "demo_admin", env={"DEMO_ADMIN_PASSWORD": PASSWORD})
    # Every demo book has its reference: forget shop_b's Dune so that it can be picked.
    dune = shell(
        shops, "shop_b", "from books.models import Book; print(Book.objects.get(title='Dune').pk)"
    )
    shell(shops, "shop_a", FORGET_DUNE.format(pk=dune))
    context = browser.new_context(viewport={"width": 1280, "height": 640})
    page = context.new_page()
    page.goto(f"{shops.url}/admin/login/?next=/admin/books/reference/add/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/books/reference/add/")
    page.click(".field-content_object .select2-selection")
    page.wait_for_function(LOADED)
    page.locator(".select2-container--open .select2-search__field").fill("dun")
    page.locator(".select2-results__option").filter(has_text="Dune (book, shop_b)").first.wait_for()
    page.wait_for_function(LOADED)
    save(page, "admin-picker.png")
    context.close()


def shell(shops: DemoShops, shop: str, code: str) -> str:
    """Run ``code`` in ``shop``'s shell; return the last line it printed."""
    return shops.manage(shop, "shell", "-v", "0", "-c", code).strip().splitlines()[-1]


def save(page, name: str) -> None:
    """Write the page's viewport to OUT/name, recompressed (chromium's PNGs are not)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    path.write_bytes(recompress(page.screenshot()))
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KiB")


def recompress(png: bytes) -> bytes:
    """The same PNG with its image data deflated at level 9 (lossless)."""
    chunks, data, offset = [], b"", 8
    while offset < len(png):
        length = int.from_bytes(png[offset : offset + 4], "big")
        kind = png[offset + 4 : offset + 8]
        body = png[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IDAT":
            data += body
        else:
            chunks.append((kind, body))
    packed = zlib.compress(zlib.decompress(data), 9)
    out = png[:8]
    for kind, body in chunks:
        if kind == b"IEND":
            out += chunk(b"IDAT", packed)
        out += chunk(kind, body)
    return out


def chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    crc = zlib.crc32(kind + body).to_bytes(4, "big")
    return len(body).to_bytes(4, "big") + kind + body + crc


def main() -> None:
    """Build the site, start the demo, take every picture."""
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        folder = Path(tmp)
        html = build_site(folder)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            shoot_site(browser, html)
            shops = DemoShops(folder, extra_books=250).start()
            try:
                shoot_books_and_panel(browser, shops, folder)
                shoot_picker(browser, shops)
            finally:
                shops.stop()
        finally:
            browser.close()


if __name__ == "__main__":
    main()
