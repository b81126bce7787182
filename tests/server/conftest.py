"""Fixtures of the server tests: apps on a minimal template and their TestClients."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from unrolled.server.app import create_app

MINIMAL_TEMPLATE = """<!doctype html><html><head><script src="/vendor/plotly.min.js"></script></head>
<body><script id="page-data" type="application/json">{{ page_data|tojson }}</script></body></html>"""


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for templates/ (the page itself is tested by the page's own tests)."""
    folder = tmp_path_factory.mktemp("templates")
    (folder / "index.html").write_text(MINIMAL_TEMPLATE)
    return folder


@pytest.fixture()
def make_client(template_dir: Path):
    """Build TestClients of fresh apps (keyword arguments go to create_app).

    Without ``max_queued`` the app has no start queue, so a full server answers
    "busy" at once (the queue has its own tests in test_server_hardening_queue.py)."""
    clients: list[TestClient] = []

    def make(**kwargs) -> TestClient:
        kwargs.setdefault("max_queued", 0)
        client = TestClient(create_app(templates_dir=template_dir, **kwargs))
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture()
def client(make_client) -> TestClient:
    """A TestClient of a fresh app with the default limits."""
    return make_client()
