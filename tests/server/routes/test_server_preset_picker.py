"""The preset picker is in the served HTML (issue 17: usable at first paint, before the modules run), with
the option main.js will start on already selected."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from unrolled.server.presets import PRESETS


def picker(client: TestClient, query: str = "") -> tuple[list[tuple[str, str]], list[str]]:
    """The served picker's (value, text) options and the values marked selected."""
    html = client.get(f"/{query}").text
    select = re.search(r'<select id="preset"[^>]*>(.*?)</select>', html, re.S).group(1)
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select)
    return [(value, text) for value, _, text in options], [value for value, selected, _ in options if selected]


def test_every_preset_is_an_option_after_the_custom_config(page_client):
    options, _ = picker(page_client)
    assert options[0] == ("", "custom config")
    assert [value for value, _ in options[1:]] == [p.name for p in PRESETS]
    assert all(text.strip() for _, text in options)


@pytest.mark.parametrize("query, selected", [
    ("", [PRESETS[0].name]),                       # a bare URL starts on the first preset
    ("?present=1&theme=dark", [PRESETS[0].name]),  # view settings are not a config
    ("?preset=lstm-memory&delay=0", ["lstm-memory"]),
    ("?cell=lstm&seq_len=30", []),                    # a custom config: "custom config", the first option
    ("?preset=no-such-preset", []),
])
def test_the_option_the_page_starts_on_is_selected(page_client, query, selected):
    assert picker(page_client, query)[1] == selected
