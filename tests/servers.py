"""Real server processes for the integration tests, on free loopback ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class UvicornProcess:
    """An ASGI app served by uvicorn in a separate process, stopped by PID.

    :param app: ``module:attribute`` of the ASGI application
    :param cwd: the folder uvicorn runs in (on its import path)
    :param env: the process's environment
    :param log: the file its output (access log included) goes to
    """

    def __init__(
        self,
        app: str,
        cwd: Path,
        env: dict[str, str],
        log: Path,
        args: tuple = (),
        port: int = 0,
        python: str = sys.executable,
    ):
        self.python = python
        self.app = app
        self.cwd = cwd
        self.env = env
        self.log = log
        self.args = args
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    def launch(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    self.python,
                    "-m",
                    "uvicorn",
                    self.app,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    *self.args,
                ],
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.app} exited; see {self.log}") from None
                time.sleep(0.1)
        raise RuntimeError(f"{self.app} did not start within 30 s; see {self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class SubgraphServer:
    """The remoteshop subgraph as a separate uvicorn process with its own SQLite file.

    :param project: the project name the process gives itself
    :param folder: where its database and log go
    :param label: the word in its seeded titles ("Remote Book 7")
    :param token: the token callers must send, if any
    :param editions: how many editions to generate besides the three seeded ones
    """

    def __init__(
        self,
        project: str,
        folder: Path,
        label: str,
        token: str = "",
        books: int = 500,
        editions: int = 0,
        workers: int = 1,
    ):
        self.editions = editions
        self.project = project
        self.folder = folder
        self.label = label
        self.token = token
        self.books = books
        self.uvicorn = UvicornProcess(
            "tests.asgi:application",
            ROOT,
            self.env(),
            folder / f"{project}.log",
            # More than one worker: each counts its own requests (stats() asks one).
            args=("--log-level", "warning", *(("--workers", str(workers)) if workers > 1 else ())),
        )
        self.port = self.uvicorn.port
        self.url = f"http://127.0.0.1:{self.port}/graphql/"

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
        self.manage(
            "seed_remoteshop",
            *("--books", str(self.books), "--label", self.label),
            *("--more-editions", str(self.editions)),
        )
        self.launch()
        return self

    def launch(self) -> None:
        self.uvicorn.launch()

    def stop(self) -> None:
        self.uvicorn.stop()

    def stats(self, reset: bool = False) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/stats/", method="DELETE" if reset else "GET"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)


class GatewayClient:
    """Queries shop_a's gateway and pages at ``url`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, query: str, variables: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{self.url}/graphql/",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)

    def get(self, path: str) -> tuple[int, str]:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=30) as response:
            return response.status, response.read().decode()


