"""Fixtures of the change follower's tests: a publishing subgraph process, follower processes.

The publishing side is a real ``SubgraphServer`` (tests/servers.py) whose
settings publish remoteshop's books, audiobooks and gadgets: every write to
its SQLite file, even through a plain ``sqlite3`` connection, writes change
events. The following side is either this test process (pytest's database)
or ``manage.py`` processes with ``tests.follow_settings`` and their own
SQLite file (``FollowerSide``).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers import ROOT, SubgraphServer


class Remote:
    """Writes to the publishing service's database, as any program may."""

    def __init__(self, server: SubgraphServer) -> None:
        self.server = server
        self.path = server.folder / f"{server.project}.sqlite3"

    def execute(self, sql: str, *params: object) -> None:
        with sqlite3.connect(self.path, timeout=20) as connection:
            connection.execute(sql, params)

    def retitle(self, pk: int, title: str) -> None:
        self.execute("UPDATE remoteshop_book SET title = ? WHERE id = ?", title, pk)

    def delete(self, pk: int) -> None:
        self.execute("DELETE FROM remoteshop_book WHERE id = ?", pk)

    def events(self) -> int:
        with sqlite3.connect(self.path, timeout=20) as connection:
            return connection.execute("SELECT count(*) FROM federated_fk_changeevent").fetchone()[0]

    def prune(self) -> None:
        """Delete every event written so far (RETENTION 0), in the server's own settings."""
        time.sleep(0.05)  # "older than 0 s": the last event must be in the past
        self.server.manage("prune_change_events", "--retention", "0")


class FollowerSide:
    """shop_a's follower as ``manage.py`` processes: its own SQLite file and file cache."""

    def __init__(self, folder: Path, remote: SubgraphServer, batch: int = 500) -> None:
        self.folder = folder
        self.db = folder / "follower.sqlite3"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        self.env.update(
            DJANGO_SETTINGS_MODULE="tests.follow_settings",
            FOLLOW_TEST_DB=str(self.db),
            FOLLOW_TEST_CACHE=str(folder / "cache"),
            FOLLOW_TEST_URL=remote.url,
            FOLLOW_TEST_BATCH=str(batch),
            PYTHONPATH=str(ROOT),
        )

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "django", *args],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen:
        """Start ``follow_remote_changes`` running long; stop it by its PID."""
        return subprocess.Popen(
            [sys.executable, "-m", "django", "follow_remote_changes", *args],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def set_up(self) -> FollowerSide:
        """Migrate, and make shop_f's content types from its SDL."""
        for args in (("migrate",), ("sync_remote_contenttypes", "shop_f")):
            done = self.manage(*args, *(("--schema-dir", str(self.folder)) if args[1:] else ()))
            assert done.returncode == 0, done.stderr
        return self

    def once(self) -> subprocess.CompletedProcess:
        return self.manage("follow_remote_changes", "--once")

    def rows(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.db, timeout=20) as connection:
            return connection.execute(sql, params).fetchall()

    def mention(self, *pks: int) -> None:
        """Cascading references (followapp.Mention) to shop_f books."""
        [(ct,)] = self.rows(
            "SELECT id FROM federated_fk_genericcontenttype WHERE project = 'shop_f' "
            "AND model = 'book'"
        )
        with sqlite3.connect(self.db, timeout=20) as connection:
            for pk in pks:
                connection.execute(
                    "INSERT INTO followapp_mention (note, content_type_id, object_id) "
                    "VALUES (?, ?, ?)",
                    (f"book {pk}", ct, str(pk)),
                )

    def mentioned(self) -> list[int]:
        return sorted(int(pk) for (pk,) in self.rows("SELECT object_id FROM followapp_mention"))

    def cursor(self) -> tuple:
        rows = self.rows("SELECT cursor, applied, reconciled FROM federated_fk_followcursor")
        return rows[0] if rows else ("", 0, None)

    def signals(self) -> list[tuple[str, str, str, str]]:
        return self.rows(
            "SELECT signal, object_id, kind, fields FROM followapp_receivedsignal ORDER BY id"
        )


def stop(process: subprocess.Popen, how: int = signal.SIGTERM) -> tuple[int, str, str]:
    """Send ``how`` to a follower process; return its exit status and output."""
    if process.poll() is None:
        process.send_signal(how)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def wait_for(condition, timeout: float = 20.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


def publishing(folder: Path, books: int = 40) -> SubgraphServer:
    return SubgraphServer("shop_f", folder, label="F", books=books).start()


@pytest.fixture(scope="package")
def feed_server(tmp_path_factory):
    """shop_f publishing its change feed; its books are shared by the tests of the package."""
    server = publishing(tmp_path_factory.mktemp("feed_f"))
    yield server
    server.stop()


@pytest.fixture
def remote(feed_server):
    return Remote(feed_server)
