"""Issue 15's traces beyond the live stream: saved and loaded (`unrolled view` of a tree or a feedback
network's .npz), the tree's findings and its chain comparison in the summary, Jordan's memory loop
Jacobian, and a tagging batch of different sentences parsed alike."""
from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from unrolled.server.cli import load_saved_trace
from unrolled.server.config import resolve_config
from unrolled.server.runs import compute_trace
from unrolled.server.topologies import same_shape_sentences
from server_helpers import app_settings, receive_until

SETTINGS = app_settings()


def _view(make_client, tmp_path, config: dict):
    """Save the config's REST trace, load it as `unrolled view` does, stream it: (original, loaded, messages)."""
    original, _ = compute_trace(resolve_config(config))
    path = tmp_path / "run.npz"
    original.save(path)
    loaded = load_saved_trace(path, SETTINGS)
    client = make_client(loaded_trace=(loaded, path.name))
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "source": "loaded", "mode": "play"})
        messages = receive_until(ws, {"done", "error"})
    return original, loaded, messages


def test_a_saved_tree_loads_and_streams_as_a_tree(make_client, tmp_path):
    original, loaded, messages = _view(make_client, tmp_path, {"topology": "recursive", "task": "tagging", "seed": 7,
                                                               "batch_size": 2})
    assert isinstance(loaded, engine.topologies.TreeTrace)
    assert loaded.tree == original.tree and loaded.comparison == original.comparison
    for table in ("activations", "gradients", "grads", "grad_contributions"):
        for name, value in getattr(original, table).items():
            np.testing.assert_array_equal(getattr(loaded, table)[name], value)
    meta, summary = messages[0], messages[-2]
    assert messages[-1]["type"] == "done", messages[-1]
    assert meta["tree"]["bracket"] == "(he ((reads (a book)) (in (the garden))))" and meta["T"] == 13
    assert meta["topology"] == {"name": "recursive"} and meta["has_target"] == [False] * 12 + [True]
    events = [m for m in messages if m["type"] == "event"]
    assert len(events) == meta["schedule"]["total"] == 2 * 13 + 3
    assert summary["loss"] == original.loss and summary["depth_profile"]["factor"] == original.depth_profile()["factor"]


@pytest.mark.parametrize("config, feed", [({"preset": "jordan-memory", "seq_len": 6}, "memory"),
                                          ({"preset": "teacher-forcing", "seq_len": 6}, "teacher")])
def test_a_saved_feedback_trace_loads_with_its_fed_value(make_client, tmp_path, config, feed):
    original, loaded, messages = _view(make_client, tmp_path, config)
    assert isinstance(loaded, engine.topologies.FeedbackTrace) and loaded.feedback["feed"] == feed
    np.testing.assert_array_equal(loaded.activations["fed"], original.activations["fed"])
    np.testing.assert_array_equal(loaded.grads["weight_fh_l0"], original.grads["weight_fh_l0"])
    np.testing.assert_array_equal(loaded.feedback["fed_jacobian_norms"], original.feedback["fed_jacobian_norms"])
    meta, summary = messages[0], messages[-2]
    assert meta["topology"]["feed"] == feed and meta["topology"]["alpha"] == original.feedback["alpha"]
    assert summary["feedback"]["feed"] == feed


def test_jordan_memory_loop_jacobian_is_alpha_from_the_second_step():
    trace, _ = compute_trace(resolve_config({"preset": "jordan-memory", "seq_len": 6, "alpha": 0.25}))
    norms = trace.summary()["feedback"]["memory_jacobian_norms"]
    assert np.isnan(norms[0]) and norms[1:] == [0.25] * 5
    teacher, _ = compute_trace(resolve_config({"preset": "teacher-forcing", "seq_len": 6}))
    assert "memory_jacobian_norms" not in teacher.summary()["feedback"]


def test_the_tree_summary_carries_the_chain_comparison_and_findings():
    """recursive-tree: the chain's ×0.92 per step beside the tree's ×0.91 per level; a tree of 64 leaves with
    a small recurrent scale vanishes by depth, and its finding is worded per level."""
    trace, _ = compute_trace(resolve_config({"preset": "recursive-tree"}))
    chain = trace.summary()["chain_comparison"]
    assert chain["steps"] == 32 and chain["factor"] == pytest.approx(0.92, abs=0.01)
    assert chain["norms"][0] / chain["norms"][-1] == pytest.approx(0.07, abs=0.005)
    assert trace.diagnose() == []
    small, _ = compute_trace(resolve_config({"preset": "recursive-tree", "recurrent_scale": 0.3, "seq_len": 64}))
    findings = small.diagnose()
    assert [f.kind for f in findings] == ["vanishing"]
    assert "depth" in findings[0].detail and "per-level factor" in findings[0].detail
    assert small.tree.depth[findings[0].t] == findings[0].numbers["distance"]


def test_a_tagging_batch_holds_different_sentences_parsed_alike():
    assert same_shape_sentences(0, 4) == [0, 1, 11, 0]          # (I (like cake)), (you (like tea)), (you (read slowly))
    trace, task = compute_trace(resolve_config({"topology": "recursive", "task": "tagging", "seed": 0, "batch_size": 3,
                                                "batch_index": 2}))
    assert [" ".join(words) for words in task.input_labels] == ["I like cake", "you like tea", "you read slowly"]
    assert trace.tree.bracket() == "(you (read slowly))"
    assert not np.allclose(trace.activations["h"][:, 0], trace.activations["h"][:, 2])
