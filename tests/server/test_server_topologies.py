"""The lectures' other topologies through config, REST, both sockets and the presets, each preset's
story asserted on measured numbers: jordan-memory (against elman-context on the same data),
teacher-forcing (the same weights, two graphs, two losses), recursive-tree (decay per level vs per step)."""
from __future__ import annotations

import numpy as np
import pytest

from unrolled import engine
from unrolled.server.config import resolve_config
from unrolled.server.runs import compute_trace, prepared_run
from unrolled.server.training import TrainedCache, trained_network
from server_helpers import receive_until, strict_json


@pytest.mark.parametrize("body, field", [
    ({"topology": "tree"}, "topology"),
    ({"topology": "jordan", "cell": "lstm"}, "topology"),
    ({"topology": "jordan", "num_layers": 2}, "topology"),
    ({"topology": "recursive", "task": "sine"}, "topology"),
    ({"topology": "output_recurrence", "task": "reverse"}, "topology"),
    ({"topology": "jordan", "tbptt": 2}, "topology"),
    ({"topology": "jordan", "alpha": 1.0}, "alpha"),
    ({"topology": "jordan", "alpha": -0.1}, "alpha"),
    ({"topology": "jordan", "unroll": "free_running", "task": "copy"}, "unroll"),
])
def test_bad_topology_fields_are_a_422_naming_the_field(client, body, field):
    r = client.post("/api/trace", json={"seq_len": 6, "hidden_size": 4, **body})
    assert r.status_code == 422, r.text
    assert ["body", field] in [e["loc"] for e in r.json()["detail"]]


def test_fields_round_trip_and_default_to_the_chain():
    assert (resolve_config({}).topology, resolve_config({}).alpha) == ("chain", 0.5)
    for name in ("jordan-memory", "teacher-forcing", "recursive-tree"):
        config = resolve_config({"preset": name})
        assert resolve_config(config.model_dump()) == config
    # free running is the output-recurrent net's test time on any task (the fed value is its output)
    assert resolve_config({"topology": "output_recurrence", "task": "tagging", "unroll": "free_running"})


@pytest.mark.parametrize("config", [
    {"preset": "jordan-memory", "seq_len": 6},
    {"preset": "teacher-forcing", "seq_len": 6, "unroll": "free_running"},
    {"topology": "output_recurrence", "task": "sine", "seq_len": 5, "hidden_size": 4, "unroll": "free_running"},
    {"preset": "recursive-tree", "seq_len": 5},
    {"topology": "recursive", "task": "tagging", "seed": 7, "hidden_size": 5},
])
def test_rest_and_stream_agree(client, config):
    r = client.post("/api/trace", json=config)
    assert r.status_code == 200, r.text
    body = strict_json(r.text)
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": config, "mode": "play", "delay_ms": 0})
        messages = receive_until(ws, {"done", "error"})
    meta, events, summary = messages[0], [m for m in messages if m["type"] == "event"], messages[-2]
    assert meta["type"] == "meta" and messages[-1]["type"] == "done"
    assert len(events) == meta["total_events"] == meta["schedule"]["total"]
    assert summary["loss"] == pytest.approx(body["loss"], rel=1e-12)
    assert "topology" in meta
    npz = client.post("/api/trace.npz", json=config)
    assert npz.status_code == 200 and npz.content[:2] == b"PK"


def test_tagging_tree_is_the_sentence_parse_tree(client):
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": {"topology": "recursive", "task": "tagging", "seed": 7},
                      "mode": "play", "delay_ms": 0})
        messages = receive_until(ws, {"done", "error"})
    meta = messages[0]
    assert meta["title"] == "recursive network, hidden 16, task tagging"
    assert meta["tree"]["bracket"] == "(he ((reads (a book)) (in (the garden))))"
    assert meta["tree"]["height"] == 4 and len(meta["tree"]["children"]) == 13
    assert meta["T"] == 13 and meta["has_target"] == [False] * 12 + [True]
    events = [m for m in messages if m["type"] == "event"]
    assert [e["t"] for e in events[:13]] == list(range(13)) and [e["t"] for e in events[16:]] == list(range(12, -1, -1))


def test_jordan_memory_story():
    """jordan-memory vs elman-context on the same data: neither sends an error to the past (the flow
    matrix is zero below its diagonal) where full BPTT's L₁₉ reaches h₀ (0.0025); the memory sums to
    2 = 1/(1 − α) and the hidden layer reads it (‖∂h_t/∂m_t‖ ≈ 1.1); trained 30 epochs: 34.2 vs 30.3."""
    jordan, task = compute_trace(resolve_config({"preset": "jordan-memory"}))
    elman, elman_task = compute_trace(resolve_config({"preset": "elman-context"}))
    full, _ = compute_trace(resolve_config({"preset": "elman-context", "recurrent_gradient": True}))
    assert np.array_equal(task.x, elman_task.x) and np.array_equal(task.targets, elman_task.targets)
    for trace in (jordan, elman):
        ks, M = trace.flow_matrix("h_l0")
        assert all(M[j, t] == 0 for j, k in enumerate(ks) for t in range(k)) and (np.diag(M) > 0).all()
    ks, M = full.flow_matrix("h_l0")
    assert M[-1, 0] == pytest.approx(0.00245, rel=0.01)
    np.testing.assert_allclose(jordan.activations["fed"][-1].sum(axis=-1), 2.0, rtol=1e-4)
    assert np.mean(jordan.feedback["fed_jacobian_norms"][1:]) == pytest.approx(1.11, rel=0.01)
    cache = TrainedCache()
    losses = {}
    for name in ("jordan-memory", "elman-context"):
        config = resolve_config({"preset": name, "epochs": 30, "optimizer": "adam", "lr": 0.01})
        source, _, x, y = prepared_run(config, trained_network(cache, config))
        losses[name] = source.run(x, y, "cross_entropy").loss
    assert losses["jordan-memory"] == pytest.approx(34.2, abs=0.5)
    assert losses["elman-context"] == pytest.approx(30.3, abs=0.5)


