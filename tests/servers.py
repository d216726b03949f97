"""Real server processes for the integration tests, on free loopback ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SubgraphServer:
    """The remoteshop subgraph as a separate uvicorn process with its own SQLite file.

    :param project: the project name the process gives itself
    :param folder: where its database and log go
    :param label: the word in its seeded titles ("Remote Book 7")
    :param token: the token callers must send, if any
    """

    def __init__(self, project: str, folder: Path, label: str, token: str = "", books: int = 500):
        self.project = project
        self.folder = folder
        self.label = label
        self.token = token
        self.books = books
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql/"
        self.process: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update(
            DJANGO_SETTINGS_MODULE="tests.server_settings",
            FEDERATED_TEST_PROJECT=self.project,
            FEDERATED_TEST_DB=str(self.folder / f"{self.project}.sqlite3"),
            FEDERATED_TEST_TOKEN=self.token,
            PYTHONPATH=str(ROOT),
        )
        return env

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "django", *args],
            cwd=ROOT,
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> SubgraphServer:
        self.manage("migrate", "--noinput")
        self.manage("seed_remoteshop", "--books", str(self.books), "--label", self.label)
        self.launch()
        return self

    def launch(self) -> None:
        log = open(self.folder / f"{self.project}.log", "ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tests.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.stats()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.project} exited; see {log.name}") from None
                time.sleep(0.1)
        raise RuntimeError(f"{self.project} did not start within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stats(self, reset: bool = False) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/stats/", method="DELETE" if reset else "GET"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)


class MisbehavingServer:
    """An HTTP server that answers every POST with ``status`` and ``body`` after ``delay`` s."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b"{}"
        self.delay = 0.0
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests += 1
                time.sleep(outer.delay)
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/graphql/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, body: bytes | dict, status: int = 200, delay: float = 0.0) -> None:
        self.body = json.dumps(body).encode() if isinstance(body, dict) else body
        self.status = status
        self.delay = delay

    def start(self) -> MisbehavingServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
