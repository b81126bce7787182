"""The JSON fixtures the page's JS unit tests read are what the engine and the server produce today."""

from __future__ import annotations

import json
from pathlib import Path

from unrolled import engine
from unrolled.engine.cells.lecture import generic_lecture
from unrolled.server.config_table import config_fields
from unrolled.server.uploads.upload_form import upload_fields

FIXTURES = Path(__file__).parent.parent / "fixtures"


def expected_schedules() -> dict:
    """The schedules tests/static/js reads: a plain run, a bidirectional 2-layer run, an encoder–decoder."""
    return {
        "plain": engine.plain_schedule(4, 1, 1),
        "bidirectional": engine.plain_schedule(3, 2, 2),
        "seq2seq": engine.event_schedule(1, 1, [engine.Segment("encoder", 0, 8, emits=False),
                                                engine.Segment("decoder", 8, 16)]),
    }


def expected_cell_specs() -> dict:
    """Every registered cell's cell_spec, and one of a cell without lecture text (gate f, state c)."""
    specs = {name: engine.cell_spec(name) for name in engine.CELL_TYPES}
    specs["generic"] = {"name": "peephole", "states": ["h", "c"],
                        "gates": [{"name": "f", "title": "forget gate", "range": [0.0, 1.0]}],
                        "lecture": generic_lecture("peephole", ("f",), ("h", "c")).to_json()}
    return specs


def test_cell_specs_fixture_is_the_engines():
    """tests/fixtures/cell_specs.json = the engine's cell descriptions (the page's lecture templates)."""
    assert json.loads((FIXTURES / "cell_specs.json").read_text()) == expected_cell_specs()


def test_schedules_fixture_is_the_engines():
    """tests/fixtures/schedules.json = the engine's schedules of those three runs."""
    assert json.loads((FIXTURES / "schedules.json").read_text()) == expected_schedules()


def test_config_fields_fixture_is_the_servers():
    """tests/fixtures/config_fields.json = the page data's config table."""
    assert json.loads((FIXTURES / "config_fields.json").read_text()) == config_fields()


def test_upload_fields_fixture_is_the_servers():
    """tests/fixtures/upload_fields.json = the page data's upload form fields (issue 19)."""
    assert json.loads((FIXTURES / "upload_fields.json").read_text()) == upload_fields()


if __name__ == "__main__":   # regenerate: python tests/static/test_js_fixtures.py
    (FIXTURES / "cell_specs.json").write_text(json.dumps(expected_cell_specs(), indent=1, ensure_ascii=False) + "\n")
    (FIXTURES / "schedules.json").write_text(json.dumps(expected_schedules(), indent=1) + "\n")
    (FIXTURES / "config_fields.json").write_text(json.dumps(config_fields(), indent=1, ensure_ascii=False) + "\n")
    (FIXTURES / "upload_fields.json").write_text(json.dumps(upload_fields(), indent=1) + "\n")