def test_teacher_forcing_story():
    """The same trained weights, two graphs: teacher forced (train time) 27.9, free running on its
    own outputs (test time) 64.5; fresh, the two are equal to 0.1."""
    cache = TrainedCache()
    trained = resolve_config({"preset": "teacher-forcing"})
    net = trained_network(cache, trained)
    losses = {}
    for unroll in ("teacher_forced", "free_running"):
        for fresh in (True, False):
            config = trained.model_copy(update={"unroll": unroll})
            source, task, x, y = prepared_run(config, None if fresh else net)
            losses[unroll, fresh] = source.run(x, y, "cross_entropy").loss
            assert source.model.feed == ("teacher" if unroll == "teacher_forced" else "output")
    assert abs(losses["teacher_forced", True] - losses["free_running", True]) < 0.1
    assert losses["teacher_forced", False] == pytest.approx(27.9, abs=0.5)
    assert losses["free_running", False] == pytest.approx(64.5, abs=0.5)


def test_recursive_tree_story():
    """32 symbols: the first leaf is 5 levels from the root (0.55 of its gradient, ×0.91 per level);
    the same data as a chain of 32 tanh steps: h₀ keeps 0.07 of h₃₁'s (×0.92 per step)."""
    tree_trace, _ = compute_trace(resolve_config({"preset": "recursive-tree"}))
    chain, _ = compute_trace(resolve_config({"preset": "recursive-tree", "topology": "chain"}))
    tree = tree_trace.tree
    assert tree.height == 5 and tree.depth[tree.leaves[0]] == 5
    norms = tree_trace.gradient_norms
    assert norms[tree.leaves[0]] / norms[tree.root] == pytest.approx(0.55, abs=0.01)
    assert tree_trace.depth_profile()["factor"] == pytest.approx(0.91, abs=0.01)
    g = chain.gradient_norms["h_l0"]
    assert g[0] / g[-1] == pytest.approx(0.07, abs=0.005)
    assert chain.vanishing("h_l0")["factor"] == pytest.approx(0.92, abs=0.01)


@pytest.mark.parametrize("config", [
    {"preset": "jordan-memory", "seq_len": 8, "epochs": 5},
    {"preset": "teacher-forcing", "seq_len": 8, "epochs": 5, "clip": 1.0, "optimizer": "sgd", "lr": 0.1},
    {"preset": "recursive-tree", "seq_len": 8, "epochs": 20, "optimizer": "adam", "lr": 0.05},
])
def test_training_live(client, config):
    with client.websocket_connect("/ws/train") as ws:
        ws.send_json({"type": "start", "config": config})
        messages = receive_until(ws, {"done", "error"})
    meta, epochs, done = messages[0], [m for m in messages if m["type"] == "epoch"], messages[-1]
    assert meta["type"] == "meta" and done["type"] == "done", messages[-1]
    assert len(epochs) == config["epochs"] and epochs[-1]["loss"] < epochs[0]["loss"]
    node = meta["nodes"][0]
    assert all(np.isfinite(e["grad_norms"][node]).all() and len(e["grad_norms"][node]) == meta["T"] for e in epochs)
    assert meta["topology"]["name"] == resolve_config(config).topology
    with client.websocket_connect("/ws/trace") as ws:
        ws.send_json({"type": "start", "config": done["trained_config"], "source": "trained", "mode": "play",
                      "delay_ms": 0})
        played = receive_until(ws, {"done", "error"})
    assert played[-1]["type"] == "done"


def test_compare_refuses_a_tree_naming_the_field(client):
    r = client.post("/api/compare", json={"configs": [{"preset": "recursive-tree", "seq_len": 6}, {"preset": "char-lm"}]})
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"][-1] == "topology" and "has a tree, not time steps" in error["msg"]


def test_compare_takes_jordan_and_output_recurrence_as_chains_whose_gradient_stops(client):
    """Beside elman-context, a Jordan net's and a free-running output-recurrent net's ‖∂L_k/∂h_t‖ is 0 before k."""
    configs = [{"preset": "jordan-memory", "seq_len": 8}, {"preset": "teacher-forcing", "seq_len": 8, "unroll": "free_running"},
               {"preset": "elman-context", "seq_len": 8}]
    r = client.post("/api/compare", json={"configs": configs})
    assert r.status_code == 200, r.text
    jordan, free, elman = (run["vanishing"]["norms"] for run in r.json()["runs"])
    for norms in (jordan, free):
        assert norms[:7] == [0.0] * 7 and norms[7] > 0
    assert min(elman) > 0
