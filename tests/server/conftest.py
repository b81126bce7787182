"""Fixtures of the server tests: apps on a minimal template and their TestClients."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server_helpers import app_settings, private_store
from unrolled.server.app import create_app
from unrolled.server.uploads.models import ModelStore

MINIMAL_TEMPLATE = """<!doctype html><html><head><script src="/vendor/plotly.min.js"></script></head>
<body><script id="page-data" type="application/json">{{ page_data|tojson }}</script></body></html>"""


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for templates/ (the page itself is tested by the page's own tests)."""
    folder = tmp_path_factory.mktemp("templates")
    (folder / "index.html").write_text(MINIMAL_TEMPLATE)
    return folder


@pytest.fixture()
def make_client(template_dir: Path, tmp_path: Path):
    """Build TestClients of fresh apps: Settings fields as keywords become the app's settings
    (passed to create_app); ``loaded_trace`` and ``models`` go to create_app as they are. Each app's
    uploads are shared in this test's own folder (tmp_path / "spill").

    Without ``max_queued`` the app has no start queue, so a full server answers
    "busy" at once (the queue has its own tests in test_server_hardening.py)."""
    clients: list[TestClient] = []

    def make(loaded_trace=None, models: ModelStore | None = None, **changes) -> TestClient:
        changes.setdefault("max_queued", 0)
        settings = app_settings(**changes)
        models = models if models is not None else private_store(settings, tmp_path / "spill")
        client = TestClient(create_app(settings, templates_dir=template_dir, loaded_trace=loaded_trace, models=models))
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture()
def client(make_client) -> TestClient:
    """A TestClient of a fresh app with the default limits."""
    return make_client()


@pytest.fixture(scope="module")
def page_client(tmp_path_factory: pytest.TempPathFactory):
    """A TestClient of an app serving the real page (templates/), for tests of what the page is served with."""
    from unrolled.server.paths import TEMPLATES_DIR

    settings = app_settings()
    app = create_app(settings, templates_dir=TEMPLATES_DIR, models=private_store(settings, tmp_path_factory.mktemp("m")))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
