"""get_for_model() for a new model, from many threads and processes at once, on PostgreSQL."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection, connections

from federated_fk.models import GenericContentType
from tests.testapp.models import Gadget

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    os.environ.get("FEDERATED_FK_TEST_DB") != "postgres",
    reason="SQLite serializes writers; the race needs a database with concurrent writers",
)

PROCESS = """
import django, os, sys
django.setup()
from federated_fk.models import GenericContentType
from tests.testapp.models import Gadget
ct = GenericContentType.objects.get_for_model(Gadget, project=sys.argv[1])
print(ct.pk)
"""


@pytest.mark.django_db(transaction=True)
def test_one_row_from_many_threads_and_processes():
    project = "shop_race"
    barrier = threading.Barrier(16)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(GenericContentType.objects.get_for_model(Gadget, project=project).pk)
        except Exception as exc:  # recorded, and the test fails on it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(16)]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
    }
    # The processes use the test database this test runs on.
    env["FEDERATED_FK_TEST_DB_NAME"] = connection.settings_dict["NAME"]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS, project],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outputs = [p.communicate(timeout=60) for p in processes]
    assert errors == []
    assert all(p.returncode == 0 for p in processes), [err for _out, err in outputs]
    pks = set(results) | {int(out.strip()) for out, _err in outputs}
    assert len(pks) == 1
    assert GenericContentType.objects.filter(project=project).count() == 1
