"""./run_demo.sh, as a newcomer runs it: twice, then stopped with SIGTERM.

What shop_a's follower does with shop_b's changes is tested in test_demo_changes.py.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent


def run_demo(tmp_path: Path, ports: tuple[int, int]) -> tuple[subprocess.Popen, list[str]]:
    """Start the demo and return it once it prints its URLs, with what it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))}
    env.update(
        SHOP_A_PORT=str(ports[0]),
        SHOP_B_PORT=str(ports[1]),
        SHOP_A_DB=str(tmp_path / "a.sqlite3"),
        SHOP_B_DB=str(tmp_path / "b.sqlite3"),
        FEDERATION_SCHEMA_DIR=str(tmp_path),
    )
    process = subprocess.Popen(
        ["./run_demo.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if "/books/" in line:
            return process, lines
    process.kill()
    raise AssertionError("the demo did not print its URLs:\n" + "\n".join(lines))


def read_until(process: subprocess.Popen, lines: list[str], text: str) -> None:
    """Read the demo's output into ``lines`` until a line holds ``text``."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if text in line:
            return
    raise AssertionError(f"the demo did not print {text!r}:\n" + "\n".join(lines))


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def stop(process: subprocess.Popen) -> list[str]:
    process.send_signal(signal.SIGTERM)
    rest = process.stdout.read()  # what was buffered, then the rest until it exits
    process.wait(timeout=30)
    return rest.splitlines()


def test_the_demo_runs_twice_and_stops_on_sigterm(tmp_path):
    ports = (free_port(), free_port())
    process, lines = run_demo(tmp_path, ports)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/books/", timeout=30) as page:
            html = page.read().decode()
        assert "8.49" in html and "9.99" in html  # Dune in both shops, each at its price
        # The follower has read shop_b's catalogue, as created, from its change feed.
        read_until(process, lines, "[shop_a follower] shop_b: 7 event(s): 6 changed, 1 deleted")
    finally:
        output = lines + stop(process)
    assert process.returncode == 0
    assert not port_open(ports[0]) and not port_open(ports[1])
    text = "\n".join(output)
    assert "shop_b ShopBBook: 4 seen, 4 references created, 0 already there." in text
    assert f"http://127.0.0.1:{ports[0]}/graphql/" in text
    assert "[shop_b] INFO:     127.0.0.1" in text and '"POST /graphql/ HTTP/1.1" 200' in text
    assert f"http://127.0.0.1:{ports[1]}/admin/     shop_b's admin" in text
    # Stopped with the shops, the follower first, cleanly: its batch ended, its totals said.
    assert "[shop_a follower] Stopped." in text
    assert "[shop_a follower] shop_b: 7 event(s) applied: 6 changed, 1 deleted" in text

    process, lines = run_demo(tmp_path, ports)  # the same databases: nothing new
    output = lines + stop(process)
    text = "\n".join(output)
    assert "shop_b ShopBBook: 4 seen, 0 references created, 4 already there." in text
    assert "shop_b: 4 authors, 5 books, 2 audiobooks." in text
    assert "unchanged shop_b | books.book (ShopBBook)" in text
