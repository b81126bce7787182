"""Module preloading (issue 17): the served page names every module main.js reaches, each served; the closure
follows static and dynamic relative imports, once each, and skips specifiers naming no file."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from server_helpers import app_settings, private_store
from unrolled.server.app import create_app
from unrolled.server.module_preload import import_closure, preload_urls
from unrolled.server.paths import STATIC_DIR, TEMPLATES_DIR


def test_the_closure_follows_every_relative_import_once(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "main.js").write_text("import { a } from './a.js';\nimport './sub/b.js';\nconst x = 1;\n")
    (tmp_path / "a.js").write_text("export const a = 1;\nimport { b } from './sub/b.js';\n")
    (tmp_path / "sub" / "b.js").write_text("export const b = () => import('../c.js');\nimport '../gone.js';\n")
    (tmp_path / "c.js").write_text("import { a } from './a.js';\n")
    (tmp_path / "unused.js").write_text("export const u = 1;\n")
    assert import_closure("main.js", tmp_path) == ["main.js", "a.js", "sub/b.js", "c.js"]


def test_the_served_page_preloads_every_module_main_reaches(tmp_path):
    settings = app_settings()
    app = create_app(settings, templates_dir=TEMPLATES_DIR, models=private_store(settings, tmp_path))
    with TestClient(app) as client:
        check_preloads(client)


def check_preloads(client: TestClient) -> None:
    """The page's modulepreload links: preload_urls(), main.js's direct imports among them, each served."""
    html = client.get("/").text
    links = re.findall(r'<link rel="modulepreload" href="([^"]+)">', html)
    main = (STATIC_DIR / "js" / "main.js").read_text(encoding="utf-8")
    direct = {f"/static/js/{m}" for m in re.findall(r"from '\./([^']+)'", main)}
    assert links == list(preload_urls()) and direct <= set(links) and "/static/js/main.js" not in links
    assert len(links) == len(set(links))
    # the first run's socket opens from its own module, which runs as soon as it arrives (early_socket.js)
    early = '<script type="module" async id="early-socket" src="/static/js/early_socket.js"></script>'
    assert html.index(early) < html.index('<script type="module" src="/static/js/main.js">')
    for url in links:
        response = client.get(url)
        assert response.status_code == 200 and "javascript" in response.headers["content-type"], url
