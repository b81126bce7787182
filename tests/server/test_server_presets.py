"""Each preset really shows its story at seq_len 40, measured on the REST trace."""

from __future__ import annotations

import pytest

from unrolled.server.presets import PRESET_NAMES
from server_helpers import strict_json


def first_to_last_gradient(client, preset: str) -> float:
    """‖∂L/∂h_0‖ / ‖∂L/∂h_{T−1}‖ of node h_l0 from POST /api/trace at seq_len 40."""
    r = client.post("/api/trace", json={"preset": preset, "seq_len": 40})
    assert r.status_code == 200, r.text
    norms = strict_json(r.text)["gradient_norms"]["h_l0"]
    assert len(norms) == 40
    return norms[0] / norms[39]


def test_vanishing_tanh_loses_the_gradient(client):
    assert first_to_last_gradient(client, "vanishing-tanh") < 1e-3


def test_exploding_blows_the_gradient_up(client):
    assert first_to_last_gradient(client, "exploding") > 1e3


@pytest.mark.parametrize("preset", ["lstm-memory", "gru-memory"])
def test_gated_cells_keep_the_gradient_alive(client, preset):
    assert first_to_last_gradient(client, preset) > 1e-2


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_every_preset_runs_as_a_finite_trace(client, preset):
    r = client.post("/api/trace", json={"preset": preset})
    assert r.status_code == 200, r.text
    body = strict_json(r.text)
    assert isinstance(body["loss"], float) and body["loss"] > 0
    assert body["config"]["preset"] == preset


def test_clipping_starts_from_an_exploding_gradient(client):
    """Its story: the gradient grows back in time, which is what clipping then tames in training."""
    assert first_to_last_gradient(client, "clipping") > 1e3


def test_truncated_bptt_gradient_stops_at_each_window_start(client):
    """‖∂L_k/∂h_t‖ is zero exactly for the steps t before the start of k's 10-step window."""
    body = strict_json(client.post("/api/trace", json={"preset": "truncated-bptt"}).text)
    window = body["config"]["tbptt"]
    flow = body["flow"]["h_l0"]
    for k, row in zip(flow["ks"], flow["matrix"]):
        start = k - k % window
        assert all(v == 0 for v in row[:start]), k
        assert all(v > 0 for v in row[start:k + 1]), k
