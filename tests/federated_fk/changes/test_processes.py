"""``manage.py follow_remote_changes`` as a process, against a real publishing subgraph.

The follower's side is its own SQLite file, written by processes only; what
it did is read back from that file: the cascading references
(``followapp.Mention``), the signals its receivers logged in each batch's
transaction (``followapp.ReceivedSignal``) and the cursor.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.federated_fk.changes.conftest import FollowerSide, stop, wait_for


@pytest.fixture
def side(tmp_path, feed_server):
    return FollowerSide(tmp_path, feed_server).set_up()


def since(side: FollowerSide, count: int) -> list[tuple]:
    return side.signals()[count:]


def test_a_deletion_cascades_once(side, remote):
    baseline = side.once()
    assert baseline.returncode == 0, baseline.stderr
    side.mention(11, 12)
    remote.delete(11)

    done = side.once()
    assert done.returncode == 0, done.stderr
    assert side.mentioned() == [12]
    assert "shop_f: 1 event(s) applied: 0 changed, 1 deleted" in done.stdout
    assert side.signals()[-1] == ("deleted", "11", "", "")

    again = side.once()  # the cursor is past it: nothing to apply
    assert "shop_f: 0 event(s) applied" in again.stdout
    assert side.mentioned() == [12]


def test_killed_mid_batch_the_batch_is_applied_once_on_restart(tmp_path, feed_server, remote):
    side = FollowerSide(tmp_path, feed_server, batch=2).set_up()
    assert side.once().returncode == 0
    side.mention(13, 14, 15, 16)
    cursor, applied, _ = side.cursor()
    seen = len(side.signals())
    # Two batches of two: [title of 13, 14 deleted], [15 deleted, title of 16].
    remote.retitle(13, "F Book 13, revised")
    remote.delete(14)
    remote.delete(15)
    remote.retitle(16, "F Book 16, revised")

    stall = tmp_path / "stalled"
    process = side.start(FOLLOWAPP_STALL_FILE=str(stall), FOLLOWAPP_STALL_ID="15")
    try:
        wait_for(stall.exists, what="the second batch's receiver")
        # Inside the second batch's transaction: 15's mention deleted, its
        # signal logged, the cursor not yet saved. Killed there.
        status, _out, _err = stop(process, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert status == -signal.SIGKILL
    assert side.mentioned() == [13, 15, 16]  # the first batch committed, the second did not
    assert sorted(since(side, seen)) == [
        ("changed", "13", "updated", "title"),
        ("deleted", "14", "", ""),
    ]
    assert side.cursor()[1] == applied + 2

    done = side.once()  # restarted: the second batch again, from the start
    assert done.returncode == 0, done.stderr
    assert "shop_f: 2 event(s) applied: 1 changed, 1 deleted" in done.stdout
    assert side.mentioned() == [13, 16]
    # Each exactly once (within a batch, deletions are signalled first).
    assert sorted(since(side, seen)) == [
        ("changed", "13", "updated", "title"),
        ("changed", "16", "updated", "title"),
        ("deleted", "14", "", ""),
        ("deleted", "15", "", ""),
    ]
    assert side.cursor()[1] == applied + 4 and side.cursor()[0] != cursor


def test_the_remote_down_then_back(side, feed_server, remote, tmp_path):
    assert side.once().returncode == 0
    side.mention(17, 18)
    before = side.cursor()
    feed_server.stop()
    try:
        remote.delete(17)  # written while the subgraph is down: in its outbox
        failed = side.once()
        assert failed.returncode == 1
        assert "shop_f: failed: RemoteConnectionError" in failed.stderr
        assert "connection refused" in failed.stderr
        assert side.cursor() == before and side.mentioned() == [17, 18]

        process = side.start()
        time.sleep(1.5)  # failing, backing off
        assert process.poll() is None
        assert side.cursor() == before and side.mentioned() == [17, 18]
    finally:
        feed_server.launch()
    try:
        wait_for(lambda: side.mentioned() == [18], what="catching up")
    finally:
        status, out, err = stop(process, signal.SIGTERM)
    assert status == 0, err
    assert "shop_f: failed: RemoteConnectionError" in err
    assert "shop_f: following again." in out
    assert "Stopped." in out
    assert "shop_f: 1 event(s) applied: 0 changed, 1 deleted" in out
    assert side.cursor()[1] == before[1] + 1


def test_sigint_stops_cleanly_and_bad_projects_are_refused(side):
    process = side.start("--project", "shop_f")
    wait_for(lambda: side.cursor()[1] > 0, what="the first batch")
    status, out, _err = stop(process, signal.SIGINT)
    assert status == 0
    assert "Stopped." in out

    unknown = side.manage("follow_remote_changes", "--once", "--project", "shop_x")
    assert unknown.returncode == 1
    assert "Unknown project(s) 'shop_x'" in unknown.stderr
    own = side.manage("follow_remote_changes", "--once", "--project", "shop_a")
    assert own.returncode == 1
    assert "Unknown project(s) 'shop_a'" in own.stderr  # this service's own is not a remote