class DemoShops(GatewayClient):
    """shop_a and shop_b as run_demo.sh runs them, on free ports with fresh databases.

    :param folder: where the databases and logs go
    :param extra_books: generated books to add to shop_b's catalogue
    :param follow: run shop_a's follower of shop_b's changes too, with shop_b's
        books cached as the demo caches them (5 minutes). Without it, shop_a
        keeps nothing of shop_b's (every page asks shop_b, as the tests that
        count shop_b's requests need) and nothing follows shop_b's changes.
    """

    #: The password of both shops' admin user (demo_admin), when ``follow``.
    ADMIN_PASSWORD = "demo-admin-pw-7d2f"

    def __init__(
        self,
        folder: Path,
        extra_books: int = 0,
        local_books: int = 0,
        remote: bool = True,
        follow: bool = False,
    ):
        self.folder = folder
        self.extra_books = extra_books
        self.local_books = local_books
        self.remote = remote
        self.follow = follow
        self.follower: subprocess.Popen | None = None
        self.follower_log = folder / "follower.log"
        self.token = "demo-token-5b1e9c"
        shop_b_port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))}
        self.env.update(
            SHOP_A_DB=str(folder / "shop_a.sqlite3"),
            SHOP_B_DB=str(folder / "shop_b.sqlite3"),
            SHOP_B_TOKEN=self.token,
            SHOP_B_URL=f"http://127.0.0.1:{shop_b_port}/graphql/",
            GATEWAY_MAX_PAGE_SIZE=os.environ.get("GATEWAY_MAX_PAGE_SIZE", "100"),
            PYTHONPATH="",
        )
        if not follow:
            self.env["SHOP_B_CACHE_TIMEOUT"] = "0"
        self.shop_b = UvicornProcess(
            "shop_b.asgi:application",
            ROOT / "shop_b",
            self.env,
            folder / "shop_b.log",
            port=shop_b_port,
        )
        self.shop_a = UvicornProcess(
            "shop_a.asgi:application", ROOT / "shop_a", self.env, folder / "shop_a.log"
        )
        super().__init__(f"http://127.0.0.1:{self.shop_a.port}")

    def manage(self, shop: str, *args: str, env: dict[str, str] | None = None) -> str:
        """Run a management command of ``shop``; ``env`` adds to the shops' environment."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT / shop,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode:
            raise RuntimeError(f"{shop} {' '.join(args)} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def start(self) -> DemoShops:
        """Set both shops up as run_demo.sh does; without ``remote``, shop_a alone."""
        self.manage("shop_a", "migrate", "--noinput")
        self.manage("shop_a", "seed_shop", "--extra", str(self.local_books))
        if self.remote:
            self.manage("shop_b", "migrate", "--noinput")
            self.manage("shop_b", "seed_shop", "--extra", str(self.extra_books))
            self.shop_b.launch()
        # Setting up, a freshly started shop_b may be slow on a busy machine: the
        # demo's 3 s timeout is for serving pages, not for this.
        patient = {"SHOP_B_TIMEOUT": "20"}
        if self.remote:
            self.manage(
                "shop_a", "sync_remote_contenttypes", "--schema-dir", str(self.folder), env=patient
            )
        self.manage("shop_a", "create_references", env=patient)
        self.shop_a.launch()
        if self.follow:
            password = {"DEMO_ADMIN_PASSWORD": self.ADMIN_PASSWORD}
            self.manage("shop_b", "demo_admin", env=password)
            self.manage("shop_a", "demo_admin", env=password)
            self.start_follower()
        return self

    def start_follower(self) -> None:
        """Start ``follow_remote_changes -v 2`` as run_demo.sh does; return once it
        has applied a batch of events (at first, shop_b's catalogue as seeded)."""
        seen = self.follower_log.stat().st_size if self.follower_log.exists() else 0
        with open(self.follower_log, "ab") as log:
            self.follower = subprocess.Popen(
                [sys.executable, "manage.py", "follow_remote_changes", "-v", "2"],
                cwd=ROOT / "shop_a",
                env={**self.env, "PYTHONUNBUFFERED": "1"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while b"event(s):" not in self.follower_log.read_bytes()[seen:]:
            if self.follower.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the follower did not apply a batch; see {self.follower_log}")
            time.sleep(0.1)

    def stop_follower(self) -> None:
        """Stop the follower as Ctrl-C does (SIGTERM: the batch under way ends first)."""
        if self.follower is not None and self.follower.poll() is None:
            self.follower.terminate()
            try:
                self.follower.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.follower.kill()
                self.follower.wait()
        self.follower = None

    def stop(self) -> None:
        self.stop_follower()
        self.shop_a.stop()
        self.shop_b.stop()

    def shop_b_requests(self) -> int:
        """How many GraphQL requests shop_b's access log shows so far."""
        return self.shop_b.log.read_text().count('"POST /graphql/ HTTP/1.1" 200')


class MisbehavingServer:
    """An HTTP server whose answers a test sets: status, body, headers, delay.

    ``answer()`` sets the answer to every request; ``queue()`` puts answers
    in front of it, one per request. ``ECHO`` in a body is replaced by the
    request's ``Authorization`` header, as a remote that echoes its input does.
    """

    #: Replaced, in an answer's body, by the request's Authorization header (JSON-escaped).
    ECHO = "%AUTHORIZATION%"

    def __init__(self) -> None:
        self.default: tuple[int, bytes, float, dict[str, str]] = (200, b"{}", 0.0, {})
        self.queued: list[tuple[int, bytes, float, dict[str, str]]] = []
        self.requests = 0
        #: The body of each request, as posted.
        self.bodies: list[bytes] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                outer.requests += 1
                status, body, delay, headers = (
                    outer.queued.pop(0) if outer.queued else outer.default
                )
                time.sleep(delay)
                given = json.dumps(self.headers.get("Authorization", ""))[1:-1]
                body = body.replace(outer.ECHO.encode(), given.encode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/graphql/"
        # A short poll interval: stopping the server waits for at most one poll.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @staticmethod
    def _make(
        body: bytes | dict, status: int, delay: float, headers: dict[str, str] | None
    ) -> tuple[int, bytes, float, dict[str, str]]:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        return status, data, delay, headers or {}

    def answer(
        self,
        body: bytes | dict,
        status: int = 200,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.default = self._make(body, status, delay, headers)

    def queue(self, *answers: tuple) -> None:
        """Answer the next requests with these ``(body, status)`` pairs, in order."""
        self.queued.extend(self._make(body, status, 0.0, None) for body, status in answers)

    def start(self) -> MisbehavingServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FlakyProxy:
    """Forwards the first ``passes`` requests to ``target``, then answers HTTP 503.

    A remote that fails part-way through a multi-batch command.
    """

    def __init__(self, target: str, passes: int) -> None:
        self.target = target
        self.passes = passes
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests += 1
                if outer.requests > outer.passes:
                    status, answer = 503, b'{"errors": [{"message": "unavailable"}]}'
                else:
                    status, answer = outer.forward(body, self.headers)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/graphql/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def forward(self, body: bytes, headers: object) -> tuple[int, bytes]:
        names = ("Content-Type", "Authorization")
        request = urllib.request.Request(
            self.target,
            data=body,
            headers={n: headers[n] for n in names if headers[n]},  # type: ignore[index]
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def start(self) -> FlakyProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
