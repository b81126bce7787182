"""The JSON fixtures the page's JS unit tests read are what the engine and the server produce today."""

from __future__ import annotations

import json
from pathlib import Path

from unrolled import engine
from unrolled.server.config_table import config_fields

FIXTURES = Path(__file__).parent.parent / "fixtures"


def expected_schedules() -> dict:
    """The schedules tests/static/js reads: a plain run, a bidirectional 2-layer run, an encoder–decoder."""
    return {
        "plain": engine.plain_schedule(4, 1, 1),
        "bidirectional": engine.plain_schedule(3, 2, 2),
        "seq2seq": engine.event_schedule(1, 1, [engine.Segment("encoder", 0, 8, emits=False),
                                                engine.Segment("decoder", 8, 16)]),
    }


def test_schedules_fixture_is_the_engines():
    """tests/fixtures/schedules.json = the engine's schedules of those three runs."""
    assert json.loads((FIXTURES / "schedules.json").read_text()) == expected_schedules()


def test_config_fields_fixture_is_the_servers():
    """tests/fixtures/config_fields.json = the page data's config table."""
    assert json.loads((FIXTURES / "config_fields.json").read_text()) == config_fields()


if __name__ == "__main__":   # regenerate: python tests/static/test_js_fixtures.py
    (FIXTURES / "schedules.json").write_text(json.dumps(expected_schedules(), indent=1) + "\n")
    (FIXTURES / "config_fields.json").write_text(json.dumps(config_fields(), indent=1, ensure_ascii=False) + "\n")
