"""The numbers the stories of the lectures' cell presets quote (peephole-lstm, coupled-gates,
gru-lecture), recomputed from real runs of the presets' configs."""

from __future__ import annotations

import numpy as np

from unrolled import engine
from unrolled.server.config import resolve_config
from unrolled.server.presets import PRESETS_BY_NAME
from unrolled.server.runs import compute_trace


def run(preset: str, **over):
    """The trace of a preset (fields in `over` override it)."""
    return compute_trace(resolve_config({"preset": preset, **over}))[0]


def cell_grad_norms(trace) -> np.ndarray:
    """(T,) batch mean of ‖∂L/∂c_t‖ of layer 0."""
    return np.linalg.norm(trace.gradients["c_l0"], axis=-1).mean(axis=1)


def test_peephole_lstm_story_numbers():
    """|c| reaches 4.6; Pᵒ⊙c_T shifts o by up to 0.59; ‖∂L/∂h₀‖ 0.123 against 0.108 with P = 0."""
    trace = run("peephole-lstm")
    c, peep = trace.activations["c_l0"], trace.params["weight_peephole_l0"]
    assert round(float(np.abs(c).max()), 1) == 4.6
    assert round(float(np.abs(peep[2] * c[-1]).max()), 2) == 0.59
    assert round(float(trace.gradient_norms["h_l0"][0]), 3) == 0.123
    zeroed = {**trace.params, "weight_peephole_l0": np.zeros_like(peep)}
    plain = engine.Network.from_state_dict(zeroed, cell="lstm_peephole").run(trace.x, trace.targets)
    lstm = engine.Network.from_state_dict({k: v for k, v in zeroed.items() if "peephole" not in k},
                                          cell="lstm").run(trace.x, trace.targets)
    assert plain.loss == lstm.loss                                      # P = 0 is the plain LSTM
    assert round(float(plain.gradient_norms["h_l0"][0]), 3) == 0.108


def test_coupled_gates_story_numbers():
    """1,220 parameters against 1,604; mean f 0.95 in both; ‖∂L/∂c₀‖ 0.013 against 0.154; h₀ 0.0006 against 0.070."""
    coupled = run("coupled-gates")
    lstm = run("coupled-gates", cell="lstm")
    assert PRESETS_BY_NAME["lstm-memory"].config == {**PRESETS_BY_NAME["coupled-gates"].config, "cell": "lstm"}
    assert sum(v.size for v in coupled.params.values()) == 1220
    assert sum(v.size for v in lstm.params.values()) == 1604
    assert round(float(coupled.activations["f_l0"].mean()), 2) == round(float(lstm.activations["f_l0"].mean()), 2) == 0.95
    assert round(float(cell_grad_norms(coupled)[0]), 3) == 0.013
    assert round(float(cell_grad_norms(lstm)[0]), 3) == 0.154
    assert f"{coupled.gradient_norms['h_l0'][0]:.1g}" == "0.0006"
    assert round(float(lstm.gradient_norms["h_l0"][0]), 3) == 0.070


def test_gru_lecture_story_numbers():
    """The same weights under both conventions; loss 1.43 against 1.54, ‖∂L/∂h₀‖ 0.29 against 0.16."""
    lecture = run("gru-lecture")
    torch_way = run("gru-lecture", cell="gru")
    assert PRESETS_BY_NAME["gru-memory"].config == {**PRESETS_BY_NAME["gru-lecture"].config, "cell": "gru"}
    for name, value in lecture.params.items():
        np.testing.assert_array_equal(value, torch_way.params[name])
    assert (round(lecture.loss, 2), round(torch_way.loss, 2)) == (1.43, 1.54)
    assert round(float(lecture.gradient_norms["h_l0"][0]), 2) == 0.29
    assert round(float(torch_way.gradient_norms["h_l0"][0]), 2) == 0.16
