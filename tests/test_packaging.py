"""The wheel: built from the tree, installed into a fresh virtual environment, serving its pages.

The fresh environment gets the package only from the wheel. Its dependencies
come from the test run's own environment through a ``.pth`` line (no
download); ``.pth`` files inside that folder are not read, so the editable
install of the tree is not seen there.
"""

import json
import os
import subprocess
import sys
import sysconfig
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from tests.servers import ROOT, UvicornProcess

SETTINGS = """
SECRET_KEY = "packaging-test"
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.contenttypes", "django.contrib.auth",
    "federated_fk", "graphql_gateway", "refs",
]
ROOT_URLCONF = "urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
USE_TZ = True
FEDERATION = {"PROJECT_NAME": "packaged"}
GRAPHQL_GATEWAY = {
    "UNIONS": [
        {"model": "refs.Reference", "field": "content_object", "targets": ["refs.book"],
         "name": "Book"},
    ],
}
"""

MODELS = """
from django.db import models
from federated_fk.fields import FederatedForeignKey
from federated_fk.models import GenericContentType


class Book(models.Model):
    title = models.CharField(max_length=100)
    author = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=6, decimal_places=2)


class Reference(models.Model):
    content_type = models.ForeignKey(GenericContentType, models.CASCADE)
    object_id = models.CharField(max_length=64)
    content_object = FederatedForeignKey("content_type", "object_id")
"""

URLS = (
    "from django.urls import include, path\n"
    'urlpatterns = [path("", include("graphql_gateway.urls"))]\n'
)

ASGI = (
    "import os\n"
    'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")\n'
    "from django.core.asgi import get_asgi_application\n"
    "application = get_asgi_application()\n"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        cwd=out,
    )
    (path,) = out.glob("django_federated_fk-*.whl")
    return path


def test_the_wheel_ships_templates_and_no_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "graphql_gateway/generate.py" in names
    assert "graphql_gateway/templates/graphql/graphiql.html" in names
    assert "federated_fk/templates/federated_fk/debug_toolbar/remote_requests.html" in names
    assert "federated_fk/py.typed" in names and "graphql_gateway/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "shop_a/", "shop_b/"))]


@pytest.fixture(scope="module")
def fresh(wheel, tmp_path_factory):
    """A fresh virtual environment with the wheel installed, and a tiny project using it."""
    home = tmp_path_factory.mktemp("fresh")
    env_dir = home / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
    )
    project = home / "project"
    (project / "refs").mkdir(parents=True)
    (project / "refs" / "__init__.py").write_text("")
    (project / "refs" / "models.py").write_text(MODELS)
    (project / "settings.py").write_text(SETTINGS)
    (project / "urls.py").write_text(URLS)
    (project / "asgi.py").write_text(ASGI)
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "settings"}
    subprocess.run(
        [str(python), "-m", "django", "migrate", "--run-syncdb", "-v", "0"],
        check=True,
        cwd=project,
        env={**env, "PYTHONPATH": str(project)},
    )
    return python, project, env


def test_the_package_comes_from_the_wheel(fresh):
    python, project, env = fresh
    where = subprocess.check_output(
        [
            str(python),
            "-c",
            "import federated_fk, graphql_gateway; "
            "print(federated_fk.__file__); print(graphql_gateway.__file__)",
        ],
        cwd=project,
        env=env,
        text=True,
    )
    assert str(ROOT) not in where and "site-packages" in where


def test_an_installed_package_serves_its_pages(fresh, tmp_path):
    python, project, env = fresh
    server = UvicornProcess(
        "asgi:application",
        project,
        {**env, "PYTHONPATH": str(project)},
        tmp_path / "log",
        python=str(python),
    )
    server.launch()
    try:
        base = f"http://127.0.0.1:{server.port}"
        query = json.dumps({"query": "{ books { totalCount items { __typename } } }"}).encode()
        answer = urllib.request.urlopen(
            urllib.request.Request(
                f"{base}/graphql/", query, headers={"Content-Type": "application/json"}
            ),
            timeout=10,
        )
        assert json.load(answer) == {"data": {"books": {"totalCount": 0, "items": []}}}
        request = urllib.request.Request(f"{base}/graphql/", headers={"Accept": "text/html"})
        page = urllib.request.urlopen(request, timeout=10).read().decode()
        assert "graphiql" in page.lower()
    finally:
        server.stop()
