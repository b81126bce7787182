"""A model is a chain of segments on one time axis (engine.chain): truncated BPTT and Elman's context
units are detached windows of one part, an encoder–decoder two parts with their own weights; a
detached hand-off stops the gradient exactly; a chained trace survives save/load, and a version-1
trace file still loads."""
from __future__ import annotations

import json

import numpy as np
import pytest

from unrolled import engine
from unrolled.engine.chain import Segment, check_chain, stages, truncation_window, window_chain
from unrolled.engine.losses import IGNORE
from unrolled.engine.patterns import Seq2Seq, seq2seq_chain
from unrolled.engine.tbptt import state_at


def test_window_chains_are_one_stage_of_detached_windows():
    chain = window_chain(7, 3)
    assert [(s.start, s.stop, s.handoff) for s in chain] == [(0, 3, "detached"), (3, 6, "detached"), (6, 7, "detached")]
    assert stages(chain) == (Segment("all", 0, 7, handoff="detached"),)
    assert truncation_window(chain) == 3 and truncation_window(window_chain(4, 1)) == 1
    assert truncation_window(seq2seq_chain(3, 7)) is None and truncation_window(engine.plain_chain(5)) is None
    assert [s.name for s in stages(seq2seq_chain(3, 7))] == ["encoder", "decoder"]


def test_a_part_is_consecutive_and_keeps_its_weights():
    with pytest.raises(ValueError, match="consecutive"):
        check_chain([Segment("a", 0, 1), Segment("b", 1, 2), Segment("a", 2, 3)], 3)
    with pytest.raises(ValueError, match="share weights"):
        check_chain([Segment("a", 0, 1), Segment("a", 1, 2, weights="x.")], 2)
    with pytest.raises(ValueError, match="handoff"):
        check_chain([Segment("a", 0, 2, handoff="glued")], 2)


@pytest.mark.parametrize("options, window", [({"truncate": 3}, 3), ({"recurrent_gradient": False}, 1), ({}, None)])
def test_truncate_and_elman_runs_are_chains_with_the_plain_stream(options, window):
    net = engine.Network.random("lstm", 3, 4, 2, seed=1)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 2, 3)), rng.integers(0, 2, (8, 2))
    trace = net.run(x, y, **options)
    assert trace.bptt_window == window and trace.recurrent_gradient == (window != 1)
    assert trace.chain == (window_chain(8, window) if window else engine.plain_chain(8))
    assert not trace.segmented and trace.schedule == engine.plain_schedule(8, 1, 1)
    assert "segments" not in trace.summary() and set(trace.weight_spectra()) == {"h_l0"}


def test_a_detached_handoff_stops_the_gradient_at_the_context():
    """[encoder: silent, detached] + [decoder]: the decoder learns from the context's value, and no
    gradient reaches the encoder — bit for bit the decoder run alone from the encoder's final state."""
    model = Seq2Seq.random("gru", 4, 5, 3, seed=4)
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((7, 2, 4)), rng.integers(0, 3, (7, 2))
    chain = (Segment("encoder", 0, 3, emits=False, weights="encoder.", handoff="detached"),
             Segment("decoder", 3, 7, weights="decoder."))
    trace = engine.StepRun(model.arch, model.state_dict(), x, y, "cross_entropy", emit=False, chain=chain).run_to_end()
    assert not trace.gradients["h_l0"][:3].any()
    assert all(not g.any() for name, g in trace.grads.items() if name.startswith("encoder."))
    context = state_at(model.encoder.run(x[:3], np.full((3, 2), IGNORE)), -1)
    alone = model.decoder.run(x[3:], y[3:], initial_state=context)
    np.testing.assert_array_equal(trace.gradients["h_l0"][3:], alone.gradients["h_l0"])
    for name, grad in alone.grads.items():
        np.testing.assert_array_equal(trace.grads[f"decoder.{name}"], grad, err_msg=name)
    assert trace.loss == alone.loss


def test_an_encoder_decoder_trace_round_trips(tmp_path):
    model = Seq2Seq.random("lstm", 4, 5, 3, num_layers=2, seed=1)
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((9, 2, 4)), rng.integers(0, 3, (9, 2))
    trace = model.run_joined(x, y, 4)
    trace.save(tmp_path / "joined.npz")
    loaded = engine.load_trace(tmp_path / "joined.npz")
    assert loaded.chain == trace.chain and loaded.segmented and list(loaded.params) == list(trace.params)
    for node in trace.node_names:
        np.testing.assert_array_equal(loaded.gradient_norms[node], trace.gradient_norms[node])
        np.testing.assert_array_equal(loaded.flow_matrix(node)[1], trace.flow_matrix(node)[1])
        np.testing.assert_array_equal(loaded.jacobian_norms[node], trace.jacobian_norms[node])
    assert [f.as_dict() for f in loaded.diagnose()] == [f.as_dict() for f in trace.diagnose()]
    assert loaded.weight_spectra() == trace.weight_spectra()


def test_a_version_1_trace_file_still_loads_with_its_truncation(tmp_path):
    net = engine.Network.random("rnn_tanh", 3, 4, 2, seed=2)
    rng = np.random.default_rng(1)
    trace = net.run(rng.standard_normal((7, 2, 3)), rng.integers(0, 2, (7, 2)), truncate=3)
    trace.save(tmp_path / "v2.npz")
    with np.load(tmp_path / "v2.npz", allow_pickle=False) as data:
        files = {k: data[k] for k in data.files}
    meta = json.loads(str(files["meta"]))
    assert meta["version"] == 3
    meta = {k: v for k, v in meta.items() if k not in ("chain", "vocab_size")} | {"version": 1}
    files["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(tmp_path / "v1.npz", **files)
    loaded = engine.load_trace(tmp_path / "v1.npz")
    assert loaded.bptt_window == 3 and loaded.chain == window_chain(7, 3)
    np.testing.assert_array_equal(loaded.flow_matrix("h_l0")[1], trace.flow_matrix("h_l0")[1])


def test_a_chained_run_streams_live_exactly_what_its_replay_plays():
    """StepRun over an encoder–decoder chain yields, as it computes, the events replay reads back
    from the finished record: same order (the schedule's blocks), same values."""
    model = Seq2Seq.random("lstm", 4, 3, 3, num_layers=2, seed=5)
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 2, 4)), rng.integers(0, 3, (6, 2))
    run = engine.StepRun(model.arch, model.state_dict(), x, y, "cross_entropy", chain=seq2seq_chain(2, 6))
    live = [(e.phase, e.node, e.t, {k: np.array(v) for k, v in e.values.items()}) for e in run]
    replayed = list(run.trace.events())
    assert len(live) == len(replayed) == run.trace.schedule["total"]
    for (phase, node, t, values), event in zip(live, replayed):
        assert (phase, node, t) == (event.phase, event.node, event.t)
        for key, value in values.items():
            np.testing.assert_array_equal(value, event.values[key], err_msg=f"{phase} {node} {t} {key}")
