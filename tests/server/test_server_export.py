"""`unrolled export`, POST /api/export.html, the lessons' files and unrolled.show (issue 16): one
self-contained page holding the recorded stream exactly as the socket sends it."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import unrolled
from unrolled import engine
from unrolled.server import export
from unrolled.server.cli import main
from unrolled.server.config import resolve_config
from unrolled.server.export_lessons import LESSONS_DIR, lesson_configs, lesson_index, lesson_names, load_lesson
from unrolled.server.export_page import MODULE_PREFIX, import_map
from unrolled.server.export_record import record_config
from unrolled.server.paths import STATIC_DIR
from unrolled.server.runs import config_source
from unrolled.server.wire.events import encode_event


def offline_data(html: str) -> dict:
    """The recorded runs an exported page carries."""
    match = re.search(r'<script id="offline-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1).replace("<\\/", "</"))


def test_a_recording_is_the_socket_stream() -> None:
    recording = record_config({"preset": "pos-tagging"})
    source = config_source(resolve_config({"preset": "pos-tagging"}))
    streamed = [json.loads(encode_event(ev, seq, source.batch_index)) for seq, ev in enumerate(source.events)]
    assert recording["events"] == streamed
    assert recording["meta"]["type"] == "meta" and recording["summary"]["type"] == "summary"
    assert len(recording["events"]) == recording["meta"]["schedule"]["total"]
    assert recording["request"] == {"preset": "pos-tagging"}


def test_an_exported_page_needs_nothing_from_outside() -> None:
    html = export.export_preset("char-lm")
    assert not re.search(r"""(src|href)=["']/(static|vendor)/""", html), "every stylesheet and script is inlined"
    assert "http://" not in html.split('<script type="importmap">')[1].split("</script>")[0]
    modules = json.loads(re.search(r'<script type="importmap">(.*?)</script>', html, re.S).group(1).replace("<\\/", "</"))
    shipped = {p.relative_to(STATIC_DIR / "js").as_posix() for p in (STATIC_DIR / "js").rglob("*.js")}
    assert set(modules["imports"]) == {MODULE_PREFIX + name for name in shipped}
    assert f'import "{MODULE_PREFIX}main.js";' in html
    data = offline_data(html)
    assert [r["meta"]["config"]["preset"] for r in data["recordings"]] == ["char-lm"]
    page_data = json.loads(re.search(r'<script id="page-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert page_data["offline"] is True and [p["name"] for p in page_data["presets"]] == ["char-lm"]


def test_module_imports_are_rewritten_to_the_import_map() -> None:
    for url in import_map()["imports"].values():
        import base64
        text = base64.b64decode(url.split(",", 1)[1]).decode("utf-8")
        assert not re.search(r"""from\s*['"]\.{1,2}/""", text), "a relative import would need a fetch"


def test_export_command_writes_the_page_and_its_size(tmp_path, capsys) -> None:
    out = tmp_path / "page.html"
    main(["export", "--config", '{"preset": "char-lm", "seq_len": 5}', "-o", str(out)])
    assert re.search(r"wrote .*page\.html \(\d+\.\d MB\)", capsys.readouterr().out)
    assert offline_data(out.read_text())["recordings"][0]["meta"]["config"]["seq_len"] == 5
    trace = engine.Network.random(cell="gru", input_size=2, hidden_size=3, output_size=2, seed=0).run(
        np.ones((4, 2)), np.array([0, 1, 1, 0]))
    trace.save(tmp_path / "t.npz")
    main(["export", str(tmp_path / "t.npz"), "-o", str(tmp_path / "t.html")])
    assert offline_data((tmp_path / "t.html").read_text())["recordings"][0]["meta"]["config"] is None


@pytest.mark.parametrize("args, says", [
    (["--config", '{"seq_len": -3}'], "seq_len"),
    (["--config", "{not json"], "Expecting property name"),
    (["--lesson", "nope"], "no lesson named 'nope'"),
])
def test_export_command_refuses_bad_sources(tmp_path, args, says) -> None:
    with pytest.raises(SystemExit, match=re.escape(says)):
        main(["export", *args, "-o", str(tmp_path / "x.html")])


def test_export_route_sends_an_attachment(client) -> None:
    response = client.post("/api/export.html", json={"preset": "pos-tagging", "seq_len": 5})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="pos-tagging.html"'
    assert offline_data(response.text)["recordings"][0]["meta"]["config"]["seq_len"] == 5
    bad = client.post("/api/export.html", json={"hidden_size": 0})
    assert bad.status_code == 422 and "hidden_size" in json.dumps(bad.json())
    assert client.get("/api/lessons/nope/page").status_code == 404


def test_lesson_route_records_every_config_of_the_lesson(client) -> None:
    response = client.get("/api/lessons/architectures/page")
    assert response.status_code == 200
    data = offline_data(response.text)
    assert data["lesson"]["name"] == "architectures"
    assert [r["request"] for r in data["recordings"]] == lesson_configs(load_lesson("architectures"))


def test_the_seven_lessons_load_and_are_indexed() -> None:
    names = lesson_names()
    assert names[:7] == ["unfolding", "bptt", "scalar", "vanishing", "gates", "architectures", "patterns"]
    for name in names:
        lesson = load_lesson(name)   # every scene's config resolves; steps and highlights are well formed
        assert len(lesson["scenes"]) >= 5 and lesson["lecture"]
    assert json.loads((LESSONS_DIR / "index.json").read_text(encoding="utf-8")) == lesson_index()


def test_a_bad_lesson_file_is_refused_naming_the_scene(tmp_path, monkeypatch) -> None:
    from unrolled.server import export_lessons

    lesson = load_lesson("bptt")
    lesson["scenes"][2]["config"] = {"preset": "char-lm", "hidden_size": -1}
    (tmp_path / "bptt.json").write_text(json.dumps(lesson), encoding="utf-8")
    monkeypatch.setattr(export_lessons, "LESSONS_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"lesson bptt, scene 3: config field hidden_size"):
        load_lesson("bptt")
    with pytest.raises(KeyError):
        load_lesson("../bptt")


def test_show_puts_the_page_in_an_iframe_srcdoc() -> None:
    net = engine.Network.random(cell="rnn_tanh", input_size=1, hidden_size=1, output_size=1, seed=0)
    viewer = unrolled.show(net, np.linspace(0, 1, 5).reshape(5, 1), np.zeros((5, 1)))
    shown = viewer._repr_html_()
    assert shown.startswith('<iframe srcdoc="&lt;!doctype html&gt;') and '"' not in shown.split('" title=')[0][len('<iframe srcdoc="'):]
    assert offline_data(viewer.html)["recordings"][0]["meta"]["loss"] == "mse"
    with pytest.raises(ValueError, match="x, targets"):
        unrolled.show(net, np.zeros((5, 1)))
    with pytest.raises(ValueError, match="trace_or_net"):
        unrolled.show(net)


def test_export_command_says_when_it_cannot_write(tmp_path) -> None:
    with pytest.raises(SystemExit, match="cannot write .*missing/x.html"):
        main(["export", "--preset", "pos-tagging", "-o", str(tmp_path / "missing" / "x.html")])
