"""Word embeddings and padded batches end to end: the config field, the task's lengths, the meta and
events the page reads, and the numbers of the stories of the word-embeddings and tagging presets."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from unrolled.engine.tasks import make_task
from unrolled.server.config import resolve_config
from unrolled.server.presets import PRESETS_BY_NAME
from unrolled.server.runs import compute_trace, config_source, prepared_run
from unrolled.server.training import train_options
from unrolled.server.wire.events import event_message
from server_helpers import strict_json


@pytest.mark.parametrize("task", ["adding", "sine"])
def test_embedding_size_is_only_for_token_tasks(client, task):
    r = client.post("/api/trace", json={"task": task, "embedding_size": 4})
    assert r.status_code == 422 and "embedding_size" in r.text


def test_embedding_size_needs_teacher_forcing():
    with pytest.raises(ValidationError, match="embedding_size"):
        resolve_config({"task": "char_lm", "embedding_size": 4, "unroll": "free_running"})


@pytest.mark.parametrize("task", ["char_lm", "tagging", "copy", "reverse"])
def test_every_token_task_runs_with_an_embedding(client, task):
    r = client.post("/api/trace", json={"task": task, "embedding_size": 5, "seq_len": 6, "batch_size": 2})
    assert r.status_code == 200, r.text
    body = strict_json(r.text)
    table = [name for name in body["grads"] if name.endswith("embedding.weight")]
    assert table and body["config"]["embedding_size"] == 5


def test_word_embeddings_story_numbers():
    """26 of the 44 words occur in the batch: exactly their rows get a gradient (<pad> none); training
    (Adam, 60 epochs) takes the loss from 24.0 to 0.30 and moves only those rows."""
    config = resolve_config({"preset": "word-embeddings"})
    trace, task = compute_trace(config)
    grad = trace.grads["embedding.weight"]
    assert grad.shape == (44, 8)
    rows = np.flatnonzero(np.abs(grad).sum(axis=1) > 0)
    assert set(rows) == set(np.unique(task.ids[trace.valid])) and len(rows) == 26
    assert not grad[0].any()                                           # <pad> only fills padding
    assert round(trace.loss, 1) == 24.0
    source, task, x, targets = prepared_run(config)
    trainer = source.trainer(x, targets, task.loss, train_options(config))
    records = list(trainer.epochs())
    assert round(records[0].loss, 1) == 24.0 and round(records[-1].loss, 2) == 0.30
    moved = np.abs(trainer.net.state_dict()["embedding.weight"] - source.model.state_dict()["embedding.weight"])
    assert set(np.flatnonzero(moved.sum(axis=1) > 0)) == set(rows)
    story = PRESETS_BY_NAME["word-embeddings"].story
    assert all(s in story for s in ("26 of the 44", "24.0 to 0.30"))


@pytest.mark.parametrize("preset", ["bidirectional", "pos-tagging"])
def test_tagging_presets_never_read_the_pads(preset):
    """The tagging task passes lengths: a short sentence's reverse direction starts at its last word
    (from h(−1) = 0, as if the sentence were alone) and padding records zeros and no loss."""
    config = resolve_config({"preset": preset})
    trace, task = compute_trace(config)
    assert trace.lengths is not None and np.array_equal(trace.lengths, task.lengths)
    short = int(np.argmin(task.lengths))
    L = int(task.lengths[short])
    assert L < config.seq_len and task.input_labels[short][L] == "<pad>" != task.input_labels[short][L - 1]
    source, _, x, targets = prepared_run(config)
    alone = source.model.run(x[:L, short:short + 1], targets[:L, short:short + 1], task.loss)
    for node in trace.node_names:
        np.testing.assert_allclose(trace.activations[node][:L, short], alone.activations[node][:, 0], rtol=1e-12)
        assert not trace.activations[node][L:, short].any() and not trace.gradients[node][L:, short].any()
    if config.bidirectional:            # the reverse direction's first processed step is the last word
        step = alone.activations["h_l0_reverse"][L - 1, 0]
        assert np.allclose(trace.activations["h_l0_reverse"][L - 1, short], step)


def test_meta_and_events_carry_the_embedding_and_the_length():
    config = resolve_config({"preset": "word-embeddings", "batch_index": 1})
    source = config_source(config)
    meta = source.meta
    lengths = make_task("tagging", 12, 4, 0).lengths
    assert meta["embedding_size"] == 8 and meta["length"] == int(lengths[1])
    events = list(source.events)
    forward = [e for e in events if e.node == "h_l0" and e.phase == "forward"]
    backward = [e for e in events if e.node == "h_l0_reverse" and e.phase == "backward"]
    assert all("e" in e.values for e in forward) and all("de" in e.values for e in backward)
    message = event_message(forward[0], 0, 1)
    assert len(message["values"]["e"]) == 8
    padded = [e for e in events if e.t >= lengths[1] and e.node.startswith("h_")]
    assert padded and all(not np.any(np.asarray(e.values["h" if e.phase == "forward" else "dh"])[1]) for e in padded)
    plain = config_source(resolve_config({"preset": "char-lm"})).meta
    assert plain["embedding_size"] is None and plain["length"] is None
